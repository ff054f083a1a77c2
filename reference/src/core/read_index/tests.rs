//! The read rules of dissertation §6.4 and §6.4.1, one test each.

use std::time::Duration;

use super::*;
use crate::message::{AppendEntriesResponse, RequestVote, RequestVoteResponse};
use crate::settings::Config;
use crate::types::{Entry, HardState, Payload, Term};

fn config(lease_read_margin: Option<Duration>) -> Config {
    Config {
        lease_read_margin,
        ..Config::default()
    }
}

/// Node 1 of three with a log of `terms`, elected in the next term with node 2's votes; the
/// election's actions are taken.
fn leader(terms: &[Term], config: Config) -> (Core, Duration) {
    let entries = terms
        .iter()
        .zip(1..)
        .map(|(&term, index)| Entry {
            term,
            index,
            payload: Payload::Noop,
        })
        .collect();
    let hard_state = HardState {
        current_term: terms.last().copied().unwrap_or(0),
        voted_for: None,
    };
    let mut core = Core::new(
        1,
        vec![2, 3],
        config,
        hard_state,
        entries,
        Duration::ZERO,
        7,
    );
    core.set_check_invariants(true);
    let now = core.next_deadline();
    core.tick(now);
    let term = core.term() + 1;
    for pre_vote in [true, false] {
        let granted = RequestVoteResponse {
            term,
            vote_granted: true,
            pre_vote,
        };
        core.step(now, 2, Message::RequestVoteResponse(granted));
    }
    assert_eq!(core.role(), Role::Leader);
    core.take_actions();
    (core, now)
}

fn answer(term: Term, match_index: LogIndex) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        success: true,
        match_index,
        conflict: None,
    })
}

/// The requests among the untaken actions, as (to, number); the actions are taken.
fn sent(core: &mut Core) -> Vec<(NodeId, u64)> {
    let actions = core.take_actions();
    let to: Vec<NodeId> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Send { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    let last = core.last_request_number();
    let first = last + 1 - to.len() as u64;
    to.into_iter().zip(first..).collect()
}

/// The reads released or failed among the untaken actions; the actions are taken.
fn outcomes(core: &mut Core) -> Vec<Action> {
    core.take_actions()
        .into_iter()
        .filter(|action| matches!(action, Action::ReadReady { .. } | Action::ReadFailed { .. }))
        .collect()
}

/// A leader of term 1 whose no-op (index 1) node 2 acknowledged: committed.
fn settled_leader(config: Config) -> (Core, Duration) {
    let (mut core, now) = leader(&[], config);
    core.step(now, 2, answer(1, 1));
    assert_eq!(core.commit_index(), 1);
    core.take_actions();
    (core, now)
}

/// §6.4 step 2: the leader releases a read only once a majority answered a heartbeat sent
/// after the read arrived; then at its commit index.
#[test]
fn read_index_waits_for_a_majority_to_answer_a_round_sent_after_it() {
    let (mut core, now) = settled_leader(Config::default());
    core.read(now, 7, ReadMode::Index).expect("leader");
    let round = sent(&mut core);
    assert_eq!(round.len(), 2, "a heartbeat to each follower: {round:?}");
    assert_eq!(core.pending_reads(), 1);
    let (to, number) = round[0];
    core.step_response(now, to, number, answer(1, 1));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 7, index: 1 }]
    );
    assert_eq!(core.pending_reads(), 0);
}

/// §6.4 step 2: an answer to a request sent before the read arrived proves nothing about
/// leadership after it; plain `step` (no request number) confirms nothing either.
#[test]
fn an_answer_to_an_earlier_request_does_not_confirm_a_read() {
    let (mut core, _) = settled_leader(Config::default());
    let heartbeat = core.next_deadline();
    core.tick(heartbeat);
    let earlier = sent(&mut core);
    core.read(heartbeat, 7, ReadMode::Index).expect("leader");
    let round = sent(&mut core);
    assert_eq!(round.len(), 2, "the read's own round");
    let (to, number) = earlier[0];
    core.step_response(heartbeat, to, number, answer(1, 1));
    core.step(heartbeat, 3, answer(1, 1));
    assert_eq!(outcomes(&mut core), vec![]);
    let (to, number) = round[1];
    core.step_response(heartbeat, to, number, answer(1, 1));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 7, index: 1 }]
    );
}

