//! The `Peer` contract judged from both ends of the user's transport: [`CheckedPeer`] wraps
//! the user's `Peer` on the caller's side (every request handed to it, every answer it
//! returned, how long it took), [`CheckedHandler`] wraps the node's handler behind the user's
//! server (every request delivered, every answer given), and a [`WireLedger`] shared by both
//! compares them. Three checks, each reported as a broken part
//! ([`Observation::PartBroken`]), which makes the run invalid:
//!
//! - `peer-answers`: every answer a `Peer` returns is one the callee's handler gave to that
//!   very request (the same message, field for field). An answer no handler gave is a
//!   response made up by the `Peer`, kept from an earlier call, or meant for another call.
//! - `peer-delivered-once`: a handler receives a request no more often than callers handed
//!   it to a `Peer`. More is a retry inside the `Peer` (at-least-once delivery), which
//!   applies a forwarded client command twice.
//! - `peer-deadline`: every call returns by its deadline plus [`DEADLINE_SLACK`]. The
//!   wrapper then gives up on the call (`TimedOut`), so the run goes on, and reports it.
//!
//! Requests and answers are compared by a digest of their whole content; two identical
//! requests (two equal heartbeats) are one key, counted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rafty::{NodeId, Peer, PeerError, RpcHandler};

use crate::checks::invariants::Observation;
use crate::peer_calls::{Answer, Call, HandlerLayer, PeerLayer};
use crate::sim::observe::Observations;

/// How long after its deadline a call may still return (the contract's "scheduling slack").
pub const DEADLINE_SLACK: Duration = Duration::from_millis(500);

/// The most findings of one check reported in a run (the first ones say it all).
const MAX_FINDINGS: usize = 3;

