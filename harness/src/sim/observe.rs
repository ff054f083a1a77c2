//! Where the nodes' reports go during a run: the online invariant checker and the per-node
//! logs. Shared by every simulated host (hence `Arc<Mutex<..>>`; the simulation itself runs on
//! one thread, so the lock is never contended).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rafty::NodeId;

use crate::checks::invariants::{Invariants, Observation};
use crate::nemesis::ClusterView;

use super::clock;

/// The observations of one run.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    inner: Arc<Mutex<State>>,
}

/// The most lines kept of one node's log; older ones are dropped, and counted.
pub const MAX_NODE_LOG_LINES: usize = 100_000;

#[derive(Debug, Default)]
struct State {
    invariants: Invariants,
    node_logs: BTreeMap<NodeId, NodeLog>,
}

/// The last [`MAX_NODE_LOG_LINES`] lines of a node's log and how many were dropped before.
#[derive(Debug, Default)]
struct NodeLog {
    lines: VecDeque<String>,
    dropped: u64,
}

impl NodeLog {
    fn push(&mut self, line: String) {
        if self.lines.len() == MAX_NODE_LOG_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    fn lines(&self) -> Vec<String> {
        let dropped = (self.dropped > 0).then(|| {
            format!(
                "({} earlier lines dropped: only the last {MAX_NODE_LOG_LINES} are kept)",
                self.dropped
            )
        });
        dropped
            .into_iter()
            .chain(self.lines.iter().cloned())
            .collect()
    }
}

impl Observations {
    /// Nothing observed yet.
    pub fn new() -> Self {
        Observations::default()
    }

    /// `node` reports `observation` now (simulated time).
    pub fn observe(&self, node: NodeId, observation: Observation) {
        self.observe_at(clock::now_ns(), node, observation);
    }

    /// `node` reports `observation` at `time_ns` (for the outer loop, which has no host clock).
    pub fn observe_at(&self, time_ns: u64, node: NodeId, observation: Observation) {
        let mut state = self.lock();
        state.invariants.observe(time_ns, node, &observation);
        if !observation.is_frequent() {
            let line = format!("{} n{node} {observation:?}", format_time(time_ns));
            state.node_logs.entry(node).or_default().push(line);
        }
    }

    /// A client was told now that `write` took effect: durability expects it in the final
    /// state (checked as the run goes, see [`crate::checks::durability`]).
    pub fn acknowledged(&self, command_hash: u64, write: String) {
        let now = clock::now_ns();
        self.lock()
            .invariants
            .acknowledged(now, command_hash, write);
    }

    /// Clients are told an outcome at most `window` after they invoked the operation.
    pub fn set_ack_window(&self, window: std::time::Duration) {
        let window_ns = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        self.lock().invariants.set_ack_window(window_ns);
    }

    /// The run's cluster has `nodes` voters (for the check that a leader won a majority).
    pub fn set_cluster_size(&self, nodes: usize) {
        self.lock().invariants.set_cluster_size(nodes);
    }

    /// Where `node`'s durable log stands now, as the protocol checks see it.
    pub fn mark(&self, node: NodeId) -> crate::checks::durable_view::Mark {
        self.lock().invariants.mark(node)
    }

    /// Add a free-form line to `node`'s log (errors, restarts...).
    pub fn note(&self, node: NodeId, text: &str) {
        self.note_at(clock::now_ns(), node, text);
    }

    /// [`Observations::note`] at `time_ns` (for the outer loop, which has no host clock).
    pub fn note_at(&self, time_ns: u64, node: NodeId, text: &str) {
        let line = format!("{} n{node} {text}", format_time(time_ns));
        self.lock().node_logs.entry(node).or_default().push(line);
    }

    /// Run `f` on the invariant checker.
    pub fn with_invariants<R>(&self, f: impl FnOnce(&Invariants) -> R) -> R {
        f(&self.lock().invariants)
    }

    /// Each node's log lines (the last [`MAX_NODE_LOG_LINES`], after a line saying how many
    /// earlier ones were dropped, if any were).
    pub fn node_logs(&self) -> BTreeMap<NodeId, Vec<String>> {
        self.lock()
            .node_logs
            .iter()
            .map(|(node, log)| (*node, log.lines()))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ClusterView for Observations {
    fn leader(&self) -> Option<NodeId> {
        self.lock().invariants.leader()
    }

    fn leader_term(&self) -> Option<(NodeId, rafty::Term)> {
        self.lock().invariants.leader_term()
    }

    fn commit_index(&self, node: NodeId) -> rafty::LogIndex {
        self.lock().invariants.commit_index(node)
    }
}

/// `12.345678s`: simulated seconds with microseconds.
fn format_time(time_ns: u64) -> String {
    format!(
        "{:>4}.{:06}s",
        time_ns / 1_000_000_000,
        (time_ns % 1_000_000_000) / 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_log_keeps_its_last_lines_and_counts_the_dropped_ones() {
        let observations = Observations::new();
        let total = MAX_NODE_LOG_LINES + 3;
        for line in 0..total {
            observations.note_at(line as u64, 1, &format!("line {line}"));
        }
        let lines = &observations.node_logs()[&1];
        assert_eq!(lines.len(), MAX_NODE_LOG_LINES + 1);
        assert!(
            lines[0].starts_with("(3 earlier lines dropped"),
            "{}",
            lines[0]
        );
        assert!(lines[1].ends_with("n1 line 3"), "{}", lines[1]);
        assert!(lines[MAX_NODE_LOG_LINES].ends_with(&format!("line {}", total - 1)));
    }
}
