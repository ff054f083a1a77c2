//! Wraps each `Peer` a node sends through, to report every AppendEntries it sends, every
//! answer of a higher term and every granted vote that reaches it: the leader's and the
//! candidate's side of the wire, as any implementation uses it (the step-down and election
//! quorum checks of [`crate::checks::protocol`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rafty::peer::ForwardResponse;
use rafty::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, NodeId, Peer,
    PeerError, RequestVote, RequestVoteResponse,
};

use crate::checks::invariants::Observation;

use super::observe::Observations;

/// A peer of node `node`, reporting what `node` sends through it and the higher terms it hears.
pub struct ObservedPeer {
    node: NodeId,
    inner: Arc<dyn Peer>,
    observations: Observations,
}

impl ObservedPeer {
    /// Report `node`'s calls through `inner`.
    pub fn new(node: NodeId, inner: Arc<dyn Peer>, observations: Observations) -> Self {
        ObservedPeer {
            node,
            inner,
            observations,
        }
    }
}

#[async_trait]
impl Peer for ObservedPeer {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        let response = self.inner.request_vote(request, timeout).await?;
        if response.vote_granted && !response.pre_vote {
            let received = Observation::VoteReceived {
                voter: self.inner.id(),
                term: response.term,
            };
            self.observations.observe(self.node, received);
        }
        Ok(response)
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let term = request.term;
        let sent = Observation::AppendSent { term };
        self.observations.observe(self.node, sent);
        let response = self.inner.append_entries(request, timeout).await?;
        if response.success && response.term == term {
            let acknowledged = Observation::AppendAcknowledged {
                follower: self.inner.id(),
                term,
                match_index: response.match_index,
            };
            self.observations.observe(self.node, acknowledged);
        }
        if response.term > term {
            let heard = Observation::HigherTermHeard {
                request_term: term,
                term: response.term,
            };
            self.observations.observe(self.node, heard);
        }
        Ok(response)
    }

    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        self.inner.forward(command, timeout).await
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.inner.install_snapshot(request, timeout).await
    }

    /// Passed on: without it a leadership transfer could never reach its target (the trait's
    /// default refuses).
    async fn timeout_now(
        &self,
        request: rafty::message::TimeoutNow,
        timeout: Duration,
    ) -> Result<rafty::message::TimeoutNowResponse, PeerError> {
        self.inner.timeout_now(request, timeout).await
    }

    /// Passed on: without it follower reads would all fail (the trait's default refuses).
    async fn read_index(
        &self,
        request: rafty::ReadIndexRequest,
        timeout: Duration,
    ) -> Result<rafty::ReadIndexResponse, PeerError> {
        self.inner.read_index(request, timeout).await
    }
}
