//! The commit rule in the sans-IO core: §5.3 (a majority holds the entry) and §5.4.2 (only
//! entries of the leader's current term are committed by counting replicas; Figure 8).

mod core_support;

use core_support::*;
use rafty::core::{Action, Core, Role};
use rafty::{Config, ConflictHint, HardState, LogIndex, NodeId};

/// §5.3, §5.4.2: with every entry of the leader's term, the commit index is the highest index
/// a majority (the leader included) holds. One row per cluster size from 1 to 7 nodes.
#[test]
fn commit_index_is_the_highest_index_a_majority_holds() {
    // (cluster size, match index of followers 2..=size, expected commit index); the leader's
    // log holds indices 1..=5, all of its term.
    let table: [(u64, &[LogIndex], LogIndex); 14] = [
        (1, &[], 5),
        (2, &[0], 0),
        (2, &[3], 3),
        (3, &[0, 0], 0),
        (3, &[2, 0], 2),
        (3, &[5, 1], 5),
        (4, &[5, 0, 0], 0),
        (4, &[4, 3, 0], 3),
        (5, &[1, 2, 0, 0], 1),
        (5, &[5, 5, 0, 0], 5),
        (6, &[5, 4, 3, 2, 1], 3),
        (6, &[5, 5, 0, 0, 0], 0),
        (7, &[5, 5, 5, 0, 0, 0], 5),
        (7, &[4, 4, 3, 3, 2, 2], 3),
    ];
    for (size, follower_matches, expected) in table {
        let mut core = core_in_cluster(1, size, config(), HardState::default(), vec![]);
        let now = elect(&mut core);
        let commands = (2..=5)
            .map(|i| format!("command {i}").into_bytes())
            .collect();
        core.propose(now, commands).unwrap();
        for (follower, &match_index) in (2..).zip(follower_matches) {
            if match_index > 0 {
                core.step(now, follower, append_ok(1, match_index));
            }
        }
        assert_eq!(
            core.commit_index(),
            expected,
            "{size} nodes, follower matches {follower_matches:?}"
        );
    }
}

/// A five-node leader elected in term 4 from a log whose last entry (index 2) is of term 2,
/// the situation of Figure 8 (c). Followers 2 and 3 hold only index 1; batches carry one entry.
fn figure_8_leader() -> (Core, std::time::Duration) {
    let config = Config {
        max_append_entries: 1,
        ..config()
    };
    let entries = vec![command(1, 1), command(2, 2)];
    let mut core = core_in_cluster(1, 5, config, hard_state(3, None), entries);
    let now = elect(&mut core);
    assert_eq!(
        (core.role(), core.term(), core.last_index()),
        (Role::Leader, 4, 3)
    );
    // Followers 2 and 3 hold only index 1: they reject the first AppendEntries (previous
    // index 2) and the leader backs up to send them index 2, of term 2.
    let short = ConflictHint {
        term: None,
        index: 2,
    };
    for follower in [2, 3] {
        core.step(now, follower, append_rejected(4, 2, Some(short)));
    }
    core.take_actions();
    (core, now)
}

/// §5.4.2, Figure 8: an entry of a previous term held by a majority is NOT committed by
/// counting replicas; it commits only once an entry of the leader's own term (its no-op)
/// reaches a majority, and then both commit together.
#[test]
fn figure_8_leader_does_not_commit_a_previous_term_entry_by_counting_replicas() {
    let (mut core, now) = figure_8_leader();
    for follower in [2, 3] {
        core.step(now, follower, append_ok(4, 2));
    }
    let actions = core.take_actions();
    assert!(
        !actions
            .iter()
            .any(|action| matches!(action, Action::Apply(_))),
        "index 2 (term 2) is on 3 of 5 nodes but must not commit: {actions:?}"
    );
    assert_eq!(core.commit_index(), 0);

    core.step(now, 2, append_ok(4, 3));
    assert_eq!(core.commit_index(), 0, "the no-op is on only 2 of 5 nodes");
    core.take_actions();

    core.step(now, 3, append_ok(4, 3));
    let applied: Vec<Action> = core
        .take_actions()
        .into_iter()
        .filter(|action| matches!(action, Action::Apply(_)))
        .collect();
    assert_eq!(
        applied,
        vec![Action::Apply(vec![
            command(1, 1),
            command(2, 2),
            noop(4, 3)
        ])]
    );
    assert_eq!(core.commit_index(), 3);
}

/// The `CommitPreviousTermByCount` mutation breaks exactly the rule Figure 8 checks.
#[cfg(feature = "mutations")]
#[test]
fn figure_8_mutation_commits_a_previous_term_entry_by_counting() {
    let (mut core, now) = figure_8_leader();
    core.set_mutations(&[rafty::core::Mutation::CommitPreviousTermByCount]);
    for follower in [2, 3] {
        core.step(now, follower, append_ok(4, 2));
    }
    assert_eq!(core.commit_index(), 2, "the mutation must break §5.4.2");
}

