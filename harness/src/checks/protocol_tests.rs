//! The protocol rules, each shown to fire on the broken behaviour and stay quiet on Raft's.

use rafty::{AppendEntriesResponse, HardState, RequestVote, RequestVoteResponse};

use super::*;

fn hard_state(term: Term, voted_for: Option<NodeId>) -> HardState {
    HardState {
        current_term: term,
        voted_for,
    }
}

/// Five nodes, each opened on the log `terms` with `hard` as its hard state.
fn cluster(terms: &[Term], hard: HardState) -> Protocol {
    let mut protocol = Protocol::default();
    protocol.set_cluster_size(5);
    for node in 1..=5 {
        protocol.opened(node, (hard, (0, 0), 1, terms.to_vec()));
    }
    protocol
}

fn vote_request(
    term: Term,
    candidate: NodeId,
    last: (Term, LogIndex),
    pre_vote: bool,
) -> RequestVote {
    RequestVote {
        term,
        candidate_id: candidate,
        last_log_index: last.1,
        last_log_term: last.0,
        pre_vote,
        transfer: false,
    }
}

fn granted(term: Term, pre_vote: bool) -> RequestVoteResponse {
    RequestVoteResponse {
        term,
        vote_granted: true,
        pre_vote,
    }
}

fn names(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|(name, _)| *name).collect()
}

/// Five nodes in term 2: n1 campaigned (its vote for itself is durable).
fn campaign(protocol: &mut Protocol, term: Term, candidate: NodeId) {
    assert!(
        protocol
            .hard_state_saved(candidate, hard_state(term, Some(candidate)))
            .is_empty()
    );
}

/// §5.1, Figure 2: a vote answered before it is durable.
#[test]
fn a_vote_granted_before_it_is_durable_breaks_durable_before_reply() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    campaign(&mut protocol, 2, 1);
    let request = vote_request(2, 1, (1, 1), false);
    // Raft: the voter saves (2, n1), then answers.
    protocol.hard_state_saved(2, hard_state(2, Some(1)));
    let mark = protocol.mark(2);
    assert!(
        protocol
            .vote_answered(2, &request, &granted(2, false), mark)
            .is_empty()
    );
    // The bug: n3 saved the term but not the vote.
    protocol.hard_state_saved(3, hard_state(2, None));
    let mark = protocol.mark(3);
    let findings = protocol.vote_answered(3, &request, &granted(2, false), mark);
    assert_eq!(names(&findings), ["durable-before-reply"]);
}

/// §5.1, Figure 2: an answer in a term the node never made durable.
#[test]
fn an_answer_in_a_term_not_durable_breaks_durable_before_reply() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    let answer = AppendAnswer {
        term: 3,
        leader_id: 1,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: 0,
        response: AppendEntriesResponse {
            term: 3,
            success: true,
            match_index: 1,
            conflict: None,
        },
    };
    let mark = protocol.mark(2);
    let findings = protocol.append_answered(2, &answer, mark);
    assert_eq!(names(&findings), ["durable-before-reply"]);
}

/// §5.2: one vote per term, across restarts.
#[test]
fn two_votes_in_one_term_break_one_vote_per_term() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    campaign(&mut protocol, 2, 1);
    campaign(&mut protocol, 2, 5);
    protocol.hard_state_saved(2, hard_state(2, Some(1)));
    let mark = protocol.mark(2);
    let first = vote_request(2, 1, (1, 1), false);
    assert!(
        protocol
            .vote_answered(2, &first, &granted(2, false), mark)
            .is_empty()
    );
    // A restart that forgot the vote, then a vote for n5 in the same term.
    let reopened = protocol.opened(2, (hard_state(2, None), (0, 0), 1, vec![1]));
    assert_eq!(names(&reopened), ["durable-state-kept"]);
    protocol.hard_state_saved(2, hard_state(2, Some(5)));
    let mark = protocol.mark(2);
    let second = vote_request(2, 5, (1, 1), false);
    let findings = protocol.vote_answered(2, &second, &granted(2, false), mark);
    assert_eq!(names(&findings), ["one-vote-per-term"]);
}

/// §5.2: a leader holds votes of its own term from a majority.
#[test]
fn a_leader_without_a_majority_of_its_terms_votes_breaks_election_quorum() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    campaign(&mut protocol, 2, 1);
    for voter in [2, 3] {
        protocol.hard_state_saved(voter, hard_state(2, Some(1)));
        let mark = protocol.mark(voter);
        let request = vote_request(2, 1, (1, 1), false);
        protocol.vote_answered(voter, &request, &granted(2, false), mark);
    }
    // Granted, but only n2's answer reached n1 so far.
    protocol.vote_received(1, 2, 2);
    assert_eq!(names(&protocol.became_leader(1, 2)), ["election-quorum"]);
    protocol.vote_received(1, 3, 2);
    assert!(protocol.became_leader(1, 2).is_empty());
    // n4 won term 3 with one vote of term 3 (its own) and votes of older terms, which
    // reached it late (a candidate counting votes of other terms).
    campaign(&mut protocol, 3, 4);
    protocol.vote_received(4, 2, 2);
    protocol.vote_received(4, 3, 2);
    assert_eq!(names(&protocol.became_leader(4, 3)), ["election-quorum"]);
}

