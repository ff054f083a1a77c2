//! The node: an async driver on tokio that runs a [`Core`] against a [`Log`], a
//! [`StateMachine`] and the [`Peer`]s of a [`PeersProvider`].
//!
//! One event-loop task owns the core, the log and the state machine. Client submissions,
//! incoming RPCs and the results of outgoing RPCs reach it over bounded channels; it sleeps
//! until the core's next deadline (or while its [`PauseSwitch`] is paused); and it executes
//! the core's actions strictly in order, so nothing that depends on state leaves the node
//! before that state is durable. The one exception is by design: a leader sends new entries
//! to its followers before its own write of them (thesis §10.2.1), and counts itself toward
//! their commit only once that write is durable (see [`Action`]). A storage error
//! stops the node (fail-stop). The driver uses only tokio's clock and ordered maps, so it runs
//! deterministically under turmoil's simulation.
//!
//! [`Core`]: crate::core::Core
//! [`Action`]: crate::core::Action
//! [`Log`]: crate::log::Log
//! [`StateMachine`]: crate::state_machine::StateMachine
//! [`Peer`]: crate::peer::Peer
//! [`PeersProvider`]: crate::peers_provider::PeersProvider

mod admin;
mod clock;
mod counters;
mod driver;
mod envelope;
mod events;
mod handle;
mod load;
mod local_reads;
pub mod metrics;
mod panic_stop;
mod pause;
mod reads;
mod snapshot_stream;
mod snapshots;
mod submitter;

pub use panic_stop::panic_message;
mod waiters;
mod write_path;

use std::sync::Arc;

pub use admin::AdminError;
pub use clock::Clock;
pub use counters::LoopCounters;
pub use events::{NodeEvent, Observer};
pub use handle::Node;
pub use load::LogContractViolation;
pub use pause::PauseSwitch;
pub use submitter::Submitter;

use crate::core::Role;
use crate::log::LogError;
use crate::settings::SettingsError;
use crate::snapshot::{MemorySnapshotStore, SnapshotError, SnapshotStore};
use crate::types::{LogIndex, NodeId, Term};

/// Opens a node's [`SnapshotStore`] at every start (see [`NodeOptions::snapshot_store`]).
pub type SnapshotStoreFactory =
    Arc<dyn Fn() -> Result<Box<dyn SnapshotStore>, SnapshotError> + Send + Sync>;

/// How a node runs, beyond its [`crate::Settings`].
#[derive(Clone, Default)]
pub struct NodeOptions {
    /// Seeds the node's randomized election timeouts. The node mixes in its id, so a cluster
    /// may share one seed; the same seed gives the same timeouts.
    pub seed: u64,
    /// Receives the node's events, if any.
    pub observer: Option<Arc<dyn Observer>>,
    /// Check the core's invariants after every input even in release builds.
    pub check_invariants: bool,
    /// Pauses the node's event loop while paused (tests and the harness's `pause` nemesis);
    /// see [`PauseSwitch`].
    pub pause_switch: Option<PauseSwitch>,
    /// Opens the node's snapshot store at start; `None`: a fresh [`MemorySnapshotStore`]
    /// per start (a restarted node then has no snapshot, and refuses a compacted log).
    pub snapshot_store: Option<SnapshotStoreFactory>,
    /// The configuration the node starts with when neither its log nor its snapshot holds
    /// one (dissertation §4.1); `None`: itself and every peer its [`crate::PeersProvider`]
    /// lists, all voters (a cluster bootstrapped from its provider, as before membership
    /// changes existed). A node joining a running cluster starts with an empty configuration
    /// ([`NodeOptions::join`]): it never campaigns, and learns its configuration from the
    /// leader's log.
    pub initial_membership: Option<crate::membership::Membership>,
    /// The local clock the driver reads (see [`Clock`]); `None`: the real elapsed time.
    pub clock: Option<Arc<dyn Clock>>,
    /// Propose a client command in the turn of the event loop that receives it. By default
    /// (`false`) a leader woken by a submission while many commands are in flight first lets
    /// the runtime run its other ready tasks once, so that the commands those submit join
    /// the same proposal: one append and one broadcast for many commands instead of a turn
    /// per two or three (BENCHMARKS.md, issue 24). The yield changes which task runs when,
    /// so the simulation sets this, keeping the schedules (and histories) its seeds recorded.
    pub eager_proposals: bool,
    /// Deliberately broken protocol rules, for the harness's own tests.
    #[cfg(feature = "mutations")]
    pub mutations: Vec<crate::core::Mutation>,
}

impl NodeOptions {
    /// Default options with `seed`.
    pub fn with_seed(seed: u64) -> NodeOptions {
        NodeOptions {
            seed,
            ..NodeOptions::default()
        }
    }

