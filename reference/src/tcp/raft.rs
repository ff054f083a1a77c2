//! Raft's RPCs over the transport: [`TcpPeer`] calls a remote node, [`serve_raft`] answers
//! calls with a node's [`RpcHandler`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse,
    ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, Peer, PeerError, RpcHandler};
use crate::tcp::channel::{CallError, Channel, ChannelTarget};
use crate::tcp::config::TransportConfig;
use crate::tcp::handshake::Protocol;
use crate::tcp::server::{FrameHandler, ServerHandle, serve};
use crate::tcp::stream::{Acceptor, Connector};
use crate::types::NodeId;

/// A Raft call on the wire. Variants are only ever appended (postcard numbers them in order):
/// [`RaftRequest::InstallSnapshot`] came with protocol version 2
/// ([`crate::tcp::handshake::PROTOCOL_VERSION`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftRequest {
    /// [`Peer::request_vote`] with [`RequestVote::transfer`] false, encoded as versions 1-4
    /// encode every vote request.
    RequestVote(VoteArguments),
    /// [`Peer::append_entries`].
    AppendEntries(AppendEntries),
    /// [`Peer::forward`].
    Forward(Vec<u8>),
    /// [`Peer::install_snapshot`] (protocol version 2).
    InstallSnapshot(InstallSnapshot),
    /// [`Peer::timeout_now`] (protocol version 3).
    TimeoutNow(TimeoutNow),
    /// [`Peer::read_index`] (protocol version 4).
    ReadIndex(ReadIndexRequest),
    /// [`Peer::request_vote`] with [`RequestVote::transfer`] true (protocol version 5): a
    /// candidate its leader ordered to campaign (§3.10). Answered with
    /// [`RaftResponse::RequestVote`].
    TransferVote(VoteArguments),
}

/// A [`RequestVote`] without its transfer flag: the encoding of a vote request in protocol
/// versions 1 to 4, kept byte for byte so that an older caller's requests decode unchanged;
/// which [`RaftRequest`] carries it says whether it is a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteArguments {
    /// [`RequestVote::term`].
    pub term: crate::types::Term,
    /// [`RequestVote::candidate_id`].
    pub candidate_id: NodeId,
    /// [`RequestVote::last_log_index`].
    pub last_log_index: crate::types::LogIndex,
    /// [`RequestVote::last_log_term`].
    pub last_log_term: crate::types::Term,
    /// [`RequestVote::pre_vote`].
    pub pre_vote: bool,
}

impl RaftRequest {
    /// The wire form of `request`: [`RaftRequest::TransferVote`] for a transfer's vote
    /// request, [`RaftRequest::RequestVote`] for any other.
    pub fn vote(request: RequestVote) -> RaftRequest {
        let arguments = VoteArguments {
            term: request.term,
            candidate_id: request.candidate_id,
            last_log_index: request.last_log_index,
            last_log_term: request.last_log_term,
            pre_vote: request.pre_vote,
        };
        if request.transfer {
            RaftRequest::TransferVote(arguments)
        } else {
            RaftRequest::RequestVote(arguments)
        }
    }
}

impl VoteArguments {
    /// The vote request these arguments carry, marked as a transfer or not.
    pub fn into_request(self, transfer: bool) -> RequestVote {
        RequestVote {
            term: self.term,
            candidate_id: self.candidate_id,
            last_log_index: self.last_log_index,
            last_log_term: self.last_log_term,
            pre_vote: self.pre_vote,
            transfer,
        }
    }
}

/// The answer to a [`RaftRequest`], of the same variant ([`RaftRequest::TransferVote`] is
/// answered with [`RaftResponse::RequestVote`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftResponse {
    /// The answer to [`RaftRequest::RequestVote`].
    RequestVote(Result<RequestVoteResponse, RemotePeerError>),
    /// The answer to [`RaftRequest::AppendEntries`].
    AppendEntries(Result<AppendEntriesResponse, RemotePeerError>),
    /// The answer to [`RaftRequest::Forward`].
    Forward(Result<ForwardResponse, RemotePeerError>),
    /// The answer to [`RaftRequest::InstallSnapshot`].
    InstallSnapshot(Result<InstallSnapshotResponse, RemotePeerError>),
    /// The answer to [`RaftRequest::TimeoutNow`].
    TimeoutNow(Result<TimeoutNowResponse, RemotePeerError>),
    /// The answer to [`RaftRequest::ReadIndex`].
    ReadIndex(Result<ReadIndexResponse, RemotePeerError>),
}

