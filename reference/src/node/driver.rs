//! The event loop: owns the core, the log and the state machine, and executes the core's
//! actions strictly in order.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use super::Status;
use super::admin::AdminRequest;
use super::clock::Clock;
use super::counters::LoopCounters;
use super::events::{NodeEvent, Observer};
use super::handle::peers_by_id;
use super::local_reads::{LocalReads, SharedStateMachine, lock};
use super::metrics::StatusGauges;
use super::reads::Reads;
use super::snapshots::{InstallIncoming, Receiving, SharedStore, SnapshotEvent};
use super::waiters::{ReplyTo, Waiters};
use crate::client::ClientError;
use crate::core::{Action, Core, LeaseRead, Role};
use crate::log::{Log, LogError};
use crate::membership::Membership;
use crate::message::Message;
use crate::peer::{ForwardResponse, Peer, PeerError};
use crate::peers_provider::PeersProvider;
use crate::settings::Settings;
use crate::snapshot::SnapshotStore;
use crate::state_machine::StateMachine;
use crate::types::{Entry, LogIndex, NodeId, Payload};

/// The most results of outgoing RPCs queued for the event loop.
const RESULT_QUEUE: usize = 1024;
/// The most snapshot outcomes queued for the event loop (one write, one transfer per
/// follower at a time: far fewer in practice).
const SNAPSHOT_EVENT_QUEUE: usize = 64;
/// The most client commands proposed as one batch.
const MAX_PROPOSAL_BATCH: usize = 1024;
/// The most RPC outcomes one turn of the loop hands the core before it executes their
/// actions (the rest wait for the next turn, so the other channels are not starved).
const MAX_RESULTS_PER_TURN: usize = 64;
/// A leader woken by a submission while at least this many commands wait for their entries
/// to apply first lets the runtime run its other ready tasks once (see
/// [`Driver::gather_submissions`]).
const GATHER_FROM_IN_FLIGHT: usize = 8;

/// A client command on its way to the event loop.
pub(super) struct Submission {
    pub(super) command: Vec<u8>,
    pub(super) reply: ReplyTo,
    /// False for a command a follower forwarded here: never forward it again.
    pub(super) forward: bool,
    /// The caller's `submit` span (disabled unless debug tracing is on).
    pub(super) span: tracing::Span,
}

/// An RPC from a peer, with where its answer goes.
pub(super) struct Incoming {
    pub(super) from: NodeId,
    pub(super) message: Message,
    pub(super) reply: oneshot::Sender<Message>,
}

/// The outcome of a request the core asked to send.
struct RpcResult {
    to: NodeId,
    request: Message,
    /// The request's number ([`Action::Send`]).
    number: u64,
    outcome: Result<Message, PeerError>,
}

/// The receiving ends the handle feeds.
pub(super) struct Channels {
    pub(super) submissions: mpsc::Receiver<Submission>,
    pub(super) requests: mpsc::Receiver<Incoming>,
    pub(super) installs: mpsc::Receiver<InstallIncoming>,
    pub(super) admin: mpsc::Receiver<AdminRequest>,
    /// Where the configuration in effect is published for [`super::Node::membership`].
    pub(super) membership: Arc<Mutex<(Membership, LogIndex)>>,
    pub(super) stop: watch::Receiver<bool>,
    /// The [`super::PauseSwitch`]'s state (`true` while paused), if the node has one.
    pub(super) pause: Option<watch::Receiver<bool>>,
}

/// What woke the event loop.
enum Event {
    Stop,
    /// The pause switch was flipped: go round to the top of the loop, which waits if paused.
    PauseChanged,
    Tick,
    Result(RpcResult),
    Request(Incoming),
    Install(InstallIncoming),
    Snapshot(SnapshotEvent),
    Submission(Submission),
    Admin(AdminRequest),
    /// Readers joined a confirmation round ([`LocalReads`]).
    Reads,
}

pub(super) struct Driver<L, S> {
    pub(super) core: Core,
    pub(super) log: L,
    /// The state machine, shared with the readers ([`LocalReads`]).
    pub(super) state_machine: Arc<SharedStateMachine<S>>,
    /// What readers and this loop share: confirmation rounds, the lease, the clock.
    pub(super) local: Arc<LocalReads>,
    /// The lease last published to `local`.
    published_lease: Option<LeaseRead>,
    /// The applied index last published to `local`.
    published_applied: LogIndex,

