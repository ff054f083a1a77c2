//! The `Peer` trait (Rafty's `IPeer`): how a node calls another node.

use std::time::Duration;

use async_trait::async_trait;

use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse,
    ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    TimeoutNowResponse,
};
use crate::types::NodeId;

/// Why a call to a peer failed. One variant is definite, [`PeerError::NotSent`]: the request
/// certainly never reached the peer. Every other variant is indefinite for the caller: the
/// request may or may not have reached the peer, and may or may not have been handled.
/// [`PeerError::is_definite`] tells them apart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// Definite: the request certainly never reached the peer's handler, because no byte of it
    /// left this node (the dial failed or was refused, the handshake failed, the request could
    /// not be encoded, the link was down before it was sent, the deadline passed before it was
    /// sent). See the [`Peer`] contract for when an implementation may say so.
    #[error("request to peer {peer} not sent: {reason}")]
    NotSent {
        /// The peer called.
        peer: NodeId,
        /// Why it was not sent.
        reason: String,
    },
    /// Indefinite: the peer could not be reached after the request may have been sent
    /// (connection reset or lost, answer lost on the way back).
    #[error("peer {peer} unreachable: {reason}")]
    Unreachable {
        /// The peer called.
        peer: NodeId,
        /// What the transport saw.
        reason: String,
    },
    /// Indefinite: no answer came before the deadline.
    #[error("peer {peer} timed out after {timeout:?}")]
    TimedOut {
        /// The peer called.
        peer: NodeId,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// Indefinite: the peer answered but refused the call (shutting down, malformed request)
    /// or could not answer it.
    #[error("peer {peer} rejected the call: {reason}")]
    Rejected {
        /// The peer called.
        peer: NodeId,
        /// Why it refused.
        reason: String,
    },
}

impl PeerError {
    /// True when the request certainly never reached the peer ([`PeerError::NotSent`]): it
    /// had no effect there. False for every other error, after which the peer may have handled
    /// the request, or may yet.
    pub fn is_definite(&self) -> bool {
        matches!(self, PeerError::NotSent { .. })
    }

    /// The peer called.
    pub fn peer(&self) -> NodeId {
        match self {
            PeerError::NotSent { peer, .. }
            | PeerError::Unreachable { peer, .. }
            | PeerError::TimedOut { peer, .. }
            | PeerError::Rejected { peer, .. } => *peer,
        }
    }
}

/// The result of a client command forwarded to the leader (Rafty's follower-forwarding).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ForwardResponse {
    /// Applied; the state machine's response.
    Applied(Vec<u8>),
    /// The callee is not the leader (definite: not applied); its hint of who is.
    NotLeader {
        /// The leader the callee knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// The callee accepted the command but could not say whether it applied (indefinite).
    Timeout,
}

/// A remote node, as seen by the node that calls it.
///
/// # Contract
///
/// * Every call completes by `timeout` (plus scheduling slack): it returns the peer's answer
///   or a [`PeerError`]; it never hangs.
/// * Calls may run concurrently; an implementation must not let one slow call block others
///   beyond the configured in-flight limits.
/// * Messages are delivered whole or not at all; a response belongs to its request.
/// * A `Peer` never panics on what the network gives it: garbage is a `PeerError`.
/// * [`PeerError::NotSent`] is a promise that the peer's handler never saw the request, and a
///   follower turns it into a definite client error for a forwarded command (the command was
///   proposed nowhere), which a history records as `fail`. Return it only when no byte of the
///   request can have reached the peer: the dial failed or the handshake was refused, the
///   request could not be encoded, the connection was known to be closed before any of the
///   request was handed to it, the deadline passed before the request was handed to the
///   transport. Once any part of the request was handed to a socket or stream (even if the
///   write then failed part-way), or while waiting for the answer, every failure is
///   indefinite: [`PeerError::Unreachable`], [`PeerError::TimedOut`] or
///   [`PeerError::Rejected`]. When in doubt, indefinite.
#[async_trait]
pub trait Peer: Send + Sync + 'static {
    /// The id of the node this peer reaches.
    fn id(&self) -> NodeId;

    /// Send a RequestVote (or pre-vote) and wait for the answer.
    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError>;

    /// Send an AppendEntries (or heartbeat) and wait for the answer.
    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError>;

    /// Forward a client command to this peer, believed to be the leader, and wait for the
    /// outcome.
    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError>;

    /// Send one chunk of an InstallSnapshot (§7, Figure 13) and wait for the answer.
    ///
    /// Required, with no default, so that a wrapper (an observing or fault-injecting peer)
    /// cannot forget to pass it through. A transport that does not carry snapshots returns
    /// [`PeerError::NotSent`]; followers that fell behind the leader's compacted log then
    /// cannot catch up.
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError>;

    /// Send a TimeoutNow (leadership transfer, dissertation §3.10) and wait for the answer.
    ///
    /// Required, with no default, for the same reason as
    /// [`install_snapshot`](Self::install_snapshot). A transport that does not carry it
    /// returns [`PeerError::NotSent`]; a leadership transfer over it times out and the leader
    /// resumes.
    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError>;

    /// Ask this peer, believed to be the leader, for a read index (follower reads,
    /// dissertation §6.4) and wait for the answer.
    ///
    /// The default refuses ([`PeerError::NotSent`]): over a transport that does not carry it,
    /// a follower's ReadIndex and lease reads fail (definitely: a read changes nothing) and
    /// clients read at the leader. A wrapping peer must pass it through.
    async fn read_index(
        &self,
        request: ReadIndexRequest,
        timeout: Duration,
    ) -> Result<ReadIndexResponse, PeerError> {
        let _ = (request, timeout);
        Err(PeerError::NotSent {
            peer: self.id(),
            reason: "this transport does not carry ReadIndex requests".into(),
        })
    }
}

/// The receiving side of the [`Peer`] calls: what a transport's server hands incoming requests
/// to. [`crate::node::Node`] implements it; a transport (in-process network, TCP server) calls
/// it and sends the result back to the caller.
#[async_trait]
pub trait RpcHandler: Send + Sync + 'static {
    /// Handle a RequestVote (or pre-vote); answers only once any vote it grants is durable.
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError>;

    /// Handle an AppendEntries; answers only once the entries it acknowledges are durable.
    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError>;

    /// Handle a client command forwarded by a follower.
    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError>;

    /// Handle one chunk of an InstallSnapshot; answers `installed` only once the snapshot is
    /// durable and restored. Required (no default, so a wrapping handler cannot drop it); a
    /// handler without snapshot support returns [`PeerError::Rejected`].
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError>;

    /// Handle a TimeoutNow (leadership transfer, dissertation §3.10). Required (no default,
    /// so a wrapping handler cannot drop it); a handler that does not take part in transfers
    /// returns [`PeerError::Rejected`].
    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError>;

    /// Handle a follower's request for a read index (dissertation §6.4): answered once this
    /// node, as leader, confirmed the read, or at once with no index when it is not the
    /// leader. The default answers with no index, as a node that is not the leader does (the
    /// follower's reads fail, definitely); a wrapping handler must pass it through.
    async fn read_index(&self, request: ReadIndexRequest) -> Result<ReadIndexResponse, PeerError> {
        Ok(ReadIndexResponse {
            term: request.term,
            request_id: request.request_id,
            read_index: None,
            leader_hint: None,
        })
    }
}
