//! The sans-IO protocol core: a synchronous, deterministic Raft state machine.
//!
//! Inputs are a tick with the current time ([`Core::tick`]), a message from a peer
//! ([`Core::step`]), a client proposal ([`Core::propose`]) and a failed send
//! ([`Core::send_failed`]). Outputs are an ordered list of [`Action`]s ([`Core::take_actions`])
//! that the driver executes in order. The core does no I/O, reads no clock (time is a
//! [`Duration`] since an arbitrary epoch, passed with every input) and draws randomness only
//! from a generator seeded by its caller, so the same inputs always give the same actions.
//!
//! It implements leader election with randomized timeouts, pre-vote and check-quorum; voting
//! that grants one vote per term and only to an up-to-date log; log replication with conflict
//! detection, fast backtracking, batching and a bounded pipeline per follower; and the commit
//! rule of §5.4.2.

mod action;
mod configuration;
mod election;
mod follower;
mod follower_read;
mod invariants;
mod membership_change;
pub mod mutation;
mod progress;
pub mod quorum;
mod raft_log;
mod read_index;
mod replication;
mod snapshot;
mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use action::{Action, Role};
pub use election::log_is_up_to_date;
pub use follower_read::MAX_REQUESTS_IN_FLIGHT as MAX_FOLLOWER_READ_REQUESTS;
pub use membership_change::{MembershipChange, MembershipChangeError};
pub use mutation::Mutation;
pub use read_index::{LeaseRead, ReadId, ReadMode};
pub use snapshot::{InstallDecision, StartState};
pub use transfer::TransferError;

use crate::membership::Membership;
use crate::message::Message;
use crate::settings::Config;
use crate::types::{Entry, HardState, LogIndex, NodeId, Term};
use configuration::Configurations;
use mutation::MutationFlags;
use progress::Progress;
use raft_log::RaftLog;

/// A proposal reached a node that is not the leader. Definite: nothing was appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not the leader (leader hint: {leader_hint:?})")]
pub struct NotLeader {
    /// The leader this node knows of in its current term, if any.
    pub leader_hint: Option<NodeId>,
}

/// The Raft protocol state of one node. See the [module documentation](self).
#[derive(Debug)]
pub struct Core {
    id: NodeId,
    /// The other members of the configuration in effect (voters and learners), sorted,
    /// without `id`: whom a leader replicates to.
    peers: Vec<NodeId>,
    /// The configurations in the log; the latest is in effect (dissertation §4.1).
    configurations: Configurations,
    config: Config,
    hard_state: HardState,
    /// The hard state as of the last [`Action::SaveHardState`] (or as loaded).
    persisted_hard_state: HardState,
    role: Role,
    leader: Option<NodeId>,
    /// Role, term and leader as of the last [`Action::RoleChanged`].
    reported: (Role, Term, Option<NodeId>),
    log: RaftLog,
    /// The last index covered by the storage actions emitted so far: every entry up to here has
    /// had its [`Action::AppendToLog`] emitted, so any action emitted from now on executes after
    /// those entries are durable (the driver contract). A leader may hold entries past it in
    /// `log` for a moment — within [`Core::propose`] and election, its AppendEntries go out
    /// before its own `AppendToLog` (thesis §10.2.1) — and it counts itself toward a commit
    /// majority only up to this index. Equal to `log.last_index()` after every input.
    persisted_index: LogIndex,
    commit_index: LogIndex,
    /// The index and term of the latest durable snapshot (`(0, 0)` for none); the log is
    /// compacted at most through it.
    snapshot: (LogIndex, Term),
    /// The index of the [`Action::TakeSnapshot`] not yet reported, if any.
    snapshot_pending: Option<LogIndex>,
    /// The payload bytes committed since the last snapshot was asked for.
    bytes_since_snapshot: u64,
    rng: ChaCha8Rng,
    now: Duration,
    election_deadline: Duration,
    heartbeat_deadline: Duration,
    check_quorum_deadline: Duration,
    /// When this node last heard from a leader of its current term.
    last_leader_contact: Option<Duration>,
    /// The (pre-)votes granted in the current round, this node's own included.
    votes: BTreeSet<NodeId>,
    /// Per-follower replication state; filled only while leader.
    progress: BTreeMap<NodeId, Progress>,
    /// The leadership transfer in progress, while leader (§3.10).
    transfer: Option<transfer::Transfer>,
    /// Request numbering and the reads waiting for confirmation (§6.4).
    reads: read_index::Reads,
    /// A follower's reads waiting for the leader's read index or for their apply (§6.4).
    follower_reads: follower_read::FollowerReads,
    actions: Vec<Action>,
    check_invariants: bool,
    mutations: MutationFlags,
}

