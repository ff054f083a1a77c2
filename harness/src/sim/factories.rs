//! How each node gets its `Log` and its `StateMachine` in the simulation: [`NodeLogs`] and
//! [`NodeStateMachines`], the cluster's per-node sources, which keep each node's durable state
//! *outside* the simulated host (or on the host's turmoil disk), so a crashed and restarted
//! host reopens exactly what it persisted, and which carry the hooks the nemesis needs (power
//! loss, disk faults, bit rot).
//!
//! They are the harness's machinery, not a user's: a user implements rafty's one factory trait
//! per part, [`rafty::testing::LogFactory`], which the conformance suites take too, and
//! [`super::user_log`] turns it into a [`NodeLogs`] (the `rafty-testing` crate does this).

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use rafty::Sessions;
use rafty::kv::KvStateMachine;
use rafty::memory::{MemoryLog, MemoryStorage};
use rafty::node::SnapshotStoreFactory;
use rafty::{Log, LogError, LogIndex, NodeId, SnapshotSource, StateMachine};

use crate::checks::invariants::{Observation, command_hash};

use super::observe::Observations;

/// Opens a node's [`Log`] on its durable state, at every start and restart of the node.
pub trait NodeLogs: Send + Sync + 'static {
    /// Open node `node`'s log: empty the first time, and afterwards exactly what the previous
    /// incarnations made durable.
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError>;

    /// Node `node`'s host just lost power (the `power` nemesis, or a disk replacement): lose
    /// whatever a power loss loses (unsynced writes, open handles). Not called when only the
    /// node's process is killed (`kill`): the OS, and its page cache, live on. The default
    /// loses nothing, as for storage where every write is durable on return; storage on the
    /// host's turmoil disk needs nothing here either (turmoil drops its unsynced writes).
    fn crashed(&self, node: NodeId) {
        let _ = node;
    }

    /// Opens node `node`'s snapshot store at each of its starts, kept with its log (on the
    /// same disk, for a durable log). `None` (the default): the cluster keeps each node's
    /// snapshots in memory, surviving restarts and power cuts as a store durable on return.
    fn snapshot_store(&self, node: NodeId) -> Option<SnapshotStoreFactory> {
        let _ = node;
        None
    }

    /// Make every later write to node `node`'s log fail (`failing`), or work again; returns
    /// false when this storage cannot simulate failures (the default).
    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        let _ = (node, failing);
        false
    }

    /// The corrupt nemesis, called while node `node`'s host is powered off. `Some(draw)`: one
    /// bit of one durable record of its log, strictly before the tail, rots (record and bit
    /// drawn from `draw`), so its next [`NodeLogs::open`] must refuse with
    /// [`LogError::Corrupted`]. `None`: the damaged bytes are restored (never wiped), so the
    /// next open recovers the whole log. Returns false when this storage cannot simulate
    /// corruption (the default).
    fn corrupt_record(&self, node: NodeId, draw: Option<u64>) -> bool {
        let _ = (node, draw);
        false
    }

    /// The damage [`NodeLogs::corrupt_record`] left on node `node`'s disk, if a flipped bit
    /// is there now (described for the node's log): its log refusing to open is then the
    /// expected fail-stop, and its log opening is a corruption gone undetected.
    fn corruption(&self, node: NodeId) -> Option<String> {
        let _ = node;
        None
    }

    /// What the storage did to node `node`'s disk for the nemesis since the last call (what
    /// a power cut found unsynced, what survived it, what recovery cut; a bit flipped, a bit
    /// restored), for the node's log. The default has nothing.
    fn take_notes(&self, node: NodeId) -> Vec<String> {
        let _ = node;
        Vec::new()
    }

    /// The power-mid-write nemesis: `Some(n)`: let node `node`'s next `n` disk operations
    /// run, then freeze its disk (every operation fails and changes nothing: the moment the
    /// power went out, as the node sees it), so the power cut that follows lands inside a
    /// sequence of operations; `None`: clear the freeze (the host is off). Returns false when
    /// this storage cannot freeze (the default): the power then goes between steps.
    fn arm_power_cut(&self, node: NodeId, operations: Option<u64>) -> bool {
        let _ = (node, operations);
        false
    }

    /// Where the power cut armed on node `node` stands.
    fn armed_cut(&self, node: NodeId) -> ArmedCut {
        let _ = node;
        ArmedCut::Idle
    }
}

/// Where a power cut armed by [`NodeLogs::arm_power_cut`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArmedCut {
    /// None armed.
    Idle,
    /// Armed; the disk has not frozen yet.
    Waiting,
    /// The disk froze inside an operation: the power is to be cut now.
    Due,
    /// The power was cut since the arming.
    Done,
}