/// A [`PeerError`] returned by the remote handler, as it travels on the wire. The request
/// reached that handler, so every one is indefinite for the caller: a
/// [`PeerError::NotSent`] the handler returns (about some call of its own) travels as
/// [`RemotePeerError::Unreachable`], never as a claim that the caller's request was not sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemotePeerError {
    /// [`PeerError::Unreachable`].
    Unreachable {
        /// The peer the remote could not reach.
        peer: NodeId,
        /// Why.
        reason: String,
    },
    /// [`PeerError::TimedOut`].
    TimedOut {
        /// The peer that did not answer the remote.
        peer: NodeId,
        /// The deadline.
        timeout: Duration,
    },
    /// [`PeerError::Rejected`].
    Rejected {
        /// The peer that refused.
        peer: NodeId,
        /// Why.
        reason: String,
    },
}

impl From<PeerError> for RemotePeerError {
    fn from(error: PeerError) -> Self {
        match error {
            PeerError::Unreachable { peer, reason } => {
                RemotePeerError::Unreachable { peer, reason }
            }
            PeerError::NotSent { peer, reason } => RemotePeerError::Unreachable {
                peer,
                reason: format!("not sent: {reason}"),
            },
            PeerError::TimedOut { peer, timeout } => RemotePeerError::TimedOut { peer, timeout },
            PeerError::Rejected { peer, reason } => RemotePeerError::Rejected { peer, reason },
        }
    }
}

impl From<RemotePeerError> for PeerError {
    fn from(error: RemotePeerError) -> Self {
        match error {
            RemotePeerError::Unreachable { peer, reason } => {
                PeerError::Unreachable { peer, reason }
            }
            RemotePeerError::TimedOut { peer, timeout } => PeerError::TimedOut { peer, timeout },
            RemotePeerError::Rejected { peer, reason } => PeerError::Rejected { peer, reason },
        }
    }
}

/// A [`Peer`] reached over the transport: one multiplexed connection, redialled with backoff,
/// every call bounded by its timeout.
pub struct TcpPeer<C: Connector> {
    id: NodeId,
    channel: Channel<C, RaftRequest, RaftResponse>,
}

impl<C: Connector> TcpPeer<C> {
    /// A peer for node `peer_id` at `addr`, called by node `local_id` of `config.cluster_id`.
    /// It dials on the first call; the handshake refuses a node of another cluster or another
    /// id at `addr`.
    pub fn new(
        connector: C,
        local_id: NodeId,
        peer_id: NodeId,
        addr: impl Into<String>,
        config: TransportConfig,
    ) -> Self {
        let target = ChannelTarget {
            addr: addr.into(),
            protocol: Protocol::Raft,
            from: Some(local_id),
            to: Some(peer_id),
        };
        TcpPeer {
            id: peer_id,
            channel: Channel::new(connector, target, config),
        }
    }

    /// The address this peer dials.
    pub fn addr(&self) -> &str {
        self.channel.addr()
    }

    async fn call(
        &self,
        request: RaftRequest,
        timeout: Duration,
    ) -> Result<RaftResponse, PeerError> {
        self.channel
            .call(request, timeout)
            .await
            .map_err(|error| self.peer_error(error))
    }

    /// The [`PeerError`] for a failed call: [`PeerError::NotSent`] exactly when the channel
    /// knows no byte of the request left ([`CallError::is_definite`]: the dial, the backoff,
    /// the handshake, encoding, a connection closed before the request was handed to it, a
    /// deadline passing before that), indefinite otherwise.
    fn peer_error(&self, error: CallError) -> PeerError {
        let peer = self.id;
        if error.is_definite() {
            return PeerError::NotSent {
                peer,
                reason: error.to_string(),
            };
        }
        match error {
            CallError::TimedOut { timeout, .. } => PeerError::TimedOut { peer, timeout },
            CallError::Failed { .. } => PeerError::Rejected {
                peer,
                reason: error.to_string(),
            },
            _ => PeerError::Unreachable {
                peer,
                reason: error.to_string(),
            },
        }
    }

    fn mismatch(&self, expected: &str, got: &RaftResponse) -> PeerError {
        PeerError::Rejected {
            peer: self.id,
            reason: format!("expected a {expected} answer, got {got:?}"),
        }
    }
}

