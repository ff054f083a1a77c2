//! What a peer sends is input, not an invariant: a buggy or Byzantine peer's nonsense is
//! refused or clamped, logged, and never panics the core, wraps a number, or costs it an entry
//! it knows is committed. Each test names the input and the rule it would break.

mod core_support;

use core_support::*;
use rafty::core::{Action, Core, Role};
use rafty::{Entry, HardState, Message, Term};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn follower(hard_state: HardState, entries: Vec<Entry>) -> Core {
    core_in_cluster(1, 3, config(), hard_state, entries)
}

// ---- Terms and indices at u64::MAX: checked, never wrapped ----

/// §5.1 ("terms increase monotonically") and Figure 2 ("if an RPC request or response contains
/// term T > currentTerm: set currentTerm = T"): a peer's AppendEntries carrying term
/// `u64::MAX` is adopted, but there is no next term to campaign in. When the election timer
/// fires the node stays a follower of that term and sends nothing, rather than wrap to a
/// pre-vote for term 0.
#[test]
fn a_follower_in_the_largest_term_refuses_to_campaign_instead_of_wrapping() {
    let mut core = follower(hard_state(1, None), vec![]);
    core.step(ms(10), 2, append(Term::MAX, 2, (0, 0), vec![], 0));
    assert_eq!(core.term(), Term::MAX);
    core.take_actions();
    let deadline = core.next_deadline();
    core.tick(deadline);
    assert_eq!(
        core.take_actions(),
        vec![role_changed(Role::Follower, Term::MAX, None)],
        "no campaign past u64::MAX: it only forgets the leader it no longer hears"
    );
    for _ in 0..3 {
        let deadline = core.next_deadline();
        core.tick(deadline);
        assert_eq!(core.take_actions(), vec![], "no campaign past u64::MAX");
        assert_eq!((core.role(), core.term()), (Role::Follower, Term::MAX));
        assert!(core.next_deadline() > deadline, "the timer is re-armed");
    }
}

/// §5.1, §5.2: a candidate that reached `u64::MAX` by its own election (from `u64::MAX - 1`)
/// may still win it; if that election times out, it cannot start another: it becomes a
/// follower of `u64::MAX` instead of campaigning in term 0. Granted pre-votes for the wrapped
/// term 0 elect nobody.
#[test]
fn a_candidate_in_the_largest_term_does_not_start_another_election() {
    let mut core = follower(hard_state(Term::MAX - 1, None), vec![]);
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, 2, vote_response(Term::MAX, true, true));
    assert_eq!((core.role(), core.term()), (Role::Candidate, Term::MAX));
    core.take_actions();
    let timeout = core.next_deadline();
    core.tick(timeout);
    assert_eq!((core.role(), core.term()), (Role::Follower, Term::MAX));
    assert_eq!(
        core.take_actions(),
        vec![role_changed(Role::Follower, Term::MAX, None)]
    );
    core.step(timeout, 2, vote_response(0, true, true));
    core.step(timeout, 2, vote_response(0, true, false));
    assert_eq!((core.role(), core.term()), (Role::Follower, Term::MAX));
}

/// §5.3: a follower's rejection carries the rejected `prev_log_index` back as its match index.
/// A peer answering `u64::MAX` there names no AppendEntries the leader sent: it is a stale
/// rejection, ignored, not an overflow.
#[test]
fn a_rejection_with_the_largest_index_is_ignored_not_an_overflow() {
    let mut core = core_in_cluster(1, 3, config(), hard_state(1, None), log_with_terms(&[1]));
    let elected = elect(&mut core);
    let before = core.replication_indices(2);
    core.step(elected, 2, append_rejected(2, u64::MAX, None));
    assert_eq!(core.take_actions(), vec![]);
    assert_eq!(core.replication_indices(2), before);
    assert_eq!(core.role(), Role::Leader);
}

/// §5.3: a `prev_log_index` of `u64::MAX` is far past any log: the consistency check fails
/// with the end-of-log hint, nothing is stored.
#[test]
fn a_previous_index_far_past_the_log_is_rejected_with_the_end_of_log_hint() {
    let mut core = follower(hard_state(1, None), log_with_terms(&[1, 1]));
    core.step(ms(10), 2, append(1, 2, (u64::MAX, 1), vec![], u64::MAX));
    let hint = rafty::ConflictHint {
        term: None,
        index: 3,
    };
    assert_eq!(
        core.take_actions(),
        vec![
            role_changed(Role::Follower, 1, Some(2)),
            Action::Reply(append_rejected(1, u64::MAX, Some(hint))),
        ]
    );
    assert_eq!(core.commit_index(), 0);
}

// ---- AppendEntries from a buggy or Byzantine leader ----

/// A follower holding entries 1 and 2 of term 1, both committed (leader 2 said so).
fn follower_with_two_committed_entries() -> Core {
    let mut core = follower(hard_state(1, None), vec![]);
    let entries = vec![command(1, 1), command(1, 2)];
    core.step(ms(10), 2, append(1, 2, (0, 0), entries, 2));
    assert_eq!(core.commit_index(), 2);
    core.take_actions();
    core
}

