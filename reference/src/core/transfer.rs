//! Leadership transfer (dissertation §3.10): the leader stops taking proposals, brings the
//! target's log up to date, and sends it TimeoutNow; the target campaigns at once, skipping
//! the pre-vote. If the target has not taken over within an election timeout, the leader
//! gives up and resumes taking proposals.

use std::time::Duration;

use super::{Core, Role};
use crate::message::{Message, TimeoutNow, TimeoutNowResponse};
use crate::types::NodeId;

/// A leadership transfer in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Transfer {
    /// The node taking over.
    target: NodeId,
    /// When the leader gives up and resumes.
    deadline: Duration,
    /// True once TimeoutNow was sent.
    ordered: bool,
}

/// Why a leader refused to start a leadership transfer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// This node is not the leader.
    #[error("not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader this node knows of in its current term, if any.
        leader_hint: Option<NodeId>,
    },
    /// The target is not a voter of the configuration in effect (learners cannot lead).
    #[error("node {0} is not a voter")]
    UnknownNode(NodeId),
    /// Another transfer is in progress.
    #[error("a leadership transfer to node {0} is in progress")]
    InProgress(NodeId),
}

impl Core {
    /// As leader, hand leadership to `target` (§3.10). Proposals are refused until the
    /// transfer ends: when `target` wins an election (this node then hears its higher term
    /// and steps down) or an election timeout later, when this node resumes. Transferring to
    /// itself does nothing.
    pub fn transfer_leadership(
        &mut self,
        now: Duration,
        target: NodeId,
    ) -> Result<(), TransferError> {
        if self.role != Role::Leader {
            return Err(TransferError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(transfer) = self.transfer {
            return Err(TransferError::InProgress(transfer.target));
        }
        if target == self.id {
            return Ok(());
        }
        if !self.membership().is_voter(target) {
            return Err(TransferError::UnknownNode(target));
        }
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        tracing::info!(node = self.id, target, "leadership transfer started");
        self.transfer = Some(Transfer {
            target,
            deadline: self.now + self.config.election_timeout_max,
            ordered: false,
        });
        self.send_append(target);
        self.maybe_order_timeout_now();
        self.finish_input(before);
        Ok(())
    }

    /// The target of the leadership transfer in progress, if any.
    pub fn transfer_target(&self) -> Option<NodeId> {
        self.transfer.map(|transfer| transfer.target)
    }

    /// Once the target's log matches the leader's, order it to campaign (once).
    pub(super) fn maybe_order_timeout_now(&mut self) {
        let Some(transfer) = self.transfer else {
            return;
        };
        if transfer.ordered || self.match_index_of(transfer.target) < self.log.last_index() {
            return;
        }
        self.transfer = Some(Transfer {
            ordered: true,
            ..transfer
        });
        // §6.4.1: the target may be elected as soon as it gets the order.
        self.void_lease();
        let order = TimeoutNow {
            term: self.term(),
            leader_id: self.id,
        };
        self.send(transfer.target, Message::TimeoutNow(order));
    }

    /// At each leader tick: a transfer that has not completed in time is abandoned (§3.10).
    pub(super) fn expire_transfer(&mut self) {
        if let Some(transfer) = self.transfer
            && self.now >= transfer.deadline
        {
            tracing::info!(
                node = self.id,
                target = transfer.target,
                "leadership transfer timed out; resuming"
            );
            self.transfer = None;
        }
    }

    /// TimeoutNow from the leader of this term: campaign now, without a pre-vote (§3.10).
    /// Ignored from an older term, or by a node that is not a voter.
    pub(super) fn handle_timeout_now(&mut self, order: TimeoutNow) {
        let current = order.term == self.term() && self.role == Role::Follower;
        let campaigning = current && self.membership().is_voter(self.id);
        if campaigning {
            tracing::info!(
                node = self.id,
                from = order.leader_id,
                "TimeoutNow: campaigning"
            );
            self.campaign_now();
        }
        self.reply(Message::TimeoutNowResponse(TimeoutNowResponse {
            term: self.term(),
            campaigning,
        }));
    }
}
