//! What a client command can end in, besides its state machine response.

use serde::{Deserialize, Serialize};

use crate::types::NodeId;

/// How a read is made consistent, chosen per request (dissertation §6.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReadConsistency {
    /// Linearizable through ReadIndex (§6.4): the leader confirms it still leads with a round
    /// of heartbeats (shared by the reads that arrived before it) and serves at its commit
    /// index, with no log write. The default: as safe as a read through the log, at a
    /// fraction of its cost.
    #[default]
    Linearizable,
    /// Linearizable through the log: the read is a command, appended, replicated and
    /// applied like a write (a disk write and a replication round per batch of reads).
    Log,
    /// A lease read (§6.4.1): the leader serves with no round trip while its lease holds,
    /// falling back to ReadIndex otherwise (and always when `lease_read_margin` is off).
    /// Linearizable only while clocks drift within the configured margin.
    Lease,
    /// The node's local state, whatever its role: possibly stale, never linearizable.
    Stale,
}

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
    /// Definite: the state machine answers no queries outside the log
    /// ([`crate::StateMachine::query`] returned `None`); read through the log instead.
    #[error("the state machine does not answer queries outside the log")]
    QueryUnsupported,
}

impl ClientError {
    /// True when the command certainly did not and will not take effect.
    pub fn is_definite(&self) -> bool {
        matches!(
            self,
            ClientError::NotLeader { .. } | ClientError::QueryUnsupported
        )
    }
}
