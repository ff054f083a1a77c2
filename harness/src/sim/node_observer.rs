//! Turns the node's [`rafty::node::Observer`] events into invariant-checker observations.

use rafty::NodeId;
use rafty::core::Role;
use rafty::node::{NodeEvent, Observer};

use crate::checks::invariants::Observation;

use super::observe::Observations;

/// Forwards node events to the run's [`Observations`]. Applies are observed by
/// [`super::factories::ObservedStateMachine`] instead, so that they are seen whatever node
/// implementation runs.
pub struct NodeObserver {
    observations: Observations,
}

impl NodeObserver {
    /// Forward to `observations`.
    pub fn new(observations: Observations) -> Self {
        NodeObserver { observations }
    }
}

impl Observer for NodeObserver {
    fn on_event(&self, node: NodeId, event: &NodeEvent) {
        let observation = match event {
            NodeEvent::BecameLeader { term } => Observation::BecameLeader { term: *term },
            NodeEvent::Committed { index } => Observation::Committed { index: *index },
            NodeEvent::RoleChanged { role, term, leader } => {
                self.observations.note(
                    node,
                    &format!("role {role:?} term {term} leader {leader:?}"),
                );
                if *role == Role::Leader {
                    return;
                }
                Observation::LostLeadership
            }
            NodeEvent::Applied { .. } => return,
            NodeEvent::SnapshotTaken { index } => {
                return self
                    .observations
                    .note(node, &format!("snapshot taken through index {index}"));
            }
            NodeEvent::SnapshotInstalled { index } => {
                return self
                    .observations
                    .note(node, &format!("snapshot installed through index {index}"));
            }
            NodeEvent::LogCompacted { first_index } => {
                return self
                    .observations
                    .note(node, &format!("log compacted: it starts at {first_index}"));
            }
            NodeEvent::Stopped { reason } => {
                self.observations.note(node, &format!("stopped: {reason}"));
                // rafty reports a panic of its event loop as "event loop panicked: <message>".
                if reason.contains("panicked") {
                    Observation::Panicked {
                        message: reason.clone(),
                    }
                } else {
                    Observation::Stopped
                }
            }
        };
        self.observations.observe(node, observation);
    }
}
