//! Deliberately broken parts, to prove the harness catches what they break. Never use them
//! outside tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rafty::kv::KvStateMachine;
use rafty::memory::MemoryLog;
use rafty::{Log, LogError, LogIndex, NodeId, SnapshotSource, StateMachine};

use super::factories::{MemoryLogFactory, NodeLogs, NodeStateMachines};

/// A [`NodeLogs`] whose logs acknowledge every write, then lose on restart the newer half
/// of the entries appended since the previous start (as a log that acknowledges before its
/// fsync would), down to the log's first index at most (what it compacted stays compacted).
#[derive(Debug, Default)]
pub struct ForgetfulLogFactory {
    inner: MemoryLogFactory,
    /// Per node: the last index when it last opened.
    opened_at: Mutex<BTreeMap<NodeId, LogIndex>>,
}

impl ForgetfulLogFactory {
    /// Fresh storage for every node.
    pub fn new() -> Self {
        ForgetfulLogFactory::default()
    }
}

impl NodeLogs for ForgetfulLogFactory {
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        let mut log = MemoryLog::open(&self.inner.storage(node));
        let mut opened_at = self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&mark) = opened_at.get(&node) {
            let last = log.last_index();
            if last > mark {
                let forget = (last - mark).div_ceil(2);
                // Never below the log's first index: a snapshot covers what is compacted.
                let from = (last - forget + 1).max(log.first_index());
                if from <= last {
                    log.truncate(from)?;
                }
            }
        }
        opened_at.insert(node, log.last_index());
        Ok(Box::new(log))
    }

    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        self.inner.fail_writes(node, failing)
    }
}

/// A [`NodeStateMachines`] whose state machines keep their state across a node's restarts
/// (as one persisting to disk would) without telling the node how far they got: the node
/// rebuilds its state machine by re-applying its log from index 1, so after a restart every
/// entry is applied a second time. Harmless for idempotent commands (a put); not for appends.
#[derive(Debug, Default)]
pub struct ReplayedStateMachineFactory {
    states: Mutex<BTreeMap<NodeId, std::sync::Arc<Mutex<KvStateMachine>>>>,
}

impl ReplayedStateMachineFactory {
    /// No state yet; each node's is created on its first start.
    pub fn new() -> Self {
        ReplayedStateMachineFactory::default()
    }
}

impl NodeStateMachines for ReplayedStateMachineFactory {
    fn create(&self, node: NodeId) -> Box<dyn StateMachine> {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let state = states.entry(node).or_default().clone();
        Box::new(KeptStateMachine { state })
    }
}

/// A node's key-value state, kept across restarts by [`ReplayedStateMachineFactory`].
struct KeptStateMachine {
    state: std::sync::Arc<Mutex<KvStateMachine>>,
}

impl StateMachine for KeptStateMachine {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.apply(index, command)
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.query(query)
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.snapshot()
    }

    /// The plant's bug with snapshots: a state kept across restarts that is already past the
    /// snapshot believes it is up to date and keeps itself, so the node's replay of the log
    /// after the snapshot applies those entries a second time.
    fn restore(&mut self, index: LogIndex, data: &mut dyn std::io::Read) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.last_applied() >= index {
            return Ok(());
        }
        state.restore(index, data)
    }
}

/// A [`NodeStateMachines`] of key-value stores wrapped in sessions whose snapshots keep the
/// open sessions but not what each applied (`Mutation::SessionTableNotInSnapshot`, §6.3): a
/// node restored from a snapshot applies a retried write a second time.
#[cfg(feature = "mutations")]
#[derive(Clone, Copy, Debug, Default)]
pub struct ForgetfulSessionsFactory;

#[cfg(feature = "mutations")]
impl NodeStateMachines for ForgetfulSessionsFactory {
    fn create(&self, _node: NodeId) -> Box<dyn StateMachine> {
        Box::new(rafty::Sessions::new(KvStateMachine::new()).leave_table_out_of_snapshots())
    }
}
