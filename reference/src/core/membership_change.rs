//! Changing the configuration (dissertation chapter 4): single-server changes (§4.2, with the
//! errata's rule that a leader first commits an entry of its own term), joint consensus
//! (§4.3: C_old,new, then C_new once it commits), learners (§4.2.1), and a leader that is not
//! in C_new stepping down once C_new commits (§4.2.2).

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Core, Mutation, Role};
use crate::membership::{Membership, MembershipError};
use crate::types::{LogIndex, NodeId, Payload, Term};

/// One change a leader can be asked to make to its configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// Add a node as a learner: it receives the log but does not vote (§4.2.1).
    AddLearner(NodeId),
    /// Make a learner a voter (a single-server change, §4.2).
    Promote(NodeId),
    /// Remove a voter or a learner (a single-server change, §4.2).
    Remove(NodeId),
    /// Move to this configuration: directly when at most one voter changes (§4.2), else
    /// through the joint configuration C_old,new (§4.3).
    Replace(Membership),
}

/// Why a leader refused a configuration change. Definite: nothing was appended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipChangeError {
    /// This node is not the leader.
    #[error("not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader this node knows of in its current term, if any.
        leader_hint: Option<NodeId>,
    },
    /// A configuration entry is not committed yet, the configuration is joint, or the leader
    /// has not committed an entry of its own term yet (the dissertation's errata to §4.2):
    /// retry once it is.
    #[error("a configuration change is in progress: {reason}")]
    ChangeInProgress {
        /// What is still in progress.
        reason: String,
    },
    /// The node named is not a member in the role the change needs.
    #[error("node {node} is not {expected}")]
    UnknownNode {
        /// The node named.
        node: NodeId,
        /// What it had to be ("a learner", "a member").
        expected: &'static str,
    },
    /// The node named is a member already.
    #[error("node {0} is a member already")]
    AlreadyMember(NodeId),
    /// The new configuration's voters that hold the log up to the commit index are not a
    /// majority of it: the cluster could not commit until the others catch up.
    #[error(
        "the new configuration's voters {voters:?} would have only {caught_up:?} caught up: \
         not a quorum"
    )]
    WouldLoseQuorum {
        /// The new configuration's voters.
        voters: BTreeSet<NodeId>,
        /// Those caught up with the leader's commit index.
        caught_up: BTreeSet<NodeId>,
    },
    /// The new configuration is not valid.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] MembershipError),
    /// A leadership transfer is in progress: proposals wait until it ends (§3.10).
    #[error("a leadership transfer to node {0} is in progress")]
    TransferInProgress(NodeId),
}

impl Core {
    /// As leader, append the configuration entry that makes `change` (effective at once,
    /// §4.1) and start replicating it. Returns the entry's index and term; the change is made
    /// once that entry commits (for a joint change: the first step, after which the leader
    /// appends C_new itself).
    pub fn propose_membership(
        &mut self,
        now: Duration,
        change: MembershipChange,
    ) -> Result<(LogIndex, Term), MembershipChangeError> {
        if self.role != Role::Leader {
            return Err(MembershipChangeError::NotLeader {
                leader_hint: self.leader,
            });
        }
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        let result = self.change_membership(change);
        self.finish_input(before);
        result
    }

    fn change_membership(
        &mut self,
        change: MembershipChange,
    ) -> Result<(LogIndex, Term), MembershipChangeError> {
        if let Some(target) = self.transfer_target() {
            return Err(MembershipChangeError::TransferInProgress(target));
        }
        self.check_no_change_in_progress()?;
        let current = self.membership().clone();
        let new = target_membership(&current, change)?;
        new.validate()?;
        if !self.mutations.breaks(Mutation::ChangeBeforeOwnTermCommit) {
            self.check_keeps_quorum(&new)?;
        }
        let next = if current.voters.symmetric_difference(&new.voters).count() <= 1 {
            new
        } else {
            current.joint_to(&new)
        };
        let index = self.log.last_index() + 1;
        tracing::info!(node = self.id, index, %next, "configuration change appended");
        self.append_as_leader(vec![Payload::Membership(next)]);
        Ok((index, self.term()))
    }

