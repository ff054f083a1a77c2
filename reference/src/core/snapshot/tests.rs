//! The core's snapshot rules (§7, Figure 13), input by input, asserting the exact actions.

use std::time::Duration;

use super::*;
use crate::message::{AppendEntries, AppendEntriesResponse, Message, RequestVoteResponse};
use crate::settings::Config;
use crate::types::Payload;

fn config() -> Config {
    Config {
        snapshot_threshold_entries: 2,
        snapshot_threshold_bytes: 0,
        snapshot_keep_entries: 0,
        ..Config::default()
    }
}

fn meta(index: LogIndex, term: Term) -> SnapshotMeta {
    SnapshotMeta {
        last_included_index: index,
        last_included_term: term,
        size_bytes: 3,
        checksum: 7,
    }
}

fn command(term: Term, index: LogIndex) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8]),
    }
}

/// Node 1 of three, elected in term 1 with node 2's votes; its no-op (index 1) is in flight.
fn leader_of_three(config: Config) -> Core {
    let mut core = Core::new(
        1,
        vec![2, 3],
        config,
        HardState::default(),
        vec![],
        Duration::ZERO,
        7,
    );
    core.set_check_invariants(true);
    let now = core.next_deadline();
    core.tick(now);
    for pre_vote in [true, false] {
        let granted = RequestVoteResponse {
            term: 1,
            vote_granted: true,
            pre_vote,
        };
        core.step(now, 2, Message::RequestVoteResponse(granted));
    }
    assert_eq!(core.role(), Role::Leader);
    core.take_actions();
    core
}

fn ack(core: &mut Core, from: NodeId, match_index: LogIndex) {
    let now = core.now;
    let response = AppendEntriesResponse {
        term: core.term(),
        success: true,
        match_index,
        conflict: None,
    };
    core.step(now, from, Message::AppendEntriesResponse(response));
}

/// A leader that committed a command at index 2 with node 2, and node 3 never answered.
fn leader_with_commit_two() -> Core {
    leader_with_commit_two_with(config())
}

fn leader_with_commit_two_with(config: Config) -> Core {
    let mut core = leader_of_three(config);
    core.propose(core.now, vec![b"x".to_vec()]).unwrap();
    core.take_actions();
    ack(&mut core, 2, 2);
    core
}

/// §7: once `snapshot_threshold_entries` entries are committed, the core asks for a snapshot
/// of exactly the applied state: TakeSnapshot comes right after the Apply it covers.
#[test]
fn a_snapshot_is_asked_for_right_after_the_threshold_is_applied() {
    let mut core = leader_of_three(config());
    core.propose(core.now, vec![b"x".to_vec()]).unwrap();
    core.take_actions();
    ack(&mut core, 2, 2);
    let actions = core.take_actions();
    let apply_at = actions
        .iter()
        .position(|action| matches!(action, Action::Apply(entries) if entries.last().map(|e| e.index) == Some(2)))
        .expect("index 2 applied");
    assert_eq!(
        actions[apply_at + 1],
        Action::TakeSnapshot {
            index: 2,
            term: 1,
            membership: Membership::new([1, 2, 3]),
        }
    );
    assert_eq!(core.commit_index(), 2);
}

/// §7: one snapshot at a time: while one is being taken, later commits ask for no other.
#[test]
fn no_second_snapshot_is_asked_for_while_one_is_pending() {
    let mut core = leader_with_commit_two();
    core.take_actions();
    core.propose(core.now, vec![b"y".to_vec(), b"z".to_vec()])
        .unwrap();
    ack(&mut core, 2, 4);
    assert_eq!(core.commit_index(), 4);
    let actions = core.take_actions();
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::TakeSnapshot { .. })),
        "{actions:?}"
    );
    core.snapshot_failed(core.now);
    core.propose(core.now, vec![b"w".to_vec()]).unwrap();
    ack(&mut core, 2, 5);
    let actions = core.take_actions();
    assert!(
        actions.contains(&Action::TakeSnapshot {
            index: 5,
            term: 1,
            membership: Membership::new([1, 2, 3]),
        }),
        "asked again after the failure: {actions:?}"
    );
}

