//! What a peer sends is input, not an invariant: a buggy or Byzantine peer's nonsense is
//! refused or clamped, logged, and never panics the core, wraps a number, or costs it an entry
//! it knows is committed. Each test names the input and the rule it would break.

mod core_support;

use core_support::*;
use rafty::core::{Action, Core, Role};
use rafty::{Entry, HardState, Term};

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
