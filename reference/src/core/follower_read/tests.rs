//! Follower reads (dissertation §6.4): a follower asks the leader for the read index and
//! serves once it applied that far; one test per rule.

use std::time::Duration;

use super::*;
use crate::message::AppendEntries;
use crate::settings::Config;
use crate::types::{Entry, HardState, NodeId, Payload, Term};

const NOW: Duration = Duration::from_millis(1);

fn follower_config() -> Config {
    Config {
        follower_reads: true,
        ..Config::default()
    }
}

/// AppendEntries from leader 2 in `term`, after `prev`, with entries of `terms`.
fn append(term: Term, prev: (LogIndex, Term), terms: &[Term], leader_commit: LogIndex) -> Message {
    let entries = terms
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

/// Node 1 of three, following leader 2 in term 1, holding two entries none known committed.
fn follower(config: Config) -> Core {
    let hard_state = HardState {
        current_term: 0,
        voted_for: None,
    };
    let mut core = Core::new(1, vec![2, 3], config, hard_state, Vec::new(), NOW, 7);
    core.set_check_invariants(true);
    core.step(NOW, 2, append(1, (0, 0), &[1, 1], 0));
    assert_eq!(core.leader(), Some(2));
    assert_eq!(core.commit_index(), 0);
    core.take_actions();
    core
}

/// The ReadIndex requests among the untaken actions, as (to, request); the actions are taken.
fn asked(core: &mut Core) -> Vec<(NodeId, ReadIndexRequest)> {
    core.take_actions()
        .into_iter()
        .filter_map(|action| match action {
            Action::Send {
                to,
                message: Message::ReadIndex(request),
            } => Some((to, request)),
            _ => None,
        })
        .collect()
}

/// The reads released or failed among the untaken actions; the actions are taken.
fn outcomes(core: &mut Core) -> Vec<Action> {
    core.take_actions()
        .into_iter()
        .filter(|action| matches!(action, Action::ReadReady { .. } | Action::ReadFailed { .. }))
        .collect()
}

fn answer(request_id: u64, read_index: Option<LogIndex>, leader_hint: Option<NodeId>) -> Message {
    Message::ReadIndexResponse(ReadIndexResponse {
        term: 1,
        request_id,
        read_index,
        leader_hint,
    })
}

/// §6.4 (follower reads): a follower does not serve from its own state; it asks the leader
/// it knows for the read index, and releases nothing yet.
#[test]
fn a_follower_asks_its_leader_for_the_read_index() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    let requests = asked(&mut core);
    let expected = ReadIndexRequest {
        term: 1,
        follower_id: 1,
        request_id: 1,
        lease: false,
    };
    assert_eq!(requests, vec![(2, expected)]);
    assert_eq!(core.follower_reads_waiting(), (0, 1, 0));
}

/// §6.4: a lease read at a follower asks the leader to use its lease (§6.4.1).
#[test]
fn a_follower_lease_read_asks_for_the_leaders_lease() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Lease)
        .expect("follower reads on");
    let requests = asked(&mut core);
    assert_eq!(requests.len(), 1);
    assert!(requests[0].1.lease);
}

/// §6.4: the follower serves once it applied through the read index, not when the answer
/// comes: until its commit index reaches the index the read waits, and its release comes
/// after the `Apply` of every entry up to there.
#[test]
fn a_follower_serves_only_once_it_applied_through_the_read_index() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    let request = asked(&mut core)[0].1.request_id;
    core.step(NOW, 2, answer(request, Some(2), None));
    assert_eq!(
        outcomes(&mut core),
        vec![],
        "index 2 is not applied here yet"
    );
    assert_eq!(core.follower_reads_waiting(), (0, 0, 1));
    core.step(NOW, 2, append(1, (2, 1), &[], 1));
    assert_eq!(outcomes(&mut core), vec![], "applied through 1 only");
    core.step(NOW, 2, append(1, (2, 1), &[], 2));
    let actions = core.take_actions();
    let apply = actions
        .iter()
        .position(|action| matches!(action, Action::Apply(entries) if entries[0].index == 2));
    let ready = actions
        .iter()
        .position(|action| *action == Action::ReadReady { id: 7, index: 2 });
    assert!(
        apply.is_some() && ready.is_some() && apply < ready,
        "{actions:?}"
    );
}

