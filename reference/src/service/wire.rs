//! What travels between [`super::KvClient`] and [`super::KvService`] after the handshake.

use serde::{Deserialize, Serialize};

use crate::client::ClientError;
use crate::kv::KvResponse;
use crate::types::NodeId;

/// The answer to a [`crate::kv::KvCommand`]: the state machine's response, or why there is none.
pub type KvReply = Result<KvResponse, ServiceError>;

/// Why a node gave no state machine response to a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ServiceError {
    /// Definite: the node is not the leader and did not append the command.
    #[error("node is not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader the node knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// Raft gave no answer; `definite` says whether the command certainly did not take effect.
    #[error("command failed ({}): {reason}", if *.definite { "not applied" } else { "may have been applied" })]
    Failed {
        /// The node's error.
        reason: String,
        /// True when the command certainly did not and will not take effect.
        definite: bool,
    },
    /// Indefinite: the command was applied but its response is not a [`KvResponse`] (the node
    /// runs another state machine).
    #[error("the state machine's response is not a key-value response: {reason}")]
    BadResponse {
        /// The decoder's complaint.
        reason: String,
    },
}

impl ServiceError {
    /// True when the command certainly did not and will not take effect.
    pub fn is_definite(&self) -> bool {
        match self {
            ServiceError::NotLeader { .. } => true,
            ServiceError::Failed { definite, .. } => *definite,
            ServiceError::BadResponse { .. } => false,
        }
    }
}

impl From<ClientError> for ServiceError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::NotLeader { leader_hint } => ServiceError::NotLeader { leader_hint },
            error => ServiceError::Failed {
                definite: error.is_definite(),
                reason: error.to_string(),
            },
        }
    }
}