/// The `VoteWithoutLogCheck` mutation breaks §5.4.1.
#[cfg(feature = "mutations")]
#[test]
fn vote_mutation_grants_a_stale_log() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(2, None), log_with_terms(&[1, 2]));
    core.set_mutations(&[rafty::core::Mutation::VoteWithoutLogCheck]);
    core.step(ms(10), 2, vote_request(3, 2, (0, 0), false));
    assert_eq!(core.voted_for(), Some(2));
}

/// §5.4.2: a leader counts itself, so in a three-node cluster one follower's acknowledgement
/// commits, and the leader applies in index order, each entry once.
#[test]
fn leader_counts_itself_and_applies_each_entry_once() {
    let mut core = core_in_cluster(1, 3, config(), HardState::default(), vec![]);
    let now = elect(&mut core);
    core.propose(now, vec![b"command 2".to_vec()]).unwrap();
    core.take_actions();
    core.step(now, 2, append_ok(1, 1));
    core.step(now, 3, append_ok(1, 1));
    core.step(now, 2, append_ok(1, 2));
    let applied: Vec<Action> = core
        .take_actions()
        .into_iter()
        .filter(|action| matches!(action, Action::Apply(_)))
        .collect();
    assert_eq!(
        applied,
        vec![
            Action::Apply(vec![noop(1, 1)]),
            Action::Apply(vec![command(1, 2)]),
        ]
    );
}

/// §5.3: acknowledgements from a follower never move its match index backwards, so a
/// reordered, older acknowledgement cannot lower the commit index computation.
#[test]
fn reordered_acknowledgements_never_lower_the_match_index() {
    let mut core = core_in_cluster(1, 3, config(), HardState::default(), vec![]);
    let now = elect(&mut core);
    core.propose(now, vec![b"a".to_vec(), b"b".to_vec()])
        .unwrap();
    let follower: NodeId = 2;
    core.step(now, follower, append_ok(1, 3));
    core.step(now, follower, append_ok(1, 1));
    assert_eq!(core.replication_indices(follower).map(|(_, m)| m), Some(3));
    assert_eq!(core.commit_index(), 3);
}

/// Raft thesis §10.2.1: the leader writes its log in parallel with replicating it, and counts
/// itself toward the commit majority only for entries it has persisted.
///
/// (a) A proposal's AppendEntries are emitted before the leader's own `AppendToLog` of the
/// same entries, so a driver that starts sends without waiting overlaps the followers' writes
/// with the leader's. (b) Nothing commits within the proposal's own step (no majority has
/// persisted it yet); one follower's acknowledgement, a later input that runs after the
/// leader's `AppendToLog` executed, commits it with the leader counted. A single node, whose
/// commit happens in the same step, emits its `Apply` after its `AppendToLog`.
#[test]
fn leader_sends_entries_before_persisting_them_and_counts_itself_only_after_thesis_10_2_1() {
    let mut core = core_in_cluster(1, 3, config(), HardState::default(), vec![]);
    let now = elect(&mut core);
    core.step(now, 2, append_ok(1, 1));
    core.step(now, 3, append_ok(1, 1));
    core.take_actions();
    assert_eq!(core.commit_index(), 1);

    // (a) Sends first, then the leader's own append.
    let proposed = core.propose(now, vec![b"command 2".to_vec()]);
    assert_eq!(proposed, Ok((2, 1)));
    let to_followers = append(1, 1, (1, 1), vec![command(1, 2)], 1);
    assert_eq!(
        core.take_actions(),
        vec![
            send(2, to_followers.clone()),
            send(3, to_followers),
            Action::AppendToLog(vec![command(1, 2)]),
        ]
    );
    // (b) The leader alone is not a majority of three: nothing committed in that step.
    assert_eq!(core.commit_index(), 1);

    core.step(now, 2, append_ok(1, 2));
    assert_eq!(
        core.take_actions(),
        vec![Action::Apply(vec![command(1, 2)])],
        "follower 2 plus the leader, whose AppendToLog executed before this input"
    );
    assert_eq!(core.commit_index(), 2);

    // A single node commits within the proposal's step, after its AppendToLog.
    let mut solo = core_in_cluster(1, 1, config(), HardState::default(), vec![]);
    solo.tick(solo.next_deadline());
    solo.take_actions();
    solo.propose(ms(400), vec![b"command 2".to_vec()]).unwrap();
    assert_eq!(
        solo.take_actions(),
        vec![
            Action::AppendToLog(vec![command(1, 2)]),
            Action::Apply(vec![command(1, 2)]),
        ]
    );
}
