//! The `StateMachine` trait (Rafty's `IFiniteStateMachine`): what the log replicates.

use std::io;

use crate::snapshot::SnapshotSource;
use crate::types::LogIndex;

/// The application's state, changed only by committed commands, in log order.
///
/// # Contract
///
/// * `apply` is called exactly once per committed command, in index order, on every node.
/// * It must be **deterministic**: the same commands in the same order give the same responses
///   and the same state on every node. No clocks, no randomness, no iteration over hash maps.
/// * A command the state machine cannot decode must still produce a response (an error value of
///   the application's choosing), never a panic: the command is already committed.
/// * The state machine is rebuilt on restart from the node's latest snapshot (if any) and by
///   re-applying the log after it, so `apply` need not persist anything itself.
///
/// # Snapshots (Raft §7)
///
/// * [`StateMachine::snapshot`] returns a frozen copy of the state after the last applied
///   command; it runs on the node's event loop, so it must be cheap (clone or copy-on-write);
///   the copy writes itself out later, away from the loop. The bytes it writes must contain
///   everything `apply` and `query` depend on, and must be a deterministic function of the
///   applied commands: two nodes that applied the same commands write the same bytes.
/// * [`StateMachine::restore`] replaces the whole state with a snapshot's; afterwards the
///   state machine behaves exactly as one that applied every command the snapshot covers.
/// * A state machine that returns `None` from `snapshot` (the default) keeps the node from
///   compacting its log; it still works, with a log that grows without bound.
pub trait StateMachine: Send + 'static {
    /// Apply the committed command at `index` and return the response for its client.
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8>;

    /// Answer a read-only query against the local state without going through the log. The
    /// answer may be stale: linearizable reads go through [`StateMachine::apply`] as commands.
    /// Returns `None` when the state machine does not support local queries.
    fn query(&self, _query: &[u8]) -> Option<Vec<u8>> {
        None
    }

    /// A frozen copy of the current state (after the last applied command), to be written out
    /// as a snapshot away from the event loop; `None` when snapshots are not supported.
    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        None
    }

    /// Replace the whole state with the one `data` holds (written by a [`SnapshotSource`] of
    /// this kind of state machine), which covers every command up to `last_included_index`.
    /// Malformed data is an `Err` (the node then refuses the snapshot), never a panic.
    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        let _ = (last_included_index, data);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this state machine does not restore snapshots",
        ))
    }
}

impl<S: StateMachine + ?Sized> StateMachine for Box<S> {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        (**self).apply(index, command)
    }
    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        (**self).query(query)
    }
    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        (**self).snapshot()
    }
    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        (**self).restore(last_included_index, data)
    }
}