/// §7: a durable snapshot compacts the log behind it, keeping `snapshot_keep_entries`.
#[test]
fn a_durable_snapshot_compacts_the_log_keeping_the_configured_entries() {
    let mut core = leader_of_three(Config {
        snapshot_keep_entries: 1,
        ..config()
    });
    core.propose(core.now, vec![b"x".to_vec()]).unwrap();
    ack(&mut core, 2, 2);
    core.take_actions();
    core.snapshot_taken(core.now, meta(2, 1));
    assert_eq!(
        core.take_actions(),
        vec![Action::CompactLog { index: 1, term: 1 }]
    );
    assert_eq!((core.first_index(), core.snapshot_index()), (2, 2));
    core.snapshot_taken(core.now, meta(1, 1));
    assert_eq!(
        core.take_actions(),
        vec![],
        "an older snapshot changes nothing"
    );
}

/// §7: "the leader must occasionally send snapshots to followers that lag behind": a
/// follower whose next entry is compacted away gets a SendSnapshot, once, and no
/// AppendEntries carrying entries while it is in flight (heartbeats go on, as in etcd/raft).
#[test]
fn a_follower_behind_the_compacted_log_is_sent_the_snapshot() {
    let mut core = leader_with_commit_two();
    core.take_actions();
    core.snapshot_taken(core.now, meta(2, 1));
    assert_eq!(
        core.take_actions(),
        vec![Action::CompactLog { index: 2, term: 1 }]
    );
    let lost = Message::AppendEntries(AppendEntries {
        term: 1,
        leader_id: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![Entry {
            term: 1,
            index: 1,
            payload: Payload::Noop,
        }],
        leader_commit: 0,
    });
    core.send_failed(core.now, 3, &lost);
    let heartbeat = core.next_deadline();
    core.tick(heartbeat);
    let actions = core.take_actions();
    let carries_entries_or_snapshot = |action: &&Action| match action {
        Action::SendSnapshot { to: 3, .. } => true,
        Action::Send {
            to: 3,
            message: Message::AppendEntries(append),
        } => !append.entries.is_empty(),
        _ => false,
    };
    let to_three: Vec<_> = actions.iter().filter(carries_entries_or_snapshot).collect();
    assert_eq!(
        to_three,
        vec![&Action::SendSnapshot {
            to: 3,
            term: 1,
            last_included_index: 2,
            last_included_term: 1
        }]
    );
    let next = core.next_deadline();
    core.tick(next);
    let actions = core.take_actions();
    assert_eq!(
        actions.iter().filter(carries_entries_or_snapshot).count(),
        0,
        "no entries and no second snapshot to 3 while its snapshot is in flight: {actions:?}"
    );
}

fn leader_sending_snapshot_to_three() -> Core {
    leader_sending_snapshot_to_three_with(config())
}

/// A leader that compacted through 2 and started a transfer of its snapshot through 2 to
/// node 3 (whose first AppendEntries was lost).
fn leader_sending_snapshot_to_three_with(config: Config) -> Core {
    let mut core = leader_with_commit_two_with(config);
    core.snapshot_taken(core.now, meta(2, 1));
    let lost = Message::AppendEntries(AppendEntries {
        term: 1,
        leader_id: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![Entry {
            term: 1,
            index: 1,
            payload: Payload::Noop,
        }],
        leader_commit: 0,
    });
    core.send_failed(core.now, 3, &lost);
    let heartbeat = core.next_deadline();
    core.tick(heartbeat);
    core.take_actions();
    core
}

/// Figure 13 and §7: once the follower installed the snapshot, its match index is the
/// snapshot's last included index and replication resumes right after it.
#[test]
fn an_installed_snapshot_sets_match_and_next_index_and_replication_resumes() {
    let mut core = leader_sending_snapshot_to_three();
    core.propose(core.now, vec![b"y".to_vec()]).unwrap();
    core.take_actions();
    let installed = InstallSnapshotResponse {
        term: 1,
        last_included_index: 2,
        next_offset: 3,
        installed: true,
    };
    core.snapshot_sent(core.now, 3, 1, Some(installed));
    assert_eq!(core.replication_indices(3), Some((3, 2)));
    let actions = core.take_actions();
    assert_eq!(
        actions,
        vec![Action::Send {
            to: 3,
            message: Message::AppendEntries(AppendEntries {
                term: 1,
                leader_id: 1,
                prev_log_index: 2,
                prev_log_term: 1,
                entries: vec![Entry {
                    term: 1,
                    index: 3,
                    payload: Payload::Command(b"y".to_vec()),
                }],
                leader_commit: 2,
            }),
        }]
    );
}

