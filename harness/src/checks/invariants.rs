//! Raft's safety invariants, checked online from what the nodes report during the run.
//!
//! * **Election safety** (§5.2): at most one leader per term.
//! * **State machine safety** (§5.4.3): every node applies the same command at each index; the
//!   applied sequences of all nodes, across restarts, are prefixes of one another.
//! * **Commit monotonicity**: the commit index never decreases within one incarnation of a
//!   node (a restarted node may start lower: the commit index is volatile state).
//! * Each incarnation applies increasing indices (the state machine is rebuilt by re-applying
//!   the log from the start; no-op entries never reach it, so indices may skip).
//! * The rules of [`super::protocol`], on what the nodes made durable and answered on the wire
//!   (durable before reply, one vote per term, leader completeness, the consistency check...).
//! * **Corruption is detected**: a node whose log holds a record the `corrupt` nemesis damaged
//!   must refuse to start; one that opened its log anyway would serve the damaged entry.

use std::collections::BTreeMap;

use serde::Serialize;

use rafty::{HardState, LogIndex, NodeId, RequestVote, RequestVoteResponse, Term};

use super::durable_view::Mark;
use super::protocol::{AppendAnswer, Finding, Protocol};

/// One incarnation of a node: its id and how many times it had started before.
pub type Incarnation = (NodeId, u64);

/// What a node reported, as the invariant checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A new incarnation started.
    Started,
    /// The incarnation was crashed by the nemesis (or stopped).
    Stopped,
    /// The node's event loop panicked: a broken internal invariant (it then fail-stops).
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The node opened a log holding a record the `corrupt` nemesis damaged: the damage went
    /// undetected (the log should have refused to open).
    CorruptionUndetected {
        /// Which bit of which record.
        damage: String,
    },
    /// The node became leader of `term`.
    BecameLeader {
        /// The term it leads.
        term: Term,
    },
    /// The node is no longer leader (it became follower or candidate).
    LostLeadership,
    /// The node's commit index is now `index`.
    Committed {
        /// The new commit index.
        index: LogIndex,
    },
    /// The node applied the command at `index`, whose bytes hash to `command_hash`.
    Applied {
        /// The log index applied.
        index: LogIndex,
        /// FNV-1a hash of the command bytes (see [`command_hash`]).
        command_hash: u64,
    },
    /// The node opened its log, which holds `hard_state` and entries from `first_index` on,
    /// of the terms `terms`.
    LogOpened {
        /// The durable hard state.
        hard_state: HardState,
        /// The index of the first entry.
        first_index: LogIndex,
        /// Each entry's term, in index order.
        terms: Vec<Term>,
    },
    /// The node's log saved `state`.
    HardStateSaved {
        /// What is durable now.
        state: HardState,
    },
    /// The node's log appended entries `first..` of the terms `terms`.
    Appended {
        /// The first entry's index.
        first: LogIndex,
        /// Each entry's term.
        terms: Vec<Term>,
    },
    /// The node's log removed every entry from `from` on.
    Truncated {
        /// The first index removed.
        from: LogIndex,
    },
    /// The node answered a RequestVote (or pre-vote); `mark` is where its log stood when the
    /// request arrived.
    VoteAnswered {
        /// The request.
        request: RequestVote,
        /// The node's answer.
        response: RequestVoteResponse,
        /// The log's state at the request's arrival.
        mark: Mark,
    },
    /// The node sent an AppendEntries of `term`.
    AppendSent {
        /// The request's term.
        term: Term,
    },
    /// An answer of `term` to the node's AppendEntries of `request_term` (lower) reached it.
    HigherTermHeard {
        /// The term of the request answered.
        request_term: Term,
        /// The answer's term.
        term: Term,
    },
    /// The node answered an AppendEntries; `mark` as for `VoteAnswered`.
    AppendAnswered {
        /// The request, summarized, and the answer.
        answer: AppendAnswer,
        /// The log's state at the request's arrival.
        mark: Mark,
    },
}

impl Observation {
    /// Whether this is one of the frequent observations a node's log leaves out (applies,
    /// appends, answered RPCs).
    pub fn is_frequent(&self) -> bool {
        matches!(
            self,
            Observation::Applied { .. }
                | Observation::LogOpened { .. }
                | Observation::Appended { .. }
                | Observation::VoteAnswered { .. }
                | Observation::AppendAnswered { .. }
                | Observation::AppendSent { .. }
        )
    }
}