    /// Report events to `observer`.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> NodeOptions {
        self.observer = Some(observer);
        self
    }

    /// Check the core's invariants after every input, even in release builds.
    pub fn check_invariants(mut self, enabled: bool) -> NodeOptions {
        self.check_invariants = enabled;
        self
    }

    /// Let the driver read `clock` instead of the real elapsed time; see [`Clock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> NodeOptions {
        self.clock = Some(clock);
        self
    }

    /// Let `switch` pause the node's event loop (a simulated SIGSTOP); see [`PauseSwitch`].
    pub fn pause_switch(mut self, switch: PauseSwitch) -> NodeOptions {
        self.pause_switch = Some(switch);
        self
    }

    /// Keep snapshots in `store`; every start of the node gets a clone of it, so a cheap
    /// shareable handle ([`MemorySnapshotStore`]) survives a simulated restart like a
    /// [`crate::MemoryStorage`] does.
    pub fn snapshot_store<S: SnapshotStore + Clone + Sync>(mut self, store: S) -> NodeOptions {
        self.snapshot_store = Some(Arc::new(move || Ok(Box::new(store.clone()))));
        self
    }

    /// Open the snapshot store with `open` at every start (a file store opens its directory).
    pub fn open_snapshot_store(mut self, open: SnapshotStoreFactory) -> NodeOptions {
        self.snapshot_store = Some(open);
        self
    }

    /// The node's snapshot store, opened.
    pub(crate) fn open_store(&self) -> Result<Box<dyn SnapshotStore>, SnapshotError> {
        match &self.snapshot_store {
            Some(open) => open(),
            None => Ok(Box::new(MemorySnapshotStore::new())),
        }
    }

    /// Start with `membership` when the log and snapshot hold none (see
    /// [`NodeOptions::initial_membership`]).
    pub fn initial_membership(mut self, membership: crate::membership::Membership) -> NodeOptions {
        self.initial_membership = Some(membership);
        self
    }

    /// Start as a node joining a running cluster: with an empty configuration until the
    /// leader's log (or snapshot) gives it one. Add it with [`crate::Node::add_learner`].
    pub fn join(self) -> NodeOptions {
        self.initial_membership(crate::membership::Membership::default())
    }

    /// Break the given protocol rules (harness self-tests only).
    #[cfg(feature = "mutations")]
    pub fn mutations(mut self, mutations: Vec<crate::core::Mutation>) -> NodeOptions {
        self.mutations = mutations;
        self
    }
}

impl std::fmt::Debug for NodeOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NodeOptions")
            .field("seed", &self.seed)
            .field("observer", &self.observer.is_some())
            .field("check_invariants", &self.check_invariants)
            .field("pause_switch", &self.pause_switch)
            .finish_non_exhaustive()
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings hold impossible values; every bad field is named.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The log could not be read.
    #[error("could not load the log: {0}")]
    Log(#[from] LogError),
    /// The log is compacted (it starts after index 1) but the snapshot store holds no
    /// snapshot covering the entries compacted away.
    #[error(
        "the log starts at index {first_index} but the snapshot store holds no snapshot; \
         the entries before it are lost"
    )]
    CompactedLog {
        /// The log's first index.
        first_index: LogIndex,
    },
    /// The latest snapshot ends before the log starts: the entries between are in neither.
    #[error(
        "the latest snapshot covers up to index {snapshot_index} but the log starts at \
         {first_index}; entries {} to {} are lost",
        snapshot_index + 1,
        first_index - 1
    )]
    SnapshotBehindLog {
        /// The snapshot's last included index.
        snapshot_index: LogIndex,
        /// The log's first index.
        first_index: LogIndex,
    },
    /// The snapshot store could not be opened or read.
    #[error("could not load the latest snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    /// The state machine refused the latest snapshot.
    #[error("the state machine could not restore the snapshot through index {index}: {reason}")]
    Restore {
        /// The snapshot's last included index.
        index: LogIndex,
        /// What the state machine said.
        reason: String,
    },
    /// The [`Log`](crate::log::Log) broke its contract (a bug in that implementation): the
    /// violation names what was wrong and at which index.
    #[error("the log broke its contract: {0}")]
    LogContract(#[from] LogContractViolation),
}

/// A snapshot of a node's state, for monitoring and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// The leader it knows of in `term`.
    pub leader: Option<NodeId>,
    /// Its commit index.
    pub commit_index: LogIndex,
    /// The index of the last entry applied (no-ops included).
    pub last_applied: LogIndex,
    /// The index of its last log entry.
    pub last_index: LogIndex,
    /// The first index its log holds (1 until it compacts).
    pub first_index: LogIndex,
    /// The last index its latest snapshot covers (0 for none).
    pub snapshot_index: LogIndex,
    /// False once the node stopped (asked to, or on a storage error).
    pub running: bool,
    /// What its event loop did so far (for benchmarks; the node never reads them).
    pub counters: LoopCounters,
}