impl Core {
    /// A follower with the persisted `hard_state` and log `entries` (contiguous from index 1),
    /// in a cluster of itself and `peers`. `now` starts its election timer; `seed` makes its
    /// randomized timeouts reproducible.
    ///
    /// # Panics
    ///
    /// If `entries` are not contiguous from index 1 with non-decreasing terms, or a term in
    /// them is above `hard_state.current_term`: the caller's promise. [`Node::start`] checks
    /// a user's `Log` for all of these first and refuses a broken one with
    /// [`StartError::LogContract`].
    ///
    /// [`Node::start`]: crate::node::Node::start
    /// [`StartError::LogContract`]: crate::node::StartError::LogContract
    pub fn new(
        id: NodeId,
        peers: Vec<NodeId>,
        config: Config,
        hard_state: HardState,
        entries: Vec<Entry>,
        now: Duration,
        seed: u64,
    ) -> Core {
        let state = StartState {
            hard_state,
            snapshot: None,
            snapshot_membership: None,
            compacted: (0, 0),
            entries,
        };
        Core::restart(id, peers, config, state, now, seed)
    }

    /// A follower restarted from `state`: its latest snapshot (already restored into the
    /// state machine, so the commit index starts at its index) and the log after the
    /// compacted prefix. Otherwise as [`Core::new`].
    ///
    /// # Panics
    ///
    /// As [`Core::new`], and if the log is compacted past the snapshot or does not hold the
    /// snapshot's index with its term: what `Node::start` checks (and repairs) first.
    pub fn restart(
        id: NodeId,
        peers: Vec<NodeId>,
        config: Config,
        state: StartState,
        now: Duration,
        seed: u64,
    ) -> Core {
        let bootstrap = Membership::new(peers.into_iter().chain([id]));
        Core::restart_with_membership(id, bootstrap, config, state, now, seed)
    }