    peers_provider: Arc<dyn PeersProvider>,
    peers: BTreeMap<NodeId, Arc<dyn Peer>>,
    /// The provider's [`PeersProvider::generation`] when `peers` was read.
    peers_generation: u64,
    pub(super) settings: Arc<dyn Settings>,
    observer: Option<Arc<dyn Observer>>,
    status: Arc<Mutex<Status>>,
    pub(super) channels: Channels,
    results: mpsc::Sender<RpcResult>,
    results_rx: mpsc::Receiver<RpcResult>,
    waiters: Waiters,
    pub(super) last_applied: u64,
    epoch: Instant,
    /// The local clock, if not the real elapsed time.
    clock: Option<Arc<dyn Clock>>,
    /// The snapshot store, shared with the transfer tasks.
    pub(super) store: SharedStore,
    pub(super) snapshot_events: mpsc::Sender<SnapshotEvent>,
    snapshot_events_rx: mpsc::Receiver<SnapshotEvent>,
    /// The followers a snapshot is being sent to.
    pub(super) transfers: BTreeSet<NodeId>,
    /// The snapshot being received from the leader, if any.
    pub(super) receiving: Option<Receiving>,
    /// The number of the last request sent (the core numbers its `Send`s the same way).
    requests_sent: u64,
    /// Reads waiting for the core or for their index to apply.
    pub(super) reads: Reads,
    /// What the loop did so far, published with the status.
    pub(super) counters: LoopCounters,
    /// The status's gauges ([`super::metrics`]).
    gauges: StatusGauges,
    /// [`super::NodeOptions::eager_proposals`]: never yield before proposing.
    eager_proposals: bool,
}

/// What a driver starts with besides the core and the trait objects it runs.
pub(super) struct Loaded {
    pub(super) store: Box<dyn SnapshotStore>,
    /// The index the state machine holds the state after (the restored snapshot's).
    pub(super) last_applied: LogIndex,
    /// The local clock ([`super::NodeOptions::clock`]).
    pub(super) clock: Option<Arc<dyn Clock>>,
    /// When the node's time starts (shared with [`LocalReads`]).
    pub(super) epoch: Instant,
    /// [`super::NodeOptions::eager_proposals`].
    pub(super) eager_proposals: bool,
}

