//! The node's membership API (dissertation chapter 4, §3.10): add a learner, promote it,
//! remove a member, move to a new configuration, transfer leadership, and read the
//! configuration in effect. Each call goes to the event loop, whose core decides; a change
//! then waits until its entry is applied (and, for a joint change, until C_new is committed).

use std::time::Duration;

use tokio::sync::oneshot;

use super::handle::Node;
use crate::client::ClientError;
use crate::core::{MembershipChange, MembershipChangeError, TransferError};
use crate::membership::Membership;
use crate::types::{LogIndex, NodeId};

/// A membership call on its way to the event loop.
pub(super) enum AdminRequest {
    /// Propose a configuration change; `accepted` hears the core's answer, `applied` the
    /// entry's fate.
    Change {
        change: MembershipChange,
        accepted: oneshot::Sender<Result<LogIndex, MembershipChangeError>>,
        applied: oneshot::Sender<Result<Vec<u8>, ClientError>>,
    },
    /// Start a leadership transfer.
    Transfer {
        to: NodeId,
        accepted: oneshot::Sender<Result<(), TransferError>>,
    },
}

/// Why a membership call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The leader refused the change (definite: nothing was appended), or its entry was
    /// overwritten by a later leader's ([`MembershipChangeError::NotLeader`]: not applied).
    #[error(transparent)]
    Membership(#[from] MembershipChangeError),
    /// The leader refused the transfer (definite).
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// No outcome in time: the change may still take effect, or the transfer may still
    /// complete (indefinite).
    #[error("no outcome within {0:?}: it may still take effect")]
    Timeout(Duration),
    /// The node stopped (indefinite).
    #[error("the node stopped")]
    Shutdown,
}

impl Node {
    /// Add `node` as a learner (§4.2.1): it receives the log (by snapshot if it is far
    /// behind) but does not vote. Returns once the configuration entry is applied here.
    pub async fn add_learner(&self, node: NodeId) -> Result<LogIndex, AdminError> {
        self.change(MembershipChange::AddLearner(node)).await
    }

    /// Make learner `node` a voter (§4.2). Refused with
    /// [`MembershipChangeError::WouldLoseQuorum`] while the new voters that are caught up
    /// would not be a majority.
    pub async fn promote(&self, node: NodeId) -> Result<LogIndex, AdminError> {
        self.change(MembershipChange::Promote(node)).await
    }

    /// Remove voter or learner `node` (§4.2). The leader may remove itself: it steps down
    /// once the new configuration commits (§4.2.2).
    pub async fn remove(&self, node: NodeId) -> Result<LogIndex, AdminError> {
        self.change(MembershipChange::Remove(node)).await
    }

    /// Move to `membership` (not joint): directly if at most one voter changes, else through
    /// C_old,new (§4.3). Returns once the target configuration is committed (the index of
    /// the entry the call appended).
    pub async fn change_membership(&self, membership: Membership) -> Result<LogIndex, AdminError> {
        self.change(MembershipChange::Replace(membership)).await
    }

    /// The configuration in effect on this node (the latest in its log, §4.1) and the index
    /// of the entry holding it.
    pub fn membership(&self) -> (Membership, LogIndex) {
        self.published_membership()
    }

    /// Hand leadership to voter `to` (§3.10) and wait until this node sees `to` lead. The
    /// leader refuses proposals meanwhile; if `to` has not taken over within an election
    /// timeout the leader resumes and the call ends with [`AdminError::Timeout`].
    pub async fn transfer_leadership(&self, to: NodeId) -> Result<(), AdminError> {
        let (accepted, answer) = oneshot::channel();
        self.send_admin(AdminRequest::Transfer { to, accepted })
            .await?;
        answer.await.map_err(|_| AdminError::Shutdown)??;
        let settings = self.settings();
        let limit = settings.election_timeout_max() * 2;
        let step = settings.heartbeat_interval();
        let waited = tokio::time::timeout(limit, async {
            while self.status().leader != Some(to) {
                tokio::time::sleep(step).await;
            }
        });
        waited.await.map_err(|_| AdminError::Timeout(limit))
    }

    async fn change(&self, change: MembershipChange) -> Result<LogIndex, AdminError> {
        let limit = self.settings().command_timeout();
        let step = self.settings().heartbeat_interval();
        let outcome = tokio::time::timeout(limit, async {
            let (accepted, answer) = oneshot::channel();
            let (applied, outcome) = oneshot::channel();
            let request = AdminRequest::Change {
                change,
                accepted,
                applied,
            };
            self.send_admin(request).await?;
            let index = answer.await.map_err(|_| AdminError::Shutdown)??;
            match outcome.await.map_err(|_| AdminError::Shutdown)? {
                Ok(_) => {}
                Err(ClientError::NotLeader { leader_hint }) => {
                    return Err(MembershipChangeError::NotLeader { leader_hint }.into());
                }
                Err(ClientError::Shutdown) => return Err(AdminError::Shutdown),
                Err(ClientError::Timeout) => return Err(AdminError::Timeout(limit)),
                Err(ClientError::QueryUnsupported) => {
                    unreachable!("a configuration entry's waiter is never answered a query error")
                }
            }
            // A joint step: C_new follows; wait until this node holds it committed.
            while self.membership().0.is_joint() || self.membership().1 > self.commit_index() {
                tokio::time::sleep(step).await;
            }
            Ok(index)
        });
        outcome.await.unwrap_or(Err(AdminError::Timeout(limit)))
    }

    fn commit_index(&self) -> LogIndex {
        self.status().commit_index
    }
}
