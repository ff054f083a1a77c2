//! One small scenario per [`Mutation`], run with the rule kept and with it broken: the proof
//! that a mutation changes what the core does (so a catalogue entry is never a no-op).

use std::time::Duration;

use super::Mutation;
use crate::core::Core;
use crate::core::{InstallDecision, MembershipChange, StartState};
use crate::membership::Membership;
use crate::message::{
    AppendEntries, AppendEntriesResponse, ConflictHint, InstallSnapshot, Message, RequestVote,
    RequestVoteResponse,
};
use crate::settings::Config;
use crate::snapshot::SnapshotMeta;
use crate::types::{Entry, HardState, NodeId, Payload, Term};

/// What the core did in a mutation's scenario, with the rule kept and with it broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The actions and final state of the unmutated core.
    pub reference: String,
    /// The same with the mutation switched on.
    pub mutated: String,
}

impl Witness {
    /// Whether the mutation changed what the core did.
    pub fn changes_behaviour(&self) -> bool {
        self.reference != self.mutated
    }
}

/// Run `mutation`'s scenario twice, without and with it.
pub fn witness(mutation: Mutation) -> Witness {
    Witness {
        reference: scenario(mutation, &[]),
        mutated: scenario(mutation, &[mutation]),
    }
}

/// Node 1 in a cluster of `nodes`, with `hard_state` and a log of `terms` (index 1 up).
fn core(nodes: NodeId, hard_state: HardState, terms: &[Term]) -> Core {
    let entries = terms
        .iter()
        .zip(1..)
        .map(|(&term, index)| Entry {
            term,
            index,
            payload: Payload::Noop,
        })
        .collect();
    Core::new(
        1,
        (2..=nodes).collect(),
        Config::default(),
        hard_state,
        entries,
        Duration::ZERO,
        7,
    )
}

fn hard_state(term: Term, voted_for: Option<NodeId>) -> HardState {
    HardState {
        current_term: term,
        voted_for,
    }
}

/// Let the election timer fire and have peers `voters` grant the pre-vote, then the vote.
fn elect(core: &mut Core, voters: &[NodeId]) -> Duration {
    let now = core.next_deadline();
    core.tick(now);
    let term = core.term() + 1;
    for pre_vote in [true, false] {
        for &voter in voters {
            let granted = RequestVoteResponse {
                term,
                vote_granted: true,
                pre_vote,
            };
            core.step(now, voter, Message::RequestVoteResponse(granted));
        }
    }
    now
}

fn vote_request(term: Term, candidate: NodeId, last: (u64, Term), pre_vote: bool) -> Message {
    Message::RequestVote(RequestVote {
        term,
        candidate_id: candidate,
        last_log_index: last.0,
        last_log_term: last.1,
        pre_vote,
        transfer: false,
    })
}

fn append(term: Term, prev: (u64, Term), entry_terms: &[Term], leader_commit: u64) -> Message {
    let entries = entry_terms
        .iter()
        .zip(prev.0 + 1..)
        .map(|(&term, index)| Entry {
            term,
            index,
            payload: Payload::Noop,
        })
        .collect();
    Message::AppendEntries(AppendEntries {
        term,
        leader_id: 2,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit,
    })
}

fn append_response(term: Term, success: bool, match_index: u64) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        success,
        match_index,
        conflict: None,
    })
}

/// The core's actions (those still untaken) and its final state, as text.
fn trace(core: &mut Core) -> String {
    format!(
        "{:?}\nrole {:?} term {} voted for {:?} commit {} last {} first {} snapshot {}",
        core.take_actions(),
        core.role(),
        core.term(),
        core.voted_for(),
        core.commit_index(),
        core.last_index(),
        core.first_index(),
        core.snapshot_index()
    )
}

/// A snapshot's metadata (the bytes do not matter to the core).
fn snapshot_meta(index: u64, term: Term) -> SnapshotMeta {
    SnapshotMeta {
        last_included_index: index,
        last_included_term: term,
        size_bytes: 0,
        checksum: 0,
    }
}