/// A failed transfer is retried later: the follower is probed again at the next heartbeat,
/// which finds its entries still compacted and sends the snapshot again.
#[test]
fn a_failed_transfer_is_retried_at_the_next_heartbeat() {
    let mut core = leader_sending_snapshot_to_three();
    core.snapshot_sent(core.now, 3, 1, None);
    assert_eq!(core.take_actions(), vec![]);
    let heartbeat = core.next_deadline();
    core.tick(heartbeat);
    let actions = core.take_actions();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::SendSnapshot { to: 3, .. })),
        "{actions:?}"
    );
}

/// Figure 2 ("if RPC request or response contains term T > currentTerm ... convert to
/// follower"), for InstallSnapshot answers too.
#[test]
fn a_higher_term_in_a_snapshot_answer_makes_the_leader_step_down() {
    let mut core = leader_sending_snapshot_to_three();
    let newer = InstallSnapshotResponse {
        term: 5,
        last_included_index: 2,
        next_offset: 0,
        installed: false,
    };
    core.snapshot_sent(core.now, 3, 1, Some(newer));
    assert_eq!((core.role(), core.term()), (Role::Follower, 5));
}

fn follower(term: Term, terms: &[Term]) -> Core {
    let entries = terms
        .iter()
        .zip(1..)
        .map(|(&term, index)| command(term, index))
        .collect();
    let hard_state = HardState {
        current_term: term,
        voted_for: None,
    };
    let mut core = Core::new(
        1,
        vec![2, 3],
        config(),
        hard_state,
        entries,
        Duration::ZERO,
        7,
    );
    core.set_check_invariants(true);
    core
}

fn install(term: Term, index: LogIndex, last_term: Term) -> InstallSnapshot {
    InstallSnapshot {
        term,
        leader_id: 2,
        last_included_index: index,
        last_included_term: last_term,
        size_bytes: 3,
        checksum: 7,
        offset: 0,
        data: vec![1, 2, 3],
        done: true,
    }
}

/// Figure 13 step 1: "reply immediately if term < currentTerm".
#[test]
fn a_snapshot_from_an_older_term_is_refused_at_once() {
    let mut core = follower(3, &[1, 1]);
    let decision = core.install_snapshot_request(Duration::ZERO, &install(2, 5, 2));
    assert_eq!(decision, InstallDecision::Refuse { term: 3 });
    assert_eq!(core.take_actions(), vec![]);
}

/// §7 and Figure 2: a current leader's InstallSnapshot is recognised like an AppendEntries
/// (term adopted and saved before the answer, leader known, election timer reset).
#[test]
fn a_snapshot_from_a_newer_leader_updates_the_term_and_is_accepted() {
    let mut core = follower(1, &[1, 1]);
    let before = core.next_deadline();
    let now = Duration::from_millis(100);
    let decision = core.install_snapshot_request(now, &install(4, 5, 3));
    assert_eq!(decision, InstallDecision::Accept { term: 4 });
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(HardState {
                current_term: 4,
                voted_for: None
            }),
            Action::RoleChanged {
                role: Role::Follower,
                term: 4,
                leader: Some(2)
            }
        ]
    );
    assert!(core.next_deadline() > before, "election timer reset");
}

/// §7: a snapshot at or below the commit index is stale: answered installed, no state
/// touched (a snapshot never moves a node backwards).
#[test]
fn a_snapshot_at_or_below_the_commit_index_changes_nothing() {
    let mut core = follower(1, &[1, 1, 1]);
    let append = AppendEntries {
        term: 1,
        leader_id: 2,
        prev_log_index: 3,
        prev_log_term: 1,
        entries: vec![],
        leader_commit: 3,
    };
    core.step(Duration::ZERO, 2, Message::AppendEntries(append));
    core.take_actions();
    assert_eq!(core.commit_index(), 3);
    let decision = core.install_snapshot_request(Duration::ZERO, &install(1, 2, 1));
    assert_eq!(decision, InstallDecision::Stale { term: 1 });
    core.snapshot_installed(Duration::ZERO, meta(2, 1), None);
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(
        (core.commit_index(), core.first_index(), core.last_index()),
        (3, 1, 3)
    );
}

