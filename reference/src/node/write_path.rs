//! The spans of a client write's path through the leader, at debug level (`RUST_LOG=rafty=debug`
//! shows one write end to end). The core is sans-IO, so one write is followed by its entry's
//! index: `submit` (the caller's span, `Node::submit`) holds the loop's `proposed` event naming
//! the index and term, then its `replied` event; `append` spans name the first and last index
//! of each batch the log appends; `replicate` spans name the peer and the indexes of each
//! AppendEntries sent, and hold its `answered` event; `applied` events name each index applied.
//! A command a follower forwards starts again on the leader at a `submit` span of its own
//! (`forwarded = true`): spans do not cross nodes, the index does.
//! Disabled, each costs a check of its callsite's interest and builds nothing.

use tracing::Span;

use crate::message::Message;
use crate::types::{Entry, NodeId};

/// The span of one log append: the batch's first and last index.
pub(super) fn append_span(node: NodeId, entries: &[Entry]) -> Span {
    tracing::debug_span!(
        "append",
        node,
        first = entries.first().map_or(0, |entry| entry.index),
        last = entries.last().map_or(0, |entry| entry.index),
    )
}

/// The span of one call to `to`; for AppendEntries (a replication round) the indexes it
/// carries, else none.
pub(super) fn replicate_span(node: NodeId, to: NodeId, request: &Message) -> Span {
    match request {
        Message::AppendEntries(append) => tracing::debug_span!(
            "replicate",
            node,
            to,
            prev_index = append.prev_log_index,
            first = append.entries.first().map_or(0, |entry| entry.index),
            last = append.entries.last().map_or(0, |entry| entry.index),
            commit = append.leader_commit,
        ),
        _ => Span::none(),
    }
}
