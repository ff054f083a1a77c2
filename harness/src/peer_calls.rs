//! One Raft call as a value ([`Call`]) and its answer as one ([`Answer`]), so that a wrapper
//! around a `Peer` or an `RpcHandler` says what it does around a call once, as a
//! [`PeerLayer`] or a [`HandlerLayer`], instead of once per method of the trait; [`Layered`]
//! makes a layer the `Peer` or `RpcHandler` it wraps, and a call the layer does not look at is
//! passed on whole by [`Call::send`] or [`Call::handle`].
//!
//! A layer adds no await and no task of its own: a call through it runs exactly as through
//! the hand-written methods it replaces, which keeps the simulation's schedules as they were.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rafty::peer::ForwardResponse;
use rafty::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, NodeId, Peer,
    PeerError, ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, RpcHandler,
    TimeoutNow, TimeoutNowResponse,
};

/// A request of one of a `Peer`'s (and an `RpcHandler`'s) calls.
#[derive(Clone, Debug)]
pub enum Call {
    /// `request_vote`.
    RequestVote(RequestVote),
    /// `append_entries`.
    AppendEntries(AppendEntries),
    /// `forward`: a client command.
    Forward(Vec<u8>),
    /// `install_snapshot`.
    InstallSnapshot(InstallSnapshot),
    /// `timeout_now`.
    TimeoutNow(TimeoutNow),
    /// `read_index`.
    ReadIndex(ReadIndexRequest),
}

/// The answer to a [`Call`], of the same variant.
#[derive(Clone, Debug)]
pub enum Answer {
    /// To `request_vote`.
    RequestVote(RequestVoteResponse),
    /// To `append_entries`.
    AppendEntries(AppendEntriesResponse),
    /// To `forward`.
    Forward(ForwardResponse),
    /// To `install_snapshot`.
    InstallSnapshot(InstallSnapshotResponse),
    /// To `timeout_now`.
    TimeoutNow(TimeoutNowResponse),
    /// To `read_index`.
    ReadIndex(ReadIndexResponse),
}

impl Call {
    /// The call's name: the trait method's, in the paper's words (`RequestVote`...).
    pub fn name(&self) -> &'static str {
        match self {
            Call::RequestVote(_) => "RequestVote",
            Call::AppendEntries(_) => "AppendEntries",
            Call::Forward(_) => "Forward",
            Call::InstallSnapshot(_) => "InstallSnapshot",
            Call::TimeoutNow(_) => "TimeoutNow",
            Call::ReadIndex(_) => "ReadIndex",
        }
    }

    /// The request itself, without the variant around it.
    pub fn message(&self) -> &(dyn Debug + Send + Sync) {
        match self {
            Call::RequestVote(request) => request,
            Call::AppendEntries(request) => request,
            Call::Forward(command) => command,
            Call::InstallSnapshot(request) => request,
            Call::TimeoutNow(request) => request,
            Call::ReadIndex(request) => request,
        }
    }

    /// Make the call through `peer`, bounded by `timeout` as the `Peer` contract says.
    pub async fn send(self, peer: &dyn Peer, timeout: Duration) -> Result<Answer, PeerError> {
        Ok(match self {
            Call::RequestVote(r) => Answer::RequestVote(peer.request_vote(r, timeout).await?),
            Call::AppendEntries(r) => Answer::AppendEntries(peer.append_entries(r, timeout).await?),
            Call::Forward(command) => Answer::Forward(peer.forward(command, timeout).await?),
            Call::InstallSnapshot(r) => {
                Answer::InstallSnapshot(peer.install_snapshot(r, timeout).await?)
            }
            Call::TimeoutNow(r) => Answer::TimeoutNow(peer.timeout_now(r, timeout).await?),
            Call::ReadIndex(r) => Answer::ReadIndex(peer.read_index(r, timeout).await?),
        })
    }

    /// Hand the call to `handler`.
    pub async fn handle(self, handler: &dyn RpcHandler) -> Result<Answer, PeerError> {
        Ok(match self {
            Call::RequestVote(r) => Answer::RequestVote(handler.request_vote(r).await?),
            Call::AppendEntries(r) => Answer::AppendEntries(handler.append_entries(r).await?),
            Call::Forward(command) => Answer::Forward(handler.forward(command).await?),
            Call::InstallSnapshot(r) => Answer::InstallSnapshot(handler.install_snapshot(r).await?),
            Call::TimeoutNow(r) => Answer::TimeoutNow(handler.timeout_now(r).await?),
            Call::ReadIndex(r) => Answer::ReadIndex(handler.read_index(r).await?),
        })
    }
}

impl Answer {
    /// The answer itself, without the variant around it.
    pub fn message(&self) -> &(dyn Debug + Send + Sync) {
        match self {
            Answer::RequestVote(answer) => answer,
            Answer::AppendEntries(answer) => answer,
            Answer::Forward(answer) => answer,
            Answer::InstallSnapshot(answer) => answer,
            Answer::TimeoutNow(answer) => answer,
            Answer::ReadIndex(answer) => answer,
        }
    }
}