/// Node 1 with an empty log in the configuration `membership`.
fn member_of(membership: Membership, mutations: &[Mutation]) -> Core {
    let state = StartState {
        hard_state: hard_state(0, None),
        snapshot: None,
        snapshot_membership: None,
        compacted: (0, 0),
        entries: Vec::new(),
    };
    let config = Config::default();
    let mut core = Core::restart_with_membership(1, membership, config, state, Duration::ZERO, 7);
    core.set_mutations(mutations);
    core
}

/// One whole-snapshot InstallSnapshot from leader 2.
fn install_snapshot(term: Term, index: u64, last_term: Term) -> InstallSnapshot {
    InstallSnapshot {
        term,
        leader_id: 2,
        last_included_index: index,
        last_included_term: last_term,
        size_bytes: 0,
        checksum: 0,
        offset: 0,
        data: Vec::new(),
        done: true,
    }
}

fn scenario(mutation: Mutation, mutations: &[Mutation]) -> String {
    let at = Duration::from_millis(1);
    let start = |nodes, hard_state, terms: &[Term]| {
        let mut core = core(nodes, hard_state, terms);
        core.set_mutations(mutations);
        core
    };
    let mut core = match mutation {
        Mutation::SessionTableNotInSnapshot => {
            return session_scenario(mutations.contains(&mutation));
        }
        // Leader of term 3 over [1, 2]; follower 2 holds index 2 (term 2) only.
        Mutation::CommitPreviousTermByCount => {
            let mut core = start(3, hard_state(2, None), &[1, 2]);
            let now = elect(&mut core, &[2]);
            core.take_actions();
            core.step(now, 2, append_response(3, true, 2));
            core
        }
        // A candidate whose log is empty asks a voter holding [1, 2].
        Mutation::VoteWithoutLogCheck => {
            let mut core = start(3, hard_state(2, None), &[1, 2]);
            core.step(at, 2, vote_request(3, 2, (0, 0), false));
            core
        }
        // Voted for 2 in term 1; 3 asks in the same term.
        Mutation::VoteTwiceInTerm => {
            let mut core = start(3, hard_state(1, Some(2)), &[]);
            core.step(at, 3, vote_request(1, 3, (0, 0), false));
            core
        }
        // A vote in a new term: the SaveHardState must carry it.
        Mutation::VoteNotPersisted => {
            let mut core = start(3, hard_state(1, None), &[]);
            core.step(at, 2, vote_request(2, 2, (0, 0), false));
            core
        }
        // A heartbeat of a higher term: the new term must be saved.
        Mutation::TermNotPersisted => {
            let mut core = start(3, hard_state(1, None), &[]);
            core.step(at, 2, append(2, (0, 0), &[], 0));
            core
        }
        // A deposed leader of term 2 writes to a follower of term 3.
        Mutation::AcceptAppendFromOlderTerm => {
            let mut core = start(3, hard_state(3, None), &[]);
            core.step(at, 2, append(2, (0, 0), &[2], 0));
            core
        }
        // A leader of term 1 hears of term 5 in an answer.
        Mutation::LeaderIgnoresHigherTermInResponse => {
            let mut core = start(3, hard_state(0, None), &[]);
            let now = elect(&mut core, &[2]);
            core.take_actions();
            core.step(now, 3, append_response(5, false, 0));
            core
        }
        // A candidate of term 1 in five nodes gets a vote of term 1 and a late one of term 0.
        Mutation::CountVotesFromOtherTerms => {
            let mut core = start(5, hard_state(0, None), &[]);
            let now = core.next_deadline();
            core.tick(now);
            for voter in [2, 3] {
                let granted = RequestVoteResponse {
                    term: 1,
                    vote_granted: true,
                    pre_vote: true,
                };
                core.step(now, voter, Message::RequestVoteResponse(granted));
            }
            for (voter, term) in [(2, 1), (3, 0)] {
                let granted = RequestVoteResponse {
                    term,
                    vote_granted: true,
                    pre_vote: false,
                };
                core.step(now, voter, Message::RequestVoteResponse(granted));
            }
            core
        }
        // The follower's entry at the previous index is of term 1, the leader's of term 2.
        Mutation::AppendWithoutPreviousTermCheck => {
            let mut core = start(3, hard_state(3, None), &[1, 1]);
            core.step(at, 2, append(3, (2, 2), &[3], 0));
            core
        }
        // The follower's entry 2 (term 1) conflicts with the leader's (term 3).
        Mutation::KeepConflictingEntries => {
            let mut core = start(3, hard_state(2, None), &[1, 1]);
            core.step(at, 2, append(3, (1, 1), &[3], 0));
            core
        }
        // A heartbeat vouching for index 1 only, with the leader's commit index at 3.
        Mutation::FollowerCommitsPastLastNewEntry | Mutation::AcknowledgeWholeLog => {
            let mut core = start(3, hard_state(1, None), &[1, 1, 1]);
            core.step(at, 2, append(1, (1, 1), &[], 3));
            core
        }
        // Leader of five; one follower holds the no-op.
        Mutation::CommitFromHighestMatch => {
            let mut core = start(5, hard_state(0, None), &[]);
            let now = elect(&mut core, &[2, 3]);
            core.take_actions();
            core.step(now, 2, append_response(1, true, 1));
            core
        }
        // Three nodes, the election timer fires: one node alone is no quorum.
        Mutation::QuorumOffByOne => {
            let mut core = start(3, hard_state(0, None), &[]);
            let now = core.next_deadline();
            core.tick(now);
            core
        }
        // A pre-vote for term 2 from an up-to-date candidate, granted.
        Mutation::PreVoteBumpsTerm => {
            let mut core = start(3, hard_state(1, None), &[]);
            core.step(at, 2, vote_request(2, 2, (0, 0), true));
            core
        }
        // Leader of term 3 over [1, 1, 2]; follower 2 rejects, its log ending at index 1.
        Mutation::FastBacktrackSkipsEntry => {
            let mut core = start(3, hard_state(2, None), &[1, 1, 2]);
            let now = elect(&mut core, &[3]);
            core.take_actions();
            let rejected = AppendEntriesResponse {
                term: 3,
                success: false,
                match_index: 3,
                conflict: Some(ConflictHint {
                    term: None,
                    index: 2,
                }),
            };
            core.step(now, 2, Message::AppendEntriesResponse(rejected));
            core
        }
        // An entry arrives with the leader's commit index still 0.
        Mutation::FollowerAppliesUncommitted => {
            let mut core = start(3, hard_state(1, None), &[]);
            core.step(at, 2, append(1, (0, 0), &[1], 0));
            core
        }
        // A follower that committed index 3 is sent a snapshot through index 2; the driver
        // installs it when the core accepts it. (With the core's invariants checked, as in
        // debug builds, the mutated side trips "commit index went back": the second net.)
        Mutation::InstallStaleSnapshot => {
            let mut core = start(3, hard_state(1, None), &[1, 1, 1]);
            core.step(at, 2, append(1, (3, 1), &[], 3));
            let decision = core.install_snapshot_request(at, &install_snapshot(1, 2, 1));
            if let InstallDecision::Accept { .. } = decision {
                core.snapshot_installed(at, snapshot_meta(2, 1), None);
            }
            core
        }
        // A follower that committed index 4 took a snapshot through index 2 (the default
        // keeps 5,000 entries behind it, so nothing is compacted). (Invariants checked: the
        // mutated side trips "compacted past the snapshot".)
        Mutation::CompactPastSnapshot => {
            let mut core = start(3, hard_state(1, None), &[1, 1, 1, 1]);
            core.step(at, 2, append(1, (4, 1), &[], 4));
            core.snapshot_taken(at, snapshot_meta(2, 1));
            core
        }
        // A follower with 3 entries learns commit index 2 with a snapshot threshold of 1:
        // the snapshot asked for must be of index 2, the applied state.
        Mutation::SnapshotUncommitted => {
            let config = Config {
                snapshot_threshold_entries: 1,
                ..Config::default()
            };
            let entries = (1..=3)
                .map(|index| Entry {
                    term: 1,
                    index,
                    payload: Payload::Noop,
                })
                .collect();
            let mut core = Core::new(1, vec![2, 3], config, hard_state(1, None), entries, at, 7);
            core.set_mutations(mutations);
            core.step(at, 2, append(1, (3, 1), &[], 2));
            core
        }
        // A new leader of term 2 whose no-op is not committed is asked to add a learner.
        Mutation::ChangeBeforeOwnTermCommit => {
            let mut core = start(3, hard_state(1, None), &[1]);
            let now = elect(&mut core, &[2]);
            core.take_actions();
            let _refused = core.propose_membership(now, MembershipChange::AddLearner(4));
            core
        }
        // In C_old,new = {1, 2, 3} -> {1, 4, 5}, node 4 (of C_new only) grants the pre-vote.
        Mutation::JointCountsNewHalfOnly => {
            let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([1, 4, 5]));
            let mut core = member_of(joint, mutations);
            let now = core.next_deadline();
            core.tick(now);
            let granted = RequestVoteResponse {
                term: 1,
                vote_granted: true,
                pre_vote: true,
            };
            core.step(now, 4, Message::RequestVoteResponse(granted));
            core
        }
        // A leader of voters {1, 2, 3} hears learner 4 acknowledge its no-op.
        Mutation::LearnerCountsTowardCommit => {
            let learner = Membership::new([1, 2, 3]).with_learners([4]);
            let mut core = member_of(learner, mutations);
            let now = elect(&mut core, &[2]);
            core.take_actions();
            core.step(now, 4, append_response(1, true, 1));
            core
        }
        // The election timer fires with no leader heard: a pre-vote, not a campaign.
        Mutation::CampaignWithoutPreVote => {
            let mut core = start(3, hard_state(1, None), &[]);
            let now = core.next_deadline();
            core.tick(now);
            core
        }
        // Node 1 restarts from a snapshot through index 5 whose configuration replaced voter 3
        // by 4 (the bootstrap voters are {1, 2, 3}; the change's entry was compacted away);
        // its election timer fires: it asks the voters it believes in for pre-votes. The plant
        // lives where the node loads its state (`node/load.rs`), as here: the snapshot's
        // configuration is dropped.
        Mutation::RestartFromBootstrapConfiguration => {
            let state = StartState {
                hard_state: hard_state(1, None),
                snapshot: Some((5, 1)),
                snapshot_membership: (!mutations.contains(&mutation))
                    .then(|| Membership::new([1, 2, 4])),
                compacted: (5, 1),
                entries: Vec::new(),
            };
            let bootstrap = Membership::new([1, 2, 3]);
            let config = Config::default();
            let mut core = Core::restart_with_membership(1, bootstrap, config, state, at, 7);
            core.set_mutations(mutations);
            let now = core.next_deadline();
            core.tick(now);
            core
        }
        // Reads without the log (issue 21).
        // Leader of term 1 in three, its no-op committed; a read arrives and no follower has
        // answered the round it starts: the reference core holds the read back.
        Mutation::ReadWithoutHeartbeat => {
            let mut core = start(3, hard_state(0, None), &[]);
            let now = elect(&mut core, &[2]);
            core.step(now, 2, append_response(1, true, 1));
            core.take_actions();
            let _ = core.read(now, 9, crate::core::ReadMode::Index);
            core
        }
        // A new leader of term 2 whose no-op is not committed yet; the round is confirmed.
        Mutation::ReadBeforeTermCommitted => {
            let mut core = start(3, hard_state(1, None), &[1]);
            let now = elect(&mut core, &[2]);
            core.take_actions();
            let _ = core.read(now, 9, crate::core::ReadMode::Index);
            let sequence = sent_sequences(&mut core)[0];
            core.step_response(now, 2, sequence, append_response(2, true, 1));
            core
        }
        // A lease of election_timeout_min (150 ms) minus a 100 ms margin, read 60 ms after the
        // majority's heartbeats went out: outside the shortened lease, inside the whole one.
        Mutation::LeaseWithoutDriftMargin => {
            let config = Config {
                lease_read_margin: Some(Duration::from_millis(100)),
                ..Config::default()
            };
            let mut core = Core::new(1, vec![2, 3], config, hard_state(0, None), vec![], at, 7);
            core.set_mutations(mutations);
            elect(&mut core, &[2]);
            core.take_actions();
            let heartbeat = core.next_deadline();
            core.tick(heartbeat);
            let sequence = sent_sequences(&mut core)[0];
            core.step_response(heartbeat, 2, sequence, append_response(1, true, 1));
            core.take_actions();
            let _ = core.read(
                heartbeat + Duration::from_millis(60),
                9,
                crate::core::ReadMode::Lease,
            );
            core
        }
        // A follower of leader 2 (term 1) that stored two entries, none known committed, asks
        // for a read; the leader answers read index 2.
        Mutation::FollowerReadBeforeApply => {
            let config = Config {
                follower_reads: true,
                ..Config::default()
            };
            let mut core = Core::new(1, vec![2, 3], config, hard_state(0, None), vec![], at, 7);
            core.set_mutations(mutations);
            core.step(at, 2, append(1, (0, 0), &[1, 1], 0));
            let _ = core.read(at, 9, crate::core::ReadMode::Index);
            core.take_actions();
            let answer = crate::message::ReadIndexResponse {
                term: 1,
                request_id: 1,
                read_index: Some(2),
                leader_hint: None,
            };
            core.step(at, 2, Message::ReadIndexResponse(answer));
            core
        }
    };
    trace(&mut core)
}

