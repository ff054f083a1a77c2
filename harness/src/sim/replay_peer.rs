//! Wraps each `Peer` a node sends through, between the node (and its [`super::observed_peer`])
//! and its transport: the network of the `replay` fault, acting from outside the node, so it
//! meets any implementation the same way. While the node's [`ReplaySwitch`] is in effect, each
//! request may be held back, or its answer held back (returned by the call's deadline, to the
//! request it answers), and recorded requests are delivered again later by a task of the
//! node's host, their answers dropped. Client commands (`forward`) pass untouched.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rafty::{NodeId, Peer, PeerError};
use tokio::time::Instant;

use super::observe::Observations;
use super::replay::{Decision, Repeat, ReplaySwitch, Request};
use crate::peer_calls::{Answer, Call, PeerLayer};

/// A peer of node `node` whose messages the `replay` fault may delay and duplicate.
pub struct ReplayPeer {
    node: NodeId,
    inner: Arc<dyn Peer>,
    switch: ReplaySwitch,
    observations: Observations,
}

impl ReplayPeer {
    /// `node`'s calls through `inner`, replayed while `switch` is in effect.
    pub fn new(
        node: NodeId,
        inner: Arc<dyn Peer>,
        switch: ReplaySwitch,
        observations: Observations,
    ) -> Self {
        ReplayPeer {
            node,
            inner,
            switch,
            observations,
        }
    }

    /// Draw what happens to `request`, start its repeat if one is drawn, and hold the request
    /// if so drawn; returns the decision and the deadline left for the call itself.
    async fn before(&self, request: Request, timeout: Duration) -> (Decision, Duration) {
        let decision = self.switch.on_send(self.inner.id(), &request, timeout);
        if decision.lost {
            // Cut off: the request goes nowhere, and no answer comes by the deadline.
            tokio::time::sleep(timeout).await;
            return (decision, Duration::ZERO);
        }
        if let Some(repeat) = decision.repeat.clone() {
            self.spawn_repeat(repeat, timeout);
        }
        if !decision.hold_request.is_zero() {
            tokio::time::sleep(decision.hold_request).await;
        }
        (
            decision.clone(),
            timeout.saturating_sub(decision.hold_request),
        )
    }

    /// The error of a call whose request was lost ([`Decision::lost`]).
    fn lost(&self, timeout: Duration) -> PeerError {
        PeerError::TimedOut {
            peer: self.inner.id(),
            timeout,
        }
    }

    /// Hold the answer as drawn, returning it by the call's deadline.
    async fn after<T>(
        &self,
        decision: &Decision,
        started: Instant,
        timeout: Duration,
        answer: T,
    ) -> T {
        if !decision.hold_answer.is_zero() {
            let left = timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(decision.hold_answer.min(left)).await;
        }
        answer
    }

    /// Deliver `repeat`'s requests again after its wait, in order, while the replay that drew
    /// them is still in effect, each with the deadline of the call that drew them; their
    /// answers are dropped (lost on the way back).
    fn spawn_repeat(&self, repeat: Repeat, timeout: Duration) {
        let (node, inner, switch) = (self.node, self.inner.clone(), self.switch.clone());
        let observations = self.observations.clone();
        tokio::spawn(async move {
            tokio::time::sleep(repeat.after).await;
            // The first request goes; a later chunk of a transfer only where the peer asked.
            let mut asked = None;
            for (index, request) in repeat.requests.into_iter().enumerate() {
                let offset = match &request {
                    Request::Install(chunk) => Some(chunk.offset),
                    _ => None,
                };
                let wanted = index == 0 || asked == offset;
                if !wanted || !switch.is_in_effect(repeat.generation) {
                    return;
                }
                let text = format!(
                    "replay: delivered again to n{}: {}",
                    inner.id(),
                    request.describe()
                );
                observations.note(node, &text);
                let (next, answer) = deliver(inner.as_ref(), request, timeout).await;
                let text = format!("replay: n{} answered it (dropped): {answer}", inner.id());
                observations.note(node, &text);
                asked = next;
            }
        });
    }
}

/// Send `request` through `peer`; the answer is dropped (lost on the way back to the node)
/// and only described, for the node's log. For a snapshot chunk, also the offset the peer
/// asks for next (`None`: it wants no more, or did not answer).
async fn deliver(peer: &dyn Peer, request: Request, timeout: Duration) -> (Option<u64>, String) {
    match request {
        Request::Vote(vote) => {
            let answer = peer.request_vote(vote, timeout).await;
            (None, describe(&answer))
        }
        Request::Append(append) => {
            let answer = peer.append_entries(append, timeout).await;
            (None, describe(&answer))
        }
        Request::Install(chunk) => {
            let term = chunk.term;
            let answer = peer.install_snapshot(chunk, timeout).await;
            let next = match &answer {
                Ok(answer) if !answer.installed && answer.term == term => Some(answer.next_offset),
                _ => None,
            };
            (next, describe(&answer))
        }
    }
}