/// §5.4 (Leader Completeness, State Machine Safety): an entry this follower knows is committed
/// is in every later leader's log, so an AppendEntries whose entries conflict with it comes
/// from a broken leader. The follower refuses it (no truncation, nothing appended, nothing
/// acknowledged), logs the violation, and keeps its log and commit index; it does not panic.
#[test]
fn entries_conflicting_with_a_committed_entry_are_refused_and_the_log_kept() {
    let mut core = follower_with_two_committed_entries();
    let before = core.entries().to_vec();
    core.step(ms(20), 3, append(2, 3, (1, 1), vec![command(2, 2)], 2));
    assert_eq!(
        core.take_actions(),
        vec![
            Action::SaveHardState(hard_state(2, None)),
            role_changed(Role::Follower, 2, Some(3)),
            Action::Reply(append_rejected(2, 1, None)),
        ]
    );
    assert_eq!(core.entries(), &before[..]);
    assert_eq!(core.commit_index(), 2);
}

/// §5.3, §5.4: the refusal holds however the conflict is sent: from the sentinel, as a whole
/// replacement log, and the follower still accepts a correct leader afterwards.
#[test]
fn a_refused_conflict_leaves_the_follower_able_to_follow_a_correct_leader() {
    let mut core = follower_with_two_committed_entries();
    core.step(
        ms(20),
        3,
        append(2, 3, (0, 0), vec![command(2, 1), command(2, 2)], 0),
    );
    assert_eq!(core.entries(), log_with_terms(&[1, 1]));
    core.take_actions();
    core.step(ms(30), 2, append(3, 2, (2, 1), vec![noop(3, 3)], 3));
    assert_eq!(core.last_index(), 3);
    assert_eq!(core.commit_index(), 3);
}

/// Figure 2 ("set commitIndex = min(leaderCommit, index of last new entry)"), as etcd/raft
/// clamps it: a leader commit of `u64::MAX` commits only what this AppendEntries vouched for.
#[test]
fn a_leader_commit_past_the_entries_is_clamped_to_the_last_new_entry() {
    let mut core = follower(hard_state(1, None), log_with_terms(&[1, 1, 1, 1]));
    core.step(
        ms(10),
        2,
        append(1, 2, (1, 1), vec![command(1, 2)], u64::MAX),
    );
    assert_eq!(core.commit_index(), 2);
    assert_eq!(core.last_index(), 4);
}

/// §5.3 (entries follow `prev_log_index` in order) and §5.1 (an entry's term is the term of
/// the leader that created it, at least 1, never above the sender's term, never decreasing
/// along the log): an AppendEntries breaking any of these is refused whole, with the
/// follower's own term, and changes nothing: no term adopted, no leader learned, no entry
/// stored.
#[test]
fn malformed_entry_batches_are_refused_and_change_nothing() {
    let malformed = [
        (
            "a gap in the indices",
            (0, 0),
            vec![command(2, 1), command(2, 3)],
        ),
        (
            "a repeated index",
            (0, 0),
            vec![command(2, 1), command(2, 1)],
        ),
        ("indices not after prev", (2, 1), vec![command(2, 2)]),
        (
            "terms going backwards",
            (0, 0),
            vec![command(2, 1), command(1, 2)],
        ),
        ("a term below prev_log_term", (1, 2), vec![command(1, 2)]),
        ("a term above the leader's", (0, 0), vec![command(3, 1)]),
        ("an entry of term 0", (0, 0), vec![command(0, 1)]),
        ("prev_log_term above the leader's term", (1, 3), vec![]),
    ];
    for (what, prev, entries) in malformed {
        let mut core = follower(hard_state(1, None), log_with_terms(&[1]));
        core.step(ms(10), 2, append(2, 2, prev, entries, 1));
        assert_eq!(
            core.take_actions(),
            vec![Action::Reply(append_rejected(1, prev.0, None))],
            "{what}"
        );
        assert_eq!(
            (core.term(), core.leader(), core.entries()),
            (1, None, &log_with_terms(&[1])[..]),
            "{what}"
        );
    }
}

// ---- Votes ----

/// §5.1, §5.4.1: a candidate's log cannot hold an entry of a term above the one it campaigns
/// in, so a (pre-)vote request with `last_log_term > term` is nonsense (it would win any
/// up-to-date comparison). It is refused with the voter's term and changes nothing.
#[test]
fn a_vote_request_whose_last_log_term_is_above_its_term_is_refused() {
    for pre_vote in [false, true] {
        let mut core = follower(hard_state(1, None), log_with_terms(&[1]));
        core.step(ms(10), 2, vote_request(2, 2, (1, 9), pre_vote));
        assert_eq!(
            core.take_actions(),
            vec![Action::Reply(vote_response(1, false, pre_vote))],
            "pre-vote: {pre_vote}"
        );
        assert_eq!((core.term(), core.voted_for()), (1, None));
    }
}