/// A broken invariant, with where and when it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// Simulated time in nanoseconds.
    pub time_ns: u64,
    /// The node that reported the offending event.
    pub node: NodeId,
    /// What exactly was wrong.
    pub detail: String,
}

/// The most violations kept (the first ones matter; the rest are counted).
const MAX_VIOLATIONS: usize = 100;

/// The invariant checker's state, fed one observation at a time.
#[derive(Debug, Default)]
pub struct Invariants {
    leaders: BTreeMap<Term, NodeId>,
    /// Per node: the current incarnation number and whether it is running.
    incarnations: BTreeMap<NodeId, (u64, bool)>,
    /// Per node: the term it leads, while it believes it is leader.
    leading: BTreeMap<NodeId, Term>,
    commit: BTreeMap<Incarnation, LogIndex>,
    /// Index -> (command hash, who applied it first).
    applied: BTreeMap<LogIndex, (u64, Incarnation)>,
    /// Per node: its latest incarnation that applied anything, and the indices and command
    /// hashes that incarnation applied, in order. An earlier incarnation's sequence is dropped
    /// when the next one applies (nothing reads it again), so a node restarted a thousand
    /// times holds one sequence, not a thousand copies of its log.
    sequences: BTreeMap<NodeId, (u64, Vec<(LogIndex, u64)>)>,
    violations: Vec<Violation>,
    violation_count: usize,
    counts: Counts,
    protocol: Protocol,
}

/// How much was observed, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Leader elections observed.
    pub elections: u64,
    /// Apply events observed.
    pub applied: u64,
    /// Incarnations started (first starts and restarts).
    pub starts: u64,
    /// Highest term seen led.
    pub max_term: Term,
    /// Highest index applied anywhere.
    pub max_applied: LogIndex,
}

impl Invariants {
    /// An empty checker.
    pub fn new() -> Self {
        Invariants::default()
    }

    /// The cluster has `nodes` voters (enables the check that a leader won a majority).
    pub fn set_cluster_size(&mut self, nodes: usize) {
        self.protocol.set_cluster_size(nodes);
    }

    /// Where `node`'s durable log stands now (taken when a request reaches it).
    pub fn mark(&self, node: NodeId) -> Mark {
        self.protocol.mark(node)
    }

    /// Feed one observation from `node` at `time_ns`.
    pub fn observe(&mut self, time_ns: u64, node: NodeId, observation: &Observation) {
        let findings = self.observe_protocol(node, observation);
        for (invariant, detail) in findings {
            self.violate(invariant, time_ns, node, detail);
        }
        let incarnation = (node, self.incarnations.get(&node).map_or(0, |(i, _)| *i));
        match *observation {
            Observation::Started => {
                let next = self.incarnations.get(&node).map_or(0, |(i, _)| i + 1);
                self.incarnations.insert(node, (next, true));
                self.leading.remove(&node);
                self.counts.starts += 1;
            }
            Observation::Stopped => {
                self.incarnations.entry(node).or_default().1 = false;
                self.leading.remove(&node);
            }
            Observation::Panicked { ref message } => {
                self.incarnations.entry(node).or_default().1 = false;
                self.leading.remove(&node);
                let detail = format!("incarnation {} panicked: {message}", incarnation.1);
                self.violate("node-panic", time_ns, node, detail);
            }
            Observation::CorruptionUndetected { ref damage } => {
                let detail = format!("the log opened with a damaged record: {damage}");
                self.violate("corruption-detected", time_ns, node, detail);
            }
            Observation::BecameLeader { term } => self.became_leader(time_ns, node, term),
            Observation::LostLeadership => {
                self.leading.remove(&node);
            }
            Observation::Committed { index } => {
                let previous = self.commit.insert(incarnation, index).unwrap_or(0);
                if index < previous {
                    self.violate(
                        "commit-monotonic",
                        time_ns,
                        node,
                        format!(
                            "commit index went from {previous} back to {index} in incarnation {}",
                            incarnation.1
                        ),
                    );
                }
            }
            Observation::Applied {
                index,
                command_hash,
            } => self.applied(time_ns, incarnation, index, command_hash),
            Observation::LogOpened { .. }
            | Observation::HardStateSaved { .. }
            | Observation::Appended { .. }
            | Observation::Truncated { .. }
            | Observation::VoteAnswered { .. }
            | Observation::AppendAnswered { .. }
            | Observation::AppendSent { .. }
            | Observation::HigherTermHeard { .. } => {}
        }
    }