/// A request: its call's name ([`Call::name`]), the node called, and the digest of its content.
type Key = (&'static str, NodeId, u64);

#[derive(Debug, Default)]
struct Ledger {
    sent: BTreeMap<Key, u64>,
    delivered: BTreeMap<Key, u64>,
    answers: BTreeMap<Key, BTreeSet<u64>>,
    /// Every answer each callee's handler gave to calls of a kind, whatever the request.
    given: BTreeMap<(&'static str, NodeId), BTreeSet<u64>>,
    findings: BTreeMap<&'static str, usize>,
}

/// What callers handed to `Peer`s and what handlers received and answered, for one run.
#[derive(Clone, Debug)]
pub struct WireLedger {
    inner: Arc<Mutex<Ledger>>,
    observations: Observations,
}

impl WireLedger {
    /// A ledger reporting to `observations`.
    pub fn new(observations: Observations) -> WireLedger {
        WireLedger {
            inner: Arc::default(),
            observations,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn report(&self, node: NodeId, check: &'static str, detail: String) {
        {
            let mut ledger = self.lock();
            let count = ledger.findings.entry(check).or_default();
            if *count >= MAX_FINDINGS {
                return;
            }
            *count += 1;
        }
        self.observations
            .observe(node, Observation::PartBroken { check, detail });
    }

    fn sent(&self, key: Key) {
        *self.lock().sent.entry(key).or_default() += 1;
    }

    /// Count a delivery of `key` at `node`; a finding if it came more often than it was sent.
    fn delivered(&self, node: NodeId, key: Key, shown: &str) {
        let (delivered, sent) = {
            let mut ledger = self.lock();
            let delivered = ledger.delivered.entry(key).or_default();
            *delivered += 1;
            let delivered = *delivered;
            (delivered, ledger.sent.get(&key).copied().unwrap_or(0))
        };
        if delivered > sent {
            let detail = format!(
                "n{node}'s handler received {} {shown} {delivered} times, but callers handed \
                 it to a Peer {sent} times: the Peer delivers a request more than once (a retry \
                 inside the Peer after the request may have gone out, or a request replayed \
                 later). At-least-once delivery applies a forwarded client command twice: a \
                 Peer must hand each call to the wire once, and report a failure after that as \
                 indefinite (Unreachable or TimedOut) instead of retrying",
                key.0
            );
            self.report(node, "peer-delivered-once", detail);
        }
    }

    fn answered(&self, key: Key, answer: u64) {
        let mut ledger = self.lock();
        ledger.answers.entry(key).or_default().insert(answer);
        ledger
            .given
            .entry((key.0, key.1))
            .or_default()
            .insert(answer);
    }

    /// Check that `answer` (digest `digest`), returned by `from`'s `Peer`, is an answer the
    /// handler gave to `key`.
    fn returned(&self, from: NodeId, key: Key, digest: u64, request: &str, answer: &str) {
        let (answers_to_this, delivered, to_another) = {
            let ledger = self.lock();
            let answers_to_this = ledger.answers.get(&key).cloned().unwrap_or_default();
            let delivered = ledger.delivered.get(&key).copied().unwrap_or(0);
            let to_another = ledger
                .given
                .get(&(key.0, key.1))
                .is_some_and(|answers| answers.contains(&digest));
            (answers_to_this, delivered, to_another)
        };
        if !answers_to_this.contains(&digest) {
            let to = key.1;
            let cause = match (answers_to_this.len(), delivered, to_another) {
                (0, 0, true) => format!(
                    "The request never reached n{to}'s handler, and the answer equals one it \
                     gave to another request: the Peer answered without calling, from a cache \
                     of an earlier answer (or made the answer up when the call failed)"
                ),
                (0, _, true) => format!(
                    "n{to}'s handler has not answered this request, and the answer equals one \
                     it gave to another request: the Peer made the answer up when the call \
                     failed, or answered from a cache"
                ),
                (0, _, false) => format!(
                    "n{to}'s handler gave no answer to this request, nor this answer to any: \
                     the Peer made the answer up (a success reported without the callee's \
                     answer, an error swallowed and turned into the answer hoped for)"
                ),
                (given, _, _) => format!(
                    "n{to}'s handler answered this request otherwise ({given} answer(s)): the \
                     Peer returned another call's answer (request ids mixed up) or a cached \
                     one"
                ),
            };
            let detail = format!(
                "n{from}'s Peer returned the answer {answer} to {} {request} to n{to}, which \
                 n{to}'s handler never gave to that request. {cause}. A response must be the \
                 callee's answer to this very request",
                key.0
            );
            self.report(from, "peer-answers", detail);
        }
    }
}

/// FNV-1a of a message's debug text: its whole content.
fn digest(message: &dyn Debug) -> u64 {
    format!("{message:?}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// A message shown in a finding: its debug text, cut to 200 characters.
fn shown(message: &dyn Debug) -> String {
    let text = format!("{message:?}");
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// The user's `Peer` through which node `from` calls `inner.id()`, checked (see the module's
/// documentation).
pub struct CheckedPeer {
    from: NodeId,
    inner: Arc<dyn Peer>,
    ledger: WireLedger,
}

impl CheckedPeer {
    /// Check `from`'s calls through `inner`.
    pub fn new(from: NodeId, inner: Arc<dyn Peer>, ledger: WireLedger) -> CheckedPeer {
        CheckedPeer {
            from,
            inner,
            ledger,
        }
    }
}

#[async_trait]
impl PeerLayer for CheckedPeer {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError> {
        let to = self.inner.id();
        let (name, request) = (call.name(), call.message());
        let key = (name, to, digest(request));
        let made = call.clone().send(&*self.inner, timeout);
        self.ledger.sent(key);
        match tokio::time::timeout(timeout + DEADLINE_SLACK, made).await {
            Ok(Ok(answer)) => {
                let answered = digest(answer.message());
                let (request, shown_answer) = (shown(request), shown(answer.message()));
                self.ledger
                    .returned(self.from, key, answered, &request, &shown_answer);
                Ok(answer)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => {
                let detail = format!(
                    "n{}'s Peer call {name} {} to n{to} had not returned {:?} after it was \
                     made, with a deadline of {timeout:?}: the Peer waits past its deadline (a \
                     timeout never armed, an error swallowed and waited on, a retry loop \
                     without an end). Every call must return by its deadline, with TimedOut if \
                     nothing else",
                    self.from,
                    shown(request),
                    timeout + DEADLINE_SLACK
                );
                self.ledger.report(self.from, "peer-deadline", detail);
                Err(PeerError::TimedOut { peer: to, timeout })
            }
        }
    }
}

/// Node `node`'s handler behind the user's server, checked (see the module's documentation).
pub struct CheckedHandler {
    node: NodeId,
    inner: Arc<dyn RpcHandler>,
    ledger: WireLedger,
}

impl CheckedHandler {
    /// Check what reaches `inner`, node `node`'s handler.
    pub fn new(node: NodeId, inner: Arc<dyn RpcHandler>, ledger: WireLedger) -> CheckedHandler {
        CheckedHandler {
            node,
            inner,
            ledger,
        }
    }
}

#[async_trait]
impl HandlerLayer for CheckedHandler {
    async fn call(&self, call: Call) -> Result<Answer, PeerError> {
        let key = (call.name(), self.node, digest(call.message()));
        self.ledger
            .delivered(self.node, key, &shown(call.message()));
        let answer = call.handle(&*self.inner).await?;
        self.ledger.answered(key, digest(answer.message()));
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty::testing::peer_suite::ReferenceServer;
    use rafty::{InProcessNetwork, RequestVote, RequestVoteResponse};

    fn vote(term: u64) -> RequestVote {
        RequestVote {
            term,
            candidate_id: 1,
            last_log_index: 12,
            last_log_term: 2,
            pre_vote: false,
            transfer: false,
        }
    }

    /// A peer that answers every vote with the answer to the first one (a stale cache).
    struct Cached {
        inner: Arc<dyn Peer>,
        first: Mutex<Option<RequestVoteResponse>>,
    }

    #[async_trait]
    impl PeerLayer for Cached {
        fn id(&self) -> NodeId {
            self.inner.id()
        }

        async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError> {
            let kept = self.first.lock().unwrap().clone();
            if let (Call::RequestVote(_), Some(kept)) = (&call, kept) {
                return Ok(Answer::RequestVote(kept));
            }
            let answer = call.send(&*self.inner, timeout).await?;
            if let Answer::RequestVote(vote) = &answer {
                *self.first.lock().unwrap() = Some(vote.clone());
            }
            Ok(answer)
        }
    }

    fn findings(observations: &Observations) -> Vec<String> {
        observations.with_invariants(|invariants| {
            invariants
                .violations()
                .0
                .iter()
                .map(|violation| format!("{violation:?}"))
                .collect()
        })
    }

    /// Node 1 calls node 2 through `peer(inner)`, node 2's handler checked.
    fn wired(peer: impl FnOnce(Arc<dyn Peer>) -> Arc<dyn Peer>) -> (Arc<dyn Peer>, Observations) {
        let observations = Observations::new();
        let ledger = WireLedger::new(observations.clone());
        let network = InProcessNetwork::new();
        let handler = CheckedHandler::new(2, Arc::new(ReferenceServer::default()), ledger.clone());
        network.register(2, handler.into_handler());
        let user_peer = peer(network.peer(1, 2));
        let checked = CheckedPeer::new(1, user_peer, ledger).into_peer();
        (checked, observations)
    }

    #[tokio::test]
    async fn answers_the_handler_gave_pass_and_a_cached_answer_to_another_request_is_found() {
        let (honest, observations) = wired(|inner| inner);
        for term in 1..4 {
            honest
                .request_vote(vote(term), Duration::from_secs(1))
                .await
                .unwrap();
        }
        assert!(
            findings(&observations).is_empty(),
            "{:?}",
            findings(&observations)
        );
        let (cached, observations) = wired(|inner| {
            let first = Mutex::new(None);
            Cached { inner, first }.into_peer()
        });
        cached
            .request_vote(vote(1), Duration::from_secs(1))
            .await
            .unwrap();
        cached
            .request_vote(vote(2), Duration::from_secs(1))
            .await
            .unwrap();
        let found = findings(&observations);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("peer-answers") && found[0].contains("from a cache"),
            "{found:?}"
        );
    }
}
