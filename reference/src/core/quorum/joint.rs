//! Quorums against a configuration (dissertation §4.3): a simple configuration needs a
//! majority of its voters; a joint configuration C_old,new needs a majority of C_old *and* a
//! majority of C_new, so that no decision is ever taken by one half alone. Learners never
//! count. Every vote count and every commit of the core goes through here.

use std::collections::BTreeSet;

use super::{index_held_by, quorum_size};
use crate::membership::Membership;
use crate::types::{LogIndex, NodeId};

/// How many of `n` voters make a quorum: [`quorum_size`], or a deliberately broken rule in
/// the core's mutation tests.
pub type Majority = fn(usize) -> usize;

/// What a count may break on purpose (the core's `mutations`): the default counts correctly.
#[derive(Clone, Copy, Debug)]
pub struct Counting {
    /// The size of a majority of `n` voters.
    pub majority: Majority,
    /// Count only C_new in a joint configuration (breaks §4.3).
    pub new_half_only: bool,
    /// Count learners' votes and acknowledgements toward a majority of the voters (breaks
    /// §4.2.1).
    pub learners_vote: bool,
}

impl Default for Counting {
    fn default() -> Counting {
        Counting {
            majority: quorum_size,
            new_half_only: false,
            learners_vote: false,
        }
    }
}

/// One voter set that must reach a majority: C_new (whose count takes in the learners if a
/// mutation says so; the majority stays the voters') or, while joint, C_old. Borrowed:
/// counting allocates nothing but the match indices.
struct Half<'a> {
    voters: &'a BTreeSet<NodeId>,
    learners: Option<&'a BTreeSet<NodeId>>,
}

impl Half<'_> {
    fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters
            .iter()
            .chain(self.learners.into_iter().flatten())
            .copied()
    }

    /// How many voters it has: a majority is of these.
    fn len(&self) -> usize {
        self.voters.len()
    }
}

/// The halves of `membership` that must each reach a majority.
fn halves(membership: &Membership, counting: Counting) -> impl Iterator<Item = Half<'_>> {
    let new = Half {
        voters: &membership.voters,
        learners: counting.learners_vote.then_some(&membership.learners),
    };
    let old = (membership.old_voters.as_ref())
        .filter(|_| !counting.new_half_only)
        .map(|voters| Half {
            voters,
            learners: None,
        });
    std::iter::once(new).chain(old)
}

/// Whether the nodes in `granted` make a quorum of `membership` (§4.3: a majority of each
/// half while joint). A configuration with no voters has no quorum.
pub fn is_quorum(membership: &Membership, granted: &BTreeSet<NodeId>, counting: Counting) -> bool {
    halves(membership, counting).all(|half| {
        let count = half.ids().filter(|id| granted.contains(id)).count();
        half.len() > 0 && count >= (counting.majority)(half.len())
    })
}

/// The highest index that a quorum of `membership` holds, given each voter's match index
/// (§5.4.2 against the configuration, §4.3: the smaller of the two halves' majority indices
/// while joint). 0 for a configuration with no voters.
pub fn committed_index(
    membership: &Membership,
    match_index: impl Fn(NodeId) -> LogIndex,
    counting: Counting,
) -> LogIndex {
    halves(membership, counting)
        .map(|half| {
            let matches: Vec<LogIndex> = half.ids().map(&match_index).collect();
            index_held_by(&matches, (counting.majority)(half.len()))
        })
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    fn joint(old: &[NodeId], new: &[NodeId]) -> Membership {
        Membership::new(old.iter().copied()).joint_to(&Membership::new(new.iter().copied()))
    }

    /// §4.3 (Figure 4.3's danger): moving from {1,2,3} to {3,4,5} at once, {1,2} is a
    /// majority of C_old and {4,5} a majority of C_new, disjoint: two leaders could be
    /// elected in one term. In C_old,new neither alone is a quorum; a quorum needs both.
    #[test]
    fn joint_quorum_refuses_the_two_disjoint_majorities_of_section_4_3() {
        let membership = joint(&[1, 2, 3], &[3, 4, 5]);
        let counting = Counting::default();
        assert!(!is_quorum(&membership, &set(&[1, 2]), counting));
        assert!(!is_quorum(&membership, &set(&[4, 5]), counting));
        assert!(is_quorum(&membership, &set(&[1, 2, 4, 5]), counting));
        assert!(is_quorum(&membership, &set(&[1, 3, 4]), counting));
        let only_new = Counting {
            new_half_only: true,
            ..counting
        };
        assert!(
            is_quorum(&membership, &set(&[4, 5]), only_new),
            "the mutation that counts only C_new accepts the disjoint majority"
        );
    }

    /// §5.2 against a simple configuration: a majority of voters; learners never count
    /// (§4.2.1).
    #[test]
    fn simple_quorum_is_a_majority_of_voters_and_learners_do_not_count() {
        let membership = Membership::new([1, 2, 3]).with_learners([4, 5]);
        let counting = Counting::default();
        assert!(!is_quorum(&membership, &set(&[1, 4, 5]), counting));
        assert!(is_quorum(&membership, &set(&[1, 2]), counting));
        let learners_vote = Counting {
            learners_vote: true,
            ..counting
        };
        assert!(is_quorum(&membership, &set(&[1, 4, 5]), learners_vote));
    }

    /// §4.3/§5.4.2: while joint, an index is committed only once a majority of each half
    /// holds it; learners' match indices never count.
    #[test]
    fn joint_commit_is_the_smaller_of_the_two_majority_indices() {
        let matches: BTreeMap<NodeId, LogIndex> =
            [(1, 9), (2, 8), (3, 2), (4, 3), (5, 1), (6, 100), (7, 100)].into();
        let match_of = |id| matches.get(&id).copied().unwrap_or(0);
        let counting = Counting::default();
        let membership = joint(&[1, 2, 3], &[3, 4, 5]).with_learners([6]);
        assert_eq!(committed_index(&membership, match_of, counting), 2);
        assert_eq!(
            committed_index(&Membership::new([1, 2, 3]), match_of, counting),
            8
        );
        let simple = Membership::new([3, 4, 5]).with_learners([6, 7]);
        assert_eq!(committed_index(&simple, match_of, counting), 2);
        let learners_vote = Counting {
            learners_vote: true,
            ..counting
        };
        assert_eq!(
            committed_index(&simple, match_of, learners_vote),
            100,
            "the mutation: two learners make a majority of three voters"
        );
    }

    #[test]
    fn a_configuration_without_voters_has_no_quorum() {
        let empty = Membership::default();
        assert!(!is_quorum(&empty, &set(&[1]), Counting::default()));
        assert_eq!(committed_index(&empty, |_| 5, Counting::default()), 0);
    }
}
