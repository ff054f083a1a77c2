//! Log replication in the sans-IO core (§5.3): the consistency check, conflict truncation,
//! fast backtracking, batching, the in-flight pipeline and heartbeats.

mod core_support;

use std::time::Duration;

use core_support::*;
use rafty::core::{Action, Core, Role};
use rafty::{Config, ConflictHint, Entry, HardState, Message};

fn follower(hard_state: HardState, entries: Vec<Entry>) -> Core {
    core_in_cluster(1, 3, config(), hard_state, entries)
}

/// A leader of a 3-node cluster elected from `entries`, with `config`.
/// Returns the core and the time it was elected.
fn leader(config: Config, hard_state: HardState, entries: Vec<Entry>) -> (Core, Duration) {
    let mut core = core_in_cluster(1, 3, config, hard_state, entries);
    let elected = elect(&mut core);
    (core, elected)
}

/// §5.3: a follower stores new entries and acknowledges only after they are durable; it
/// learns the leader from the AppendEntries.
#[test]
fn follower_appends_entries_and_acknowledges_after_persisting() {
    let mut core = follower(hard_state(1, None), vec![]);
    let entries = vec![noop(1, 1), command(1, 2)];
    core.step(ms(10), 2, append(1, 2, (0, 0), entries.clone(), 0));
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(2)),
            Action::AppendToLog(entries),
            Action::Reply(append_ok(1, 2)),
        ]
    );
    assert_eq!(core.leader(), Some(2));
}

/// §5.1, Figure 2: a higher term in an AppendEntries is adopted and persisted before the
/// entries are acknowledged.
#[test]
fn append_entries_from_a_higher_term_persists_the_term_first() {
    let mut core = follower(HardState::default(), vec![]);
    core.step(ms(10), 2, append(2, 2, (0, 0), vec![noop(2, 1)], 0));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(2, None)),
            role_changed(Role::Follower, 2, Some(2)),
            Action::AppendToLog(vec![noop(2, 1)]),
            Action::Reply(append_ok(2, 1)),
        ]
    );
}

/// §5.1: an AppendEntries from an older term is rejected and changes nothing.
#[test]
fn append_entries_from_an_older_term_is_rejected() {
    let mut core = follower(hard_state(3, None), vec![]);
    core.step(ms(10), 2, append(2, 2, (0, 0), vec![noop(2, 1)], 0));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(append_rejected(3, 0, None))]
    );
    assert_eq!((core.leader(), core.last_index()), (None, 0));
}

/// §5.3: a conflicting suffix is truncated, then the leader's entries appended, all before
/// the reply.
#[test]
fn conflicting_suffix_is_truncated_before_appending() {
    let mut core = follower(hard_state(2, None), log_with_terms(&[1, 1, 2, 2]));
    core.step(ms(10), 2, append(3, 2, (2, 1), vec![command(3, 3)], 0));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(3, None)),
            role_changed(Role::Follower, 3, Some(2)),
            Action::TruncateLog(3),
            Action::AppendToLog(vec![command(3, 3)]),
            Action::Reply(append_ok(3, 3)),
        ]
    );
    assert_eq!(core.last_index(), 3);
}

/// §5.3: "if an existing entry conflicts with a new one" only then truncate: a delayed, shorter
/// AppendEntries must not remove matching entries that came after it.
#[test]
fn a_stale_append_entries_does_not_truncate_matching_entries() {
    let mut core = follower(hard_state(1, None), log_with_terms(&[1, 1, 1, 1]));
    core.step(ms(10), 2, append(1, 2, (1, 1), vec![command(1, 2)], 0));
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(2)),
            Action::Reply(append_ok(1, 2)),
        ]
    );
    assert_eq!(core.last_index(), 4);
}

/// §5.3 (fast backtracking): a follower whose log is too short hints its last index + 1.
#[test]
fn rejection_hints_the_end_of_a_short_log() {
    let mut core = follower(hard_state(1, None), log_with_terms(&[1]));
    core.step(ms(10), 2, append(1, 2, (5, 1), vec![], 0));
    let hint = ConflictHint {
        term: None,
        index: 2,
    };
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(2)),
            Action::Reply(append_rejected(1, 5, Some(hint))),
        ]
    );
}

/// §5.3 (fast backtracking): on a term mismatch the follower hints the conflicting term and
/// the first index it holds of that term.
#[test]
fn rejection_hints_the_conflicting_term_and_its_first_index() {
    let mut core = follower(hard_state(2, None), log_with_terms(&[1, 2, 2, 2]));
    core.step(ms(10), 2, append(3, 2, (4, 3), vec![], 0));
    let hint = ConflictHint {
        term: Some(2),
        index: 2,
    };
    let actions = core.take_actions();
    assert_eq!(
        actions.last(),
        Some(&Action::Reply(append_rejected(3, 4, Some(hint))))
    );
    assert_eq!(core.last_index(), 4, "a rejection truncates nothing");
}

