//! What the nemesis's unit tests drive a [`Nemesis`](super::schedule::Nemesis) with: a network
//! that records every action applied, and a cluster with no leader.

use rafty::NodeId;

use super::action::{Action, ClusterView, Network};

/// A network that records the actions applied to it, in order.
pub(crate) struct Recorder(pub(crate) Vec<Action>);

impl Network for Recorder {
    fn apply(&mut self, action: &Action) {
        self.0.push(action.clone());
    }
}

/// A cluster that never reports a leader.
pub(crate) struct NoLeader;

impl ClusterView for NoLeader {
    fn leader(&self) -> Option<NodeId> {
        None
    }
}