/// §6.4 (batching): reads that arrive together share a round; a read arriving while it is
/// out gets the next round (pipelined), and is not released by the earlier round's answers.
/// At most `MAX_ROUNDS_IN_FLIGHT` rounds are out; later reads wait.
#[test]
fn reads_share_a_round_and_later_reads_take_the_next() {
    let (mut core, now) = settled_leader(Config::default());
    core.read_many(now, &[1, 2], ReadMode::Index)
        .expect("leader");
    let first = sent(&mut core);
    assert_eq!(first.len(), 2, "one round for both reads");
    core.read(now, 3, ReadMode::Index).expect("leader");
    let second = sent(&mut core);
    assert_eq!(second.len(), 2, "the later read's own round");
    core.step_response(now, first[0].0, first[0].1, answer(1, 1));
    assert_eq!(
        outcomes(&mut core),
        vec![
            Action::ReadReady { id: 1, index: 1 },
            Action::ReadReady { id: 2, index: 1 }
        ]
    );
    core.step_response(now, second[1].0, second[1].1, answer(1, 1));
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 3, index: 1 }]
    );
    for id in 10..10 + MAX_ROUNDS_IN_FLIGHT as u64 {
        core.read(now, id, ReadMode::Index).expect("leader");
        assert_eq!(sent(&mut core).len(), 2, "round for read {id}");
    }
    core.read(now, 99, ReadMode::Index).expect("leader");
    assert_eq!(sent(&mut core), vec![], "no round past the limit");
}

/// §6.4 step 1: a new leader holds reads until it has committed an entry of its own term,
/// then reads at that commit index.
#[test]
fn read_index_waits_for_an_entry_of_the_leaders_term() {
    let (mut core, now) = leader(&[1, 1], Config::default());
    assert_eq!(core.term(), 2);
    core.read(now, 7, ReadMode::Index).expect("leader");
    let round = sent(&mut core);
    let (to, number) = round[0];
    core.step_response(now, to, number, answer(2, 2));
    assert_eq!(outcomes(&mut core), vec![], "index 2 is of term 1");
    core.step(now, 2, answer(2, 3));
    assert_eq!(core.commit_index(), 3);
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 7, index: 3 }]
    );
}

/// §6.4: only the leader serves ReadIndex; a follower refuses with its leader hint.
#[test]
fn a_follower_refuses_a_read_with_its_leader_hint() {
    let mut core = Core::new(
        1,
        vec![2, 3],
        Config::default(),
        HardState::default(),
        vec![],
        Duration::ZERO,
        7,
    );
    assert_eq!(
        core.read(Duration::ZERO, 7, ReadMode::Index),
        Err(NotLeader { leader_hint: None })
    );
}

/// §6.4: a leader deposed before confirming fails its waiting reads (definite: a read
/// changes nothing), naming the new leader it learned of.
#[test]
fn a_deposed_leader_fails_its_waiting_reads() {
    let (mut core, now) = settled_leader(Config::default());
    core.read(now, 7, ReadMode::Index).expect("leader");
    core.take_actions();
    let higher = Message::AppendEntries(crate::message::AppendEntries {
        term: 2,
        leader_id: 3,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: vec![],
        leader_commit: 1,
    });
    core.step(now, 3, higher);
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadFailed {
            id: 7,
            leader_hint: Some(3)
        }]
    );
}

/// §6.4: a single-node cluster is its own majority: the read is released at once.
#[test]
fn a_single_node_releases_a_read_at_once() {
    let mut core = Core::new(
        1,
        vec![],
        Config::default(),
        HardState::default(),
        vec![],
        Duration::ZERO,
        7,
    );
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(core.role(), Role::Leader);
    core.take_actions();
    core.read(now, 7, ReadMode::Index).expect("leader");
    assert_eq!(
        outcomes(&mut core),
        vec![Action::ReadReady { id: 7, index: 1 }]
    );
}

/// A leader of term 1 with a lease margin of 50 ms whose heartbeat at `at` node 2 answered.
fn leased_leader(margin: Duration) -> (Core, Duration) {
    let (mut core, _) = settled_leader(config(Some(margin)));
    let at = core.next_deadline();
    core.tick(at);
    let (to, number) = sent(&mut core)[0];
    core.step_response(at, to, number, answer(1, 1));
    core.take_actions();
    (core, at)
}

/// §6.4.1: within the lease (election_timeout_min minus the drift margin, from when the
/// answered heartbeats were sent) a lease read is released with no round of its own.
#[test]
fn a_lease_read_within_the_lease_needs_no_round() {
    let (mut core, at) = leased_leader(Duration::from_millis(50));
    core.read(at + Duration::from_millis(99), 7, ReadMode::Lease)
        .expect("leader");
    let actions = core.take_actions();
    assert_eq!(actions, vec![Action::ReadReady { id: 7, index: 1 }]);
}

/// §6.4.1: the lease ends the drift margin before the election timeout; a lease read after
/// that falls back to ReadIndex (a round goes out).
#[test]
fn a_lease_read_past_the_shortened_lease_falls_back_to_read_index() {
    let (mut core, at) = leased_leader(Duration::from_millis(50));
    core.read(at + Duration::from_millis(100), 7, ReadMode::Lease)
        .expect("leader");
    assert_eq!(core.pending_reads(), 1);
    assert_eq!(sent(&mut core).len(), 2);
}

/// §6.4.1: with leases off (the default) a lease read is a ReadIndex read.
#[test]
fn with_leases_off_a_lease_read_is_a_read_index_read() {
    let (mut core, now) = settled_leader(Config::default());
    core.read(now, 7, ReadMode::Lease).expect("leader");
    assert_eq!(core.pending_reads(), 1);
}