/// Figure 2: the follower's commit index is min(leaderCommit, index of last new entry), so it
/// never commits entries the leader has not vouched for; commits are applied after the reply.
#[test]
fn follower_commit_is_bounded_by_the_last_new_entry() {
    let mut core = follower(hard_state(1, None), log_with_terms(&[1, 1, 1, 1, 1]));
    core.step(ms(10), 2, append(1, 2, (2, 1), vec![], 5));
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(2)),
            Action::Reply(append_ok(1, 2)),
            Action::Apply(vec![command(1, 1), command(1, 2)]),
        ]
    );
    assert_eq!(core.commit_index(), 2);
}

/// §5.3 (fast backtracking): a leader that lacks the conflicting term resumes at the
/// follower's hint.
#[test]
fn leader_without_the_conflicting_term_jumps_to_the_hint() {
    let (mut core, elected) = leader(config(), hard_state(3, None), log_with_terms(&[1, 1, 3, 3]));
    let hint = ConflictHint {
        term: Some(2),
        index: 3,
    };
    core.step(elected, 2, append_rejected(4, 4, Some(hint)));
    let expected = append(
        4,
        1,
        (2, 1),
        vec![command(3, 3), command(3, 4), noop(4, 5)],
        0,
    );
    assert_eq!(core.take_actions(), vec![send(2, expected)]);
}

/// §5.3 (fast backtracking): a leader that holds the conflicting term resumes right after its
/// own last entry of that term.
#[test]
fn leader_with_the_conflicting_term_resumes_after_its_last_entry_of_it() {
    let (mut core, elected) = leader(config(), hard_state(3, None), log_with_terms(&[1, 1, 2, 3]));
    let hint = ConflictHint {
        term: Some(2),
        index: 3,
    };
    core.step(elected, 2, append_rejected(4, 4, Some(hint)));
    let expected = append(4, 1, (3, 2), vec![command(3, 4), noop(4, 5)], 0);
    assert_eq!(core.take_actions(), vec![send(2, expected)]);
}

/// §5.3: a follower with a short log makes the leader jump back to its end at once.
#[test]
fn leader_jumps_to_the_end_of_a_short_follower_log() {
    let (mut core, elected) = leader(config(), hard_state(1, None), log_with_terms(&[1, 1, 1]));
    let hint = ConflictHint {
        term: None,
        index: 2,
    };
    core.step(elected, 2, append_rejected(2, 3, Some(hint)));
    let expected = append(
        2,
        1,
        (1, 1),
        vec![command(1, 2), command(1, 3), noop(2, 4)],
        0,
    );
    assert_eq!(core.take_actions(), vec![send(2, expected)]);
}

/// §5.3: a rejection of an AppendEntries the leader is no longer waiting on is ignored.
#[test]
fn stale_rejections_do_not_move_the_next_index() {
    let (mut core, elected) = leader(config(), hard_state(1, None), log_with_terms(&[1, 1, 1]));
    core.step(elected, 2, append_rejected(2, 1, None));
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(core.replication_indices(2), Some((4, 0)));
}

/// Batching: an AppendEntries carries at most `max_append_entries` entries.
#[test]
fn batches_are_bounded_by_the_entry_limit() {
    let config = Config {
        max_append_entries: 2,
        ..config()
    };
    let (mut core, elected) = leader(
        config,
        hard_state(1, None),
        log_with_terms(&[1, 1, 1, 1, 1]),
    );
    let hint = ConflictHint {
        term: None,
        index: 1,
    };
    core.step(elected, 2, append_rejected(2, 5, Some(hint)));
    let expected = append(2, 1, (0, 0), vec![command(1, 1), command(1, 2)], 0);
    assert_eq!(core.take_actions(), vec![send(2, expected)]);
}

/// Batching: an AppendEntries carries at most `max_append_bytes` of payload, but always at
/// least one entry, however large.
#[test]
fn batches_are_bounded_by_the_byte_limit_but_carry_at_least_one_entry() {
    let config = Config {
        max_append_bytes: 20,
        ..config()
    };
    let (mut core, elected) = leader(
        config.clone(),
        hard_state(1, None),
        log_with_terms(&[1, 1, 1]),
    );
    let hint = ConflictHint {
        term: None,
        index: 1,
    };
    core.step(elected, 2, append_rejected(2, 3, Some(hint)));
    // Each "command N" payload is 9 bytes: two fit in 20, three do not.
    let expected = append(2, 1, (0, 0), vec![command(1, 1), command(1, 2)], 0);
    assert_eq!(core.take_actions(), vec![send(2, expected)]);

    let tiny = Config {
        max_append_bytes: 1,
        ..config
    };
    let (mut core, elected) = leader(tiny, hard_state(1, None), log_with_terms(&[1, 1, 1]));
    core.step(elected, 2, append_rejected(2, 3, Some(hint)));
    let expected = append(2, 1, (0, 0), vec![command(1, 1)], 0);
    assert_eq!(core.take_actions(), vec![send(2, expected)]);
}

