//! Where the nodes' reports go during a run: the online invariant checker and the per-node
//! logs. Shared by every simulated host (hence `Arc<Mutex<..>>`; the simulation itself runs on
//! one thread, so the lock is never contended).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rafty::{LogIndex, Membership, NodeId};
use rafty_reports::membership::CONFIGURATION_LINE;

use crate::checks::admin::{AdminCall, AdminCalls, AdminOutcome, CallId};
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
    /// Per node: the configuration in effect in its log when last noted (absent: the initial
    /// one, never noted).
    configurations: BTreeMap<NodeId, (LogIndex, Membership)>,
    /// The membership nemesis's admin calls, judged at the end ([`crate::checks::admin`]).
    admin: AdminCalls,
}

impl State {
    /// After a change to `node`'s log: if the configuration in effect in it (seen from outside)
    /// is no longer the one noted last, note the new one in its log, as
    /// `configuration in effect: index 12, voters {1, 2, 3}, learners {4}` (the reports draw
    /// each node's configuration over time from these lines).
    fn note_configuration(&mut self, time_ns: u64, node: NodeId) {
        let (index, now) = self.invariants.configuration_of(node);
        let unchanged = match self.configurations.get(&node) {
            Some((noted_index, noted)) => (*noted_index, noted) == (index, now),
            None => index == 0,
        };
        if unchanged {
            return;
        }
        let line = format!(
            "{} n{node} {CONFIGURATION_LINE}index {index}, {now}",
            format_time(time_ns)
        );
        self.configurations.insert(node, (index, now.clone()));
        self.node_logs.entry(node).or_default().push(line);
    }
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
        state.admin.observe(&observation);
        if !observation.is_frequent() {
            let line = format!("{} n{node} {observation:?}", format_time(time_ns));
            state.node_logs.entry(node).or_default().push(line);
        }
        if observation.changes_log() {
            state.note_configuration(time_ns, node);
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

    /// Judge whether the cluster settles after the final heal: note what it committed by
    /// `checkpoint` (simulated time), which every member must reach by the end of the run
    /// ([`crate::checks::settled`]).
    pub fn set_settle_checkpoint(&self, checkpoint: std::time::Duration) {
        let checkpoint_ns = u64::try_from(checkpoint.as_nanos()).unwrap_or(u64::MAX);
        self.lock().invariants.set_settle_checkpoint(checkpoint_ns);
    }

    /// The run's cluster has `nodes` voters (for the check that a leader won a majority).
    pub fn set_cluster_size(&self, nodes: usize) {
        self.lock().invariants.set_cluster_size(nodes);
    }

    /// Where `node`'s durable log stands now, as the protocol checks see it.
    pub fn mark(&self, node: NodeId) -> crate::checks::durable_view::Mark {
        self.lock().invariants.mark(node)
    }

    /// Leader `node`, leading `term` with `configuration` in effect, takes the admin `call`
    /// now ([`crate::checks::admin`]).
    pub fn admin_started(
        &self,
        node: NodeId,
        term: rafty::Term,
        configuration: &Membership,
        call: AdminCall,
    ) -> CallId {
        let now = clock::now_ns();
        self.lock()
            .admin
            .started(now, node, term, configuration, call)
    }

    /// The admin call `id`, taken by `node`, ended now with `outcome`.
    pub fn admin_finished(&self, id: CallId, node: NodeId, outcome: AdminOutcome) {
        let now = clock::now_ns();
        let mut state = self.lock();
        let State {
            invariants, admin, ..
        } = &mut *state;
        admin.finished(id, now, outcome, invariants.configuration_of(node));
    }

    /// The admin calls' problems ([`AdminCalls::problems`]).
    pub fn admin_problems(&self, quiet: impl Fn(u64, u64) -> bool) -> Vec<String> {
        self.lock().admin.problems(quiet)
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
    fn a_change_of_the_configuration_in_effect_is_noted_in_the_node_log_and_read_back() {
        let observations = Observations::new();
        observations.set_cluster_size(3);
        let appended = |first, configurations| Observation::Appended {
            first,
            terms: vec![1, 1],
            configurations,
        };
        let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([1, 2, 4]));
        // Entries without a configuration leave the initial one in effect: nothing noted.
        observations.observe_at(1_000, 1, appended(1, Vec::new()));
        observations.observe_at(2_000, 1, appended(3, vec![(4, joint.clone())]));
        // The same configuration again (another entry after it): nothing new.
        observations.observe_at(3_000, 1, appended(5, Vec::new()));
        // §4.1: a truncation that removes the entry puts the previous configuration back.
        observations.observe_at(4_000, 1, Observation::Truncated { from: 4 });
        let log = observations.node_logs()[&1].join("\n");
        let (changes, _) = rafty_reports::membership::membership_events(log.lines());
        let seen: Vec<(u64, u64, &str)> = changes
            .iter()
            .map(|c| (c.time_ns, c.index, c.configuration.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    2_000,
                    4,
                    "voters {1, 2, 4} (joint with old voters {1, 2, 3})"
                ),
                (4_000, 0, "voters {1, 2, 3}"),
            ],
            "{log}"
        );
    }

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
