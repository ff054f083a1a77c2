//! Deliberate protocol bugs: the names of the rules the core can be told to break, for the
//! harness's bug catalogue (`rafty catalogue`), which proves the checkers catch each.
//!
//! The names are always compiled, so a catalogue can list them; breaking a rule needs the
//! `mutations` feature ([`Core::set_mutations`]). Without it every check of a mutation is the
//! constant `false`, so a normal build compiles none of the broken code paths in. Never
//! enable the feature in production.

#[cfg(feature = "mutations")]
mod witness;

#[cfg(feature = "mutations")]
pub use witness::{Witness, witness};

/// A rule the core can be told to break. Each is a small, realistic code change at one place
/// in the core (named in its doc), switched by a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutation {
    /// Break §5.4.2 (Figure 8): commit any index a majority holds, even of a previous term
    /// (`replication.rs`, `maybe_commit`).
    CommitPreviousTermByCount,
    /// Break §5.4.1: grant (pre-)votes without checking that the candidate's log is
    /// up-to-date (`election.rs`, `candidate_log_is_acceptable`).
    VoteWithoutLogCheck,
    /// Break §5.2 (Figure 2, votedFor): grant a vote without checking whom this node already
    /// voted for in the term (`election.rs`, `grants_vote`).
    VoteTwiceInTerm,
    /// Break §5.1 and Figure 2 ("persistent state, updated on stable storage before
    /// responding"): a granted vote is kept in memory and never saved, so a restart forgets
    /// it (`election.rs`, `handle_request_vote`).
    VoteNotPersisted,
    /// Break §5.1 and Figure 2: a higher term learned from a message is kept in memory and
    /// never saved, so a restart goes back to the older term (`election.rs`,
    /// `become_follower`).
    TermNotPersisted,
    /// Break §5.1 ("if a server receives a request with a stale term number, it rejects the
    /// request"): a follower accepts AppendEntries from a leader of an older term
    /// (`follower.rs`, `handle_append_entries`).
    AcceptAppendFromOlderTerm,
    /// Break Figure 2 ("if RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower"): a leader ignores a higher term in an
    /// AppendEntries response (`replication.rs`, `handle_append_response`).
    LeaderIgnoresHigherTermInResponse,
    /// Break §5.2: a candidate counts a granted vote whatever term the response is for, so a
    /// late vote from an earlier election counts in this one (`election.rs`,
    /// `handle_vote_response`).
    CountVotesFromOtherTerms,
    /// Break §5.3 (the consistency check): accept AppendEntries when the log merely has an
    /// entry at the previous index, without comparing its term (`follower.rs`,
    /// `check_previous_entry`).
    AppendWithoutPreviousTermCheck,
    /// Break §5.3 ("if an existing entry conflicts with a new one, delete the existing entry
    /// and all that follow it"): a follower keeps its conflicting entries and appends only
    /// past its own end (`follower.rs`, `store_entries`).
    KeepConflictingEntries,
    /// Break Figure 2 (AppendEntries step 5, "min(leaderCommit, index of last new entry)"): a
    /// follower commits up to the leader's commit index bounded by its whole log, past the
    /// entries the request vouched for (`follower.rs`, `handle_append_entries`).
    FollowerCommitsPastLastNewEntry,
    /// Break §5.3: a follower acknowledges its whole log (its last index) instead of the last
    /// entry the request covered (`follower.rs`, `handle_append_entries`).
    AcknowledgeWholeLog,
    /// Break §5.4.2 (commit only what a majority holds): the commit index follows the
    /// highest match index instead of the majority's (`replication.rs`, `maybe_commit`).
    CommitFromHighestMatch,
    /// Break §5.2 and §5.4.2 (a majority of the cluster): the quorum is one vote short
    /// (`mod.rs`, `quorum`), for elections, commits and check-quorum.
    QuorumOffByOne,
    /// Break thesis §9.6 (a pre-vote changes no state): a node that grants a pre-vote adopts
    /// the pre-candidate's term, bumping its real term (`election.rs`, `handle_request_vote`).
    PreVoteBumpsTerm,
    /// Break §5.3 fast backtracking: after a rejection the leader resumes one entry past the
    /// hint, skipping an entry, and does not clamp to the rejected index
    /// (`replication.rs`, `next_index_after_rejection`).
    FastBacktrackSkipsEntry,
    /// Break §5.4.2 / Figure 2 (apply only committed entries): a follower commits every
    /// entry it stores, without waiting for the leader's commit index (`follower.rs`,
    /// `handle_append_entries`).
    FollowerAppliesUncommitted,
    /// Break §7 (a snapshot never moves a node backwards): a follower installs a leader's
    /// snapshot older than its commit index, moving its commit index and state machine back
    /// (`snapshot.rs`, `snapshot_is_stale`). The harness also switches off its in-memory
    /// snapshot store's ordering check for it (`MemorySnapshotStore::accept_older_snapshots`):
    /// with that check in place the store refuses such a snapshot first.
    InstallStaleSnapshot,
    /// Break §7 (compact only what a durable snapshot covers): after a snapshot the log is
    /// compacted through its last index, past the snapshot (`snapshot.rs`,
    /// `snapshot_taken`).
    CompactPastSnapshot,
    /// Break §7 (a snapshot holds committed, applied state): the snapshot is labelled with
    /// the last log index instead of the commit index, so it claims entries that were never
    /// applied and may never commit (`snapshot.rs`, `maybe_take_snapshot`).
    SnapshotUncommitted,
    /// Break the dissertation's errata to §4.2 (a leader commits an entry of its own term
    /// before it changes the configuration): a new leader may append a configuration change
    /// at once, as in the original §4.2 (without the catch-up guard either, which a new
    /// leader that has heard no follower yet would fail), so two single-server changes from
    /// leaders of different terms can overlap (`membership_change.rs`,
    /// `check_no_change_in_progress`, `change_membership`).
    ChangeBeforeOwnTermCommit,
    /// Break §4.3 (C_old,new needs a majority of both halves): while joint, elections and
    /// commits count only C_new's majority (`mod.rs`, `counting`).
    JointCountsNewHalfOnly,
    /// Break §4.2.1 (learners never count toward a quorum): the learners' acknowledgements
    /// count toward a majority of the voters (`mod.rs`, `counting`; `quorum/joint.rs`).
    LearnerCountsTowardCommit,
    /// Break §4.2.3 (removed servers must not disrupt the cluster) by dropping thesis §9.6's
    /// pre-vote: a node whose election timer fires campaigns at once with a higher term. A
    /// removed node, which the leader no longer replicates to, then deposes the leader each
    /// time its timer fires (`election.rs`, `start_pre_vote`).
    CampaignWithoutPreVote,
    /// Break §4.1 (a server uses the latest configuration in its log, the snapshot's included:
    /// chapter 5 keeps the configuration as of the last included index in the snapshot): a
    /// node restarting from a snapshot whose configuration entries were compacted away starts
    /// from the bootstrap configuration, so it counts votes and commits against the wrong
    /// voters. Planted where the node loads its state (`node/load.rs`, `load_core`: the
    /// snapshot's configuration is dropped before `Core::restart_with_membership`).
    RestartFromBootstrapConfiguration,
    // Reads without the log (issue 21), kept in one block.
    /// Break dissertation §6.4 step 2: a ReadIndex read is released without a heartbeat
    /// round confirming that this node still leads (`read_index.rs`, `settle_reads`).
    ReadWithoutHeartbeat,
    /// Break dissertation §6.4 step 1: a ReadIndex read takes the commit index before the
    /// leader committed an entry of its own term (`read_index.rs`, `read`).
    ReadBeforeTermCommitted,
    /// Break dissertation §6.4.1 (the lease is shortened by the clock drift bound): a lease
    /// read uses the whole election timeout, with no drift margin (`read_index.rs`,
    /// `lease_holds`).
    LeaseWithoutDriftMargin,
    /// Break dissertation §6.4 (a follower serves a read once it applied through the read
    /// index): a follower serves a read as soon as the leader answered its read index, at
    /// whatever it has applied (`follower_read.rs`, `release_applied_follower_reads`).
    FollowerReadBeforeApply,
    // Client sessions (issue 21, dissertation §6.3), kept in one block.
    /// Break §6.3 (the session table is part of the replicated state, snapshots included):
    /// snapshots keep the open sessions but not what each applied, so a node restored from
    /// one applies a retried command a second time. Planted in the state machine wrapper, not
    /// the core (`session.rs`, `Sessions::table_for_snapshot`; the harness builds its
    /// `Sessions` with `leave_table_out_of_snapshots` for it).
    SessionTableNotInSnapshot,
}

