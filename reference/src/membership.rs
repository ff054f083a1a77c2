//! Cluster configurations (Ongaro's dissertation, chapter 4): who votes, who only learns, and
//! the joint form C_old,new that a change passes through (§4.3).
//!
//! A configuration travels in the log as a [`crate::Payload::Membership`] entry and is in
//! effect on a node from the moment the entry is appended to its log, committed or not
//! (§4.1). [`crate::PeersProvider`] says *where* a member is; a [`Membership`] says *who* is
//! a member.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::types::NodeId;

/// One configuration: the voters, the learners (non-voting members that receive the log), and
/// during joint consensus the old voter set as well.
///
/// Architecture invariant: the sets are disjoint in this sense: no learner is a voter of
/// either half, and `voters` is never empty ([`Membership::validate`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The voters (C_new while joint): a candidate needs a majority of them, and so does a
    /// commit.
    pub voters: BTreeSet<NodeId>,
    /// C_old's voters while the configuration is joint (§4.3): then elections and commits
    /// need a majority of `voters` *and* a majority of these. `None` for a simple
    /// configuration.
    pub old_voters: Option<BTreeSet<NodeId>>,
    /// Members that receive the log but never vote and never count toward a quorum (§4.2.1:
    /// new servers join as non-voting members until caught up).
    pub learners: BTreeSet<NodeId>,
}

/// Why a configuration is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// A configuration (or a half of a joint one) with no voter could never elect a leader.
    #[error("the configuration has no voters")]
    NoVoters,
    /// A change must name the configuration to move to, not a joint one: the joint step is
    /// the leader's to make.
    #[error("the target of a change cannot itself be joint")]
    JointTarget,
    /// A node listed both as a learner and as a voter.
    #[error("node {0} is both a learner and a voter")]
    LearnerIsVoter(NodeId),
}

impl Membership {
    /// A simple configuration of `voters` and no learners.
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Membership {
        Membership {
            voters: voters.into_iter().collect(),
            old_voters: None,
            learners: BTreeSet::new(),
        }
    }

    /// The same configuration with `learners` as its learners.
    pub fn with_learners(mut self, learners: impl IntoIterator<Item = NodeId>) -> Membership {
        self.learners = learners.into_iter().collect();
        self
    }

    /// The joint configuration C_old,new that moves from `self` (C_old, a simple
    /// configuration) to `new`: voters of both halves, `new`'s learners.
    pub fn joint_to(&self, new: &Membership) -> Membership {
        Membership {
            voters: new.voters.clone(),
            old_voters: Some(self.voters.clone()),
            learners: new.learners.clone(),
        }
    }

    /// The configuration a joint one leaves for: C_new (its `voters` and learners).
    pub fn leave_joint(&self) -> Membership {
        Membership {
            voters: self.voters.clone(),
            old_voters: None,
            learners: self.learners.clone(),
        }
    }

    /// Whether this is a joint configuration C_old,new.
    pub fn is_joint(&self) -> bool {
        self.old_voters.is_some()
    }

    /// Whether `id` votes: a voter of either half.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
            || self
                .old_voters
                .as_ref()
                .is_some_and(|old| old.contains(&id))
    }

    /// Whether `id` is a learner.
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.contains(&id)
    }

    /// Whether `id` is a member at all (voter of either half or learner).
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// Every voter of either half, sorted.
    pub fn all_voters(&self) -> BTreeSet<NodeId> {
        let mut all = self.voters.clone();
        if let Some(old) = &self.old_voters {
            all.extend(old.iter().copied());
        }
        all
    }

    /// Every member (voters of both halves and learners), sorted.
    pub fn members(&self) -> BTreeSet<NodeId> {
        let mut all = self.all_voters();
        all.extend(self.learners.iter().copied());
        all
    }

    /// Check the architecture invariant: voters in each half, no learner voting.
    pub fn validate(&self) -> Result<(), MembershipError> {
        if self.voters.is_empty() || self.old_voters.as_ref().is_some_and(BTreeSet::is_empty) {
            return Err(MembershipError::NoVoters);
        }
        match self.learners.iter().find(|id| self.is_voter(**id)) {
            Some(id) => Err(MembershipError::LearnerIsVoter(*id)),
            None => Ok(()),
        }
    }

    /// An approximate encoded size in bytes, for batching limits.
    pub fn size_bytes(&self) -> usize {
        8 * (self.voters.len()
            + self.learners.len()
            + self.old_voters.as_ref().map_or(0, BTreeSet::len))
    }
}

impl std::fmt::Display for Membership {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "voters {:?}", self.voters)?;
        if let Some(old) = &self.old_voters {
            write!(formatter, " (joint with old voters {old:?})")?;
        }
        if !self.learners.is_empty() {
            write!(formatter, ", learners {:?}", self.learners)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_configuration_holds_both_voter_sets_and_the_new_learners() {
        let old = Membership::new([1, 2, 3]);
        let new = Membership::new([3, 4, 5]).with_learners([6]);
        let joint = old.joint_to(&new);
        assert!(joint.is_joint());
        assert_eq!(joint.all_voters(), [1, 2, 3, 4, 5].into());
        assert_eq!(joint.members(), [1, 2, 3, 4, 5, 6].into());
        assert!(joint.is_voter(1) && joint.is_voter(5) && !joint.is_voter(6));
        assert_eq!(joint.leave_joint(), new);
    }

    #[test]
    fn validation_refuses_empty_halves_and_voting_learners() {
        assert_eq!(
            Membership::new([]).validate(),
            Err(MembershipError::NoVoters)
        );
        assert_eq!(
            Membership::new([1, 2]).with_learners([2]).validate(),
            Err(MembershipError::LearnerIsVoter(2))
        );
        let joint = Membership::new([1]).joint_to(&Membership::new([2]).with_learners([1]));
        assert_eq!(joint.validate(), Err(MembershipError::LearnerIsVoter(1)));
        assert_eq!(Membership::new([1, 2, 3]).validate(), Ok(()));
    }
}