impl<L: Log, S: StateMachine> Driver<L, S> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        core: Core,
        log: L,
        state_machine: Arc<SharedStateMachine<S>>,
        local: Arc<LocalReads>,
        peers_provider: Arc<dyn PeersProvider>,
        settings: Arc<dyn Settings>,
        observer: Option<Arc<dyn Observer>>,
        status: Arc<Mutex<Status>>,
        channels: Channels,
        loaded: Loaded,
    ) -> Self {
        let (results, results_rx) = mpsc::channel(RESULT_QUEUE);
        let (snapshot_events, snapshot_events_rx) = mpsc::channel(SNAPSHOT_EVENT_QUEUE);
        let core_requests_sent = core.last_request_number();
        let gauges = StatusGauges::new(core.id());
        Driver {
            peers_generation: peers_provider.generation(),
            peers: peers_by_id(peers_provider.as_ref()),
            core,
            log,
            state_machine,
            local,
            published_lease: None,
            published_applied: loaded.last_applied,

            peers_provider,
            settings,
            observer,
            status,
            channels,
            results,
            results_rx,
            waiters: Waiters::default(),
            last_applied: loaded.last_applied,
            epoch: loaded.epoch,
            clock: loaded.clock,
            store: Arc::new(Mutex::new(loaded.store)),
            snapshot_events,
            snapshot_events_rx,
            transfers: BTreeSet::new(),
            receiving: None,
            requests_sent: core_requests_sent,
            reads: Reads::default(),
            counters: LoopCounters::default(),
            gauges,
            eager_proposals: loaded.eager_proposals,
        }
    }

    /// Run until stopped or a storage error, then release everyone waiting.
    pub(super) async fn run(mut self) {
        // However the loop ends (stopped, a storage error, a panic, the task dropped), the
        // readers hear `Shutdown` from then on.
        let _close = CloseOnDrop {
            local: self.local.clone(),
            state_machine: self.state_machine.clone(),
        };
        let reason = match self.event_loop().await {
            Ok(()) => "stopped".to_string(),
            Err(error) => {
                tracing::error!(node = self.core.id(), %error, "storage failed: fail-stop");
                format!("storage error: {error}")
            }
        };
        self.waiters.shut_down();
        if let Ok(mut status) = self.status.lock() {
            status.running = false;
        }
        self.notify(NodeEvent::Stopped { reason });
    }

    async fn event_loop(&mut self) -> Result<(), LogError> {
        // One timer for the life of the loop, moved only when the core's deadline moves. A new
        // `sleep_until` per event registered and removed an entry in tokio's timer wheel for
        // every message (a third of the CPU at one client in `rafty bench`).
        let mut timer = Box::pin(tokio::time::sleep_until(self.deadline()));
        loop {
            // Paused (a simulated SIGSTOP): handle nothing until resumed. The timer keeps its
            // deadline, so it is overdue, and fires first, once the loop runs again.
            if self.wait_while_paused().await.is_break() {
                return Ok(());
            }
            let event = self.next_event(timer.as_mut()).await;
            self.counters.turns += 1;
            match event {
                Event::Stop => return Ok(()),
                Event::PauseChanged => {}
                Event::Tick => {
                    self.core.tick(self.now());
                    self.waiters.prune_abandoned();
                    self.prune_abandoned_reads();
                    self.execute(None)?;
                }
                Event::Result(result) => self.on_result(result)?,
                Event::Request(incoming) if matches!(incoming.message, Message::ReadIndex(_)) => {
                    self.on_read_index_request(incoming)?
                }
                Event::Request(incoming) => {
                    self.counters.requests += 1;
                    self.core.step(self.now(), incoming.from, incoming.message);
                    self.execute(Some(incoming.reply))?;
                }
                Event::Install(incoming) => self.on_install(incoming)?,
                Event::Snapshot(event) => self.on_snapshot_event(event)?,
                Event::Submission(first) => {
                    self.gather_submissions().await;
                    self.on_submissions(first)?
                }
                Event::Admin(request) => self.on_admin(request)?,
                Event::Reads => self.on_reads()?,
            }
            self.on_rounds_freed()?;
        }
    }

    /// Wait while the pause switch is paused; `Break` if the node is stopped meanwhile (a
    /// paused node can still be stopped, as a stopped process can still be killed).
    async fn wait_while_paused(&mut self) -> ControlFlow<()> {
        let channels = &mut self.channels;
        let Some(pause) = channels.pause.as_mut() else {
            return ControlFlow::Continue(());
        };
        if !*pause.borrow_and_update() {
            return ControlFlow::Continue(());
        }
        tracing::debug!(node = self.core.id(), "paused");
        let resumed = tokio::select! {
            biased;
            _ = channels.stop.changed() => return ControlFlow::Break(()),
            resumed = pause.wait_for(|paused| !paused) => resumed.is_ok(),
        };
        if !resumed {
            // Every clone of the switch is gone: nobody can resume it, nor pause it again.
            channels.pause = None;
        }
        tracing::debug!(node = self.core.id(), "resumed");
        ControlFlow::Continue(())
    }

    /// Wait for the next input. The order is fixed (`biased`) so runs are reproducible; the
    /// timer comes first but only fires once per deadline, so it starves nothing.
    async fn next_event(&mut self, mut timer: Pin<&mut Sleep>) -> Event {
        let deadline = self.deadline();
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        let channels = &mut self.channels;
        tokio::select! {
            biased;
            _ = channels.stop.changed() => Event::Stop,
            () = pause_flipped(channels.pause.as_mut()) => Event::PauseChanged,
            () = &mut timer => Event::Tick,
            Some(result) = self.results_rx.recv() => Event::Result(result),
            Some(event) = self.snapshot_events_rx.recv() => Event::Snapshot(event),
            request = channels.requests.recv() => request.map_or(Event::Stop, Event::Request),
            install = channels.installs.recv() => install.map_or(Event::Stop, Event::Install),
            admin = channels.admin.recv() => admin.map_or(Event::Stop, Event::Admin),
            submission = channels.submissions.recv() => {
                submission.map_or(Event::Stop, Event::Submission)
            }
            () = self.local.wanted() => Event::Reads,
        }
    }

    /// When the core next needs a tick.
    fn deadline(&self) -> Instant {
        match &self.clock {
            None => self.epoch + self.core.next_deadline(),
            Some(clock) => {
                let wait = self.core.next_deadline().saturating_sub(self.now());
                Instant::now() + clock.real_delay(wait)
            }
        }
    }

    /// The node's local time: what the core is given with every input.
    pub(super) fn now(&self) -> Duration {
        self.local.loop_now()
    }

    /// The outcome of a request this node sent, and every other one already queued (up to
    /// [`MAX_RESULTS_PER_TURN`]): each is a core input of its own, in arrival order, and their
    /// actions run together, in order, once. A leader's heartbeat round or AppendEntries
    /// to two followers comes back as two results, often queued together: one turn, one
    /// action list and one status publication for both, instead of a turn each (and a
    /// `select!` re-registering every channel's waker in between).
    fn on_result(&mut self, first: RpcResult) -> Result<(), LogError> {
        self.step_result(first);
        for _ in 1..MAX_RESULTS_PER_TURN {
            match self.results_rx.try_recv() {
                Ok(next) => self.step_result(next),
                Err(_) => break,
            }
        }
        self.execute(None)
    }

    /// Give the core one RPC outcome; its actions wait for [`Driver::execute`].
    fn step_result(&mut self, result: RpcResult) {
        self.counters.results += 1;
        let now = self.now();
        match result.outcome {
            Ok(response) => self
                .core
                .step_response(now, result.to, result.number, response),
            Err(error) => {
                tracing::trace!(node = self.core.id(), to = result.to, %error, "rpc failed");
                self.core.send_failed(now, result.to, &result.request);
            }
        }
    }

    /// A leader with many commands in flight, woken by one submission, lets the runtime run
    /// its other ready tasks once before draining the queue, so that the clients its last
    /// apply woke submit into this proposal instead of waking the loop one by one. Without
    /// it, on a multi-thread tokio runtime a woken client runs on the leader's worker and its
    /// submission wakes the loop into the LIFO slot, so the loop ran next and proposed about
    /// 2.5 commands per turn at 256 and 1024 clients (BENCHMARKS.md, "The two modes"): one
    /// `propose`, action list, status publication and scheduler round per 2.5 commands.
    ///
    /// A yield changes which task runs when, so under the simulation it could change a
    /// seed's history (whenever a leader had 8 or more commands in flight): the harness sets
    /// [`super::NodeOptions::eager_proposals`] there, and every recorded seed keeps its
    /// schedule.
    async fn gather_submissions(&mut self) {
        if self.eager_proposals
            || self.core.role() != Role::Leader
            || self.waiters.len() < GATHER_FROM_IN_FLIGHT
        {
            return;
        }
        self.counters.gathers += 1;
        tokio::task::yield_now().await;
    }

    /// Propose every queued command as one batch (leader), or forward / refuse them.
    fn on_submissions(&mut self, first: Submission) -> Result<(), LogError> {
        let mut batch =
            Vec::with_capacity((self.channels.submissions.len() + 1).min(MAX_PROPOSAL_BATCH));
        batch.push(first);
        while batch.len() < MAX_PROPOSAL_BATCH {
            match self.channels.submissions.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // A caller that already gave up (timeout) answered itself `Timeout`: skip its command.
        batch.retain(|submission| !submission.reply.is_closed());
        if batch.is_empty() {
            return Ok(());
        }
        if self.core.role() != Role::Leader {
            batch
                .into_iter()
                .for_each(|submission| self.redirect(submission));
            return Ok(());
        }
        let now = self.now();
        let (commands, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|mut submission| {
                // Session entries carry the leader's time: sessions expire by log time (§6.3).
                crate::session::stamp_leader_time(&mut submission.command, now);
                (submission.command, (submission.reply, submission.span))
            })
            .unzip();
        let (first_index, term) = match self.core.propose(now, commands) {
            Ok(proposed) => proposed,
            // A leadership transfer is in progress (§3.10): refused, nothing appended.
            Err(refusal) => {
                for (reply, _) in replies {
                    let _ = reply.send(Err(ClientError::NotLeader {
                        leader_hint: refusal.leader_hint,
                    }));
                }
                return Ok(());
            }
        };
        let count = replies.len() as u64;
        self.counters.proposals += 1;
        self.counters.commands_proposed += count;
        for ((reply, span), index) in replies.into_iter().zip(first_index..) {
            tracing::debug!(parent: &span, index, term, "proposed");
            self.waiters.add(index, term, reply);
        }
        if let Some(observer) = &self.observer {
            observer.on_proposed(self.core.id(), first_index, count, term);
        }
        self.execute(None)
    }

    /// A membership call: the core decides; an accepted change's caller waits for its entry
    /// to apply.
    fn on_admin(&mut self, request: AdminRequest) -> Result<(), LogError> {
        let now = self.now();
        match request {
            AdminRequest::Change {
                change,
                accepted,
                applied,
            } => match self.core.propose_membership(now, change) {
                Ok((index, term)) => {
                    self.waiters.add(index, term, applied);
                    let _ = accepted.send(Ok(index));
                }
                Err(refusal) => drop(accepted.send(Err(refusal))),
            },
            AdminRequest::Transfer { to, accepted } => {
                let _ = accepted.send(self.core.transfer_leadership(now, to));
            }
        }
        self.execute(None)
    }

    /// Not the leader: forward to the known leader (if allowed), else answer `NotLeader`.
    fn redirect(&mut self, submission: Submission) {
        let leader_hint = self.core.leader();
        let leader = leader_hint.filter(|leader| *leader != self.core.id());
        let peer = leader.and_then(|leader| self.peer(leader));
        match peer {
            Some(peer) if submission.forward && self.settings.forward_to_leader() => {
                let timeout = self.settings.command_timeout();
                tokio::spawn(forward(peer, submission, timeout));
            }
            _ => {
                let refusal = Err(ClientError::NotLeader { leader_hint });
                let _ = submission.reply.send(refusal);
            }
        }
    }

    /// Execute the core's actions in order. Storage actions are durable when the `Log` call
    /// returns; an error stops the node before any later action runs.
    pub(super) fn execute(
        &mut self,
        mut reply: Option<oneshot::Sender<Message>>,
    ) -> Result<(), LogError> {
        // Before any action: a TimeoutNow among them voids the lease (§3.10).
        self.publish_lease();
        for action in self.core.take_actions() {
            match action {
                Action::SaveHardState(state) => self.log.save_hard_state(state)?,
                Action::AppendToLog(entries) => {
                    self.counters.log_appends += 1;
                    self.counters.entries_appended += entries.len() as u64;
                    let _span = super::write_path::append_span(self.core.id(), &entries).entered();
                    self.log.append(&entries)?;
                }
                Action::TruncateLog(from) => self.log.truncate(from)?,
                Action::Send { to, message } => self.send(to, message),
                Action::Reply(message) => match reply.take() {
                    // The caller may have timed out: nobody to answer.
                    Some(reply) => drop(reply.send(message)),
                    None => tracing::error!(?message, "the core replied with no request"),
                },
                Action::Apply(entries) => self.apply(entries),
                Action::TakeSnapshot {
                    index,
                    term,
                    membership,
                } => self.take_snapshot(index, term, membership),
                Action::CompactLog { index, term } => self.compact_log(index, term)?,
                Action::SendSnapshot { to, term, .. } => self.send_snapshot(to, term),
                Action::RoleChanged { role, term, leader } => self.role_changed(role, term, leader),
                Action::ReadReady { id, index } => self.read_ready(id, index),
                Action::ReadFailed { id, leader_hint } => self.read_failed(id, leader_hint),
            }
        }
        if self.last_applied != self.published_applied {
            // Applied (or restored from a snapshot) further: the readers waiting for it.
            self.published_applied = self.last_applied;
            self.local.applied(self.last_applied);
        }
        self.publish_status();
        Ok(())
    }

    /// Publish the core's lease for lease reads served in the readers' tasks.
    fn publish_lease(&mut self) {
        let lease = self.core.lease_read();
        if lease != self.published_lease {
            self.published_lease = lease;
            lock(&self.state_machine).lease = lease;
        }
    }

    /// Call the peer, bounded by the RPC timeout, and feed the outcome back. The call starts
    /// here, in the event loop: its first poll runs now, so a transport that can write without
    /// waiting (the TCP transport can) puts the request on the wire before the actions that
    /// follow run (a leader's own fsync of the same entries, §10.2.1), whatever the runtime's
    /// threads are doing. Only the wait for the answer goes to a task of its own.
    fn send(&mut self, to: NodeId, request: Message) {
        self.counters.sends += 1;
        if let Message::AppendEntries(append) = &request {
            self.counters.append_entries_sent += 1;
            self.counters.entries_sent += append.entries.len() as u64;
        }
        self.requests_sent += 1;
        let number = self.requests_sent;
        let peer = self.peer(to);
        let results = self.results.clone();
        let timeout = self.settings.rpc_timeout();
        let span = super::write_path::replicate_span(self.core.id(), to, &request);
        let mut rpc = Box::pin(tracing::Instrument::instrument(
            async move {
                let outcome = call(peer, to, &request, timeout).await;
                tracing::debug!(ok = outcome.is_ok(), "answered");
                // The loop is gone only when the node stopped: nothing to report to.
                let _ = results
                    .send(RpcResult {
                        to,
                        request,
                        number,
                        outcome,
                    })
                    .await;
            },
            span,
        ));
        // Whatever registered this no-op waker is polled again, with the task's waker, as
        // soon as the task is spawned.
        let mut context = Context::from_waker(Waker::noop());
        if rpc.as_mut().poll(&mut context).is_pending() {
            tokio::spawn(rpc);
        }
    }

    /// The peer with id `id`, asking the provider again if it is not known yet or the
    /// provider's list changed since it was last asked.
    pub(super) fn peer(&mut self, id: NodeId) -> Option<Arc<dyn Peer>> {
        let generation = self.peers_provider.generation();
        if generation != self.peers_generation || !self.peers.contains_key(&id) {
            self.peers_generation = generation;
            self.peers = peers_by_id(self.peers_provider.as_ref());
        }
        self.peers.get(&id).cloned()
    }

    /// Apply committed entries in order; no-ops only advance `last_applied`.
    fn apply(&mut self, entries: Vec<Entry>) {
        self.counters.entries_applied += entries.len() as u64;
        if let Some(last) = entries.last() {
            self.notify(NodeEvent::Committed { index: last.index });
        }
        let shared = self.state_machine.clone();
        let mut applied = lock(&shared);
        for entry in entries {
            let response = match &entry.payload {
                Payload::Noop => None,
                // A configuration change's caller (`Node::change_membership`) hears it applied.
                Payload::Membership(_) => Some(Vec::new()),
                Payload::Command(command) => {
                    let response = applied.state_machine.apply(entry.index, command);
                    tracing::debug!(node = self.core.id(), index = entry.index, "applied");
                    if self.observer.is_some() {
                        self.notify(NodeEvent::Applied {
                            index: entry.index,
                            term: entry.term,
                            command: command.clone(),
                        });
                    }
                    Some(response)
                }
            };
            self.last_applied = entry.index;
            applied.last_applied = entry.index;
            let leader_hint = self.core.leader();
            self.waiters
                .applied(entry.index, entry.term, response.as_deref(), leader_hint);
        }
    }

    fn role_changed(&mut self, role: Role, term: u64, leader: Option<NodeId>) {
        tracing::info!(node = self.core.id(), ?role, term, ?leader, "role changed");
        self.notify(NodeEvent::RoleChanged { role, term, leader });
        if role == Role::Leader {
            self.notify(NodeEvent::BecameLeader { term });
        }
    }

    pub(super) fn notify(&self, event: NodeEvent) {
        super::metrics::record_event(self.core.id(), &event);
        if let Some(observer) = &self.observer {
            observer.on_event(self.core.id(), &event);
        }
    }

    fn publish_status(&self) {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        status.role = self.core.role();
        status.term = self.core.term();
        status.leader = self.core.leader();
        status.commit_index = self.core.commit_index();
        status.last_applied = self.last_applied;
        status.last_index = self.core.last_index();
        status.first_index = self.core.first_index();
        status.snapshot_index = self.core.snapshot_index();
        status.counters = self.counters;
        self.gauges.record(&status);
        drop(status);
        self.gauges.record_lag(&self.core);
        let mut membership = self
            .channels
            .membership
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if membership.1 != self.core.membership_index() || &membership.0 != self.core.membership() {
            *membership = (self.core.membership().clone(), self.core.membership_index());
        }
    }
}