/// Figure 13 step 6: "if existing log entry has same index and term as snapshot's last
/// included entry, retain log entries following it".
#[test]
fn an_installed_snapshot_keeps_the_log_after_a_matching_entry() {
    let mut core = follower(2, &[1, 1, 2, 2]);
    core.install_snapshot_request(Duration::ZERO, &install(2, 3, 2));
    core.take_actions();
    core.snapshot_installed(Duration::ZERO, meta(3, 2), None);
    assert_eq!(
        core.take_actions(),
        vec![Action::CompactLog { index: 3, term: 2 }]
    );
    assert_eq!(
        (
            core.commit_index(),
            core.snapshot_index(),
            core.first_index(),
            core.last_index()
        ),
        (3, 3, 4, 4)
    );
    assert_eq!(core.entries(), &[command(2, 4)]);
}

/// Figure 13 step 7: "discard the entire log" when it lacks the snapshot's last entry (or
/// holds another term there); commit and applied become the snapshot's index.
#[test]
fn an_installed_snapshot_discards_a_conflicting_or_shorter_log() {
    for terms in [&[1, 1, 1, 1][..], &[1][..]] {
        let mut core = follower(2, terms);
        core.install_snapshot_request(Duration::ZERO, &install(2, 3, 2));
        core.take_actions();
        core.snapshot_installed(Duration::ZERO, meta(3, 2), None);
        assert_eq!(
            core.take_actions(),
            vec![Action::CompactLog { index: 3, term: 2 }]
        );
        assert_eq!(
            (core.commit_index(), core.last_index(), core.last_term()),
            (3, 3, 2)
        );
        assert!(core.entries().is_empty());
    }
}

/// §7: after compaction, an AppendEntries whose previous entry was compacted away matches
/// (compacted entries are committed): the entries past the compacted index are stored.
#[test]
fn an_append_reaching_back_before_the_compacted_index_still_matches() {
    let mut core = follower(2, &[1]);
    core.install_snapshot_request(Duration::ZERO, &install(2, 3, 2));
    core.snapshot_installed(Duration::ZERO, meta(3, 2), None);
    core.take_actions();
    let append = AppendEntries {
        term: 2,
        leader_id: 2,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: vec![command(2, 2), command(2, 3), command(2, 4)],
        leader_commit: 4,
    };
    core.step(Duration::ZERO, 2, Message::AppendEntries(append));
    let actions = core.take_actions();
    assert_eq!(actions[0], Action::AppendToLog(vec![command(2, 4)]));
    assert_eq!(
        actions[1],
        Action::Reply(Message::AppendEntriesResponse(AppendEntriesResponse {
            term: 2,
            success: true,
            match_index: 4,
            conflict: None,
        }))
    );
    assert_eq!(core.commit_index(), 4);
}

/// A restarted node starts from its snapshot: commit (and applied) = the snapshot's index.
#[test]
fn a_restarted_core_starts_at_its_snapshot() {
    let state = StartState {
        snapshot_membership: None,
        hard_state: HardState {
            current_term: 2,
            voted_for: None,
        },
        snapshot: Some((5, 2)),
        compacted: (4, 1),
        entries: vec![command(2, 5), command(2, 6)],
    };
    let core = Core::restart(1, vec![2, 3], config(), state, Duration::ZERO, 7);
    assert_eq!(
        (
            core.commit_index(),
            core.snapshot_index(),
            core.first_index(),
            core.last_index()
        ),
        (5, 5, 5, 6)
    );
}

/// Core invariant: a snapshot never covers an index above the commit (= applied) index.
#[test]
#[should_panic(expected = "above the commit")]
fn a_snapshot_above_the_commit_index_is_a_broken_invariant() {
    let mut core = follower(1, &[1, 1]);
    core.snapshot_taken(Duration::ZERO, meta(2, 1));
}

/// Commit `commands` with node 2 (indices after the leader's last), answering any
/// TakeSnapshot later by hand.
fn commit_with_two(core: &mut Core, commands: &[&[u8]]) -> LogIndex {
    let commands = commands.iter().map(|command| command.to_vec()).collect();
    core.propose(core.now, commands).unwrap();
    let last = core.last_index();
    ack(core, 2, last);
    core.take_actions();
    last
}

