//! Where the nodes' reports go during a run: the online invariant checker and the per-node
//! logs. Shared by every simulated host (hence `Arc<Mutex<..>>`; the simulation itself runs on
//! one thread, so the lock is never contended).

use std::collections::BTreeMap;
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

#[derive(Debug, Default)]
struct State {
    invariants: Invariants,
    node_logs: BTreeMap<NodeId, Vec<String>>,
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
        if !matches!(observation, Observation::Applied { .. }) {
            let line = format!("{} n{node} {observation:?}", format_time(time_ns));
            state.node_logs.entry(node).or_default().push(line);
        }
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

    /// Each node's log lines.
    pub fn node_logs(&self) -> BTreeMap<NodeId, Vec<String>> {
        self.lock().node_logs.clone()
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