/// The answer to a repeated request, for the node's log.
fn describe<T: std::fmt::Debug>(answer: &Result<T, PeerError>) -> String {
    match answer {
        Ok(answer) => format!("{answer:?}"),
        Err(error) => format!("no answer: {error}"),
    }
}

#[async_trait]
impl PeerLayer for ReplayPeer {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    /// RequestVote, AppendEntries and InstallSnapshot may be held and repeated; client
    /// commands, TimeoutNow (without which every leadership transfer would time out) and
    /// ReadIndex (without which follower reads would all fail) pass untouched.
    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError> {
        match call {
            Call::RequestVote(request) => {
                let started = Instant::now();
                let (decision, left) = self.before(Request::Vote(request.clone()), timeout).await;
                if decision.lost {
                    return Err(self.lost(timeout));
                }
                let answer = self.inner.request_vote(request, left).await;
                let answer = self.after(&decision, started, timeout, answer).await;
                answer.map(Answer::RequestVote)
            }
            Call::AppendEntries(request) => {
                let started = Instant::now();
                let sent = Request::Append(request.clone());
                let (decision, left) = self.before(sent.clone(), timeout).await;
                if decision.lost {
                    return Err(self.lost(timeout));
                }
                let answer = self.inner.append_entries(request, left).await;
                self.switch
                    .on_answer(self.inner.id(), &sent, answer.is_ok());
                let answer = self.after(&decision, started, timeout, answer).await;
                answer.map(Answer::AppendEntries)
            }
            Call::InstallSnapshot(request) => {
                let started = Instant::now();
                let (decision, left) = self
                    .before(Request::Install(request.clone()), timeout)
                    .await;
                if decision.lost {
                    return Err(self.lost(timeout));
                }
                let answer = self.inner.install_snapshot(request, left).await;
                let answer = self.after(&decision, started, timeout, answer).await;
                answer.map(Answer::InstallSnapshot)
            }
            other => other.send(&*self.inner, timeout).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Mutex;

    use rafty::peer::ForwardResponse;
    use rafty::{AppendEntries, AppendEntriesResponse, RequestVote, RequestVoteResponse, Term};

    use super::*;
    use crate::nemesis::action::ReplayDraw;
    use crate::sim::clock;
    use crate::sim::replay::REPEAT_AFTER;

    const TIMEOUT: Duration = Duration::from_millis(100);

    /// The called node: grants every vote in the request's term, noting when each arrived.
    #[derive(Clone, Default)]
    struct Callee {
        arrivals: Arc<Mutex<Vec<(Term, Duration)>>>,
    }

    impl Callee {
        fn arrivals(&self) -> Vec<(Term, Duration)> {
            self.arrivals.lock().expect("not poisoned").clone()
        }
    }

    #[async_trait]
    impl Peer for Callee {
        fn id(&self) -> NodeId {
            2
        }

        async fn request_vote(
            &self,
            request: RequestVote,
            _timeout: Duration,
        ) -> Result<RequestVoteResponse, PeerError> {
            let arrival = (request.term, clock::now());
            self.arrivals.lock().expect("not poisoned").push(arrival);
            Ok(RequestVoteResponse {
                term: request.term,
                vote_granted: true,
                pre_vote: false,
            })
        }

        async fn append_entries(
            &self,
            _request: AppendEntries,
            _timeout: Duration,
        ) -> Result<AppendEntriesResponse, PeerError> {
            Err(PeerError::Rejected {
                peer: 2,
                reason: "votes only".into(),
            })
        }

        async fn forward(
            &self,
            _command: Vec<u8>,
            _timeout: Duration,
        ) -> Result<ForwardResponse, PeerError> {
            Err(PeerError::Rejected {
                peer: 2,
                reason: "votes only".into(),
            })
        }

        async fn install_snapshot(
            &self,
            _request: rafty::InstallSnapshot,
            _timeout: Duration,
        ) -> Result<rafty::InstallSnapshotResponse, PeerError> {
            Err(PeerError::Rejected {
                peer: 2,
                reason: "votes only".into(),
            })
        }

        async fn timeout_now(
            &self,
            _request: rafty::TimeoutNow,
            _timeout: Duration,
        ) -> Result<rafty::TimeoutNowResponse, PeerError> {
            Err(PeerError::Rejected {
                peer: 2,
                reason: "votes only".into(),
            })
        }
    }

    fn vote(term: Term) -> RequestVote {
        RequestVote {
            term,
            candidate_id: 1,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
            transfer: false,
        }
    }

    fn draw(hold_percent: u8, repeat_percent: u8) -> ReplayDraw {
        ReplayDraw {
            seed: 1,
            hold_percent,
            repeat_percent,
            hold_entries_ms: 0,
            cut_after_heartbeats: 0,
        }
    }

    /// Run `body` as node 1 of a simulation, calling a [`Callee`] through a [`ReplayPeer`]
    /// replaying with `draw`; returns what reached the callee.
    fn simulate<F>(
        draw: ReplayDraw,
        body: impl FnOnce(Arc<dyn Peer>, ReplaySwitch) -> F + 'static,
    ) -> Vec<(Term, Duration)>
    where
        F: Future<Output = ()> + 'static,
    {
        let callee = Callee::default();
        let seen = callee.clone();
        let mut sim = turmoil::Builder::new()
            .simulation_duration(Duration::from_secs(60))
            .build();
        sim.client("n1", async move {
            let switch = ReplaySwitch::default();
            switch.start(draw);
            let observations = Observations::new();
            let peer = ReplayPeer::new(1, Arc::new(callee), switch.clone(), observations);
            let peer = peer.into_peer();
            body(peer, switch).await;
            Ok(())
        });
        sim.run().expect("the simulation runs");
        seen.arrivals()
    }

    #[test]
    fn a_repeated_request_arrives_again_later_and_its_answer_is_lost() {
        let arrivals = simulate(draw(0, 100), |peer, _| async move {
            let answer = peer.request_vote(vote(1), TIMEOUT).await;
            assert_eq!(
                answer.expect("answered").term,
                1,
                "its own request's answer"
            );
            tokio::time::sleep(REPEAT_AFTER.1 * 2).await;
        });
        assert_eq!(arrivals.len(), 2, "{arrivals:?}");
        let ((first_term, first), (again_term, again)) = (arrivals[0], arrivals[1]);
        assert_eq!((first_term, again_term), (1, 1));
        assert!(again >= first + REPEAT_AFTER.0, "{arrivals:?}");
    }

    #[test]
    fn a_repeat_of_a_replay_that_ended_is_never_delivered() {
        let arrivals = simulate(draw(0, 100), |peer, switch| async move {
            let _ = peer.request_vote(vote(1), TIMEOUT).await;
            switch.stop();
            tokio::time::sleep(REPEAT_AFTER.1 * 2).await;
        });
        assert_eq!(arrivals.len(), 1, "{arrivals:?}");
    }

    /// `clock-bound`'s cut: once the node is cut off, a request never reaches the peer and
    /// its call fails when its deadline passes; before, requests pass.
    #[test]
    fn a_node_cut_after_its_heartbeats_loses_every_later_request_at_its_deadline() {
        let cut = ReplayDraw {
            cut_after_heartbeats: 1,
            ..draw(0, 0)
        };
        let arrivals = simulate(cut, |peer, switch| async move {
            let answer = peer.request_vote(vote(1), TIMEOUT).await;
            assert_eq!(answer.expect("not cut off yet").term, 1);
            let heartbeat = Request::Append(AppendEntries {
                term: 1,
                leader_id: 1,
                prev_log_index: 0,
                prev_log_term: 0,
                entries: Vec::new(),
                leader_commit: 0,
            });
            switch.on_answer(2, &heartbeat, true);
            let sent = clock::now();
            let lost = peer.request_vote(vote(2), TIMEOUT).await;
            assert!(
                matches!(lost, Err(PeerError::TimedOut { peer: 2, .. })),
                "{lost:?}"
            );
            assert_eq!(clock::now() - sent, TIMEOUT, "waits out its deadline");
        });
        assert_eq!(
            arrivals.len(),
            1,
            "only the request before the cut: {arrivals:?}"
        );
        assert_eq!(arrivals[0].0, 1);
    }

    /// A term-1 vote that arrives late: the request or the answer was held, yet every call
    /// gets the answer to its own request, by its deadline.
    #[test]
    fn a_held_message_arrives_late_and_is_answered_by_the_deadline() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let record = calls.clone();
        let arrivals = simulate(draw(100, 0), move |peer, _| async move {
            for term in 1..=40 {
                let sent = clock::now();
                let answer = peer.request_vote(vote(term), TIMEOUT).await;
                let elapsed = clock::now() - sent;
                assert_eq!(answer.expect("answered").term, term);
                record.lock().expect("not poisoned").push((sent, elapsed));
            }
        });
        let calls = calls.lock().expect("not poisoned").clone();
        assert_eq!(arrivals.len(), calls.len(), "no duplicates at 0%");
        let mut requests_late = 0;
        for ((_, arrived), (sent, elapsed)) in arrivals.iter().zip(&calls) {
            assert!(*elapsed >= TIMEOUT / 10, "held: {elapsed:?}");
            assert!(*elapsed <= TIMEOUT, "answered by the deadline: {elapsed:?}");
            requests_late += usize::from(*arrived >= *sent + TIMEOUT / 10);
        }
        assert!(
            requests_late > 0 && requests_late < calls.len(),
            "{requests_late}: held requests and held answers"
        );
    }
}