fn compactions(actions: &[Action]) -> Vec<LogIndex> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::CompactLog { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

fn installed(index: LogIndex) -> Option<InstallSnapshotResponse> {
    Some(InstallSnapshotResponse {
        term: 1,
        last_included_index: index,
        next_offset: 3,
        installed: true,
    })
}

/// §7 with `snapshot_catch_up_hold_entries`: while node 3 installs the snapshot through 2,
/// the leader's next snapshot (through 4) compacts nothing it needs, so once installed it
/// catches up by AppendEntries from 3 on, not by another snapshot; the hold ends once its
/// match index reaches the leader's snapshot, and the next compaction goes all the way.
#[test]
fn compaction_holds_the_entries_a_follower_in_snapshot_catch_up_needs() {
    let mut core = leader_sending_snapshot_to_three();
    let last = commit_with_two(&mut core, &[b"y", b"z"]);
    assert_eq!((last, core.commit_index()), (4, 4));
    core.snapshot_taken(core.now, meta(4, 1));
    assert_eq!(compactions(&core.take_actions()), Vec::<LogIndex>::new());
    assert_eq!(core.first_index(), 3, "entries 3 and 4 kept for node 3");
    core.snapshot_sent(core.now, 3, 1, installed(2));
    let actions = core.take_actions();
    let sent: Vec<_> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Send {
                to: 3,
                message: Message::AppendEntries(append),
            } => Some((append.prev_log_index, append.entries.len())),
            Action::SendSnapshot { to: 3, .. } => panic!("a second snapshot: {actions:?}"),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [(2, 2)], "entries 3 and 4 right after the snapshot");
    ack(&mut core, 3, 4);
    let last = commit_with_two(&mut core, &[b"w", b"v"]);
    ack(&mut core, 3, last);
    core.take_actions();
    core.snapshot_taken(core.now, meta(6, 1));
    assert_eq!(compactions(&core.take_actions()), [6], "caught up: no hold");
}

/// The hold is bounded: it keeps at most `snapshot_catch_up_hold_entries` entries more than
/// `snapshot_keep_entries` would.
#[test]
fn the_catch_up_hold_is_bounded_by_its_setting() {
    assert_eq!(compactions_at_six_with_hold(2), [4]);
}

/// Node 3 was sent the snapshot through 2 and has not answered; the leader commits through 6
/// and snapshots there with `snapshot_catch_up_hold_entries` = `hold`: its compactions.
fn compactions_at_six_with_hold(hold: u64) -> Vec<LogIndex> {
    let mut core = leader_sending_snapshot_to_three_with(Config {
        snapshot_catch_up_hold_entries: hold,
        ..config()
    });
    commit_with_two(&mut core, &[b"y", b"z", b"w", b"v"]);
    core.snapshot_taken(core.now, meta(6, 1));
    compactions(&core.take_actions())
}

/// A hold below the entries one snapshot compacts (`snapshot_threshold_entries` 2 -
/// `snapshot_keep_entries` 0) is raised to them: node 3 was sent the snapshot through 2, and
/// the leader's snapshot through 6 compacts through 4 = 6 - 2, what a hold of 2 would keep
/// (a hold of 1 taken as it is would compact through 5, past the snapshot before, 4).
#[test]
fn a_catch_up_hold_below_one_snapshot_is_raised_to_it() {
    assert_eq!(compactions_at_six_with_hold(1), [4]);
}

/// What the hold prevents (soak finding 3), with it off: the snapshot taken while node 3
/// installs compacts the entries after the one it installs, so it is sent a snapshot again.
#[test]
fn without_the_hold_a_follower_just_caught_up_by_snapshot_is_sent_another() {
    let mut core = leader_sending_snapshot_to_three_with(Config {
        snapshot_catch_up_hold_entries: 0,
        ..config()
    });
    commit_with_two(&mut core, &[b"y", b"z"]);
    core.snapshot_taken(core.now, meta(4, 1));
    assert_eq!(compactions(&core.take_actions()), [4]);
    core.snapshot_sent(core.now, 3, 1, installed(2));
    let actions = core.take_actions();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::SendSnapshot { to: 3, .. })),
        "{actions:?}"
    );
}
