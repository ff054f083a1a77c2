//! Deliberately broken protocol rules, compiled only with the `mutations` feature, so the
//! harness can prove its checkers catch them. Never enable in production.

use super::Core;

/// A rule the core can be told to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// Break §5.4.2: commit any index a majority holds, even of a previous term (Figure 8).
    CommitPreviousTermByCount,
    /// Break §5.4.1: grant (pre-)votes without checking that the candidate's log is
    /// up-to-date.
    VoteWithoutLogCheck,
}

impl Core {
    /// Break exactly the rules in `mutations` from now on (an empty slice restores them all).
    pub fn set_mutations(&mut self, mutations: &[Mutation]) {
        self.mutations.commit_previous_term_by_count =
            mutations.contains(&Mutation::CommitPreviousTermByCount);
        self.mutations.vote_without_log_check = mutations.contains(&Mutation::VoteWithoutLogCheck);
    }
}