/// §6.4: a read index this follower already applied is served as soon as the answer comes.
#[test]
fn a_read_index_already_applied_is_served_at_once() {
    let mut core = follower(follower_config());
    core.step(NOW, 2, append(1, (2, 1), &[], 2));
    core.take_actions();
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    let request = asked(&mut core)[0].1.request_id;
    core.step(NOW, 2, answer(request, Some(1), None));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 7, index: 1 }]
    );
}

/// Reads that arrive while the most requests are out wait, and share the next request.
#[test]
fn reads_beyond_the_requests_in_flight_share_the_next_request() {
    let mut core = follower(follower_config());
    for id in 0..MAX_REQUESTS_IN_FLIGHT as u64 {
        core.read(NOW, id, ReadMode::Index)
            .expect("follower reads on");
    }
    assert_eq!(asked(&mut core).len(), MAX_REQUESTS_IN_FLIGHT);
    core.read(NOW, 100, ReadMode::Index)
        .expect("follower reads on");
    core.read(NOW, 101, ReadMode::Index)
        .expect("follower reads on");
    assert_eq!(
        asked(&mut core),
        vec![],
        "no fifth request while four are out"
    );
    assert_eq!(core.follower_reads_waiting().0, 2);
    core.step(NOW, 2, answer(1, Some(0), None));
    let next = asked(&mut core);
    assert_eq!(next.len(), 1, "one request for both waiting reads");
    assert_eq!(core.follower_reads_waiting(), (0, 5, 0));
}

/// A node asked that does not lead refuses: the reads fail (definitely), with its hint.
#[test]
fn a_refused_request_fails_its_reads_with_the_hint() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    let request = asked(&mut core)[0].1.request_id;
    core.step(NOW, 2, answer(request, None, Some(3)));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadFailed {
            id: 7,
            leader_hint: Some(3)
        }]
    );
}

/// A request that got no answer fails its reads.
#[test]
fn a_failed_request_fails_its_reads() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    let (to, request) = asked(&mut core).remove(0);
    core.send_failed(NOW, to, &Message::ReadIndex(request));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadFailed {
            id: 7,
            leader_hint: Some(2)
        }]
    );
}

/// A follower whose election timer fires no longer follows a leader: its answered reads,
/// and any that come back later, fail rather than wait for a commit index that may not move.
#[test]
fn a_follower_that_starts_an_election_fails_its_reads() {
    let mut core = follower(follower_config());
    core.read(NOW, 7, ReadMode::Index)
        .expect("follower reads on");
    core.read(NOW, 8, ReadMode::Index)
        .expect("follower reads on");
    let requests = asked(&mut core);
    core.step(NOW, 2, answer(requests[0].1.request_id, Some(2), None));
    core.take_actions();
    core.tick(core.next_deadline());
    assert_ne!(core.role(), Role::Follower);
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadFailed {
            id: 7,
            leader_hint: None
        }]
    );
    core.step(NOW, 2, answer(requests[1].1.request_id, Some(2), None));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadFailed {
            id: 8,
            leader_hint: None
        }]
    );
}

/// With follower reads off (the default) a follower refuses a read with its leader hint.
#[test]
fn without_follower_reads_a_follower_refuses() {
    let mut core = follower(Config::default());
    let refusal = core.read(NOW, 7, ReadMode::Index).unwrap_err();
    assert_eq!(refusal.leader_hint, Some(2));
    assert_eq!(asked(&mut core), vec![]);
}

/// A follower with no known leader has no one to ask: refused.
#[test]
fn a_follower_without_a_leader_refuses() {
    let hard_state = HardState {
        current_term: 0,
        voted_for: None,
    };
    let mut core = Core::new(1, vec![2, 3], follower_config(), hard_state, vec![], NOW, 7);
    let refusal = core.read(NOW, 7, ReadMode::Index).unwrap_err();
    assert_eq!(refusal.leader_hint, None);
}

/// A ReadIndex request stepped into the core (a driver hands them to `read_many` instead) is
/// answered at once with no index.
#[test]
fn a_read_index_request_through_step_is_answered_without_an_index() {
    let mut core = follower(follower_config());
    let request = ReadIndexRequest {
        term: 1,
        follower_id: 3,
        request_id: 4,
        lease: false,
    };
    core.step(NOW, 3, Message::ReadIndex(request));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(answer(4, None, Some(2)))]
    );
}