    /// The part of `observation` the protocol rules judge.
    fn observe_protocol(&mut self, node: NodeId, observation: &Observation) -> Vec<Finding> {
        let protocol = &mut self.protocol;
        match observation {
            Observation::LogOpened {
                hard_state,
                first_index,
                terms,
            } => {
                protocol.opened(node, (*hard_state, *first_index, terms.clone()));
                Vec::new()
            }
            Observation::HardStateSaved { state } => protocol.hard_state_saved(node, *state),
            Observation::Appended { first, terms } => {
                protocol.appended(node, *first, terms);
                Vec::new()
            }
            Observation::Truncated { from } => protocol.truncated(node, *from),
            Observation::VoteAnswered {
                request,
                response,
                mark,
            } => protocol.vote_answered(node, request, response, *mark),
            Observation::AppendAnswered { answer, mark } => {
                protocol.append_answered(node, answer, *mark)
            }
            Observation::BecameLeader { term } => protocol.became_leader(node, *term),
            Observation::AppendSent { term } => protocol.append_sent(node, *term),
            Observation::HigherTermHeard { request_term, term } => {
                protocol.higher_term_heard(node, *request_term, *term);
                Vec::new()
            }
            Observation::Started => {
                protocol.restarted(node);
                Vec::new()
            }
            Observation::Committed { index } => protocol.committed(node, *index),
            _ => Vec::new(),
        }
    }

    fn became_leader(&mut self, time_ns: u64, node: NodeId, term: Term) {
        self.counts.elections += 1;
        self.counts.max_term = self.counts.max_term.max(term);
        self.leading.insert(node, term);
        if let Some(&other) = self.leaders.get(&term) {
            if other != node {
                self.violate(
                    "election-safety",
                    time_ns,
                    node,
                    format!("n{node} became leader of term {term}, which n{other} already leads"),
                );
            }
        } else {
            self.leaders.insert(term, node);
        }
    }

    fn applied(&mut self, time_ns: u64, incarnation: Incarnation, index: LogIndex, hash: u64) {
        let node = incarnation.0;
        self.counts.applied += 1;
        self.counts.max_applied = self.counts.max_applied.max(index);
        let slot = self
            .sequences
            .entry(node)
            .or_insert_with(|| (incarnation.1, Vec::new()));
        if slot.0 != incarnation.1 {
            *slot = (incarnation.1, Vec::new());
        }
        let sequence = &mut slot.1;
        let previous = sequence.last().map_or(0, |(index, _)| *index);
        sequence.push((index, hash));
        if index <= previous {
            let detail = format!(
                "incarnation {} applied index {index} after index {previous}",
                incarnation.1
            );
            self.violate("apply-order", time_ns, node, detail);
        }
        match self.applied.get(&index) {
            Some(&(first, by)) if first != hash => self.violate("state-machine-safety", time_ns, node, format!(
                "n{node} (incarnation {}) applied a different command at index {index} than n{} \
                 (incarnation {}) did: {hash:016x} vs {first:016x}",
                incarnation.1, by.0, by.1
            )),
            Some(_) => {}
            None => {
                self.applied.insert(index, (hash, incarnation));
            }
        }
    }

    fn violate(&mut self, invariant: &'static str, time_ns: u64, node: NodeId, detail: String) {
        self.violation_count += 1;
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                invariant,
                time_ns,
                node,
                detail,
            });
        }
    }

    /// The node currently believed leader: among running nodes that believe they lead, the
    /// one with the highest term.
    pub fn leader(&self) -> Option<NodeId> {
        self.leading
            .iter()
            .filter(|(node, _)| {
                self.incarnations
                    .get(node)
                    .is_some_and(|(_, running)| *running)
            })
            .max_by_key(|(node, term)| (**term, **node))
            .map(|(node, _)| *node)
    }

    /// The current leader (as [`Invariants::leader`]) and the term it leads.
    pub fn leader_term(&self) -> Option<(NodeId, Term)> {
        let leader = self.leader()?;
        Some((leader, self.leading[&leader]))
    }

    /// The commit index of `node`'s current incarnation (0 before it learns one).
    pub fn commit_index(&self, node: NodeId) -> LogIndex {
        let incarnation = self.incarnations.get(&node).map_or(0, |(i, _)| *i);
        self.commit.get(&(node, incarnation)).copied().unwrap_or(0)
    }

    /// The violations seen (at most the first hundred) and how many there were in all.
    pub fn violations(&self) -> (&[Violation], usize) {
        (&self.violations, self.violation_count)
    }

    /// The counts of what was observed.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// How many applied (index, hash) pairs the checker holds in its per-node sequences.
    pub fn held_sequence_entries(&self) -> usize {
        self.sequences
            .values()
            .map(|(_, sequence)| sequence.len())
            .sum()
    }

    /// The longest applied sequence among the nodes' latest incarnations: the final state the
    /// cluster converged on, as (index, command hash) in index order.
    pub fn final_sequence(&self) -> &[(LogIndex, u64)] {
        self.incarnations
            .iter()
            .filter_map(|(node, &(incarnation, _))| {
                let (applier, sequence) = self.sequences.get(node)?;
                (*applier == incarnation).then_some(sequence)
            })
            .max_by_key(|sequence| sequence.len())
            .map_or(&[], |sequence| sequence.as_slice())
    }
}