/// §6.4.1 and §3.10: the target of a leadership transfer campaigns at once, so a leader
/// transferring holds no lease.
#[test]
fn a_leader_transferring_leadership_holds_no_lease() {
    let (mut core, at) = leased_leader(Duration::from_millis(50));
    core.transfer_leadership(at, 2).expect("node 2 is a voter");
    core.take_actions();
    core.read(at + Duration::from_millis(1), 7, ReadMode::Lease)
        .expect("leader");
    assert_eq!(core.pending_reads(), 1);
}

/// §6.4.1 and §3.10: once a leader sent TimeoutNow its lease is void for the rest of its
/// leadership, even when the transfer is given up (the send failed, or it timed out): the
/// order may still arrive and its target win an election at once. A fresh majority of
/// heartbeats does not restore it.
#[test]
fn a_leader_that_sent_timeout_now_holds_no_lease_after_the_transfer_ends() {
    for give_up in ["send failed", "timed out"] {
        let (mut core, at) = leased_leader(Duration::from_millis(50));
        core.transfer_leadership(at, 2).expect("node 2 is a voter");
        let order = core
            .take_actions()
            .into_iter()
            .find_map(|action| match action {
                Action::Send {
                    to: 2,
                    message: message @ Message::TimeoutNow(_),
                } => Some(message),
                _ => None,
            })
            .expect("node 2 is up to date: TimeoutNow goes out at once");
        if give_up == "send failed" {
            core.send_failed(at, 2, &order);
        }
        // Heartbeat rounds a majority answers, until the transfer timed out (or once): a
        // lease would start from the last.
        let mut now = at;
        loop {
            now = core.next_deadline().max(now);
            core.tick(now);
            for (to, number) in sent(&mut core) {
                core.step_response(now, to, number, answer(1, 1));
            }
            core.take_actions();
            if core.transfer_target().is_none() {
                break;
            }
        }
        assert_eq!(core.role(), Role::Leader, "{give_up}");
        core.read(now + Duration::from_millis(1), 7, ReadMode::Lease)
            .expect("leader");
        assert_eq!(core.pending_reads(), 1, "{give_up}: no lease read");
    }
}

/// §6.4.1 with thesis §9.6: with leases on, a restarted voter refuses pre-votes for an
/// election timeout from its start, as if it had just heard from a leader, since a leader's
/// lease may count on it.
#[test]
fn with_leases_on_a_restarted_voter_refuses_pre_votes_at_first() {
    let start = |margin| {
        let mut core = Core::new(
            1,
            vec![2, 3],
            config(margin),
            HardState::default(),
            vec![],
            Duration::ZERO,
            7,
        );
        let pre_vote = Message::RequestVote(RequestVote {
            term: 1,
            candidate_id: 2,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: true,
            transfer: false,
        });
        core.step(Duration::from_millis(1), 2, pre_vote);
        core.take_actions()
    };
    let granted = |actions: Vec<Action>| {
        actions.iter().any(|action| {
            matches!(
                action,
                Action::Reply(Message::RequestVoteResponse(RequestVoteResponse {
                    vote_granted: true,
                    ..
                }))
            )
        })
    };
    assert!(granted(start(None)));
    assert!(!granted(start(Some(Duration::from_millis(50)))));
}

/// §4.2.3 with §6.4.1: with leases on, a voter that heard from its leader within the election
/// timeout refuses a real vote (not only a pre-vote), keeping its term: a pre-vote granted
/// earlier cannot elect a leader while the old one's lease may hold.
#[test]
fn with_leases_on_a_voter_that_hears_from_its_leader_refuses_votes() {
    let vote = |margin| {
        let mut core = Core::new(
            1,
            vec![2, 3],
            config(margin),
            HardState::default(),
            vec![],
            Duration::ZERO,
            7,
        );
        let heartbeat = Message::AppendEntries(crate::message::AppendEntries {
            term: 1,
            leader_id: 2,
            prev_log_index: 0,
            prev_log_term: 0,
            entries: vec![],
            leader_commit: 0,
        });
        let at = Duration::from_secs(1);
        core.step(at, 2, heartbeat);
        core.take_actions();
        let request = Message::RequestVote(RequestVote {
            term: 2,
            candidate_id: 3,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
            transfer: false,
        });
        core.step(at + Duration::from_millis(10), 3, request);
        (core.take_actions(), core.term())
    };
    let (actions, term) = vote(None);
    assert_eq!(term, 2);
    assert!(actions.iter().any(|action| matches!(
        action,
        Action::Reply(Message::RequestVoteResponse(RequestVoteResponse {
            vote_granted: true,
            ..
        }))
    )));
    let (actions, term) = vote(Some(Duration::from_millis(50)));
    assert_eq!(term, 1, "the candidate's term is not adopted");
    assert!(!actions.iter().any(|action| matches!(
        action,
        Action::Reply(Message::RequestVoteResponse(RequestVoteResponse {
            vote_granted: true,
            ..
        }))
    )));
}