/// §5.2 ("votes from a majority of the servers in the full cluster"): only members vote. A
/// (pre-)vote response from a node that is not a peer, or from the node itself, is not
/// counted.
#[test]
fn votes_from_non_members_are_not_counted() {
    let mut core = core_in_cluster(1, 5, config(), HardState::default(), vec![]);
    let now = core.next_deadline();
    core.tick(now);
    assert_eq!(core.role(), Role::PreCandidate);
    for stranger in [1, 6, 7, u64::MAX] {
        core.step(now, stranger, vote_response(1, true, true));
    }
    assert_eq!(
        core.role(),
        Role::PreCandidate,
        "strangers' pre-votes elect nobody"
    );
    core.step(now, 2, vote_response(1, true, true));
    core.step(now, 3, vote_response(1, true, true));
    assert_eq!(core.role(), Role::Candidate);
    for stranger in [1, 6, 7] {
        core.step(now, stranger, vote_response(1, true, false));
    }
    assert_eq!(
        core.role(),
        Role::Candidate,
        "strangers' votes elect nobody"
    );
}

// ---- Random nonsense ----

/// A peer's value near where bugs live: 0, `u64::MAX`, `u64::MAX - 1`, around `base`, or
/// small.
fn hostile_number(rng: &mut ChaCha8Rng, base: u64, extremes: bool) -> u64 {
    match rng.random_range(0..10) {
        0 => 0,
        1 if extremes => u64::MAX,
        2 if extremes => u64::MAX - 1,
        3 => base.saturating_add(1),
        4 => base.saturating_sub(1),
        5 => base,
        _ => rng.random_range(0..6),
    }
}

/// An AppendEntries, contiguous or not, with terms that may go anywhere.
fn hostile_append(rng: &mut ChaCha8Rng, core: &Core, from: u64, extremes: bool) -> Message {
    let term = hostile_number(rng, core.term(), extremes);
    let prev = (
        hostile_number(rng, core.last_index(), extremes),
        hostile_number(rng, core.term(), extremes),
    );
    let contiguous: bool = rng.random();
    let mut entry_term = prev.1.max(1);
    let mut entries = Vec::new();
    for offset in 1..=rng.random_range(0..4) {
        let index = if contiguous {
            prev.0.wrapping_add(offset)
        } else {
            hostile_number(rng, core.last_index(), extremes)
        };
        if rng.random_range(0..4) == 0 {
            entry_term = hostile_number(rng, term, extremes);
        } else if rng.random() {
            entry_term = term;
        }
        entries.push(noop(entry_term, index));
    }
    let leader_commit = hostile_number(rng, core.commit_index(), extremes);
    append(term, from, prev, entries, leader_commit)
}

/// Any message at all, from anyone (members, itself, strangers).
fn hostile_message(rng: &mut ChaCha8Rng, core: &Core, from: u64, extremes: bool) -> Message {
    let term = hostile_number(rng, core.term(), extremes);
    let index = hostile_number(rng, core.last_index(), extremes);
    match rng.random_range(0..5) {
        0 => {
            let last_term = hostile_number(rng, core.term(), extremes);
            vote_request(term, from, (index, last_term), rng.random())
        }
        1 => vote_response(term, rng.random(), rng.random()),
        2 | 3 => hostile_append(rng, core, from, extremes),
        _ => {
            let hint = rng.random::<bool>().then(|| rafty::ConflictHint {
                term: rng
                    .random::<bool>()
                    .then(|| hostile_number(rng, core.term(), extremes)),
                index: hostile_number(rng, core.last_index(), extremes),
            });
            if rng.random() {
                append_ok(term, index)
            } else {
                append_rejected(term, index, hint)
            }
        }
    }
}

/// Everything above at random: thousands of runs of ticks, proposals and hostile messages
/// (with and without values at `u64::MAX`, which otherwise dominate) against cores of 1, 3 and
/// 5 nodes checking their invariants after every input. None may panic: a panic here is
/// either a broken invariant the library maintains or peer input treated as one.
#[test]
fn random_peer_nonsense_never_panics_the_core() {
    for seed in 0..2000 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let extremes = seed % 2 == 0;
        let size = [1, 3, 5][rng.random_range(0..3)];
        let mut core = core_in_cluster(1, size, config(), hard_state(0, None), vec![]);
        let mut now = ms(0);
        for _ in 0..200 {
            now += ms(rng.random_range(0..120));
            match rng.random_range(0..7) {
                0 => core.tick(now),
                1 => {
                    let _ = core.propose(now, vec![b"x".to_vec()]);
                }
                _ => {
                    let from = [2, 3, 4, 5, 1, 9, u64::MAX][rng.random_range(0..7)];
                    let message = hostile_message(&mut rng, &core, from, extremes);
                    let step =
                        std::panic::AssertUnwindSafe(|| core.step(now, from, message.clone()));
                    if std::panic::catch_unwind(step).is_err() {
                        panic!("seed {seed}: the core panicked on {message:?} from {from}");
                    }
                }
            }
            core.take_actions();
        }
    }
}
