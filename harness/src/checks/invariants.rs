//! Raft's safety invariants, checked online from what the nodes report during the run.
//!
//! * **Election safety** (§5.2): at most one leader per term.
//! * **State machine safety** (§5.4.3): every node applies the same command at each index; the
//!   applied sequences of all nodes, across restarts, are prefixes of one another.
//! * **Commit monotonicity**: the commit index never decreases within one incarnation of a
//!   node (a restarted node may start lower: the commit index is volatile state).
//! * Each incarnation applies increasing indices (the state machine is rebuilt by re-applying
//!   the log from the start; no-op entries never reach it, so indices may skip).
//! * **Snapshots restore the same state** (§7): a digest of each node's state after each
//!   command it applies, and after each snapshot it restores, equals every other node's digest
//!   at that index, however the state was reached; and a restore never moves an incarnation's
//!   state back below what it had applied.
//! * The rules of [`super::protocol`], on what the nodes made durable and answered on the wire
//!   (durable before reply, one vote per term, leader completeness, the consistency check...).
//! * **Corruption is detected**: a node whose log holds a record the `corrupt` nemesis damaged
//!   must refuse to start; one that opened its log anyway would serve the damaged entry.
//! * **Durability** ([`super::durability`]): every acknowledged write is in the final state.
//!
//! Memory: what the checker holds is bounded by the nodes, the terms and the window of entries
//! some node's log still holds, never by the length of the run. An applied entry is compared
//! with every later apply at its index until every node's log is compacted past it (§7): from
//! then on no node holds it, so none can apply it again (an apply at or below that point is
//! itself a violation, `applied-behind-compaction`); it is then final, handed to the
//! durability ledger and forgotten.

use std::collections::BTreeMap;

use serde::Serialize;

use rafty::{HardState, LogIndex, Membership, NodeId, RequestVote, RequestVoteResponse, Term};