#[async_trait]
impl<C: Connector> Peer for TcpPeer<C> {
    fn id(&self) -> NodeId {
        self.id
    }

    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        match self.call(RaftRequest::vote(request), timeout).await? {
            RaftResponse::RequestVote(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("RequestVote", &other)),
        }
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        match self
            .call(RaftRequest::AppendEntries(request), timeout)
            .await?
        {
            RaftResponse::AppendEntries(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("AppendEntries", &other)),
        }
    }

    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        match self.call(RaftRequest::Forward(command), timeout).await? {
            RaftResponse::Forward(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("Forward", &other)),
        }
    }

    /// Sends the chunk as one frame. A chunk longer than
    /// [`TransportConfig::max_snapshot_chunk_bytes`] is refused before anything is dialled or
    /// sent ([`PeerError::NotSent`], naming its size and the limit): a sender must cut its
    /// snapshot into chunks no longer than that.
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let limit = self.channel.config().max_snapshot_chunk_bytes();
        if request.data.len() > limit {
            return Err(PeerError::NotSent {
                peer: self.id,
                reason: format!(
                    "InstallSnapshot chunk of {} bytes exceeds the limit of {limit} bytes per \
                     chunk (max_frame_bytes {})",
                    request.data.len(),
                    self.channel.config().max_frame_bytes
                ),
            });
        }
        match self
            .call(RaftRequest::InstallSnapshot(request), timeout)
            .await?
        {
            RaftResponse::InstallSnapshot(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("InstallSnapshot", &other)),
        }
    }

    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        match self.call(RaftRequest::TimeoutNow(request), timeout).await? {
            RaftResponse::TimeoutNow(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("TimeoutNow", &other)),
        }
    }

    async fn read_index(
        &self,
        request: ReadIndexRequest,
        timeout: Duration,
    ) -> Result<ReadIndexResponse, PeerError> {
        match self.call(RaftRequest::ReadIndex(request), timeout).await? {
            RaftResponse::ReadIndex(result) => result.map_err(PeerError::from),
            other => Err(self.mismatch("ReadIndex", &other)),
        }
    }
}

/// Answers Raft calls with an [`RpcHandler`] (usually a [`crate::node::Node`]).
pub struct RaftService {
    handler: Arc<dyn RpcHandler>,
}

impl RaftService {
    /// Serve `handler`'s answers.
    pub fn new(handler: Arc<dyn RpcHandler>) -> RaftService {
        RaftService { handler }
    }
}

impl FrameHandler for RaftService {
    type Request = RaftRequest;
    type Response = RaftResponse;
    const PROTOCOL: Protocol = Protocol::Raft;

    async fn handle(&self, request: RaftRequest) -> RaftResponse {
        match request {
            RaftRequest::RequestVote(arguments) => RaftResponse::RequestVote(
                (self
                    .handler
                    .request_vote(arguments.into_request(false))
                    .await)
                    .map_err(Into::into),
            ),
            RaftRequest::TransferVote(arguments) => RaftResponse::RequestVote(
                (self
                    .handler
                    .request_vote(arguments.into_request(true))
                    .await)
                    .map_err(Into::into),
            ),
            RaftRequest::AppendEntries(request) => RaftResponse::AppendEntries(
                self.handler
                    .append_entries(request)
                    .await
                    .map_err(Into::into),
            ),
            RaftRequest::Forward(command) => {
                RaftResponse::Forward(self.handler.forward(command).await.map_err(Into::into))
            }
            RaftRequest::InstallSnapshot(request) => RaftResponse::InstallSnapshot(
                self.handler
                    .install_snapshot(request)
                    .await
                    .map_err(Into::into),
            ),
            RaftRequest::TimeoutNow(request) => RaftResponse::TimeoutNow(
                self.handler.timeout_now(request).await.map_err(Into::into),
            ),
            RaftRequest::ReadIndex(request) => {
                RaftResponse::ReadIndex(self.handler.read_index(request).await.map_err(Into::into))
            }
        }
    }
}

/// Serve Raft calls to node `node_id` with `handler`, on the connections `acceptor` yields.
pub fn serve_raft<A: Acceptor>(
    acceptor: A,
    handler: Arc<dyn RpcHandler>,
    node_id: NodeId,
    config: TransportConfig,
) -> ServerHandle {
    serve(
        acceptor,
        Arc::new(RaftService::new(handler)),
        node_id,
        config,
    )
}

#[cfg(test)]
mod tests;