/// §5.2 and thesis §9.6: a term becomes durable first at its candidate.
#[test]
fn a_term_made_durable_before_its_candidate_breaks_term_origin() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    let findings = protocol.hard_state_saved(2, hard_state(2, None));
    assert_eq!(names(&findings), ["term-origin"]);
    campaign(&mut protocol, 3, 1);
    assert!(protocol.hard_state_saved(3, hard_state(3, None)).is_empty());
}

/// §5.4.1: a (pre-)vote only for a log at least as up-to-date.
#[test]
fn a_vote_for_a_shorter_log_breaks_vote_up_to_date() {
    let mut protocol = cluster(&[1, 1, 1], hard_state(1, None));
    let mark = protocol.mark(2);
    let behind = vote_request(2, 1, (1, 2), true);
    let findings = protocol.vote_answered(2, &behind, &granted(2, true), mark);
    assert_eq!(names(&findings), ["vote-up-to-date"]);
    let level = vote_request(2, 1, (1, 3), true);
    assert!(
        protocol
            .vote_answered(2, &level, &granted(2, true), mark)
            .is_empty()
    );
    // The voter's log changed while it decided: no conclusion.
    protocol.appended(2, 4, &[1], &[]);
    let findings = protocol.vote_answered(2, &behind, &granted(2, true), mark);
    assert!(findings.is_empty(), "{findings:?}");
}

fn accepted(
    term: Term,
    prev: (LogIndex, Term),
    entries: u64,
    answer: (Term, LogIndex),
) -> AppendAnswer {
    AppendAnswer {
        term,
        leader_id: 1,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        response: AppendEntriesResponse {
            term: answer.0,
            success: true,
            match_index: answer.1,
            conflict: None,
        },
    }
}

/// §5.1: an AppendEntries of a stale term is refused.
#[test]
fn accepting_a_stale_terms_append_breaks_stale_term_rejected() {
    let mut protocol = cluster(&[1], hard_state(3, None));
    let mark = protocol.mark(2);
    let findings = protocol.append_answered(2, &accepted(2, (1, 1), 0, (3, 1)), mark);
    assert_eq!(names(&findings), ["stale-term-rejected"]);
    assert!(
        protocol
            .append_answered(2, &accepted(3, (1, 1), 0, (3, 1)), mark)
            .is_empty()
    );
}

/// §5.3: accept only when the entry at prevLogIndex has prevLogTerm.
#[test]
fn accepting_after_a_mismatched_previous_entry_breaks_log_matching() {
    let mut protocol = cluster(&[1, 2], hard_state(3, None));
    let mark = protocol.mark(2);
    protocol.appended(2, 3, &[3], &[]);
    let findings = protocol.append_answered(2, &accepted(3, (2, 1), 1, (3, 3)), mark);
    assert_eq!(names(&findings), ["log-matching"]);
    assert!(
        protocol
            .append_answered(2, &accepted(3, (2, 2), 1, (3, 3)), mark)
            .is_empty()
    );
    // A truncation at or below prevLogIndex while it was handled: no conclusion.
    protocol.truncated(2, 2);
    assert!(
        protocol
            .append_answered(2, &accepted(3, (2, 1), 1, (3, 3)), mark)
            .is_empty()
    );
}

/// §5.3: acknowledge only what the request covered.
#[test]
fn acknowledging_past_the_request_breaks_acknowledge_covered() {
    let mut protocol = cluster(&[1, 1, 1], hard_state(1, None));
    let mark = protocol.mark(2);
    let findings = protocol.append_answered(2, &accepted(1, (1, 1), 1, (1, 3)), mark);
    assert_eq!(names(&findings), ["acknowledge-covered"]);
    assert!(
        protocol
            .append_answered(2, &accepted(1, (1, 1), 1, (1, 2)), mark)
            .is_empty()
    );
}

/// §5.4 (Leader Completeness, Figure 8): a committed entry is in every later leader's log and
/// never truncated.
#[test]
fn a_leader_missing_a_committed_entry_breaks_leader_completeness() {
    let mut protocol = cluster(&[1, 2], hard_state(4, None));
    protocol.opened(5, (hard_state(4, None), (0, 0), 1, vec![1, 3]));
    assert!(protocol.committed(1, 2).is_empty());
    assert!(
        protocol
            .became_leader(2, 5)
            .iter()
            .all(|(name, _)| *name != "leader-completeness")
    );
    let findings = protocol.became_leader(5, 5);
    assert!(
        names(&findings).contains(&"leader-completeness"),
        "{findings:?}"
    );
    assert_eq!(names(&protocol.truncated(3, 2)), ["committed-entry-kept"]);
    // n5 truncating its own entry of term 3 at index 2 removes nothing committed.
    assert!(protocol.truncated(5, 2).is_empty());
    // A second node, a follower again, committing a different entry at index 2.
    protocol.lost_leadership(5);
    protocol.appended(5, 2, &[5], &[]);
    assert_eq!(names(&protocol.committed(5, 2)), ["commit-agreement"]);
}

