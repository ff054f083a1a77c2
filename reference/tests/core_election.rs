//! Leader election in the sans-IO core: §5.2 (elections), §5.4.1 (election restriction),
//! and the pre-vote and check-quorum extensions of Ongaro's thesis (§9.6, §6.2).

mod core_support;

use std::time::Duration;

use core_support::*;
use rafty::core::{Action, Core, Role};
use rafty::{HardState, Message};

fn fresh(id: u64, size: u64) -> Core {
    core_in_cluster(id, size, config(), HardState::default(), Vec::new())
}

/// §5.2: each node picks its election timeout at random from [min, max).
#[test]
fn election_timeouts_are_randomized_within_the_range() {
    let deadlines: Vec<Duration> = (0..50)
        .map(|seed| {
            let core = Core::new(
                1,
                vec![2, 3],
                config(),
                HardState::default(),
                vec![],
                ms(0),
                seed,
            );
            core.next_deadline()
        })
        .collect();
    assert!(
        deadlines.iter().all(|d| *d >= ms(150) && *d < ms(300)),
        "{deadlines:?}"
    );
    let distinct: std::collections::BTreeSet<_> = deadlines.iter().collect();
    assert!(
        distinct.len() > 10,
        "timeouts are not random: {deadlines:?}"
    );
}

/// §5.2: nothing happens before the election timeout.
#[test]
fn follower_waits_for_its_election_timeout() {
    let mut core = fresh(1, 3);
    let deadline = core.next_deadline();
    core.tick(deadline - ms(1));
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(core.role(), Role::Follower);
}

/// Thesis §9.6: an election timeout starts a pre-vote for term + 1; the term stays.
#[test]
fn election_timeout_starts_a_pre_vote_without_changing_the_term() {
    let mut core = fresh(1, 3);
    core.tick(core.next_deadline());
    let request = vote_request(1, 1, (0, 0), true);
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::PreCandidate, 0, None),
            send(2, request.clone()),
            send(3, request),
        ]
    );
    assert_eq!((core.term(), core.voted_for()), (0, None));
}

/// §5.2: on a majority of pre-votes the node becomes candidate: term + 1, votes for itself,
/// and persists that vote before any RequestVote leaves.
#[test]
fn pre_vote_majority_starts_an_election_persisting_the_vote_first() {
    let mut core = fresh(1, 3);
    let now = core.next_deadline();
    core.tick(now);
    core.take_actions();
    core.step(now, 2, vote_response(1, true, true));
    let request = vote_request(1, 1, (0, 0), false);
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(1, Some(1))),
            role_changed(Role::Candidate, 1, None),
            send(2, request.clone()),
            send(3, request),
        ]
    );
}

/// §5.2, §8: a candidate with a majority of votes becomes leader and appends a no-op of its
/// term, which it sends to every follower before persisting it (thesis §10.2.1).
#[test]
fn candidate_with_a_majority_becomes_leader_and_appends_a_noop() {
    let mut core = fresh(1, 3);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(1, true, true));
    core.take_actions();
    core.step(now, 3, vote_response(1, true, false));
    let to_followers = append(1, 1, (0, 0), vec![noop(1, 1)], 0);
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Leader, 1, Some(1)),
            send(2, to_followers.clone()),
            send(3, to_followers),
            Action::AppendToLog(vec![noop(1, 1)]),
        ]
    );
}

/// §5.2, Figure 2: a vote is durable before the reply that grants it leaves the node.
#[test]
fn vote_is_persisted_before_the_reply() {
    let mut core = fresh(1, 3);
    core.step(ms(10), 2, vote_request(1, 2, (0, 0), false));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(1, Some(2))),
            role_changed(Role::Follower, 1, None),
            Action::Reply(vote_response(1, true, false)),
        ]
    );
}

