//! [`Node`]: the cheap, cloneable handle applications and transports hold.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::admin::{AdminError, AdminRequest};
use super::counters::LoopCounters;
use super::driver::{Channels, Driver, Incoming, Loaded, Submission};
use super::load::load_core;
use super::local_reads::{Applied, LocalReads};
use super::panic_stop::fail_stop_on_panic;
use super::snapshots::InstallIncoming;
use super::submitter::Submitter;
use super::{NodeOptions, PauseSwitch, StartError, Status};
use crate::client::{ClientError, ReadConsistency};
use crate::core::{ReadMode, Role};
use crate::log::Log;
use crate::membership::Membership;
use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, Message,
    ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, Peer, PeerError, RpcHandler};
use crate::peers_provider::PeersProvider;
use crate::service::CommandSubmitter;
use crate::settings::Settings;
use crate::state_machine::StateMachine;
use crate::types::{LogIndex, NodeId};

/// The most client submissions queued for the event loop.
const SUBMISSION_QUEUE: usize = 4096;
/// The most incoming RPCs queued for the event loop.
const REQUEST_QUEUE: usize = 1024;
/// The most InstallSnapshot chunks queued for the event loop (a leader sends one at a time).
const INSTALL_QUEUE: usize = 16;
/// The most membership calls queued for the event loop.
const ADMIN_QUEUE: usize = 64;

/// A running Raft node. Cheap to clone: clones share the node. Transports deliver incoming
/// RPCs through its [`RpcHandler`] implementation.
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