/// Figure 2: an answer of a higher term makes a leader step down; a few more sends of its old
/// term (before its event loop handles the answer) are allowed, not a hundred.
#[test]
fn a_leader_sending_on_after_a_higher_term_breaks_higher_term_deposes() {
    let mut protocol = cluster(&[1], hard_state(2, Some(1)));
    for _ in 0..STALE_SENDS {
        assert!(protocol.append_sent(1, 2).is_empty());
    }
    protocol.higher_term_heard(1, 2, 3);
    for _ in 1..STALE_SENDS {
        assert!(protocol.append_sent(1, 2).is_empty());
    }
    assert_eq!(names(&protocol.append_sent(1, 2)), ["higher-term-deposes"]);
    // A leader that stepped down and later leads term 4 starts afresh.
    protocol.higher_term_heard(2, 2, 3);
    assert!(protocol.append_sent(2, 4).is_empty());
    for _ in 0..STALE_SENDS {
        assert!(protocol.append_sent(2, 2).is_empty());
    }
}

/// §7: a follower that installed a snapshot holds the entries it covers (committed) without
/// their terms: the consistency check at or below the snapshot is not a violation, nor is a
/// leader whose committed entries are compacted away; a mismatch after it still is.
#[test]
fn entries_a_snapshot_covers_count_as_held() {
    let mut protocol = cluster(&[1, 1], hard_state(2, None));
    assert!(protocol.committed(1, 2).is_empty());
    // n2 installs a snapshot through index 300 of term 2: its log is replaced.
    protocol.compacted(2, 300, 2);
    let mark = protocol.mark(2);
    let at_snapshot = accepted(2, (300, 2), 1, (2, 301));
    assert!(protocol.append_answered(2, &at_snapshot, mark).is_empty());
    let below = accepted(2, (200, 2), 101, (2, 301));
    assert!(protocol.append_answered(2, &below, mark).is_empty());
    protocol.appended(2, 301, &[2], &[]);
    let mark = protocol.mark(2);
    let wrong = accepted(2, (301, 1), 0, (2, 301));
    assert_eq!(
        names(&protocol.append_answered(2, &wrong, mark)),
        ["log-matching"]
    );
    // Leader completeness holds for entries covered by the leader's snapshot.
    assert!(protocol.committed(2, 301).is_empty());
    protocol.compacted(2, 301, 2);
    let findings = protocol.became_leader(2, 3);
    assert!(
        findings
            .iter()
            .all(|(name, _)| *name != "leader-completeness"),
        "{findings:?}"
    );
    // A leader missing the committed entry after its compaction point is still caught.
    protocol.compacted(3, 100, 1);
    assert!(names(&protocol.became_leader(3, 4)).contains(&"leader-completeness"));
}

/// §7: a log discards only what a durable snapshot covers; compacting behind the node's
/// snapshot is fine, past it (or with no snapshot at all) is a finding.
#[test]
fn compacting_past_the_durable_snapshot_is_a_finding() {
    let mut protocol = cluster(&[1, 1, 1, 1], hard_state(1, None));
    assert_eq!(
        names(&protocol.compacted(1, 2, 1)),
        ["compact-behind-snapshot"]
    );
    protocol.snapshot_durable(2, 3);
    assert!(protocol.compacted(2, 2, 1).is_empty());
    assert!(protocol.compacted(2, 3, 1).is_empty());
    assert_eq!(
        names(&protocol.compacted(2, 4, 1)),
        ["compact-behind-snapshot"]
    );
}

/// Memory: over thousands of elections the votes, received votes and campaigns held stay
/// within [`TERM_WINDOW`] terms of every node's durable term, and two votes in one recent term
/// are still caught (§5.2).
#[test]
fn votes_of_terms_every_node_left_far_behind_are_dropped_and_recent_ones_still_judged() {
    let mut protocol = cluster(&[1], hard_state(1, None));
    for term in 2..=5_000 {
        let candidate = term % 5 + 1;
        campaign(&mut protocol, term, candidate);
        for voter in (1..=5).filter(|&voter| voter != candidate) {
            protocol.hard_state_saved(voter, hard_state(term, Some(candidate)));
            let mark = protocol.mark(voter);
            let request = vote_request(term, candidate, (1, 1), false);
            let findings = protocol.vote_answered(voter, &request, &granted(term, false), mark);
            assert!(findings.is_empty(), "{findings:?}");
            protocol.vote_received(candidate, voter, term);
        }
        assert!(
            protocol.held_term_entries() <= 3 * (TERM_WINDOW as usize + 1) * 5,
            "{} held at term {term}",
            protocol.held_term_entries()
        );
    }
    assert_eq!(protocol.term_floor(), 5_000 - TERM_WINDOW);
    // n1 voted for n2 (4996 % 5 + 1) in term 4996; a second grant there, to n4, is caught.
    let request = vote_request(4_996, 4, (1, 1), false);
    let mark = protocol.mark(1);
    let findings = protocol.vote_answered(1, &request, &granted(4_996, false), mark);
    assert!(
        names(&findings).contains(&"one-vote-per-term"),
        "{findings:?}"
    );
}
