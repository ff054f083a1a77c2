//! The catalogue's entries: what each bug breaks, how it is planted, what finds it.

use rafty::core::Mutation;
use rafty_registry::RegistryBug;

use crate::run::config::{LogKind, Variant};
use crate::sim::broken_txn::BrokenTxns;

/// How a bug is planted into the system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// A rule the core breaks (needs rafty's `mutations` feature).
    Core(Mutation),
    /// A deliberately broken part of the harness (a `--variant` of `rafty test`).
    Variant(Variant),
    /// State machines that keep their state across restarts while the node replays its log
    /// ([`crate::sim::broken::ReplayedStateMachineFactory`]).
    ReplayedStateMachine,
    /// A key-value state machine that breaks transactions (needs the `mutations` feature);
    /// the entry runs the list-append workload ([`crate::catalogue::search::setup`]).
    BrokenTxns(BrokenTxns),
    /// A bug of the service registry (needs the `mutations` feature); the entry runs the
    /// registry workload ([`crate::catalogue::search::setup`]).
    Registry(RegistryBug),
}

impl Plant {
    /// Where the code change is, in a few words.
    pub fn describe(self) -> String {
        match self {
            Plant::Core(mutation) => format!("core `Mutation::{mutation:?}`"),
            Plant::Variant(variant) => format!("harness variant `{}`", variant.name()),
            Plant::ReplayedStateMachine => "harness `ReplayedStateMachineFactory`".into(),
            Plant::BrokenTxns(bug) => format!("harness `BrokenTxns::{bug:?}`"),
            Plant::Registry(bug) => format!("registry `RegistryBug::{bug:?}`"),
        }
    }
}

/// One catalogued bug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name, unique, in kebab case.
    pub name: &'static str,
    /// The rule it breaks and the paper's section.
    pub breaks: &'static str,
    /// The code change behind it.
    pub plant: Plant,
    /// Which log the nodes need for the bug to exist (the fsync bug lives in `FileLog`).
    pub log: LogKind,
    /// The faults and workload it needs to show.
    pub needs: &'static str,
    /// The check that must fire.
    pub check: &'static str,
    /// Fault kinds run on top of `all` (by name): the bug shows only under them.
    pub extra_faults: &'static [&'static str],
    /// At most this many faults at once (`--nemesis-overlap`; 1 is `rafty test`'s default).
    pub overlap: usize,
}

const fn core(
    name: &'static str,
    mutation: Mutation,
    breaks: &'static str,
    needs: &'static str,
    check: &'static str,
) -> Entry {
    Entry {
        name,
        breaks,
        plant: Plant::Core(mutation),
        log: LogKind::Memory,
        needs,
        check,
        extra_faults: &[],
        overlap: 1,
    }
}

/// A core mutation that needs the `membership` nemesis on top of `all`, two faults at once.
const fn membership(
    name: &'static str,
    mutation: Mutation,
    breaks: &'static str,
    needs: &'static str,
    check: &'static str,
) -> Entry {
    Entry {
        extra_faults: &["membership"],
        overlap: 2,
        ..core(name, mutation, breaks, needs, check)
    }
}

