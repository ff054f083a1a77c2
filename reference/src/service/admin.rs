//! The membership admin calls of a node's service (dissertation chapter 4, §3.10): add a
//! learner, promote, remove, change the configuration, transfer leadership, read the
//! configuration. Served on a node's service port under [`Protocol::Admin`], with the same
//! transport as the key-value commands; [`call_admin`] is the client side.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::{MembershipChangeError, TransferError};
use crate::membership::Membership;
use crate::node::{AdminError, Node};
use crate::tcp::{
    Acceptor, CallError, Channel, ChannelTarget, Connector, FrameHandler, Protocol, ServerHandle,
    TransportConfig, serve,
};
use crate::types::{LogIndex, NodeId};

/// One admin call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminCommand {
    /// [`Node::add_learner`].
    AddLearner(NodeId),
    /// [`Node::promote`].
    Promote(NodeId),
    /// [`Node::remove`].
    Remove(NodeId),
    /// [`Node::change_membership`].
    ChangeMembership(Membership),
    /// [`Node::transfer_leadership`].
    TransferLeadership(NodeId),
    /// [`Node::membership`].
    Membership,
}

/// A successful admin call's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAnswer {
    /// The change's configuration entry (the first, for a joint change) is at `index`, and the
    /// change is in effect and committed.
    Changed {
        /// The entry's index.
        index: LogIndex,
    },
    /// The target leads now.
    Transferred,
    /// The configuration in effect on the node asked, and its entry's index.
    Membership {
        /// The configuration.
        membership: Membership,
        /// Its entry's index.
        index: LogIndex,
    },
}

/// Why an admin call failed, as it travels on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason} ({})", if *.definite { "not done" } else { "may still take effect" })]
pub struct AdminFailure {
    /// The node's error.
    pub reason: String,
    /// True when the call certainly did not and will not take effect.
    pub definite: bool,
    /// The leader to ask instead, when the node asked is not the leader.
    pub leader_hint: Option<NodeId>,
}

/// The answer to an [`AdminCommand`].
pub type AdminReply = Result<AdminAnswer, AdminFailure>;

impl From<AdminError> for AdminFailure {
    fn from(error: AdminError) -> Self {
        let leader_hint = match &error {
            AdminError::Membership(MembershipChangeError::NotLeader { leader_hint })
            | AdminError::Transfer(TransferError::NotLeader { leader_hint }) => *leader_hint,
            _ => None,
        };
        let definite = matches!(error, AdminError::Membership(_) | AdminError::Transfer(_));
        AdminFailure {
            reason: error.to_string(),
            definite,
            leader_hint,
        }
    }
}

/// Answers [`AdminCommand`]s with a node.
pub struct AdminService {
    node: Node,
}

impl AdminService {
    /// Serve admin calls with `node`.
    pub fn new(node: Node) -> Self {
        AdminService { node }
    }

    async fn execute(&self, command: AdminCommand) -> Result<AdminAnswer, AdminError> {
        let changed = |index| AdminAnswer::Changed { index };
        Ok(match command {
            AdminCommand::AddLearner(id) => changed(self.node.add_learner(id).await?),
            AdminCommand::Promote(id) => changed(self.node.promote(id).await?),
            AdminCommand::Remove(id) => changed(self.node.remove(id).await?),
            AdminCommand::ChangeMembership(membership) => {
                changed(self.node.change_membership(membership).await?)
            }
            AdminCommand::TransferLeadership(to) => {
                self.node.transfer_leadership(to).await?;
                AdminAnswer::Transferred
            }
            AdminCommand::Membership => {
                let (membership, index) = self.node.membership();
                AdminAnswer::Membership { membership, index }
            }
        })
    }
}

impl FrameHandler for AdminService {
    type Request = AdminCommand;
    type Response = AdminReply;
    const PROTOCOL: Protocol = Protocol::Admin;

    async fn handle(&self, command: AdminCommand) -> AdminReply {
        self.execute(command).await.map_err(AdminFailure::from)
    }
}

/// Serve node `node_id`'s admin calls on the connections `acceptor` yields.
pub fn serve_admin<A: Acceptor>(
    acceptor: A,
    node: Node,
    node_id: NodeId,
    config: TransportConfig,
) -> ServerHandle {
    serve(
        acceptor,
        std::sync::Arc::new(AdminService::new(node)),
        node_id,
        config,
    )
}

/// Make one admin call to node `node` at `addr` (its admin port), bounded by `timeout`.
pub async fn call_admin<C: Connector>(
    connector: C,
    node: NodeId,
    addr: String,
    config: TransportConfig,
    command: AdminCommand,
    timeout: Duration,
) -> Result<AdminReply, CallError> {
    let target = ChannelTarget {
        addr,
        protocol: Protocol::Admin,
        from: None,
        to: Some(node),
    };
    let channel: Channel<C, AdminCommand, AdminReply> = Channel::new(connector, target, config);
    let reply = channel.call(command, timeout).await;
    channel.disconnect().await;
    reply
}