/// §6.3: a client's append applied at index 2 under its session, a snapshot, a node restored
/// from it, then the client's retry of the same command at index 3: the restored node's
/// store, which holds the append once when the table travels in the snapshot.
fn session_scenario(broken: bool) -> String {
    use crate::kv::{KvCommand, KvStateMachine};
    use crate::session::{self, Sessions};
    use crate::state_machine::StateMachine;
    let sessions = |broken| {
        let machine = Sessions::new(KvStateMachine::new());
        if broken {
            machine.leave_table_out_of_snapshots()
        } else {
            machine
        }
    };
    let mut leader = sessions(broken);
    leader.apply(1, &session::register());
    let append = KvCommand::Append {
        key: "k".into(),
        value: "x".into(),
    };
    let request = session::request(1, 1, append.encode().expect("an append encodes"));
    leader.apply(2, &request);
    let mut bytes = Vec::new();
    let snapshot = leader.snapshot().expect("a key-value store snapshots");
    snapshot
        .write_to(&mut bytes)
        .expect("a snapshot writes to memory");
    let mut restored = sessions(broken);
    restored
        .restore(2, &mut &bytes[..])
        .expect("its own snapshot restores");
    restored.apply(3, &request);
    format!("store {:?}", restored.inner().data())
}

/// The numbers of the requests among the core's untaken actions, which it takes.
fn sent_sequences(core: &mut Core) -> Vec<u64> {
    let actions = core.take_actions();
    let sends = actions
        .iter()
        .filter(|action| matches!(action, crate::core::Action::Send { .. }))
        .count() as u64;
    let last = core.last_request_number();
    (last + 1 - sends..=last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mutation changes what the core does in its scenario.
    #[test]
    fn every_mutation_changes_the_cores_behaviour() {
        for mutation in Mutation::ALL {
            let witness = witness(mutation);
            assert!(
                witness.changes_behaviour(),
                "{mutation:?} changed nothing:\n{}",
                witness.reference
            );
        }
    }

    /// Each scenario keeps the rule when its mutation is off: the reference core refuses or
    /// holds back exactly what the mutated one does.
    #[test]
    fn the_reference_side_of_each_scenario_keeps_the_rule() {
        let reference = |mutation| witness(mutation).reference;
        let mutated = |mutation| witness(mutation).mutated;
        assert!(reference(Mutation::VoteWithoutLogCheck).contains("voted for None"));
        assert!(reference(Mutation::VoteTwiceInTerm).contains("voted for Some(2)"));
        assert!(reference(Mutation::CommitPreviousTermByCount).contains("commit 0"));
        assert!(reference(Mutation::QuorumOffByOne).contains("role PreCandidate"));
        assert!(reference(Mutation::JointCountsNewHalfOnly).contains("role PreCandidate"));
        assert!(reference(Mutation::CampaignWithoutPreVote).contains("role PreCandidate"));
        assert!(reference(Mutation::LearnerCountsTowardCommit).contains("commit 0"));
        assert!(!reference(Mutation::ChangeBeforeOwnTermCommit).contains("Membership("));
        assert!(mutated(Mutation::ChangeBeforeOwnTermCommit).contains("Membership("));
        assert!(mutated(Mutation::LearnerCountsTowardCommit).contains("commit 1"));
        assert!(reference(Mutation::PreVoteBumpsTerm).contains("term 1"));
        assert!(reference(Mutation::FollowerAppliesUncommitted).contains("commit 0"));
        assert!(reference(Mutation::LeaderIgnoresHigherTermInResponse).contains("term 5"));
        assert!(reference(Mutation::InstallStaleSnapshot).contains("commit 3"));
        assert!(reference(Mutation::CompactPastSnapshot).contains("first 1 snapshot 2"));
        assert!(
            reference(Mutation::SnapshotUncommitted).contains("TakeSnapshot { index: 2, term: 1,")
        );
        assert!(reference(Mutation::SessionTableNotInSnapshot).contains(r#""k": "x""#));
        assert!(mutated(Mutation::SessionTableNotInSnapshot).contains(r#""k": "xx""#));
        assert!(!reference(Mutation::ReadWithoutHeartbeat).contains("ReadReady"));
        assert!(!reference(Mutation::ReadBeforeTermCommitted).contains("ReadReady"));
        assert!(!reference(Mutation::LeaseWithoutDriftMargin).contains("ReadReady"));
        assert!(mutated(Mutation::ReadWithoutHeartbeat).contains("ReadReady { id: 9, index: 1 }"));
        assert!(
            mutated(Mutation::ReadBeforeTermCommitted).contains("ReadReady { id: 9, index: 0 }")
        );
        assert!(
            mutated(Mutation::LeaseWithoutDriftMargin).contains("ReadReady { id: 9, index: 1 }")
        );
        let to = |node: NodeId| format!("Send {{ to: {node},");
        let restarted = reference(Mutation::RestartFromBootstrapConfiguration);
        assert!(restarted.contains(&to(4)) && !restarted.contains(&to(3)));
        let restarted = mutated(Mutation::RestartFromBootstrapConfiguration);
        assert!(restarted.contains(&to(3)) && !restarted.contains(&to(4)));
        assert!(!reference(Mutation::FollowerReadBeforeApply).contains("ReadReady"));
        assert!(
            mutated(Mutation::FollowerReadBeforeApply).contains("ReadReady { id: 9, index: 0 }")
        );
        assert!(mutated(Mutation::InstallStaleSnapshot).contains("commit 2"));
        assert!(mutated(Mutation::CompactPastSnapshot).contains("first 5"));
        assert!(
            mutated(Mutation::SnapshotUncommitted).contains("TakeSnapshot { index: 3, term: 1,")
        );
    }
}
