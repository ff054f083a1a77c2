//! What a running node reports about itself, for tests, the harness and monitoring.

use crate::core::Role;
use crate::types::{LogIndex, NodeId, Term};

/// Something that happened inside a node. Delivered in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node's role, term or known leader changed.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The current term.
        term: Term,
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
    /// The node became leader of `term` (also reported as a `RoleChanged`).
    BecameLeader {
        /// The term it leads.
        term: Term,
    },
    /// The node's commit index advanced to `index`.
    Committed {
        /// The new commit index.
        index: LogIndex,
    },
    /// The node applied the client command at `index` (of `term`) to its state machine.
    /// No-op entries are not applied and not reported.
    Applied {
        /// The entry's index.
        index: LogIndex,
        /// The entry's term.
        term: Term,
        /// The command's bytes.
        command: Vec<u8>,
    },
    /// A snapshot of the node's own applied state through `index` is durable (Raft §7).
    SnapshotTaken {
        /// Its last included index.
        index: LogIndex,
    },
    /// The node installed a snapshot through `index` received from the leader (Figure 13):
    /// its state machine now holds the state after `index`.
    SnapshotInstalled {
        /// Its last included index.
        index: LogIndex,
    },
    /// The node's log was compacted: it now starts at `first_index`.
    LogCompacted {
        /// The log's new first index.
        first_index: LogIndex,
    },
    /// The node stopped: asked to, or fail-stopped on a storage error.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// Receives a node's [`NodeEvent`]s. Called on the node's event loop: keep it quick and never
/// block.
pub trait Observer: Send + Sync + 'static {
    /// `node` reports `event`.
    fn on_event(&self, node: NodeId, event: &NodeEvent);

    /// `node`, as leader of `term`, handed `count` client commands to its core, which gave
    /// them the indexes `first_index..first_index + count`. Called right after the core
    /// accepted them and before any of the actions that follow (its sends, its own write), so
    /// an observer that reads a clock here and again at the [`NodeEvent::Committed`] that
    /// covers an index measures the leader's commit latency of that entry, as Raft defines it.
    /// Does nothing unless implemented (`rafty bench` does; the simulation does not).
    fn on_proposed(&self, node: NodeId, first_index: LogIndex, count: u64, term: Term) {
        let _ = (node, first_index, count, term);
    }
}
