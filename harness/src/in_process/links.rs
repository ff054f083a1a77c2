//! The network faults of an in-process run, applied *around* the user's `Peer`, since the
//! harness does not know the transport's wire: [`Links`] holds the state of every direction
//! between two nodes (as the real-process [`FaultProxy`](crate::real::proxy::FaultProxy) does
//! for its TCP relays), and [`FaultyPeer`] wraps the `Peer` through which one node calls
//! another:
//!
//! - a request whose direction is cut is refused before the user's `Peer` sees it
//!   ([`PeerError::NotSent`]: it never was sent);
//! - an answer whose direction is cut is dropped after the user's `Peer` returned it
//!   ([`PeerError::Unreachable`]: the request was delivered and may have been handled), so a
//!   one-way partition means what it does on a real network;
//! - a clogged direction holds the request (or the answer) until the clog ends or the call's
//!   deadline passes ([`PeerError::NotSent`] for a request never handed on,
//!   [`PeerError::TimedOut`] for a held answer);
//! - latency holds each request and each answer that long.
//!
//! What this does not do: cut the user's wire. Connections stay up through a partition, so
//! what a transport does when its own connections break (reconnects, timeouts inside the
//! stream) is exercised only by node kills, which stop the server and close its connections.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rafty::{NodeId, Peer, PeerError};
use tokio::time::Instant;

use crate::peer_calls::{Answer, Call, PeerLayer};
use crate::real::proxy::Flow;

/// How often a held message looks at its direction again.
const POLL: Duration = Duration::from_millis(5);

/// Each faulted direction `(from, to)`: how its messages fare and their latency (absent:
/// open, none).
type Directions = BTreeMap<(NodeId, NodeId), (Flow, Duration)>;

/// The state of every direction `(from, to)` between two nodes: how its messages fare and
/// their latency. Cheap to clone: clones share the state.
#[derive(Clone, Debug, Default)]
pub struct Links {
    inner: Arc<Mutex<Directions>>,
}

/// What became of a message held at its direction.
enum Passage {
    /// On its way.
    Through,
    /// The direction is cut.
    Cut,
    /// Held (by a clog or latency) until the call's deadline.
    Late,
}

impl Links {
    /// Every direction open, no latency.
    pub fn new() -> Links {
        Links::default()
    }

    fn lock(&self) -> MutexGuard<'_, Directions> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Direction `(from, to)`'s flow and latency.
    pub fn direction(&self, from: NodeId, to: NodeId) -> (Flow, Duration) {
        self.lock()
            .get(&(from, to))
            .copied()
            .unwrap_or((Flow::Open, Duration::ZERO))
    }

    /// Set how messages from `from` to `to` fare.
    pub fn set_flow(&self, from: NodeId, to: NodeId, flow: Flow) {
        self.lock().entry((from, to)).or_default().0 = flow;
    }

    /// Hold every message from `from` to `to` `latency` long.
    pub fn set_latency(&self, from: NodeId, to: NodeId, latency: Duration) {
        self.lock().entry((from, to)).or_default().1 = latency;
    }

    /// Every direction open, no latency.
    pub fn heal_all(&self) {
        self.lock().clear();
    }

    /// Hold a message of `(from, to)` as its direction says, until `deadline` at most.
    async fn pass(&self, from: NodeId, to: NodeId, deadline: Instant) -> Passage {
        let (_, latency) = self.direction(from, to);
        if !latency.is_zero() {
            tokio::time::sleep_until((Instant::now() + latency).min(deadline)).await;
            if Instant::now() >= deadline {
                return Passage::Late;
            }
        }
        loop {
            match self.direction(from, to).0 {
                Flow::Open => return Passage::Through,
                Flow::Cut => return Passage::Cut,
                Flow::Clogged if Instant::now() >= deadline => return Passage::Late,
                Flow::Clogged => tokio::time::sleep(POLL.min(deadline - Instant::now())).await,
            }
        }
    }
}