struct Shared {
    id: NodeId,
    settings: Arc<dyn Settings>,
    submissions: mpsc::Sender<Submission>,
    requests: mpsc::Sender<Incoming>,
    installs: mpsc::Sender<InstallIncoming>,
    admin: mpsc::Sender<AdminRequest>,
    /// Reads served in the caller's task.
    local: Arc<LocalReads>,
    status: Arc<Mutex<Status>>,
    /// The configuration in effect and its entry's index, as the event loop last published.
    membership: Arc<Mutex<(Membership, LogIndex)>>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Node {
    /// Start node `id`: validate `settings` (the error names every bad field), open the
    /// snapshot store ([`NodeOptions::snapshot_store`]) and restore the state machine from
    /// its latest snapshot, load the hard state and the entries after it from `log`, and
    /// spawn the event loop. Committed entries after the snapshot are applied again as the
    /// commit index is learned.
    pub async fn start<L: Log, S: StateMachine>(
        id: NodeId,
        mut log: L,
        mut state_machine: S,
        peers: Arc<dyn PeersProvider>,
        settings: Arc<dyn Settings>,
        options: NodeOptions,
    ) -> Result<Node, StartError> {
        settings.validate()?;
        let store = options.open_store()?;
        let core = load_core(
            id,
            &mut log,
            &mut state_machine,
            store.as_ref(),
            peers.as_ref(),
            settings.as_ref(),
            &options,
        )?;
        let epoch = tokio::time::Instant::now();
        let shared_state_machine = Arc::new(std::sync::Mutex::new(Applied {
            state_machine,
            last_applied: core.commit_index(),
            lease: None,
            closed: false,
        }));
        let local = Arc::new(LocalReads::new(
            shared_state_machine.clone(),
            epoch,
            options.clock.clone(),
        ));
        let loaded = Loaded {
            store,
            last_applied: core.commit_index(),
            epoch,
            clock: options.clock.clone(),
            eager_proposals: options.eager_proposals,
        };
        let (submissions, submissions_rx) = mpsc::channel(SUBMISSION_QUEUE);
        let (requests, requests_rx) = mpsc::channel(REQUEST_QUEUE);
        let (installs, installs_rx) = mpsc::channel(INSTALL_QUEUE);
        let (admin, admin_rx) = mpsc::channel(ADMIN_QUEUE);
        let membership = Arc::new(Mutex::new((
            core.membership().clone(),
            core.membership_index(),
        )));
        let (stop, stop_rx) = watch::channel(false);
        let status = Arc::new(Mutex::new(Status {
            id,
            role: core.role(),
            term: core.term(),
            leader: core.leader(),
            commit_index: core.commit_index(),
            last_applied: core.commit_index(),
            last_index: core.last_index(),
            first_index: core.first_index(),
            snapshot_index: core.snapshot_index(),
            running: true,
            counters: LoopCounters::default(),
        }));
        let channels = Channels {
            submissions: submissions_rx,
            requests: requests_rx,
            installs: installs_rx,
            admin: admin_rx,
            membership: membership.clone(),
            stop: stop_rx,
            pause: options.pause_switch.as_ref().map(PauseSwitch::subscribe),
        };
        let observer = options.observer.clone();
        let driver = Driver::new(
            core,
            log,
            shared_state_machine,
            local.clone(),
            peers,
            settings.clone(),
            options.observer,
            status.clone(),
            channels,
            loaded,
        );
        let event_loop = fail_stop_on_panic(id, observer, status.clone(), driver.run());
        let task = tokio::spawn(event_loop);
        let shared = Shared {
            id,
            settings,
            submissions,
            requests,
            installs,
            admin,
            local,
            status,
            membership,
            stop,
            task: Mutex::new(Some(task)),
        };
        Ok(Node {
            shared: Arc::new(shared),
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.shared.id
    }

    /// Submit a client command and wait for the state machine's response. A leader appends
    /// it; a follower forwards it to the leader it knows if the settings say so, and otherwise
    /// answers [`ClientError::NotLeader`] (definite). After `command_timeout` the answer is
    /// [`ClientError::Timeout`] (indefinite: the command may still apply).
    pub async fn submit(&self, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.submit_with(command, true).await
    }

    /// A [`Submitter`] for one client that submits its commands one after another: the same
    /// answers and the same `command_timeout` per command as [`Node::submit`], with one timer
    /// reused for all of them instead of a timer registered and removed per command.
    pub fn submitter(&self) -> Submitter {
        Submitter::new(self.clone())
    }

    async fn submit_with(&self, command: Vec<u8>, forward: bool) -> Result<Vec<u8>, ClientError> {
        let (submission, outcome, span) = self.submission(command, forward);
        let result = self
            .answer_within_timeout(self.shared.submissions.send(submission), outcome)
            .instrument(span.clone())
            .await;
        tracing::debug!(parent: &span, ok = result.is_ok(), "replied");
        result
    }

    /// A submission of `command` for the event loop, where its outcome will come, and its
    /// span. A write's path, at debug level (`RUST_LOG=rafty=debug`): this span, the loop's
    /// "proposed" event in it (naming the entry's index), the "append" and "replicate" spans
    /// naming the indexes they carry, "applied", and "replied" when the caller has its answer.
    pub(super) fn submission(
        &self,
        command: Vec<u8>,
        forward: bool,
    ) -> (Submission, Outcome, tracing::Span) {
        let span = tracing::debug_span!("submit", node = self.id(), forwarded = !forward);
        let (reply, outcome) = oneshot::channel();
        let submission = Submission {
            command,
            reply,
            forward,
            span: span.clone(),
        };
        (submission, outcome, span)
    }

    /// Queue `submission` for the event loop and wait for its `outcome`, with no deadline (the
    /// caller bounds it); a loop that is gone is [`ClientError::Shutdown`].
    pub(super) async fn queue_and_wait(
        &self,
        submission: Submission,
        outcome: Outcome,
    ) -> Result<Vec<u8>, ClientError> {
        answer(self.shared.submissions.send(submission), outcome).await
    }

    /// Hand a request to the event loop (`queued`) and wait for its `outcome`, for at most
    /// `command_timeout`: then [`ClientError::Timeout`] (indefinite). A loop that is gone is
    /// [`ClientError::Shutdown`].
    async fn answer_within_timeout<E>(
        &self,
        queued: impl Future<Output = Result<(), E>>,
        outcome: Outcome,
    ) -> Result<Vec<u8>, ClientError> {
        let timeout = self.shared.settings.command_timeout();
        tokio::time::timeout(timeout, answer(queued, outcome))
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }

    /// Read with the chosen consistency and return the state machine's answer to `query`
    /// ([`StateMachine::query`]). [`ReadConsistency::Log`] submits `query` as a command (see
    /// [`Node::submit`]); ReadIndex and lease reads are served by the leader once confirmed
    /// (§6.4), and by a follower with [`Settings::follower_reads`] on once the leader gave it
    /// the read index and it applied that far (otherwise a follower answers
    /// [`ClientError::NotLeader`] with its hint); stale reads
    /// by any node at once. After `command_timeout` the answer is [`ClientError::Timeout`].
    ///
    /// Every read but a log read is served in the caller's task, from the state machine the
    /// node shares with its event loop: stale reads and lease reads while the lease holds
    /// without involving the loop at all; ReadIndex reads (and lease reads when no lease
    /// holds) join a confirmation round that the loop confirms for all its readers at once.
    /// Call it on the node's runtime: a lease read compares the runtime's clock with the
    /// lease's end.
    pub async fn read(
        &self,
        query: Vec<u8>,
        consistency: ReadConsistency,
    ) -> Result<Vec<u8>, ClientError> {
        let mode = match self.read_at_once(&query, consistency).await {
            ReadAtOnce::Answered(answer) => return answer,
            ReadAtOnce::Log => return self.submit(query).await,
            ReadAtOnce::Confirm(mode) => mode,
        };
        let timeout = self.shared.settings.command_timeout();
        tokio::time::timeout(timeout, self.confirmed_read(&query, mode))
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }

    /// The part of a read ([`Node::read`]) that never waits: a stale read, a lease read while
    /// the lease holds; otherwise what the read must wait for.
    pub(super) async fn read_at_once(
        &self,
        query: &[u8],
        consistency: ReadConsistency,
    ) -> ReadAtOnce {
        let local = &self.shared.local;
        if consistency != ReadConsistency::Log {
            // A stale or lease read may never wait: a caller reading in a loop must still
            // let the runtime run its other tasks now and then.
            tokio::task::consume_budget().await;
        }
        match consistency {
            ReadConsistency::Log => ReadAtOnce::Log,
            ReadConsistency::Stale => ReadAtOnce::Answered(local.stale(query)),
            ReadConsistency::Lease => match local.leased(query) {
                Some(answer) => ReadAtOnce::Answered(answer),
                None => ReadAtOnce::Confirm(ReadMode::Lease),
            },
            ReadConsistency::Linearizable => ReadAtOnce::Confirm(ReadMode::Index),
        }
    }

    /// A read confirmed by a round of `mode` (§6.4), with no deadline (the caller bounds it).
    pub(super) async fn confirmed_read(
        &self,
        query: &[u8],
        mode: ReadMode,
    ) -> Result<Vec<u8>, ClientError> {
        self.shared.local.confirmed(query, mode).await
    }

    /// The node's current state.
    pub fn status(&self) -> Status {
        *lock(&self.shared.status)
    }

    /// The node's current role (shorthand for `status().role`).
    pub fn role(&self) -> Role {
        self.status().role
    }

    /// Stop the node and wait for its event loop to end. Commands waiting for their result
    /// get [`ClientError::Shutdown`]. Stopping a stopped node does nothing.
    pub async fn stop(&self) {
        let _ = self.shared.stop.send(true);
        let task = lock(&self.shared.task).take();
        if let Some(task) = task {
            if let Err(error) = task.await
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }

    /// Hand an incoming request to the event loop and wait for the core's reply.
    async fn call(&self, from: NodeId, message: Message) -> Result<Message, PeerError> {
        let (reply, answer) = oneshot::channel();
        let incoming = Incoming {
            from,
            message,
            reply,
        };
        let queued = self.shared.requests.send(incoming).await;
        queued.map_err(|_| self.stopped())?;
        answer.await.map_err(|_| self.stopped())
    }

    /// Hand a membership call to the event loop.
    pub(super) async fn send_admin(&self, request: AdminRequest) -> Result<(), AdminError> {
        let queued = self.shared.admin.send(request).await;
        queued.map_err(|_| AdminError::Shutdown)
    }

    /// The node's settings.
    pub(super) fn settings(&self) -> &dyn Settings {
        self.shared.settings.as_ref()
    }

    /// The configuration the event loop last published.
    pub(super) fn published_membership(&self) -> (Membership, LogIndex) {
        lock(&self.shared.membership).clone()
    }

    fn stopped(&self) -> PeerError {
        PeerError::Rejected {
            peer: self.shared.id,
            reason: "the node is stopped".into(),
        }
    }

    fn unexpected(&self, answer: Message) -> PeerError {
        PeerError::Rejected {
            peer: self.shared.id,
            reason: format!("the core answered with an unexpected message: {answer:?}"),
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_tuple("Node").field(&self.status()).finish()
    }
}

/// Where the outcome of a submitted command comes.
pub(super) type Outcome = oneshot::Receiver<Result<Vec<u8>, ClientError>>;

/// What [`Node::read_at_once`] found.
pub(super) enum ReadAtOnce {
    /// Served without waiting (or refused).
    Answered(Result<Vec<u8>, ClientError>),
    /// A log read: a command.
    Log,
    /// The read waits for a confirmation round of this mode.
    Confirm(ReadMode),
}

/// Wait until the request is `queued`, then for its `outcome`; a loop that is gone is
/// [`ClientError::Shutdown`].
async fn answer<E>(
    queued: impl Future<Output = Result<(), E>>,
    outcome: Outcome,
) -> Result<Vec<u8>, ClientError> {
    queued.await.map_err(|_| ClientError::Shutdown)?;
    outcome.await.map_err(|_| ClientError::Shutdown)?
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks, so a poisoned one still holds a valid value.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl RpcHandler for Node {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        match self
            .call(request.candidate_id, Message::RequestVote(request))
            .await?
        {
            Message::RequestVoteResponse(response) => Ok(response),
            other => Err(self.unexpected(other)),
        }
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        match self
            .call(request.leader_id, Message::AppendEntries(request))
            .await?
        {
            Message::AppendEntriesResponse(response) => Ok(response),
            other => Err(self.unexpected(other)),
        }
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        match self.submit_with(command, false).await {
            Ok(response) => Ok(ForwardResponse::Applied(response)),
            Err(ClientError::NotLeader { leader_hint }) => {
                Ok(ForwardResponse::NotLeader { leader_hint })
            }
            Err(ClientError::Timeout) => Ok(ForwardResponse::Timeout),
            Err(ClientError::Shutdown) => Err(self.stopped()),
            Err(ClientError::QueryUnsupported) => {
                unreachable!("a submitted command is never answered a query error")
            }
        }
    }

    /// §7, Figure 13: each chunk goes to the event loop, which answers once the chunk is
    /// written, and for the last one once the snapshot is durable and restored.
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let (reply, answer) = oneshot::channel();
        let incoming = InstallIncoming { request, reply };
        let queued = self.shared.installs.send(incoming).await;
        queued.map_err(|_| self.stopped())?;
        answer.await.map_err(|_| self.stopped())
    }

    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        match self
            .call(request.leader_id, Message::TimeoutNow(request))
            .await?
        {
            Message::TimeoutNowResponse(response) => Ok(response),
            other => Err(self.unexpected(other)),
        }
    }

    /// §6.4: confirmed by the event loop as a read of this node's own, answered with the read
    /// index (or none, when this node does not lead).
    async fn read_index(&self, request: ReadIndexRequest) -> Result<ReadIndexResponse, PeerError> {
        match self
            .call(request.follower_id, Message::ReadIndex(request))
            .await?
        {
            Message::ReadIndexResponse(response) => Ok(response),
            other => Err(self.unexpected(other)),
        }
    }
}

impl CommandSubmitter for Node {
    fn submit(
        &self,
        command: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, ClientError>> + Send {
        Node::submit(self, command)
    }

    fn read(
        &self,
        query: Vec<u8>,
        consistency: ReadConsistency,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, ClientError>> + Send {
        Node::read(self, query, consistency)
    }
}

/// A [`Peer`] is looked up by id; kept here so the driver and the handle agree.
pub(super) fn peers_by_id(peers: &dyn PeersProvider) -> BTreeMap<NodeId, Arc<dyn Peer>> {
    peers
        .peers()
        .into_iter()
        .map(|peer| (peer.id(), peer))
        .collect()
}