/// Creates a node's [`StateMachine`], empty, at every start and restart (the node rebuilds it by
/// re-applying its log).
pub trait NodeStateMachines: Send + Sync + 'static {
    /// A fresh state machine for `node`.
    fn create(&self, node: NodeId) -> Box<dyn StateMachine>;

    /// Where the run's nodes report, handed over once when the cluster is built, for state
    /// machines that check something of their own and report what breaks (the shadow of a
    /// user's machine, [`super::shadow_machine`]). The default ignores it.
    fn observe_with(&self, observations: &Observations) {
        let _ = observations;
    }
}

/// [`MemoryLog`]s on one [`MemoryStorage`] per node, kept here across restarts.
#[derive(Debug, Default)]
pub struct MemoryLogFactory {
    storages: Mutex<BTreeMap<NodeId, MemoryStorage>>,
}

impl MemoryLogFactory {
    /// No storage yet; each node's is created on its first open.
    pub fn new() -> Self {
        MemoryLogFactory::default()
    }

    /// Node `node`'s storage (created empty if it never opened).
    pub fn storage(&self, node: NodeId) -> MemoryStorage {
        let mut storages = self.storages.lock().unwrap_or_else(|p| p.into_inner());
        storages.entry(node).or_default().clone()
    }
}

impl NodeLogs for MemoryLogFactory {
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        Ok(Box::new(MemoryLog::open(&self.storage(node))))
    }

    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        let reason = failing.then(|| "simulated disk failure".to_owned());
        self.storage(node).set_write_failure(reason);
        true
    }
}

/// [`KvStateMachine`] for every node, wrapped in [`Sessions`] (dissertation §6.3): the
/// key-value store the workloads use, exactly-once for clients with sessions (and unchanged,
/// byte for byte, for clients without).
#[derive(Clone, Copy, Debug, Default)]
pub struct KvStateMachineFactory;

impl NodeStateMachines for KvStateMachineFactory {
    fn create(&self, _node: NodeId) -> Box<dyn StateMachine> {
        Box::new(Sessions::new(KvStateMachine::new()))
    }
}

/// A node's state machine, shared so that local queries can reach it (the stale-reads variant).
pub type SharedStateMachine = Arc<Mutex<Box<dyn StateMachine>>>;

/// Wraps a node's state machine to report every apply to the invariant checker.
pub struct ObservedStateMachine {
    node: NodeId,
    inner: SharedStateMachine,
    observations: Observations,
}

impl ObservedStateMachine {
    /// Report `inner`'s applies as `node`'s.
    pub fn new(node: NodeId, inner: Box<dyn StateMachine>, observations: Observations) -> Self {
        ObservedStateMachine {
            node,
            inner: Arc::new(Mutex::new(inner)),
            observations,
        }
    }

    /// A handle on the wrapped state machine, for local queries.
    pub fn query_handle(&self) -> SharedStateMachine {
        self.inner.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn StateMachine>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StateMachine for ObservedStateMachine {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        // The command inside a session envelope: what a client's acknowledgement names.
        let command_hash = command_hash(&rafty::session::inner_command(command));
        self.observations.observe(
            self.node,
            Observation::Applied {
                index,
                command_hash,
            },
        );
        let mut inner = self.lock();
        let response = inner.apply(index, command);
        let digest = state_digest(inner.as_ref());
        drop(inner);
        self.observe_digest(index, digest, false);
        response
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        self.lock().query(query)
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        self.lock().snapshot()
    }

    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        let mut inner = self.lock();
        inner.restore(last_included_index, data)?;
        let digest = state_digest(inner.as_ref());
        drop(inner);
        self.observe_digest(last_included_index, digest, true);
        Ok(())
    }
}

impl ObservedStateMachine {
    fn observe_digest(&self, index: LogIndex, digest: Option<u64>, restored: bool) {
        if let Some(digest) = digest {
            let observation = Observation::StateDigest {
                index,
                digest,
                restored,
            };
            self.observations.observe(self.node, observation);
        }
    }
}

/// FNV-1a of the bytes `machine` writes as its snapshot: a digest of its whole state, equal
/// on two nodes exactly when their states are (the snapshot contract: deterministic bytes that
/// hold everything). `None` for a state machine without snapshots, or whose snapshot failed.
pub(crate) fn state_digest(machine: &dyn StateMachine) -> Option<u64> {
    let source = machine.snapshot()?;
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    source.write_to(&mut hasher).ok()?;
    Some(hasher.0)
}

/// FNV-1a as an `io::Write`, the same hash as [`command_hash`].
struct Fnv(u64);

impl io::Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &byte in buf {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A shared factory handle, as the cluster holds it.
pub type SharedLogFactory = Arc<dyn NodeLogs>;
/// A shared factory handle, as the cluster holds it.
pub type SharedStateMachineFactory = Arc<dyn NodeStateMachines>;