/// The `Peer` through which node `from` calls `inner.id()`, with [`Links`]' faults applied
/// around it (see the module's documentation).
pub struct FaultyPeer {
    from: NodeId,
    inner: Arc<dyn Peer>,
    links: Links,
}

impl FaultyPeer {
    /// Node `from`'s calls through `inner`, faulted by `links`.
    pub fn new(from: NodeId, inner: Arc<dyn Peer>, links: Links) -> FaultyPeer {
        FaultyPeer { from, inner, links }
    }

    /// Make the call `call` (given the time left of `timeout`) through the faults.
    async fn through<T, F>(
        &self,
        timeout: Duration,
        call: impl FnOnce(Duration) -> F,
    ) -> Result<T, PeerError>
    where
        F: Future<Output = Result<T, PeerError>>,
    {
        let (from, to) = (self.from, self.inner.id());
        let deadline = Instant::now() + timeout;
        let not_sent = |why: &str| PeerError::NotSent {
            peer: to,
            reason: format!("the harness {why} n{from} -> n{to} (around the Peer)"),
        };
        match self.links.pass(from, to, deadline).await {
            Passage::Through => {}
            Passage::Cut => return Err(not_sent("partitioned")),
            Passage::Late => return Err(not_sent("held, until the deadline,")),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let answer = call(left).await;
        match self.links.pass(to, from, deadline).await {
            Passage::Through => answer,
            Passage::Cut => Err(PeerError::Unreachable {
                peer: to,
                reason: format!(
                    "the answer was dropped: the harness partitioned n{to} -> n{from} \
                     (around the Peer)"
                ),
            }),
            Passage::Late => Err(PeerError::TimedOut { peer: to, timeout }),
        }
    }
}

#[async_trait]
impl PeerLayer for FaultyPeer {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError> {
        let inner = &*self.inner;
        self.through(timeout, |left| call.send(inner, left)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty::testing::peer_suite::ReferenceServer;
    use rafty::{InProcessNetwork, RequestVote};

    fn vote() -> RequestVote {
        RequestVote {
            term: 3,
            candidate_id: 1,
            last_log_index: 12,
            last_log_term: 2,
            pre_vote: false,
            transfer: false,
        }
    }

    async fn link() -> (Arc<dyn Peer>, Links) {
        let network = InProcessNetwork::new();
        network.register(2, Arc::new(ReferenceServer::default()));
        let links = Links::new();
        let peer = FaultyPeer::new(1, network.peer(1, 2), links.clone()).into_peer();
        (peer, links)
    }

    #[tokio::test]
    async fn a_cut_request_is_never_sent_and_a_cut_answer_is_indefinite() {
        let (peer, links) = link().await;
        let timeout = Duration::from_millis(100);
        assert!(peer.request_vote(vote(), timeout).await.is_ok());
        links.set_flow(1, 2, Flow::Cut);
        let refused = peer.request_vote(vote(), timeout).await.unwrap_err();
        assert!(refused.is_definite(), "{refused}");
        links.heal_all();
        links.set_flow(2, 1, Flow::Cut);
        let lost = peer.request_vote(vote(), timeout).await.unwrap_err();
        assert!(
            matches!(lost, PeerError::Unreachable { .. }),
            "a one-way cut of the answers loses them after delivery: {lost}"
        );
    }

    #[tokio::test]
    async fn a_clog_holds_until_the_deadline_and_latency_delays_both_ways() {
        let (peer, links) = link().await;
        links.set_flow(1, 2, Flow::Clogged);
        let held = peer
            .request_vote(vote(), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(held.is_definite(), "held before the Peer: {held}");
        links.heal_all();
        links.set_latency(1, 2, Duration::from_millis(30));
        links.set_latency(2, 1, Duration::from_millis(30));
        let late = peer
            .request_vote(vote(), Duration::from_millis(45))
            .await
            .unwrap_err();
        assert!(
            matches!(late, PeerError::TimedOut { .. }),
            "an answer held past the deadline: {late}"
        );
        assert!(
            peer.request_vote(vote(), Duration::from_secs(5))
                .await
                .is_ok()
        );
    }
}
