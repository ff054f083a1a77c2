//! Broken variant: a key-value service whose leader answers reads from its own state machine
//! without confirming that it is still leader (no read through the log, no lease, no
//! ReadIndex). A deposed leader that has not heard of its successor serves stale values, which
//! the linearizability check must catch.

use rafty::ClientError;
use rafty::core::Role;
use rafty::kv::KvCommand;
use rafty::node::Node;
use rafty::service::CommandSubmitter;

use super::factories::SharedStateMachine;

/// Serves `Get` from the local state machine whenever the node believes it leads; everything
/// else goes through Raft as usual.
pub struct StaleReads {
    node: Node,
    state_machine: SharedStateMachine,
}

impl StaleReads {
    /// Wrap `node`, answering local reads from `state_machine`.
    pub fn new(node: Node, state_machine: SharedStateMachine) -> Self {
        StaleReads {
            node,
            state_machine,
        }
    }
}

impl CommandSubmitter for StaleReads {
    async fn submit(&self, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        if matches!(KvCommand::decode(&command), Ok(KvCommand::Get { .. }))
            && self.node.role() == Role::Leader
        {
            let state_machine = self.state_machine.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(answer) = state_machine.query(&command) {
                return Ok(answer);
            }
        }
        self.node.submit(command).await
    }
}