/// What a wrapper of a `Peer` does around every call (see the module's doc).
#[async_trait]
pub trait PeerLayer: Send + Sync + 'static {
    /// The node called (the wrapped `Peer`'s id).
    fn id(&self) -> NodeId;

    /// Make `call`, bounded by `timeout`; the answer is of the call's variant.
    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError>;

    /// The layer as a `Peer`.
    fn into_peer(self) -> Arc<dyn Peer>
    where
        Self: Sized,
    {
        Arc::new(Layered(self))
    }
}

/// What a wrapper of an `RpcHandler` does around every call (see the module's doc).
#[async_trait]
pub trait HandlerLayer: Send + Sync + 'static {
    /// Answer `call`; the answer is of the call's variant.
    async fn call(&self, call: Call) -> Result<Answer, PeerError>;

    /// The layer as an `RpcHandler`.
    fn into_handler(self) -> Arc<dyn RpcHandler>
    where
        Self: Sized,
    {
        Arc::new(Layered(self))
    }
}

/// A [`PeerLayer`] as a `Peer`, or a [`HandlerLayer`] as an `RpcHandler`.
pub struct Layered<L>(pub L);

/// One call's answer type, taken out of an [`Answer`] (`None` from another call's).
pub trait FromAnswer: Sized {
    /// The answer, if it is of this type.
    fn from_answer(answer: Answer) -> Option<Self>;
}

/// `FromAnswer` for each answer type, by its variant.
macro_rules! from_answer {
    ($($variant:ident($answer:ty)),* $(,)?) => {$(
        impl FromAnswer for $answer {
            fn from_answer(answer: Answer) -> Option<Self> {
                match answer {
                    Answer::$variant(answer) => Some(answer),
                    _ => None,
                }
            }
        }
    )*};
}

from_answer!(
    RequestVote(RequestVoteResponse),
    AppendEntries(AppendEntriesResponse),
    Forward(ForwardResponse),
    InstallSnapshot(InstallSnapshotResponse),
    TimeoutNow(TimeoutNowResponse),
    ReadIndex(ReadIndexResponse),
);

impl Answer {
    /// The variant's name, as [`Call::name`] names calls.
    fn name(&self) -> &'static str {
        match self {
            Answer::RequestVote(_) => "RequestVote",
            Answer::AppendEntries(_) => "AppendEntries",
            Answer::Forward(_) => "Forward",
            Answer::InstallSnapshot(_) => "InstallSnapshot",
            Answer::TimeoutNow(_) => "TimeoutNow",
            Answer::ReadIndex(_) => "ReadIndex",
        }
    }
}

/// A layer's answer to a `call` call, as the trait method returns it. An answer of another
/// call is the layer's bug: a panic.
fn answered<T: FromAnswer>(call: &str, answer: Result<Answer, PeerError>) -> Result<T, PeerError> {
    let answer = answer?;
    let name = answer.name();
    Ok(T::from_answer(answer)
        .unwrap_or_else(|| panic!("a layer answered a {call} call with a {name} answer")))
}

#[async_trait]
impl<L: PeerLayer> Peer for Layered<L> {
    fn id(&self) -> NodeId {
        self.0.id()
    }

    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        let call = Call::RequestVote(request);
        answered("RequestVote", self.0.call(call, timeout).await)
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let call = Call::AppendEntries(request);
        answered("AppendEntries", self.0.call(call, timeout).await)
    }

    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        let call = Call::Forward(command);
        answered("Forward", self.0.call(call, timeout).await)
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let call = Call::InstallSnapshot(request);
        answered("InstallSnapshot", self.0.call(call, timeout).await)
    }

    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        let call = Call::TimeoutNow(request);
        answered("TimeoutNow", self.0.call(call, timeout).await)
    }

    async fn read_index(
        &self,
        request: ReadIndexRequest,
        timeout: Duration,
    ) -> Result<ReadIndexResponse, PeerError> {
        let call = Call::ReadIndex(request);
        answered("ReadIndex", self.0.call(call, timeout).await)
    }
}

#[async_trait]
impl<L: HandlerLayer> RpcHandler for Layered<L> {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        answered("RequestVote", self.0.call(Call::RequestVote(request)).await)
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        answered(
            "AppendEntries",
            self.0.call(Call::AppendEntries(request)).await,
        )
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        answered("Forward", self.0.call(Call::Forward(command)).await)
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let call = Call::InstallSnapshot(request);
        answered("InstallSnapshot", self.0.call(call).await)
    }

    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        answered("TimeoutNow", self.0.call(Call::TimeoutNow(request)).await)
    }

    async fn read_index(&self, request: ReadIndexRequest) -> Result<ReadIndexResponse, PeerError> {
        answered("ReadIndex", self.0.call(Call::ReadIndex(request)).await)
    }
}