/// §5.2: at most one vote per term, first come first served; a repeated request from the same
/// candidate is granted again without persisting anything new.
#[test]
fn grants_at_most_one_vote_per_term() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(1, Some(2)), vec![]);
    core.step(ms(10), 3, vote_request(1, 3, (0, 0), false));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(1, false, false))]
    );
    core.step(ms(10), 2, vote_request(1, 2, (0, 0), false));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(1, true, false))]
    );
    assert_eq!(core.voted_for(), Some(2));
}

/// §5.4.1: a vote goes only to a candidate whose log is at least as up-to-date; the higher
/// term is still adopted (and persisted) before answering.
#[test]
fn vote_is_denied_to_a_candidate_with_a_stale_log() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(2, None), log_with_terms(&[1, 2]));
    core.step(ms(10), 2, vote_request(3, 2, (5, 1), false));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(3, None)),
            role_changed(Role::Follower, 3, None),
            Action::Reply(vote_response(3, false, false)),
        ]
    );
}

/// §5.1: a request from an older term is rejected with the current term.
#[test]
fn vote_request_from_an_older_term_is_rejected() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(4, None), vec![]);
    core.step(ms(10), 2, vote_request(3, 2, (0, 0), false));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(4, false, false))]
    );
}

/// Thesis §9.6: answering a pre-vote changes no state: no term, no vote, no timer reset.
#[test]
fn pre_vote_changes_no_state() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(2, Some(3)), vec![]);
    let deadline = core.next_deadline();
    core.step(ms(10), 2, vote_request(3, 2, (0, 0), true));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(3, true, true))]
    );
    assert_eq!(core.hard_state(), hard_state(2, Some(3)));
    assert_eq!(core.next_deadline(), deadline);
    assert_eq!(core.role(), Role::Follower);
}

/// Thesis §9.6 and §4.2.3: a node that heard from a live leader within the minimum election
/// timeout refuses pre-votes, so a rejoining node cannot disrupt a stable cluster.
#[test]
fn pre_vote_is_refused_while_the_leader_is_live() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(1, None), vec![]);
    core.step(ms(100), 2, append(1, 2, (0, 0), vec![], 0));
    core.take_actions();
    core.step(ms(200), 3, vote_request(2, 3, (0, 0), true));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(1, false, true))]
    );
    core.step(ms(251), 3, vote_request(2, 3, (0, 0), true));
    assert_eq!(
        core.take_actions(),
        vec![Action::Reply(vote_response(2, true, true))]
    );
}

/// Thesis §9.6: a granted pre-vote carries the proposed term, which the pre-candidate must not
/// adopt; a refusal carrying a higher term makes it a follower of that term.
#[test]
fn pre_vote_responses_adopt_only_refusals_with_a_higher_term() {
    let mut core = fresh(1, 5);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(1, true, true));
    assert_eq!((core.role(), core.term()), (Role::PreCandidate, 0));
    core.step(now, 3, vote_response(4, false, true));
    assert_eq!((core.role(), core.term()), (Role::Follower, 4));
}

/// §5.2: votes from an earlier term, or pre-votes counted as votes, do not elect anyone.
#[test]
fn stale_vote_responses_are_ignored() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(3, None), vec![]);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(4, true, true));
    assert_eq!(core.role(), Role::Candidate);
    core.take_actions();
    core.step(now, 2, vote_response(3, true, false));
    core.step(now, 3, vote_response(4, true, true));
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(core.role(), Role::Candidate);
}

/// §5.2: a candidate whose election times out starts over (with a pre-vote for the next term).
#[test]
fn candidate_timeout_starts_a_new_pre_vote() {
    let mut core = fresh(1, 3);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(1, true, true));
    core.take_actions();
    core.tick(core.next_deadline());
    let request = vote_request(2, 1, (0, 0), true);
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::PreCandidate, 1, None),
            send(2, request.clone()),
            send(3, request),
        ]
    );
}