/// Closes a node's [`LocalReads`] when its event loop ends, however it ends.
struct CloseOnDrop<S: StateMachine> {
    local: Arc<LocalReads>,
    state_machine: Arc<SharedStateMachine<S>>,
}

impl<S: StateMachine> Drop for CloseOnDrop<S> {
    fn drop(&mut self) {
        self.local.close(&self.state_machine);
    }
}

/// Resolves when the pause switch is flipped; never without a switch (or once its sender is
/// gone).
async fn pause_flipped(pause: Option<&mut watch::Receiver<bool>>) {
    if let Some(pause) = pause
        && pause.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// One outgoing request. Bounded by the `Peer`'s own deadline, `timeout`, as its contract
/// says ([`Peer`]: every call returns by its deadline): no second timer here, which would
/// cost a timer-wheel entry per request and never fire first for a `Peer` that keeps the
/// contract. (The harness's in-process runs check that contract: `peer-deadline`.)
async fn call(
    peer: Option<Arc<dyn Peer>>,
    to: NodeId,
    request: &Message,
    timeout: Duration,
) -> Result<Message, PeerError> {
    let Some(peer) = peer else {
        return Err(PeerError::NotSent {
            peer: to,
            reason: "not listed by the peers provider".into(),
        });
    };
    match request {
        Message::RequestVote(vote) => peer
            .request_vote(vote.clone(), timeout)
            .await
            .map(Message::RequestVoteResponse),
        Message::AppendEntries(append) => peer
            .append_entries(append.clone(), timeout)
            .await
            .map(Message::AppendEntriesResponse),
        Message::TimeoutNow(order) => peer
            .timeout_now(order.clone(), timeout)
            .await
            .map(Message::TimeoutNowResponse),
        Message::ReadIndex(request) => peer
            .read_index(request.clone(), timeout)
            .await
            .map(Message::ReadIndexResponse),
        other => Err(PeerError::Rejected {
            peer: to,
            reason: format!("not a request: {other:?}"),
        }),
    }
}

/// Forward a client command to the leader and pass its outcome to the waiting caller.
async fn forward(peer: Arc<dyn Peer>, submission: Submission, timeout: Duration) {
    let outcome = forward_outcome(peer.id(), peer.forward(submission.command, timeout).await);
    let _ = submission.reply.send(outcome);
}

/// What the caller of a command forwarded to `leader` is told. Definite only when the leader
/// said it is not the leader, or the command certainly never reached it
/// ([`PeerError::NotSent`]): then it was proposed nowhere, as after a plain `NotLeader`, and
/// this node is not the leader either, so the caller hears `NotLeader` with `leader` as the
/// hint (the client may reach it where this node could not). Every other failure leaves it
/// unknown whether the leader received the command: indefinite.
fn forward_outcome(
    leader: NodeId,
    outcome: Result<ForwardResponse, PeerError>,
) -> Result<Vec<u8>, ClientError> {
    match outcome {
        Ok(ForwardResponse::Applied(response)) => Ok(response),
        Ok(ForwardResponse::NotLeader { leader_hint }) => {
            Err(ClientError::NotLeader { leader_hint })
        }
        Err(error) if error.is_definite() => Err(ClientError::NotLeader {
            leader_hint: Some(leader),
        }),
        Ok(ForwardResponse::Timeout) | Err(_) => Err(ClientError::Timeout),
    }
}