    /// At most one configuration change at a time: none uncommitted, none joint, and (the
    /// errata to §4.2) an entry of this leader's term committed, so that no uncommitted
    /// change of an earlier leader can still be in anyone's log.
    fn check_no_change_in_progress(&self) -> Result<(), MembershipChangeError> {
        let in_progress = |reason: String| Err(MembershipChangeError::ChangeInProgress { reason });
        let index = self.configurations.in_effect_index();
        if index > self.commit_index {
            return in_progress(format!(
                "the configuration at index {index} is not committed"
            ));
        }
        if self.membership().is_joint() {
            return in_progress("the configuration is joint; C_new follows".into());
        }
        let committed_own_term = self.log.term(self.commit_index) == Some(self.term())
            || self.mutations.breaks(Mutation::ChangeBeforeOwnTermCommit);
        if !committed_own_term {
            return in_progress(format!(
                "no entry of term {} is committed yet (the leader's no-op is not)",
                self.term()
            ));
        }
        assert_eq!(
            self.configurations.entries_after(self.commit_index),
            0,
            "at most one uncommitted configuration entry"
        );
        Ok(())
    }

    /// The voters of `new` that hold the log through the commit index must be a quorum of
    /// `new` (learners are added for exactly this: to catch up first).
    fn check_keeps_quorum(&self, new: &Membership) -> Result<(), MembershipChangeError> {
        let caught_up: BTreeSet<NodeId> = new
            .voters
            .iter()
            .copied()
            .filter(|voter| self.match_index_of(*voter) >= self.commit_index)
            .collect();
        let probe = Membership::new(new.voters.iter().copied());
        if super::quorum::joint::is_quorum(&probe, &caught_up, self.counting()) {
            return Ok(());
        }
        Err(MembershipChangeError::WouldLoseQuorum {
            voters: new.voters.clone(),
            caught_up,
        })
    }

    /// The leader's match index for `node` (its own persisted index for itself).
    pub(super) fn match_index_of(&self, node: NodeId) -> LogIndex {
        if node == self.id {
            return self.persisted_index;
        }
        self.progress
            .get(&node)
            .map_or(0, |progress| progress.match_index)
    }

    /// After the commit index moved, as leader: a committed joint configuration is followed
    /// by C_new (§4.3); a committed configuration that does not make this node a voter makes
    /// it step down (§4.2.2).
    pub(super) fn after_commit_as_leader(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        let index = self.configurations.in_effect_index();
        if index > self.commit_index {
            return;
        }
        let membership = self.membership().clone();
        if membership.is_joint() {
            let new = membership.leave_joint();
            tracing::info!(node = self.id, %new, "C_old,new committed; appending C_new");
            return self.append_as_leader(vec![Payload::Membership(new)]);
        }
        if !membership.is_voter(self.id) {
            tracing::info!(
                node = self.id,
                "the committed configuration does not include this leader: stepping down"
            );
            self.become_follower(self.term(), None);
        }
    }
}

/// The configuration `change` moves `current` to, or why it cannot.
fn target_membership(
    current: &Membership,
    change: MembershipChange,
) -> Result<Membership, MembershipChangeError> {
    let mut new = current.clone();
    match change {
        MembershipChange::AddLearner(node) => {
            if current.contains(node) {
                return Err(MembershipChangeError::AlreadyMember(node));
            }
            new.learners.insert(node);
        }
        MembershipChange::Promote(node) => {
            if !new.learners.remove(&node) {
                return Err(MembershipChangeError::UnknownNode {
                    node,
                    expected: "a learner",
                });
            }
            new.voters.insert(node);
        }
        MembershipChange::Remove(node) => {
            if !new.voters.remove(&node) && !new.learners.remove(&node) {
                return Err(MembershipChangeError::UnknownNode {
                    node,
                    expected: "a member",
                });
            }
        }
        MembershipChange::Replace(membership) => {
            if membership.is_joint() {
                return Err(MembershipError::JointTarget.into());
            }
            new = membership;
        }
    }
    Ok(new)
}

#[cfg(test)]
mod tests;
