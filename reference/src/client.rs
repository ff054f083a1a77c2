//! What a client command can end in, besides its state machine response.

use crate::types::NodeId;

/// Why a client command did not return a response. Each variant says whether the command may
/// still take effect, which a caller must know to record an honest history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Definite: the command was not appended and will never apply. Retry at `leader_hint`.
    #[error("not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader this node knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// Indefinite: the command may have been appended and may apply later, or never.
    #[error("command timed out; it may or may not have been applied")]
    Timeout,
    /// Indefinite if the command had been accepted: the node stopped before answering.
    #[error("node is shut down")]
    Shutdown,
}

impl ClientError {
    /// True when the command certainly did not and will not take effect.
    pub fn is_definite(&self) -> bool {
        matches!(self, ClientError::NotLeader { .. })
    }
}
