//! The vocabulary of the Raft paper: terms, indices, node ids, entries and hard state.

use serde::{Deserialize, Serialize};

/// A Raft term (§5.1). Term 0 is the term of the empty-log sentinel; real terms start at 1.
/// Terms never wrap: a node whose term is `Term::MAX` (a peer may send it) refuses to campaign,
/// since there is no next term, and waits as a follower of that term.
pub type Term = u64;

/// A position in the replicated log (§5.3). Indices start at 1; index 0 is the empty-log sentinel.
pub type LogIndex = u64;

/// The identity of a node in the cluster. Unique within a cluster; 0 is a valid id.
pub type NodeId = u64;

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Payload {
    /// The no-op a new leader appends at the start of its term (§8), so that entries of earlier
    /// terms become committed once it commits. Never given to the state machine.
    Noop,
    /// A client command, opaque to Raft, handed to [`crate::StateMachine::apply`] once committed.
    Command(Vec<u8>),
    /// A configuration (dissertation chapter 4), in effect on a node from the moment the entry
    /// is in its log. Never given to the state machine. Added after the first two variants:
    /// postcard numbers variants in order, so logs and messages written before it still decode.
    Membership(crate::membership::Membership),
}

impl Payload {
    /// The number of bytes the payload carries (0 for a no-op); used for batching limits.
    pub fn len_bytes(&self) -> usize {
        match self {
            Payload::Noop => 0,
            Payload::Command(bytes) => bytes.len(),
            Payload::Membership(membership) => membership.size_bytes(),
        }
    }
}

/// One entry of the replicated log: the term in which a leader created it, its index, and what
/// it carries (§5.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that created the entry.
    pub term: Term,
    /// The entry's position in the log, starting at 1.
    pub index: LogIndex,
    /// The entry's content.
    pub payload: Payload,
}

impl Entry {
    /// An approximate encoded size, used to honour `max_append_entries_bytes`.
    pub fn size_bytes(&self) -> usize {
        // term + index + tag + payload
        8 + 8 + 1 + self.payload.len_bytes()
    }
}

/// The state a node must persist before answering any RPC (Figure 2, "Persistent state on all
/// servers"): the latest term it has seen and whom it voted for in that term.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen; starts at 0 and never decreases.
    pub current_term: Term,
    /// The candidate that received this node's vote in `current_term`, if any.
    pub voted_for: Option<NodeId>,
}
