//! Wraps a node's `RpcHandler` to report every RequestVote and AppendEntries it answered, with
//! its answer, to the protocol checks: the messages on the wire, as any implementation sends
//! them.

use async_trait::async_trait;
use rafty::peer::ForwardResponse;
use rafty::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, NodeId,
    PeerError, RequestVote, RequestVoteResponse, RpcHandler,
};

use crate::checks::invariants::Observation;
use crate::checks::protocol::AppendAnswer;

use super::observe::Observations;

/// A node's RPC handler, reporting each answer before the transport sends it.
pub struct ObservedRpc<H> {
    node: NodeId,
    inner: H,
    observations: Observations,
}

impl<H: RpcHandler> ObservedRpc<H> {
    /// Report what `inner`, node `node`'s handler, answers.
    pub fn new(node: NodeId, inner: H, observations: Observations) -> Self {
        ObservedRpc {
            node,
            inner,
            observations,
        }
    }
}

#[async_trait]
impl<H: RpcHandler> RpcHandler for ObservedRpc<H> {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        let mark = self.observations.mark(self.node);
        let response = self.inner.request_vote(request.clone()).await?;
        let answered = Observation::VoteAnswered {
            request,
            response: response.clone(),
            mark,
        };
        self.observations.observe(self.node, answered);
        Ok(response)
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let mark = self.observations.mark(self.node);
        let (term, leader_id) = (request.term, request.leader_id);
        let (prev_log_index, prev_log_term) = (request.prev_log_index, request.prev_log_term);
        let entries = request.entries.len() as u64;
        let response = self.inner.append_entries(request).await?;
        let answer = AppendAnswer {
            term,
            leader_id,
            prev_log_index,
            prev_log_term,
            entries,
            response: response.clone(),
        };
        let answered = Observation::AppendAnswered { answer, mark };
        self.observations.observe(self.node, answered);
        Ok(response)
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        self.inner.forward(command).await
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.inner.install_snapshot(request).await
    }

    /// Passed on: without it a leadership transfer could never reach its target (the trait's
    /// default refuses).
    async fn timeout_now(
        &self,
        request: rafty::message::TimeoutNow,
    ) -> Result<rafty::message::TimeoutNowResponse, PeerError> {
        self.inner.timeout_now(request).await
    }

    /// Passed on: without it follower reads would all fail (the trait's default answers no
    /// index).
    async fn read_index(
        &self,
        request: rafty::ReadIndexRequest,
    ) -> Result<rafty::ReadIndexResponse, PeerError> {
        self.inner.read_index(request).await
    }
}