/// §5.1: any message with a higher term makes a leader step down to follower of that term,
/// persisted.
#[test]
fn leader_steps_down_on_a_higher_term() {
    let mut core = fresh(1, 3);
    let now = elect(&mut core);
    core.step(now, 2, append_ok(5, 0));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(5, None)),
            role_changed(Role::Follower, 5, None),
        ]
    );
}

/// §5.2: a candidate that hears from the leader of its own term becomes its follower.
#[test]
fn candidate_recognises_a_leader_of_its_term() {
    let mut core = fresh(1, 3);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(1, true, true));
    core.take_actions();
    core.step(now, 3, append(1, 3, (0, 0), vec![], 0));
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(3)),
            Action::Reply(append_ok(1, 0)),
        ]
    );
}

/// Thesis §6.2 (check-quorum): a leader that heard from no majority within an election
/// timeout steps down; one that did stays.
#[test]
fn check_quorum_steps_down_a_leader_cut_off_from_the_majority() {
    let mut core = fresh(1, 3);
    let elected = elect(&mut core);
    let first_check = elected + ms(150);
    core.step(elected + ms(20), 2, append_ok(1, 1));
    core.tick(first_check);
    assert_eq!(
        core.role(),
        Role::Leader,
        "heard from node 2: a majority with itself"
    );
    core.take_actions();
    core.tick(first_check + ms(150));
    let actions = core.take_actions();
    assert_eq!(actions, vec![role_changed(Role::Follower, 1, None)]);
    assert_eq!(core.term(), 1, "stepping down keeps the term");
}

/// Thesis §6.2: in a five-node cluster one follower's answers are not a majority.
#[test]
fn check_quorum_needs_a_majority_not_just_one_answer() {
    let mut core = fresh(1, 5);
    let elected = elect(&mut core);
    core.step(elected + ms(20), 2, append_ok(1, 1));
    core.tick(elected + ms(150));
    assert_eq!(core.role(), Role::Follower);
}

/// Rafty's solo mode (§5.2 with a cluster of one): the node elects itself and commits alone.
#[test]
fn single_node_elects_itself_and_commits_alone() {
    let mut core = core_in_cluster(1, 1, config(), HardState::default(), vec![]);
    core.tick(core.next_deadline());
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(1, Some(1))),
            role_changed(Role::Leader, 1, Some(1)),
            Action::AppendToLog(vec![noop(1, 1)]),
            Action::Apply(vec![noop(1, 1)]),
        ]
    );
    let proposed = core.propose(ms(400), vec![b"command 2".to_vec()]);
    assert_eq!(proposed, Ok((2, 1)));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::AppendToLog(vec![command(1, 2)]),
            Action::Apply(vec![command(1, 2)]),
        ]
    );
    core.tick(ms(10_000));
    assert_eq!(
        core.role(),
        Role::Leader,
        "check-quorum counts the node itself"
    );
}

/// §5.1: only the leader accepts proposals; others answer with the leader they know.
#[test]
fn follower_refuses_proposals_with_a_leader_hint() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(1, None), vec![]);
    core.step(ms(1), 2, append(1, 2, (0, 0), vec![], 0));
    let refused = core.propose(ms(2), vec![b"x".to_vec()]).unwrap_err();
    assert_eq!(refused.leader_hint, Some(2));
}

/// §5.2 with an even cluster: two nodes need both votes.
#[test]
fn two_node_cluster_needs_both_votes() {
    let mut core = fresh(1, 2);
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(core.role(), Role::PreCandidate);
    core.step(now, 2, vote_response(1, true, true));
    assert_eq!(core.role(), Role::Candidate);
    core.step(now, 2, vote_response(1, true, false));
    assert_eq!(core.role(), Role::Leader);
    let actions = core.take_actions();
    assert!(matches!(
        &actions[..],
        [
            ..,
            Action::Send {
                to: 2,
                message: Message::AppendEntries(_)
            },
            Action::AppendToLog(_),
        ]
    ));
}