/// Every entry, in the order `rafty catalogue` lists them.
pub fn entries() -> Vec<Entry> {
    use Mutation as M;
    vec![
        core(
            "vote-without-log-check",
            M::VoteWithoutLogCheck,
            "§5.4.1: vote only for an up-to-date log (Leader Completeness)",
            "kill or partition of the leader after writes; kv",
            "linearizability / durability (a committed write lost)",
        ),
        core(
            "commit-previous-term-by-count",
            M::CommitPreviousTermByCount,
            "§5.4.2, Figure 8: commit only entries of the current term by counting",
            "figure8 sequence, 1 entry per AppendEntries, 1 in flight; kv",
            "linearizability / durability",
        ),
        core(
            "vote-twice-in-term",
            M::VoteTwiceInTerm,
            "§5.2, Figure 2 votedFor: at most one vote per term",
            "elections with competing candidates (partition, kill); any",
            "election-safety",
        ),
        core(
            "vote-not-persisted",
            M::VoteNotPersisted,
            "§5.1, Figure 2: votedFor on stable storage before replying",
            "kill or power cut right after a vote, then a second candidate; any",
            "election-safety",
        ),
        core(
            "term-not-persisted",
            M::TermNotPersisted,
            "§5.1, Figure 2: currentTerm on stable storage before replying",
            "kill after a term change, then a stale leader; kv",
            "election-safety / linearizability",
        ),
        core(
            "accept-append-from-older-term",
            M::AcceptAppendFromOlderTerm,
            "§5.1: reject requests with a stale term",
            "partition that deposes a leader, then heals; kv",
            "state-machine-safety / durability",
        ),
        core(
            "leader-ignores-higher-term-in-response",
            M::LeaderIgnoresHigherTermInResponse,
            "Figure 2 (all servers): a higher term in a response makes a leader step down",
            "partition isolating the leader with a minority; kv",
            "liveness (a deposed leader keeps serving)",
        ),
        core(
            "count-votes-from-other-terms",
            M::CountVotesFromOtherTerms,
            "§5.2: count only votes of the candidate's own term",
            "split votes with delayed answers (latency, partition); any",
            "election-safety",
        ),
        core(
            "append-without-previous-term-check",
            M::AppendWithoutPreviousTermCheck,
            "§5.3: AppendEntries consistency check on prevLogTerm (Log Matching)",
            "leader changes with divergent uncommitted suffixes; kv",
            "state-machine-safety",
        ),
        core(
            "keep-conflicting-entries",
            M::KeepConflictingEntries,
            "§5.3: a conflicting entry and all that follow it are deleted",
            "leader changes with divergent uncommitted suffixes; kv",
            "state-machine-safety",
        ),
        core(
            "follower-commits-past-last-new-entry",
            M::FollowerCommitsPastLastNewEntry,
            "Figure 2, AppendEntries 5: commitIndex = min(leaderCommit, last new entry)",
            "a follower holding a stale suffix gets a heartbeat; kv",
            "state-machine-safety",
        ),
        core(
            "acknowledge-whole-log",
            M::AcknowledgeWholeLog,
            "§5.3: a follower acknowledges only the entries the request covered",
            "a follower holding a stale suffix, then a leader change; kv",
            "linearizability / durability",
        ),
        core(
            "commit-from-highest-match",
            M::CommitFromHighestMatch,
            "§5.4.2: commit what a majority holds, not the highest match index",
            "leader change after a write reached a minority; kv",
            "linearizability / durability",
        ),
        core(
            "quorum-off-by-one",
            M::QuorumOffByOne,
            "§5.2, §5.4.2: a quorum is a strict majority",
            "partition into two sides that each elect; any",
            "election-safety / linearizability",
        ),
        core(
            "pre-vote-bumps-term",
            M::PreVoteBumpsTerm,
            "thesis §9.6: a pre-vote changes no persistent state",
            "a node partitioned away rejoins and disrupts the leader; any",
            "liveness (needless elections)",
        ),
        core(
            "fast-backtrack-skips-entry",
            M::FastBacktrackSkipsEntry,
            "§5.3: backtracking never skips past the first missing entry",
            "a follower far behind (kill, partition) rejoins; any",
            "liveness (a follower never catches up)",
        ),
        core(
            "follower-applies-uncommitted",
            M::FollowerAppliesUncommitted,
            "Figure 2, §5.4: apply only committed entries (State Machine Safety)",
            "a leader dies with uncommitted entries on a follower; kv",
            "state-machine-safety",
        ),
        core(
            "install-stale-snapshot",
            M::InstallStaleSnapshot,
            "§7: a snapshot never moves a node backwards (commit and applied index)",
            "snapshots with a small threshold; a follower that lags, then a late snapshot; kv",
            "state-machine-safety (applied sequences), linearizability",
        ),
        core(
            "compact-past-snapshot",
            M::CompactPastSnapshot,
            "§7: compact only the log a durable snapshot covers",
            "snapshots with a small threshold; kill (restart); kv",
            "durability (a node refuses to start or loses applied writes), liveness",
        ),
        core(
            "snapshot-uncommitted",
            M::SnapshotUncommitted,
            "§7: a snapshot holds committed, applied state only",
            "snapshots with a small threshold; kill (restart) of a node with uncommitted entries; kv",
            "linearizability (writes lost on restart), state-machine-safety",
        ),
        membership(
            "change-before-own-term-commit",
            M::ChangeBeforeOwnTermCommit,
            "errata to dissertation §4.2: a leader commits an entry of its term before a \
             configuration change (else two single-server changes from different leaders overlap)",
            "`all,membership`, overlap 2: a change asked of a leader just elected (transfer, kill); any",
            "membership-change-own-term",
        ),
        membership(
            "joint-counts-new-half-only",
            M::JointCountsNewHalfOnly,
            "dissertation §4.3: C_old,new needs a majority of C_old and of C_new",
            "`all,membership`, overlap 2: a replacement (joint change) while C_old's majority is slow; kv",
            "commit-quorum / election-quorum",
        ),
        membership(
            "learner-counts-toward-commit",
            M::LearnerCountsTowardCommit,
            "dissertation §4.2.1: learners never count toward a quorum",
            "`all,membership`, overlap 2: a caught-up learner while voters are slow or cut off; kv",
            "commit-quorum",
        ),
        membership(
            "removed-node-disrupts",
            M::CampaignWithoutPreVote,
            "dissertation §4.2.3 (removed servers must not disrupt), thesis §9.6 pre-vote",
            "`all,membership`, overlap 2: a voter removed (it keeps running); any",
            "removed-node-disrupts",
        ),
        membership(
            "restart-from-bootstrap-configuration",
            M::RestartFromBootstrapConfiguration,
            "dissertation §4.1 and chapter 5: a server uses the latest configuration in its \
             log, the snapshot's included (it keeps the configuration as of its last index)",
            "`all,membership`, overlap 2: a change, a snapshot past its entry, then a kill and \
             a restart that loads the snapshot; kv",
            "election-quorum / commit-quorum / liveness (settle)",
        ),
        // Reads without the log (issue 21): run with the reads each needs (`search::setup`).
        core(
            "read-index-without-heartbeat",
            M::ReadWithoutHeartbeat,
            "§6.4 step 2: a leader confirms it still leads (a heartbeat round) before a read",
            "--reads index, pinned clients; `depose` alone (the leader cut off once it is ahead); kv",
            "linearizability (a stale read)",
        ),
        core(
            "read-index-before-term-commit",
            M::ReadBeforeTermCommitted,
            "§6.4 step 1: a new leader reads only once an entry of its term is committed",
            "--reads index, pinned clients; `hold-first-append` (a successor confirmed before its first entry commits); kv",
            "linearizability (a stale read)",
        ),
        core(
            "lease-without-drift-margin",
            M::LeaseWithoutDriftMargin,
            "§6.4.1: a lease is shortened by the bound on clock drift",
            "--reads lease, pinned clients, a LAN, 2 keys, 20 clients, 500 ops/s, mix 6,1,0; `clock-bound` alone (the leader's clock slow within the bound, cut off right after its heartbeat round); kv",
            "linearizability (a stale read)",
        ),
        core(
            "follower-read-before-apply",
            M::FollowerReadBeforeApply,
            "§6.4: a follower serves a read only once it applied through the leader's read index",
            "--reads index --follower-reads, pinned clients (some read at lagging followers); kv",
            "linearizability (a stale read)",
        ),
        core(
            "session-table-not-in-snapshot",
            M::SessionTableNotInSnapshot,
            "§6.3: the session table is replicated state, snapshots included",
            "--sessions; kill or install-snapshot (a node restored from a snapshot) while clients retry writes; kv",
            "invariant snapshot-state (replicas diverge: a retried write applied twice)",
        ),
        Entry {
            name: "log-forgets-on-restart",
            breaks: "§5.1, Figure 2: log entries on stable storage before replying",
            plant: Plant::Variant(Variant::ForgetfulLog),
            log: LogKind::Memory,
            needs: "kill (restart); kv",
            check: "durability (an acknowledged write lost)",
            extra_faults: &[],
            overlap: 1,
        },
        Entry {
            name: "log-acknowledges-before-fsync",
            breaks: "the `Log` contract: durable before acknowledged (Figure 2)",
            plant: Plant::Variant(Variant::AcknowledgeBeforeFsync),
            log: LogKind::File,
            needs: "power loss (--log file); kv",
            check: "durability (an acknowledged write lost)",
            extra_faults: &[],
            overlap: 1,
        },
        Entry {
            name: "stale-leader-reads",
            breaks: "§8: a read served by a leader that may be deposed",
            plant: Plant::Variant(Variant::StaleLeaderReads),
            log: LogKind::Memory,
            needs: "partition or kill of the leader, read-heavy; kv",
            check: "linearizability (a stale read)",
            extra_faults: &[],
            overlap: 1,
        },
        Entry {
            name: "entry-applied-twice-after-restart",
            breaks: "the `StateMachine` contract: each committed command applied once",
            plant: Plant::ReplayedStateMachine,
            log: LogKind::Memory,
            needs: "kill (restart); append workload (puts are idempotent)",
            check: "linearizability (a duplicated append)",
            extra_faults: &[],
            overlap: 1,
        },
        // Transactions (issue 23): run with the list-append workload (`search::setup`).
        Entry {
            name: "txn-applied-in-halves",
            breaks: "a transaction is atomic: its micro-operations apply in one entry, at once",
            plant: Plant::BrokenTxns(BrokenTxns::AppliedInHalves),
            log: LogKind::Memory,
            needs: "list-append (transactions of 2 or more micro-operations); any faults",
            check: "elle list-append (a dependency cycle)",
            extra_faults: &[],
            overlap: 1,
        },
        Entry {
            name: "txn-reads-from-snapshot",
            breaks: "strict serializability: a transaction reads the state its entry applies to",
            plant: Plant::BrokenTxns(BrokenTxns::ReadsFromSnapshot),
            log: LogKind::Memory,
            needs: "list-append (read-only transactions after writes); any faults",
            check: "elle list-append (a stale read: a cycle with a real-time edge)",
            extra_faults: &[],
            overlap: 1,
        },
        // The service registry (issue 25): run with the registry workload (`search::setup`).
        registry(
            "registry-watch-skips-after-leader-change",
            RegistryBug::WatchSkipsAfterLeaderChange,
            "the registry's watch: every change, in revision order, no gap",
            "a leader change (kill, partition, pause of the leader); registry",
            "registry (a watcher's gap; an acknowledged registration missing from the change log)",
        ),
        registry(
            "registry-lease-by-local-clock",
            RegistryBug::LeaseByLocalClock,
            "the registry's leases expire by log time, the same at every replica",
            "replicas applying a tick at different moments (a restart replaying the log); registry",
            "registry (watchers disagree on a revision) / invariant snapshot-state",
        ),
        registry(
            "registry-stale-follower-list",
            RegistryBug::StaleFollowerList,
            "the registry's list is linearizable (ReadIndex, §6.4)",
            "a lagging follower (partition, pause, clog); registry",
            "registry (a list's revision goes back in real time)",
        ),
    ]
}

/// A registry bug, on the default test with the registry workload.
const fn registry(
    name: &'static str,
    bug: RegistryBug,
    breaks: &'static str,
    needs: &'static str,
    check: &'static str,
) -> Entry {
    Entry {
        name,
        breaks,
        plant: Plant::Registry(bug),
        log: LogKind::Memory,
        needs,
        check,
        extra_faults: &[],
        overlap: 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn at_least_twenty_entries_with_distinct_names() {
        let entries = entries();
        assert!(entries.len() >= 20, "{} entries", entries.len());
        let names: BTreeSet<&str> = entries.iter().map(|entry| entry.name).collect();
        assert_eq!(names.len(), entries.len(), "duplicate names");
    }

    /// Every core mutation has its entry, and no entry plants the reference.
    #[test]
    fn every_mutation_is_catalogued_once() {
        let entries = entries();
        for mutation in Mutation::ALL {
            let count = entries
                .iter()
                .filter(|entry| entry.plant == Plant::Core(mutation))
                .count();
            assert_eq!(count, 1, "{mutation:?}");
        }
        assert!(
            entries
                .iter()
                .all(|entry| entry.plant != Plant::Variant(Variant::Reference))
        );
    }
}
