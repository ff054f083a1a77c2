//! A fault planned from its start: what it does, to whom, and when it undoes it.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;

use super::action::Action;
use super::kind::{Draw, FaultKind};

/// A fault planned from its start: timed actions (offsets from the start, in order) and a
/// one-line description for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What the fault does, for the history and reports.
    pub description: String,
    /// Actions and their offsets from the fault's start, sorted by offset (stably: actions at
    /// one offset are taken in the order given).
    pub steps: Vec<(Duration, Action)>,
}

impl Plan {
    /// A plan of `steps`, sorted by offset.
    pub fn new(description: String, mut steps: Vec<(Duration, Action)>) -> Plan {
        steps.sort_by_key(|(offset, _)| *offset);
        Plan { description, steps }
    }
}

impl FaultKind {
    /// Draw one fault of this kind from `rng` (see [`super::kind::Fault::plan`]).
    pub fn plan(self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let plan = self.fault().plan(draw, rng);
        let sorted = plan.steps.windows(2).all(|pair| pair[0].0 <= pair[1].0);
        assert!(sorted, "{self}'s plan is not sorted by offset: {plan:?}");
        plan
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::nemesis::kind::Claim;
    use rafty::NodeId;

    /// Every kind's plans leave the cluster as they found it: each action with an inverse is
    /// undone by a later step; a node kind acts only on the nodes it was given.
    #[test]
    fn every_plan_undoes_what_it_does_on_the_nodes_it_was_given() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        let free: Vec<NodeId> = vec![2, 4, 5];
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for kind in FaultKind::every() {
                let claim = kind.fault().claim();
                let targets = if claim == Claim::Nodes { &free } else { &nodes };
                let leader = Some(4);
                let draw = Draw {
                    duration: Duration::from_secs(2),
                    nodes: targets,
                    leader,
                    drift_bound_ppm: 0,
                };
                let plan = kind.plan(draw, &mut rng);
                let mut in_effect: Vec<Action> = Vec::new();
                for (_, action) in plan.steps.iter().filter(|(_, a)| !a.is_lasting()) {
                    if claim == Claim::Nodes {
                        let node = action.node().expect("a node fault acts on nodes");
                        assert!(free.contains(&node), "{kind}: {action} on a claimed node");
                    }
                    match action.inverse() {
                        Some(_) => in_effect.push(action.clone()),
                        None => {
                            let index = in_effect
                                .iter()
                                .position(|done| done.inverse().as_ref() == Some(action))
                                .unwrap_or_else(|| panic!("{action} undoes nothing in {plan:?}"));
                            in_effect.remove(index);
                        }
                    }
                }
                assert!(
                    in_effect.is_empty(),
                    "{kind}: {plan:?} leaves {in_effect:?}"
                );
            }
        }
    }
}