    /// As [`Core::restart`], with the `bootstrap` configuration in effect until the log or
    /// the snapshot names another (dissertation §4.1). A node joining an existing cluster
    /// starts with an empty one: it never campaigns until its leader's log makes it a voter.
    ///
    /// # Panics
    ///
    /// As [`Core::restart`].
    pub fn restart_with_membership(
        id: NodeId,
        bootstrap: Membership,
        config: Config,
        state: StartState,
        now: Duration,
        seed: u64,
    ) -> Core {
        let StartState {
            hard_state,
            snapshot,
            snapshot_membership,
            compacted,
            entries,
        } = state;
        let configurations = match (snapshot, snapshot_membership) {
            (Some((index, _)), Some(membership)) => {
                Configurations::new(index, membership, &entries)
            }
            _ => Configurations::new(0, bootstrap, &entries),
        };
        let log = RaftLog::new(compacted, entries);
        let persisted_index = log.last_index();
        let snapshot = snapshot.unwrap_or((0, 0));
        assert!(
            compacted.0 <= snapshot.0,
            "the log is compacted through {} but the snapshot covers only {}",
            compacted.0,
            snapshot.0
        );
        assert_eq!(
            log.term(snapshot.0),
            Some(snapshot.1),
            "the log does not hold the snapshot's last included entry"
        );
        assert!(
            log.last_term() <= hard_state.current_term,
            "the log holds term {} but the hard state only term {}",
            log.last_term(),
            hard_state.current_term
        );
        let mut core = Core {
            id,
            peers: Vec::new(),
            configurations,
            config,
            hard_state,
            persisted_hard_state: hard_state,
            role: Role::Follower,
            leader: None,
            reported: (Role::Follower, hard_state.current_term, None),
            log,
            persisted_index,
            commit_index: snapshot.0,
            snapshot,
            snapshot_pending: None,
            bytes_since_snapshot: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now,
            election_deadline: now,
            heartbeat_deadline: now,
            check_quorum_deadline: now,
            last_leader_contact: None,
            votes: BTreeSet::new(),
            progress: BTreeMap::new(),
            transfer: None,
            reads: read_index::Reads::default(),
            follower_reads: follower_read::FollowerReads::default(),
            actions: Vec::new(),
            check_invariants: false,
            mutations: MutationFlags::default(),
        };
        core.reset_election_timer();
        core.configuration_changed();
        if core.config.lease_read_margin.is_some() {
            // §6.4.1: a leader's lease relies on every voter refusing pre-votes for an election
            // timeout after it last heard from the leader; a restarted voter does not know when
            // that was, so it counts from its start.
            core.last_leader_contact = Some(now);
        }
        core
    }

    /// Check the core's invariants after every input even in release builds (they are always
    /// checked in debug builds), and that the terms appended to the log never decrease (checked
    /// until this switches it off in a release build). A broken invariant panics.
    pub fn set_check_invariants(&mut self, enabled: bool) {
        self.check_invariants = enabled;
        self.log.check_terms(enabled || cfg!(debug_assertions));
    }