use super::durability::Ledger;
use super::durable_view::Mark;
use super::protocol::{AppendAnswer, Finding, Protocol};
use super::settled::{self, EndState, Settling};

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
    /// A check of a user's part plugged into the node (its state machine beside the
    /// key-value one, its peers provider) found `check` broken: the part's contract, judged
    /// from outside by the harness's wrapper around it.
    PartBroken {
        /// Which check (e.g. `state-machine-answers`), the violation's name.
        check: &'static str,
        /// What was wrong, and the likely cause.
        detail: String,
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
    /// A snapshot of the node's applied state through `index` became durable (§7).
    SnapshotTaken {
        /// Its last included index.
        index: LogIndex,
    },
    /// The node installed a leader's snapshot through `index` (Figure 13).
    SnapshotInstalled {
        /// Its last included index.
        index: LogIndex,
    },
    /// The node's log now starts at `first_index`.
    LogCompacted {
        /// The new first index.
        first_index: LogIndex,
    },
    /// A digest of the node's state right after it reached `index`: by applying the command at
    /// `index` (`restored` false), or by restoring a snapshot covering up to `index` (true).
    /// Reported only for state machines that take snapshots (the digest hashes one).
    StateDigest {
        /// The index the state covers.
        index: LogIndex,
        /// FNV-1a of the state's snapshot bytes.
        digest: u64,
        /// Whether the state came from a snapshot rather than from applying `index`.
        restored: bool,
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
        /// The (index, term) the log was compacted through (`first_index - 1`), or (0, 0).
        compacted: (LogIndex, Term),
        /// The index of the first entry.
        first_index: LogIndex,
        /// Each entry's term, in index order.
        terms: Vec<Term>,
        /// The configuration entries among them: index and configuration.
        configurations: Vec<(LogIndex, Membership)>,
    },
    /// The node's log compacted its entries through `index`, whose term is `term`
    /// (`Log::compact` returned: durable).
    Compacted {
        /// The last index compacted away.
        index: LogIndex,
        /// Its term.
        term: Term,
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
        /// The configuration entries among them: index and configuration.
        configurations: Vec<(LogIndex, Membership)>,
    },
    /// The node asked its log to remove every entry from `from` on (not yet returned: a crash
    /// now may leave any prefix at least that long).
    Truncating {
        /// The first index to remove.
        from: LogIndex,
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
    /// A granted vote (not a pre-vote) of `term` from `voter` reached the node, a candidate.
    VoteReceived {
        /// The node that granted it.
        voter: NodeId,
        /// The answer's term.
        term: Term,
    },
    /// A successful answer of its own term to the node's AppendEntries reached it: `follower`
    /// holds the node's log through `match_index`.
    AppendAcknowledged {
        /// The follower that answered.
        follower: NodeId,
        /// The request's (and the answer's) term.
        term: Term,
        /// The index the follower acknowledged.
        match_index: LogIndex,
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
    /// Whether it changes what the node's durable log holds (so possibly the configuration
    /// in effect in it).
    pub fn changes_log(&self) -> bool {
        matches!(
            self,
            Observation::LogOpened { .. }
                | Observation::Appended { .. }
                | Observation::Truncated { .. }
                | Observation::Compacted { .. }
        )
    }

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
                | Observation::VoteReceived { .. }
                | Observation::AppendAcknowledged { .. }
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
    /// Per node: its current incarnation's commit index.
    commit: BTreeMap<NodeId, (u64, LogIndex)>,
    /// Index -> (command hash, who applied it first, when): the entries above `final_through`.
    applied: BTreeMap<LogIndex, (u64, Incarnation, u64)>,
    /// Every entry up to here is final: every node's log was compacted past it.
    final_through: LogIndex,
    /// Acknowledged writes matched against final entries.
    ledger: Ledger,
    /// Per node: its latest incarnation that applied anything, and the highest index that
    /// incarnation applied. One pair per node, however often it restarted and however long the
    /// log: the commands themselves are held once, in `applied`.
    last_applied: BTreeMap<NodeId, (u64, LogIndex)>,
    /// Index -> (state digest, who reported it first, whether restored): the first digest
    /// reported at each index, which every later one must equal.
    digests: BTreeMap<LogIndex, (u64, Incarnation, bool)>,
    /// Per node: the first and last index its durable log holds (`last = first - 1` when
    /// empty), from its log's own reports.
    log_extent: BTreeMap<NodeId, (LogIndex, LogIndex)>,
    violations: Vec<Violation>,
    violation_count: usize,
    counts: Counts,
    protocol: Protocol,
    /// What the cluster had committed at the settle checkpoint ([`super::settled`]).
    settling: Settling,
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
    /// Snapshots taken (durable) by nodes of their own state.
    pub snapshots_taken: u64,
    /// Snapshots installed from a leader (InstallSnapshot).
    pub snapshots_installed: u64,
    /// Log compactions.
    pub compactions: u64,
    /// The highest first index of any node's log after a compaction.
    pub max_first_index: LogIndex,
    /// The most entries any node's durable log held at once (last index - first index + 1,
    /// from what the log reported: opened, appended, truncated, compacted): with snapshots
    /// on, what compaction bounds.
    pub max_log_entries: u64,
    /// Snapshots restored by nodes (at start, or installed from a leader).
    pub restored: u64,
    /// State digests compared across nodes.
    pub digests: u64,
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

    /// The configuration in effect in `node`'s durable log, seen from outside, with the index
    /// of its entry (0: the initial configuration).
    pub fn configuration_of(&self, node: NodeId) -> (LogIndex, &Membership) {
        self.protocol.configuration_of(node)
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
            Observation::PartBroken { check, ref detail } => {
                self.violate(check, time_ns, node, detail.clone());
            }
            Observation::BecameLeader { term } => self.became_leader(time_ns, node, term),
            Observation::LostLeadership => {
                self.leading.remove(&node);
            }
            Observation::Committed { index } => {
                self.settling.committed(time_ns, index);
                let previous = match self.commit.insert(node, (incarnation.1, index)) {
                    Some((before, previous)) if before == incarnation.1 => previous,
                    _ => 0,
                };
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
            Observation::SnapshotTaken { .. } => self.counts.snapshots_taken += 1,
            Observation::SnapshotInstalled { .. } => self.counts.snapshots_installed += 1,
            Observation::LogCompacted { first_index } => {
                self.counts.compactions += 1;
                self.counts.max_first_index = self.counts.max_first_index.max(first_index);
            }
            Observation::StateDigest {
                index,
                digest,
                restored,
            } => self.state_digest(time_ns, incarnation, index, digest, restored),
            Observation::Compacted { .. } => {
                self.log_changed(node, observation);
                self.finalize_behind_compaction(time_ns);
            }
            Observation::LogOpened { .. }
            | Observation::Appended { .. }
            | Observation::Truncated { .. } => self.log_changed(node, observation),
            Observation::HardStateSaved { .. }
            | Observation::Truncating { .. }
            | Observation::VoteAnswered { .. }
            | Observation::AppendAnswered { .. }
            | Observation::AppendSent { .. }
            | Observation::HigherTermHeard { .. }
            | Observation::VoteReceived { .. }
            | Observation::AppendAcknowledged { .. } => {}
        }
    }

    /// The part of `observation` the protocol rules judge.
    fn observe_protocol(&mut self, node: NodeId, observation: &Observation) -> Vec<Finding> {
        let protocol = &mut self.protocol;
        match observation {
            Observation::LogOpened {
                hard_state,
                compacted,
                first_index,
                terms,
                configurations,
            } => {
                let findings =
                    protocol.opened(node, (*hard_state, *compacted, *first_index, terms.clone()));
                protocol.log_holds(*first_index, terms, configurations);
                findings
            }
            Observation::Truncating { from } => {
                protocol.truncating(node, *from);
                Vec::new()
            }
            Observation::Compacted { index, term } => {
                let findings = protocol.compacted(node, *index, *term);
                // Below every node's compaction point no state is reached again (a restore is
                // at or above its own node's point): those digests are done with.
                let everywhere = protocol.compacted_everywhere();
                if everywhere > 0 {
                    self.digests = self.digests.split_off(&everywhere);
                }
                findings
            }
            Observation::SnapshotTaken { index } | Observation::SnapshotInstalled { index } => {
                protocol.snapshot_durable(node, *index);
                Vec::new()
            }
            Observation::HardStateSaved { state } => protocol.hard_state_saved(node, *state),
            Observation::Appended {
                first,
                terms,
                configurations,
            } => protocol.appended(node, *first, terms, configurations),
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
            Observation::VoteReceived { voter, term } => {
                protocol.vote_received(node, *voter, *term);
                Vec::new()
            }
            Observation::AppendAcknowledged {
                follower,
                term,
                match_index,
            } => {
                protocol.append_acknowledged(node, *follower, *term, *match_index);
                Vec::new()
            }
            Observation::HigherTermHeard { request_term, term } => {
                protocol.higher_term_heard(node, *request_term, *term);
                Vec::new()
            }
            Observation::Started => {
                protocol.restarted(node);
                Vec::new()
            }
            Observation::LostLeadership | Observation::Stopped | Observation::Panicked { .. } => {
                protocol.lost_leadership(node);
                Vec::new()
            }
            Observation::Committed { index } => protocol.committed(node, *index),
            _ => Vec::new(),
        }
    }

    fn state_digest(
        &mut self,
        time_ns: u64,
        incarnation: Incarnation,
        index: LogIndex,
        digest: u64,
        restored: bool,
    ) {
        let node = incarnation.0;
        self.counts.digests += 1;
        if restored {
            self.counts.restored += 1;
            let slot = self.last_applied.entry(node).or_insert((incarnation.1, 0));
            if slot.0 != incarnation.1 {
                *slot = (incarnation.1, 0);
            }
            let previous = slot.1;
            slot.1 = previous.max(index);
            if index < previous {
                let detail = format!(
                    "incarnation {} restored a snapshot covering up to index {index} after it \
                     had applied up to {previous}: its state moved backwards",
                    incarnation.1
                );
                self.violate("snapshot-backwards", time_ns, node, detail);
            }
        }
        // Compared at the very same index only: a state machine's snapshot may record the
        // index it covers (rafty's key-value store does), so the state after a no-op index
        // differs in that field from the state after the command before it.
        match self.digests.get(&index).copied() {
            Some((first, by, by_restoring)) if first != digest => {
                let how = |restoring: bool| {
                    if restoring {
                        "restoring a snapshot"
                    } else {
                        "applying"
                    }
                };
                let detail = format!(
                    "n{node} (incarnation {}) reached index {index} by {} with a state whose \
                     digest is {digest:016x}, but n{} (incarnation {}) had state {first:016x} \
                     there by {}",
                    incarnation.1,
                    how(restored),
                    by.0,
                    by.1,
                    how(by_restoring)
                );
                self.violate("snapshot-state", time_ns, node, detail);
            }
            Some(_) => {}
            None => {
                self.digests.insert(index, (digest, incarnation, restored));
            }
        }
    }

    fn became_leader(&mut self, time_ns: u64, node: NodeId, term: Term) {
        self.counts.elections += 1;
        self.counts.max_term = self.counts.max_term.max(term);
        self.leading.insert(node, term);
        // The leaders of terms far below every node's durable term are dropped; a node whose
        // own durable term is that far past `term` cannot lead it (a leader's term is its
        // current term, never below the durable one).
        let floor = self.protocol.term_floor();
        if let Some((&oldest, _)) = self.leaders.first_key_value()
            && oldest < floor
        {
            self.leaders = self.leaders.split_off(&floor);
        }
        if term < floor {
            let detail = format!(
                "n{node} became leader of term {term}, more than {} terms below the durable \
                 term of every node, its own included (§5.1: a server's current term only \
                 increases; a leader leads its current term)",
                super::protocol::TERM_WINDOW
            );
            self.violate("leader-term-stale", time_ns, node, detail);
            return;
        }
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

    /// Track how many entries `node`'s durable log holds after a change it reported.
    fn log_changed(&mut self, node: NodeId, observation: &Observation) {
        let extent = self.log_extent.entry(node).or_insert((1, 0));
        match *observation {
            Observation::LogOpened {
                first_index,
                ref terms,
                ..
            } => {
                *extent = (
                    first_index,
                    (first_index + terms.len() as LogIndex).saturating_sub(1),
                )
            }
            Observation::Appended {
                first, ref terms, ..
            } if !terms.is_empty() => {
                extent.1 = first + terms.len() as LogIndex - 1;
            }
            Observation::Truncated { from } => extent.1 = extent.1.min(from.saturating_sub(1)),
            // A snapshot that the log does not reach discards it all: it then ends there.
            Observation::Compacted { index, .. } => *extent = (index + 1, extent.1.max(index)),
            _ => {}
        }
        let held = (extent.1 + 1).saturating_sub(extent.0);
        self.counts.max_log_entries = self.counts.max_log_entries.max(held);
    }

    fn applied(&mut self, time_ns: u64, incarnation: Incarnation, index: LogIndex, hash: u64) {
        let node = incarnation.0;
        self.counts.applied += 1;
        self.counts.max_applied = self.counts.max_applied.max(index);
        let slot = self.last_applied.entry(node).or_insert((incarnation.1, 0));
        if slot.0 != incarnation.1 {
            *slot = (incarnation.1, 0);
        }
        let previous = slot.1;
        slot.1 = index;
        if index <= self.final_through {
            let detail = format!(
                "incarnation {} applied index {index}, which every node's log had compacted \
                 away behind a durable snapshot (through {}): a state machine applies only \
                 entries after its snapshot (§7)",
                incarnation.1, self.final_through
            );
            self.violate("applied-behind-compaction", time_ns, node, detail);
            return;
        }
        if index <= previous {
            let detail = format!(
                "incarnation {} applied index {index} after index {previous}",
                incarnation.1
            );
            self.violate("apply-order", time_ns, node, detail);
        }
        match self.applied.get(&index) {
            Some(&(first, by, _)) if first != hash => self.violate("state-machine-safety", time_ns, node, format!(
                "n{node} (incarnation {}) applied a different command at index {index} than n{} \
                 (incarnation {}) did: {hash:016x} vs {first:016x}",
                incarnation.1, by.0, by.1
            )),
            Some(_) => {}
            None => {
                self.applied.insert(index, (hash, incarnation, time_ns));
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
        match self.commit.get(&node) {
            Some(&(of, index)) if of == incarnation => index,
            _ => 0,
        }
    }

    /// Judge whether the cluster settled after the final heal ([`super::settled`]): note the
    /// highest commit index reported until `checkpoint_ns`, which every member of the final
    /// configuration must reach by the end of the run.
    pub fn set_settle_checkpoint(&mut self, checkpoint_ns: u64) {
        self.settling.set_checkpoint(checkpoint_ns);
    }

    /// Why the cluster did not settle by now, the end of the run ([`super::settled::check`]):
    /// one line per problem; empty when it did, or when no checkpoint was set.
    pub fn unsettled(&self) -> Vec<String> {
        let leader = self.leader();
        let running = self
            .incarnations
            .iter()
            .filter(|(_, (_, running))| *running)
            .map(|(node, _)| *node)
            .collect();
        let reached = |node| self.reached_index(node);
        settled::check(
            &self.settling,
            &EndState {
                leader,
                configuration: leader.map(|leader| self.configuration_of(leader)),
                running,
                reached: &reached,
            },
        )
    }

    /// How far `node`'s current incarnation is known to have reached: the higher of its commit
    /// index and the index it applied or restored a snapshot through.
    fn reached_index(&self, node: NodeId) -> LogIndex {
        let incarnation = self.incarnations.get(&node).map_or(0, |(i, _)| *i);
        let applied = match self.last_applied.get(&node) {
            Some(&(of, index)) if of == incarnation => index,
            _ => 0,
        };
        self.commit_index(node).max(applied)
    }

    /// The violations seen (at most the first hundred) and how many there were in all.
    pub fn violations(&self) -> (&[Violation], usize) {
        (&self.violations, self.violation_count)
    }

    /// The counts of what was observed.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// How many applied (index, hash) pairs the checker holds: one per index, however many
    /// nodes applied it and however often they restarted.
    pub fn held_applied_entries(&self) -> usize {
        self.applied.len()
    }

    /// How many leaders of terms, votes, received votes and campaigns the checker holds.
    pub fn held_term_entries(&self) -> usize {
        self.leaders.len() + self.protocol.held_term_entries()
    }

    /// How many state digests the checker holds: those at indices some node may still reach
    /// (at or above the point every node's log is compacted through).
    pub fn held_digests(&self) -> usize {
        self.digests.len()
    }

    /// Acknowledgements arrive at most `window_ns` after their write's invocation.
    pub fn set_ack_window(&mut self, window_ns: u64) {
        self.ledger.set_window(window_ns);
    }

    /// A client was told at `time_ns` that the write `description`, whose command hashes to
    /// `command_hash`, took effect: durability expects it in the final state.
    pub fn acknowledged(&mut self, time_ns: u64, command_hash: u64, description: String) {
        self.ledger.acknowledge(time_ns, command_hash, description);
    }

    /// How many owed writes and spare entries the durability ledger holds.
    pub fn held_ledger_entries(&self) -> usize {
        self.ledger.held()
    }

    /// Durability's verdict at the end of the run: how many writes were acknowledged, and those
    /// missing from the state the cluster converged on: the final entries, then the commands
    /// at the indices after them up to the highest index applied by a node's latest incarnation
    /// (each as first applied anywhere; where two nodes applied different commands at one
    /// index, state machine safety has already failed). A suffix applied once but lost since
    /// (no latest incarnation reached it again) is left out, so its writes are missing.
    pub fn durability(&self) -> (u64, Vec<String>) {
        let reached = self
            .incarnations
            .iter()
            .filter_map(|(node, &(incarnation, _))| {
                let &(applier, last) = self.last_applied.get(node)?;
                (applier == incarnation).then_some(last)
            })
            .max()
            .unwrap_or(0);
        let tail = self
            .applied
            .range(..=reached)
            .map(|(_, &(hash, _, _))| hash);
        (self.ledger.acknowledged(), self.ledger.missing(tail))
    }

    /// Every node's log is compacted through some point now (§7): the entries up to it are
    /// final; hand them to the durability ledger and forget them.
    fn finalize_behind_compaction(&mut self, time_ns: u64) {
        let everywhere = self.protocol.compacted_everywhere();
        if everywhere <= self.final_through {
            return;
        }
        let kept = self.applied.split_off(&(everywhere + 1));
        let done = std::mem::replace(&mut self.applied, kept);
        for (hash, _, applied_ns) in done.into_values() {
            self.ledger.finalize(time_ns, hash, applied_ns);
        }
        self.final_through = everywhere;
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

    /// The longest log any node held follows appends, truncations and compactions (§7), and
    /// a snapshot past the log's end leaves it empty.
    #[test]
    fn the_longest_log_held_is_tracked_through_appends_truncations_and_compactions() {
        let mut checker = Invariants::new();
        let opened = Observation::LogOpened {
            hard_state: HardState::default(),
            compacted: (0, 0),
            first_index: 1,
            terms: vec![1, 1],
            configurations: Vec::new(),
        };
        checker.observe(0, 1, &opened);
        assert_eq!(checker.counts().max_log_entries, 2);
        let append = |first, count| Observation::Appended {
            first,
            terms: vec![1; count],
            configurations: Vec::new(),
        };
        checker.observe(1, 1, &append(3, 8));
        assert_eq!(checker.counts().max_log_entries, 10);
        checker.observe(2, 1, &Observation::Compacted { index: 6, term: 1 });
        checker.observe(3, 1, &Observation::Truncated { from: 9 });
        checker.observe(4, 1, &append(9, 3));
        assert_eq!(checker.counts().max_log_entries, 10, "7..=11 is 5 entries");
        checker.observe(5, 1, &Observation::Compacted { index: 40, term: 2 });
        checker.observe(6, 1, &append(41, 12));
        assert_eq!(
            checker.counts().max_log_entries,
            12,
            "41..=52 after the snapshot"
        );
        checker.observe(7, 2, &append(1, 3));
        assert_eq!(checker.counts().max_log_entries, 12);
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

    /// Election safety (§5.2) over thousands of elections: the leaders of terms every node
    /// left far behind are dropped, a second leader of a recent term is still caught, and a
    /// node claiming a term that old is reported.
    #[test]
    fn leaders_of_old_terms_are_dropped_and_a_stale_leader_is_still_caught() {
        let nodes = [1, 2, 3];
        let mut checker = cluster(&nodes);
        for term in 1..=5_000u64 {
            let leader = term % 3 + 1;
            let others = nodes.iter().filter(|&&node| node != leader);
            for &node in std::iter::once(&leader).chain(others.clone()) {
                let state = HardState {
                    current_term: term,
                    voted_for: Some(leader),
                };
                checker.observe(term * 10, node, &Observation::HardStateSaved { state });
            }
            for &voter in others {
                let received = Observation::VoteReceived { voter, term };
                checker.observe(term * 10, leader, &received);
            }
            checker.observe(term * 10 + 1, leader, &Observation::BecameLeader { term });
            assert!(checker.held_term_entries() <= 3 * 102, "at term {term}");
        }
        assert_eq!(checker.violations().1, 0, "{:?}", checker.violations().0);
        // n2 leads term 4999 (4999 % 3 + 1).
        checker.observe(60_000, 3, &Observation::BecameLeader { term: 4_999 });
        checker.observe(60_001, 3, &Observation::BecameLeader { term: 12 });
        // (Their election-quorum findings aside: no votes were received for them.)
        let names: Vec<_> = checker
            .violations()
            .0
            .iter()
            .map(|v| v.invariant)
            .filter(|name| *name != "election-quorum")
            .collect();
        assert_eq!(names, ["election-safety", "leader-term-stale"]);
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

    /// Acknowledge the write whose command is `command`, described as `w<command>`.
    fn acknowledge(checker: &mut Invariants, time_ns: u64, command: &[u8]) {
        let description = format!("w{command:?}");
        checker.acknowledged(time_ns, command_hash(command), description);
    }

    /// §7: an incarnation restored from a snapshot applies only the entries after it; the
    /// final state still holds the commands the snapshot covers, as first applied.
    #[test]
    fn the_final_state_of_a_node_restarted_from_a_snapshot_includes_what_it_covers() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        for index in 2..=4 {
            checker.observe(index, 1, &applied(index, &[index as u8]));
            acknowledge(&mut checker, index, &[index as u8]);
        }
        checker.observe(10, 1, &Observation::Stopped);
        checker.observe(11, 1, &Observation::Started);
        checker.observe(12, 1, &applied(4, &[4]));
        checker.observe(13, 1, &applied(5, &[5]));
        acknowledge(&mut checker, 13, &[5]);
        assert_eq!(checker.violations().1, 0);
        assert_eq!(checker.durability(), (4, Vec::new()));
        acknowledge(&mut checker, 14, &[6]);
        assert_eq!(checker.durability(), (5, vec!["w[6]".to_owned()]));
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
        assert_eq!(
            checker.held_applied_entries(),
            100,
            "one entry per index, not 50"
        );
        for _ in 0..100 {
            acknowledge(&mut checker, 60_000, b"x");
        }
        assert!(checker.durability().1.is_empty(), "100 copies of x applied");
        acknowledge(&mut checker, 60_000, b"x");
        assert_eq!(checker.durability().1.len(), 1, "not 101");
    }

    /// Durability: a suffix every node applied and then lost (no latest incarnation applied it
    /// again) is not part of the final state, though the checker saw it applied.
    #[test]
    fn a_suffix_lost_by_every_node_is_not_in_the_final_state() {
        let mut checker = Invariants::new();
        for node in [1, 2] {
            checker.observe(0, node, &Observation::Started);
            for index in 1..=10u64 {
                checker.observe(index, node, &applied(index, &[index as u8]));
            }
        }
        for index in 1..=10u64 {
            acknowledge(&mut checker, 11, &[index as u8]);
        }
        assert_eq!(checker.durability(), (10, Vec::new()));
        for node in [1, 2] {
            checker.observe(20, node, &Observation::Stopped);
            checker.observe(21, node, &Observation::Started);
            for index in 1..=7u64 {
                checker.observe(21 + index, node, &applied(index, &[index as u8]));
            }
        }
        assert_eq!(checker.violations().1, 0);
        assert_eq!(checker.durability().1, ["w[8]", "w[9]", "w[10]"]);
    }

    /// A cluster of `nodes` whose logs are open, for the long synthetic runs below.
    fn cluster(nodes: &[NodeId]) -> Invariants {
        let mut checker = Invariants::new();
        checker.set_cluster_size(nodes.len());
        checker.set_ack_window(5_000);
        for &node in nodes {
            checker.observe(0, node, &Observation::Started);
            let opened = Observation::LogOpened {
                hard_state: HardState::default(),
                compacted: (0, 0),
                first_index: 1,
                terms: Vec::new(),
                configurations: Vec::new(),
            };
            checker.observe(0, node, &opened);
        }
        checker
    }

    /// `nodes` apply `index` (command: the index's bytes, or `command`), the write is
    /// acknowledged, and every 100 entries each node snapshots and compacts its log (§7).
    fn step(checker: &mut Invariants, nodes: &[NodeId], index: LogIndex, command: Option<&[u8]>) {
        let bytes = index.to_le_bytes();
        let command = command.unwrap_or(&bytes);
        let time = index * 10;
        for &node in nodes {
            checker.observe(time, node, &applied(index, command));
        }
        acknowledge(checker, time + 1, command);
        if index % 100 == 0 {
            for &node in nodes {
                checker.observe(time + 2, node, &Observation::SnapshotTaken { index });
                let compacted = Observation::Compacted { index, term: 1 };
                checker.observe(time + 3, node, &compacted);
            }
        }
    }

    /// Memory: over a long run the checker holds the entries some node's log still holds and
    /// the writes acknowledged within the window, not every entry ever applied; a write lost
    /// near the start is still missing at the end.
    #[test]
    fn the_held_entries_stay_bounded_over_a_long_run_and_a_write_lost_early_is_still_missing() {
        let nodes = [1, 2, 3];
        let mut checker = cluster(&nodes);
        // A write acknowledged at the start that no node ever applied (a leader that answered
        // before committing).
        acknowledge(&mut checker, 1, b"lost");
        for index in 1..=200_000 {
            step(&mut checker, &nodes, index, None);
            assert!(
                checker.held_applied_entries() <= 100,
                "{} applied entries held at index {index}",
                checker.held_applied_entries()
            );
            assert!(
                checker.held_ledger_entries() <= 101,
                "{} ledger entries held at index {index}",
                checker.held_ledger_entries()
            );
            assert!(checker.held_digests() <= 100);
        }
        assert_eq!(checker.violations().1, 0);
        let (acknowledged, missing) = checker.durability();
        assert_eq!(
            (acknowledged, missing),
            (200_001, vec!["w[108, 111, 115, 116]".to_owned()])
        );
    }

    /// State machine safety (§5.4.3) across a long run: a node that was down while the others
    /// went on still holds its old entries, so the checker keeps them (every node's log is not
    /// compacted past them) and a divergence there is caught when it comes back.
    #[test]
    fn a_lagging_node_that_diverges_far_behind_the_others_is_caught() {
        let nodes = [1, 2, 3];
        let mut checker = cluster(&nodes);
        for index in 1..=50_000 {
            step(&mut checker, &nodes, index, None);
        }
        checker.observe(500_001, 3, &Observation::Stopped);
        for index in 50_001..=60_000 {
            step(&mut checker, &nodes[..2], index, None);
        }
        assert_eq!(
            checker.held_applied_entries(),
            10_000,
            "n3's log holds them"
        );
        checker.observe(600_010, 3, &Observation::Started);
        checker.observe(600_011, 3, &applied(50_001, b"another command"));
        let (violations, count) = checker.violations();
        assert_eq!(
            (violations[0].invariant, count),
            ("state-machine-safety", 1)
        );
        assert!(
            violations[0].detail.contains("index 50001"),
            "{violations:?}"
        );
    }

    /// §7: no node holds an entry every log compacted away, so none may apply it again: that
    /// apply is reported, since the checker no longer holds the entry to compare it with.
    #[test]
    fn applying_an_entry_every_log_compacted_away_is_a_violation() {
        let nodes = [1, 2, 3];
        let mut checker = cluster(&nodes);
        for index in 1..=1_000 {
            step(&mut checker, &nodes, index, None);
        }
        checker.observe(20_000, 2, &Observation::Stopped);
        checker.observe(20_001, 2, &Observation::Started);
        checker.observe(20_002, 2, &applied(1_000, &1_000u64.to_le_bytes()));
        let (violations, count) = checker.violations();
        assert_eq!(
            (violations[0].invariant, count),
            ("applied-behind-compaction", 1)
        );
        checker.observe(20_003, 2, &applied(1_001, b"next"));
        assert_eq!(checker.violations().1, 1, "after the snapshot is fine");
    }

    fn digest(index: LogIndex, digest: u64, restored: bool) -> Observation {
        Observation::StateDigest {
            index,
            digest,
            restored,
        }
    }

    /// §7: a state restored from a snapshot equals the state of a node that applied the same
    /// commands up to the same index.
    #[test]
    fn a_restored_state_must_equal_the_applied_state_at_its_index() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        checker.observe(0, 2, &Observation::Started);
        for index in [1, 2, 4] {
            checker.observe(index, 1, &applied(index, &[index as u8]));
            checker.observe(index, 1, &digest(index, 100 + index, false));
        }
        // n2 restores n1's state at 4.
        checker.observe(10, 2, &digest(4, 104, true));
        assert_eq!(checker.violations().1, 0);
        assert_eq!(checker.counts().restored, 1);
        // At the no-op index 5 nobody applied anything: the first restore there is recorded,
        // and a later one must agree with it.
        checker.observe(11, 2, &digest(5, 105, true));
        checker.observe(12, 3, &Observation::Started);
        checker.observe(13, 3, &digest(5, 105, true));
        assert_eq!(checker.violations().1, 0);
        // A node restores a different state at 4.
        checker.observe(14, 3, &Observation::Stopped);
        checker.observe(15, 3, &Observation::Started);
        checker.observe(16, 3, &digest(4, 999, true));
        let (violations, count) = checker.violations();
        assert_eq!((violations[0].invariant, count), ("snapshot-state", 1));
        assert!(
            violations[0].detail.contains("restoring a snapshot"),
            "{violations:?}"
        );
    }

    /// §7: a snapshot older than what a node applied must not be installed; applying after a
    /// restore continues above the snapshot.
    #[test]
    fn a_restore_that_moves_state_backwards_is_a_violation() {
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        for index in 1..=5 {
            checker.observe(index, 1, &applied(index, &[index as u8]));
        }
        checker.observe(6, 1, &digest(3, 7, true));
        assert_eq!(checker.violations().0[0].invariant, "snapshot-backwards");
        let mut checker = Invariants::new();
        checker.observe(0, 1, &Observation::Started);
        checker.observe(1, 1, &digest(5, 7, true));
        checker.observe(2, 1, &applied(5, b"5"));
        assert_eq!(checker.violations().0[0].invariant, "apply-order");
    }

    /// The checker's digests stay as few as the logs are long: once every node's log is
    /// compacted past an index (§7), no node reaches that state again and its digest goes.
    #[test]
    fn digests_every_node_compacted_past_are_dropped() {
        let mut checker = Invariants::new();
        checker.set_cluster_size(2);
        for node in [1, 2] {
            checker.observe(0, node, &Observation::Started);
            let opened = Observation::LogOpened {
                hard_state: HardState::default(),
                compacted: (0, 0),
                first_index: 1,
                terms: Vec::new(),
                configurations: Vec::new(),
            };
            checker.observe(0, node, &opened);
        }
        for index in 1..=10 {
            checker.observe(index, 1, &applied(index, &[index as u8]));
            checker.observe(index, 1, &digest(index, 100 + index, false));
        }
        for node in [1, 2] {
            checker.observe(11, node, &Observation::SnapshotTaken { index: 8 });
        }
        checker.observe(11, 1, &Observation::Compacted { index: 8, term: 1 });
        assert_eq!(checker.held_digests(), 10, "n2 has not compacted");
        checker.observe(12, 2, &Observation::Compacted { index: 6, term: 1 });
        assert_eq!(checker.held_digests(), 5, "indices 6 to 10 stay");
        // What is held is still checked.
        checker.observe(13, 2, &digest(6, 1, true));
        assert_eq!(checker.violations().0[0].invariant, "snapshot-state");
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
