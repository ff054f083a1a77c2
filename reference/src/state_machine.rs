//! The `StateMachine` trait (Rafty's `IFiniteStateMachine`): what the log replicates.

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
/// * The state machine is rebuilt on restart by re-applying the log from index 1 (there are no
///   snapshots yet), so `apply` need not persist anything itself.
pub trait StateMachine: Send + 'static {
    /// Apply the committed command at `index` and return the response for its client.
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8>;

    /// Answer a read-only query against the local state without going through the log. The
    /// answer may be stale: linearizable reads go through [`StateMachine::apply`] as commands.
    /// Returns `None` when the state machine does not support local queries.
    fn query(&self, _query: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

impl<S: StateMachine + ?Sized> StateMachine for Box<S> {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        (**self).apply(index, command)
    }
    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        (**self).query(query)
    }
}