/// FNV-1a over the command bytes: how applied commands are compared across nodes.
pub fn command_hash(command: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &byte in command {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(index: LogIndex, command: &[u8]) -> Observation {
        Observation::Applied {
            index,
            command_hash: command_hash(command),
        }
    }

    #[test]
    fn two_leaders_in_one_term_break_election_safety() {
        let mut checker = Invariants::new();
        checker.observe(1, 1, &Observation::Started);
        checker.observe(1, 2, &Observation::Started);
        checker.observe(2, 1, &Observation::BecameLeader { term: 3 });
        checker.observe(3, 2, &Observation::BecameLeader { term: 4 });
        assert_eq!(checker.violations().1, 0);
        assert_eq!(checker.leader(), Some(2));
        checker.observe(4, 1, &Observation::BecameLeader { term: 4 });
        assert_eq!(checker.violations().0[0].invariant, "election-safety");
    }

    #[test]
    fn diverging_applies_break_state_machine_safety_across_restarts() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        checker.observe(1, 1, &applied(1, b"a"));
        checker.observe(2, 1, &applied(2, b"b"));
        checker.observe(3, 1, &Observation::Stopped);
        checker.observe(4, 1, &Observation::Started);
        checker.observe(5, 1, &applied(1, b"a"));
        assert_eq!(checker.violations().1, 0);
        checker.observe(6, 1, &applied(2, b"c"));
        assert_eq!(checker.violations().0[0].invariant, "state-machine-safety");
    }

    #[test]
    fn a_node_restarted_many_times_holds_one_applied_sequence() {
        let mut checker = Invariants::new();
        for restart in 0..50u64 {
            checker.observe(restart * 1000, 1, &Observation::Started);
            for index in 1..=100u64 {
                checker.observe(restart * 1000 + index, 1, &applied(index, b"x"));
            }
            checker.observe(restart * 1000 + 999, 1, &Observation::Stopped);
        }
        assert_eq!(checker.violations().1, 0);
        assert_eq!(checker.held_sequence_entries(), 100, "one sequence, not 50");
        assert_eq!(checker.final_sequence().len(), 100);
    }

    #[test]
    fn commit_index_may_drop_only_across_a_restart() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        checker.observe(1, 1, &Observation::Committed { index: 5 });
        checker.observe(2, 1, &Observation::Started);
        checker.observe(3, 1, &Observation::Committed { index: 2 });
        assert_eq!(checker.violations().1, 0);
        checker.observe(4, 1, &Observation::Committed { index: 1 });
        assert_eq!(checker.violations().0[0].invariant, "commit-monotonic");
    }

    #[test]
    fn a_log_opened_despite_an_injected_corruption_is_reported() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        let damage = "bit 3 of byte 40 of /log/00000000000000000001.segment".to_owned();
        checker.observe(1, 1, &Observation::CorruptionUndetected { damage });
        let (violations, count) = checker.violations();
        assert_eq!((violations[0].invariant, count), ("corruption-detected", 1));
        assert!(
            violations[0].detail.contains("byte 40"),
            "{:?}",
            violations[0]
        );
    }

    #[test]
    fn applying_an_index_twice_in_one_incarnation_is_reported() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        checker.observe(1, 1, &applied(2, b"x"));
        assert_eq!(checker.violations().1, 0);
        checker.observe(1, 1, &applied(2, b"x"));
        assert_eq!(checker.violations().0[0].invariant, "apply-order");
    }
}