impl Mutation {
    /// Every mutation, in declaration order.
    pub const ALL: [Mutation; 30] = [
        Mutation::CommitPreviousTermByCount,
        Mutation::VoteWithoutLogCheck,
        Mutation::VoteTwiceInTerm,
        Mutation::VoteNotPersisted,
        Mutation::TermNotPersisted,
        Mutation::AcceptAppendFromOlderTerm,
        Mutation::LeaderIgnoresHigherTermInResponse,
        Mutation::CountVotesFromOtherTerms,
        Mutation::AppendWithoutPreviousTermCheck,
        Mutation::KeepConflictingEntries,
        Mutation::FollowerCommitsPastLastNewEntry,
        Mutation::AcknowledgeWholeLog,
        Mutation::CommitFromHighestMatch,
        Mutation::QuorumOffByOne,
        Mutation::PreVoteBumpsTerm,
        Mutation::FastBacktrackSkipsEntry,
        Mutation::FollowerAppliesUncommitted,
        Mutation::InstallStaleSnapshot,
        Mutation::CompactPastSnapshot,
        Mutation::SnapshotUncommitted,
        Mutation::ChangeBeforeOwnTermCommit,
        Mutation::JointCountsNewHalfOnly,
        Mutation::LearnerCountsTowardCommit,
        Mutation::CampaignWithoutPreVote,
        Mutation::RestartFromBootstrapConfiguration,
        // Reads without the log (issue 21).
        Mutation::ReadWithoutHeartbeat,
        Mutation::ReadBeforeTermCommitted,
        Mutation::LeaseWithoutDriftMargin,
        Mutation::FollowerReadBeforeApply,
        // Client sessions (issue 21).
        Mutation::SessionTableNotInSnapshot,
    ];

    #[cfg(feature = "mutations")]
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// Which rules this core breaks (none unless the `mutations` feature is on and
/// [`Core::set_mutations`] asked for some).
///
/// [`Core::set_mutations`]: super::Core::set_mutations
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MutationFlags {
    #[cfg_attr(not(feature = "mutations"), allow(dead_code))]
    bits: u32,
}

impl MutationFlags {
    /// Whether `mutation` is switched on. Always `false` without the `mutations` feature, so
    /// the compiler drops every broken path.
    #[inline(always)]
    pub(super) fn breaks(&self, mutation: Mutation) -> bool {
        #[cfg(feature = "mutations")]
        {
            self.bits & mutation.bit() != 0
        }
        #[cfg(not(feature = "mutations"))]
        {
            let _ = mutation;
            false
        }
    }
}

#[cfg(feature = "mutations")]
impl super::Core {
    /// Break exactly the rules in `mutations` from now on (an empty slice restores them all).
    pub fn set_mutations(&mut self, mutations: &[Mutation]) {
        self.mutations.bits = mutations.iter().fold(0, |bits, m| bits | m.bit());
    }
}