    /// Advance the timers to `now`: a follower or candidate whose election timer fired starts a
    /// pre-vote (§5.2, thesis §9.6); a leader sends heartbeats every `heartbeat_interval` and
    /// steps down if it has not heard from a majority within an election timeout
    /// (check-quorum, thesis §6.2).
    pub fn tick(&mut self, now: Duration) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        if self.role == Role::Leader {
            self.tick_leader();
        } else if self.now >= self.election_deadline {
            self.start_pre_vote();
        }
        self.finish_input(before);
    }

    /// Handle a message from peer `from`. A request produces exactly one [`Action::Reply`],
    /// after any storage actions it depends on; a response updates the core's state.
    pub fn step(&mut self, now: Duration, from: NodeId, message: Message) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        match message {
            Message::RequestVote(request) => self.handle_request_vote(request),
            Message::RequestVoteResponse(response) => self.handle_vote_response(from, response),
            Message::AppendEntries(request) => self.handle_append_entries(request),
            Message::AppendEntriesResponse(response) => self.handle_append_response(from, response),
            Message::TimeoutNow(order) => self.handle_timeout_now(order),
            Message::TimeoutNowResponse(_) => {}
            Message::ReadIndex(request) => self.handle_read_index_request(request),
            Message::ReadIndexResponse(response) => self.handle_read_index_response(response),
        }
        self.finish_input(before);
    }

    /// Append client `commands` as one batch and start replicating them. Returns the index of
    /// the first and the leader's term: a command is applied at `(index, term)` or never.
    /// An empty batch appends nothing and returns the index the next entry would get.
    /// Refused while a leadership transfer is in progress (§3.10), with the target as the
    /// hint.
    pub fn propose(
        &mut self,
        now: Duration,
        commands: Vec<Vec<u8>>,
    ) -> Result<(LogIndex, Term), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(target) = self.transfer_target() {
            return Err(NotLeader {
                leader_hint: Some(target),
            });
        }
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        let first = self.log.last_index() + 1;
        let payloads = commands
            .into_iter()
            .map(crate::types::Payload::Command)
            .collect();
        self.append_as_leader(payloads);
        self.finish_input(before);
        Ok((first, self.term()))
    }

    /// A request this core asked to [`Action::Send`] got no response (unreachable, timed out).
    /// Frees its in-flight slot and makes the leader probe that follower again at its next
    /// heartbeat.
    pub fn send_failed(&mut self, now: Duration, to: NodeId, request: &Message) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        match request {
            Message::AppendEntries(append) => self.append_failed(to, append),
            Message::TimeoutNow(_) => self.transfer = None,
            Message::ReadIndex(request) => self.read_index_failed(request),
            _ => {}
        }
        self.finish_input(before);
    }

    /// The actions emitted since the last call, in the order they must execute.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// When [`Core::tick`] must next be called.
    pub fn next_deadline(&self) -> Duration {
        match self.role {
            Role::Leader => self.heartbeat_deadline.min(self.check_quorum_deadline),
            _ => self.election_deadline,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The other members of the configuration in effect (voters and learners), sorted.
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }

    /// The configuration in effect: the latest in the log, committed or not (§4.1).
    pub fn membership(&self) -> &Membership {
        self.configurations.in_effect()
    }

    /// The index of the entry holding the configuration in effect (the snapshot's index, or
    /// 0 for the bootstrap configuration, when no entry after it holds one).
    pub fn membership_index(&self) -> LogIndex {
        self.configurations.in_effect_index()
    }

    /// The configuration as of `index` (at or after the snapshot's index): what a snapshot
    /// through `index` carries.
    pub fn membership_at(&self, index: LogIndex) -> &Membership {
        self.configurations.at(index)
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current term.
    pub fn term(&self) -> Term {
        self.hard_state.current_term
    }

    /// The leader of the current term, if known (this node's id while it leads).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }

    /// The index of the last entry in the log (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        self.log.last_index()
    }

    /// The term of the last entry in the log (0 when empty).
    pub fn last_term(&self) -> Term {
        self.log.last_term()
    }

    /// The candidate this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.hard_state.voted_for
    }

    /// The hard state as the core holds it (persisted once the pending actions executed).
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// The core's copy of the log: every entry from [`Core::first_index`] (index 1 until the
    /// log is compacted).
    pub fn entries(&self) -> &[Entry] {
        self.log.all()
    }

    /// The first index the log holds (the compacted index + 1).
    pub fn first_index(&self) -> LogIndex {
        self.log.first_index()
    }

    /// The last index the latest durable snapshot covers (0 for none).
    pub fn snapshot_index(&self) -> LogIndex {
        self.snapshot.0
    }

    /// For tests: the number of AppendEntries carrying entries that are unanswered to `peer`
    /// (0 when not leader).
    pub fn in_flight_appends(&self, peer: NodeId) -> usize {
        self.progress
            .get(&peer)
            .map_or(0, |progress| progress.in_flight_count())
    }

    /// The leader's next index and match index for `peer` (for tests, and the replication lag
    /// metric); `None` when not leader.
    pub fn replication_indices(&self, peer: NodeId) -> Option<(LogIndex, LogIndex)> {
        self.progress
            .get(&peer)
            .map(|progress| (progress.next_index, progress.match_index))
    }

    fn advance_clock(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    fn finish_input(&mut self, before: Option<invariants::Snapshot>) {
        self.settle_reads();
        self.settle_follower_reads();
        self.flush_status();
        if let Some(before) = before {
            self.assert_invariants(&before);
        }
    }

    /// Emit an action, preceded by any hard state to persist and any role change to report.
    fn emit(&mut self, action: Action) {
        self.flush_status();
        self.actions.push(action);
    }

    fn flush_status(&mut self) {
        if self.hard_state != self.persisted_hard_state {
            self.persisted_hard_state = self.hard_state;
            self.actions.push(Action::SaveHardState(self.hard_state));
        }
        let status = (self.role, self.term(), self.leader);
        if status != self.reported {
            self.reported = status;
            tracing::debug!(node = self.id, ?status, "role changed");
            self.actions.push(Action::RoleChanged {
                role: self.role,
                term: self.term(),
                leader: self.leader,
            });
        }
    }

    /// Emit the [`Action::AppendToLog`] of `entries`, which the in-memory log already holds
    /// right after the last persisted index. Every action emitted after this one executes once
    /// they are durable, so from here on they count as this node's own (see
    /// `persisted_index`).
    fn persist_entries(&mut self, entries: Vec<Entry>) {
        let Some(last) = entries.last().map(|entry| entry.index) else {
            return;
        };
        assert_eq!(
            entries[0].index,
            self.persisted_index + 1,
            "AppendToLog must continue the persisted log"
        );
        self.emit(Action::AppendToLog(entries));
        self.persisted_index = last;
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.reads.next_sequence();
        self.emit(Action::Send { to, message });
    }

    fn reply(&mut self, message: Message) {
        self.emit(Action::Reply(message));
    }

    /// How votes and match indices are counted: correctly, unless a mutation breaks it.
    fn counting(&self) -> quorum::joint::Counting {
        let mut counting = quorum::joint::Counting::default();
        if self.mutations.breaks(Mutation::QuorumOffByOne) {
            counting.majority = |voters| quorum::quorum_size(voters) - 1;
        }
        counting.new_half_only = self.mutations.breaks(Mutation::JointCountsNewHalfOnly);
        counting.learners_vote = self.mutations.breaks(Mutation::LearnerCountsTowardCommit);
        counting
    }

    /// Whether `nodes` make a quorum of the configuration in effect (§4.3 while joint).
    fn is_quorum(&self, nodes: &BTreeSet<NodeId>) -> bool {
        quorum::joint::is_quorum(self.membership(), nodes, self.counting())
    }

    /// The configuration in effect changed (appended, truncated, from a snapshot): recompute
    /// whom to replicate to, and as leader start or stop tracking their progress.
    fn configuration_changed(&mut self) {
        let membership = self.configurations.in_effect();
        self.peers = membership
            .members()
            .into_iter()
            .filter(|peer| *peer != self.id)
            .collect();
        if self.role == Role::Leader {
            // A member new to this leader is probed from its last entry (the configuration
            // entry that added it, when called from an append): the follower's answer starts
            // the backtracking (§5.3), as for every follower of a new leader.
            let next_index = self.log.last_index().max(1);
            self.progress
                .retain(|peer, _| self.peers.binary_search(peer).is_ok());
            for peer in &self.peers {
                self.progress
                    .entry(*peer)
                    .or_insert_with(|| Progress::new(next_index));
            }
        }
    }

    /// Commit up to `index` (never backwards) and emit the newly committed entries.
    ///
    /// The entries' own `AppendToLog` must already have been emitted (`index <=
    /// persisted_index`), so the [`Action::Apply`] executes after they are durable here: a
    /// leader that sends before it persists (thesis §10.2.1) must not apply, nor report
    /// committed, an entry that a crash could still take from its own log.
    fn advance_commit_to(&mut self, index: LogIndex) {
        if index <= self.commit_index {
            return;
        }
        assert!(
            index <= self.log.last_index(),
            "commit index {index} past the last index {}",
            self.log.last_index()
        );
        assert!(
            index <= self.persisted_index,
            "commit index {index} past the entries whose AppendToLog was emitted (up to {})",
            self.persisted_index
        );
        let newly_committed = self.log.range(self.commit_index + 1, index).to_vec();
        self.bytes_since_snapshot += newly_committed
            .iter()
            .map(|entry| entry.payload.len_bytes() as u64)
            .sum::<u64>();
        self.commit_index = index;
        self.emit(Action::Apply(newly_committed));
        self.maybe_take_snapshot();
    }
}