/// Pipelining: at most `max_inflight_appends` AppendEntries are unanswered per follower; an
/// answer frees a slot for the next batch.
#[test]
fn in_flight_appends_are_bounded_per_follower() {
    let config = Config {
        max_append_entries: 1,
        max_inflight_appends: 2,
        ..config()
    };
    let (mut core, elected) = leader(config, HardState::default(), vec![]);
    core.step(elected, 2, append_ok(1, 1));
    assert_eq!(
        core.take_actions(),
        vec![Action::Apply(vec![noop(1, 1)])],
        "the no-op commits; nothing more to send yet"
    );
    let commands = (2..=6)
        .map(|i| format!("command {i}").into_bytes())
        .collect();
    core.propose(elected + ms(1), commands).unwrap();
    let sent = sent_appends(&core.take_actions());
    let to_two: Vec<_> = sent.iter().filter(|(to, _)| *to == 2).collect();
    assert_eq!(to_two.len(), 2, "pipelined up to the limit");
    assert_eq!(to_two[0].1.entries, vec![command(1, 2)]);
    assert_eq!(to_two[1].1.entries, vec![command(1, 3)]);
    assert!(
        sent.iter().all(|(to, _)| *to != 3),
        "node 3 is still being probed"
    );
    assert_eq!(core.in_flight_appends(2), 2);
    core.step(elected + ms(2), 2, append_ok(1, 2));
    let sent = sent_appends(&core.take_actions());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.entries, vec![command(1, 4)]);
    assert_eq!(core.in_flight_appends(2), 2);
}

/// Heartbeats (§5.2) are empty AppendEntries anchored at the follower's match index, which
/// its log is known to hold, so a reordered heartbeat is never rejected.
#[test]
fn heartbeats_are_anchored_at_the_match_index() {
    let (mut core, elected) = leader(config(), HardState::default(), vec![]);
    core.step(elected, 2, append_ok(1, 1));
    core.take_actions();
    core.tick(core.next_deadline());
    let sent = sent_appends(&core.take_actions());
    let to_two = append(1, 1, (1, 1), vec![], 1);
    let to_three = append(1, 1, (0, 0), vec![], 1);
    assert_eq!(
        sent,
        vec![(2, unwrap_append(to_two)), (3, unwrap_append(to_three))]
    );
}

fn unwrap_append(message: Message) -> rafty::AppendEntries {
    match message {
        Message::AppendEntries(request) => request,
        other => panic!("not an AppendEntries: {other:?}"),
    }
}

/// A failed send frees its slot; the leader then probes from the match index at the next
/// heartbeat rather than retrying at once.
#[test]
fn a_failed_send_releases_its_slot_and_falls_back_to_probing() {
    let (mut core, elected) = leader(config(), HardState::default(), vec![]);
    let initial = sent_appends(&core.take_actions());
    assert!(initial.is_empty(), "elect() drained the first round");
    assert_eq!(core.in_flight_appends(2), 1);
    let probe = append(1, 1, (0, 0), vec![noop(1, 1)], 0);
    core.send_failed(elected, 2, &probe);
    assert_eq!(core.in_flight_appends(2), 0);
    assert_eq!(core.take_actions(), vec![], "no immediate retry");
    core.tick(core.next_deadline());
    let sent = sent_appends(&core.take_actions());
    assert!(sent.contains(&(2, unwrap_append(probe))), "{sent:?}");
    assert_eq!(core.in_flight_appends(2), 1);
}

/// §5.1: responses from an earlier term are stale and ignored.
#[test]
fn responses_from_an_earlier_term_are_ignored() {
    let (mut core, elected) = leader(config(), hard_state(4, None), vec![]);
    core.step(elected, 2, append_ok(4, 0));
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(core.replication_indices(2), Some((1, 0)));
}

/// §5.3: once the leader commits, followers learn the commit index with the next heartbeat.
#[test]
fn followers_learn_the_commit_index_from_heartbeats() {
    let (mut core, elected) = leader(config(), HardState::default(), vec![]);
    core.step(elected, 2, append_ok(1, 1));
    assert_eq!(core.commit_index(), 1);
    core.take_actions();
    core.tick(core.next_deadline());
    let sent = sent_appends(&core.take_actions());
    assert!(sent.iter().all(|(_, request)| request.leader_commit == 1));
}
