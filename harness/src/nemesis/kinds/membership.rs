//! `membership`: configuration changes and leadership transfers at random moments, asked of
//! the current leader through the node's admin API (dissertation chapter 4, §3.10).

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::{Action, MembershipOp};
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

/// Change the cluster's configuration through its leader: add a spare (or removed) node as a
/// learner and promote it later, remove a voter, add a learner and later replace a voter by it
/// (joint consensus), or transfer leadership (once, at the start and again at the end, or
/// followed at once by a replacement that the new leader takes as soon as it leads). The run starts spare hosts
/// outside the initial configuration for it; a removed node keeps running with its data.
pub struct Membership;

impl Fault for Membership {
    fn name(&self) -> &'static str {
        "membership"
    }

    fn summary(&self) -> &'static str {
        "through the leader's admin API: add a spare node as a learner then promote it or \
         replace a voter by it (joint consensus), remove a voter, or transfer leadership (alone, \
         or right before a replacement) (two spare hosts join the run)"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn claim(&self) -> Claim {
        Claim::Membership
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let choice = rng.random_range(0..6);
        let mut op = |op: MembershipOp| Action::Membership(op, rng.random());
        let (description, steps) = match choice {
            0 => (
                "add a learner, promote it",
                vec![
                    (Duration::ZERO, op(MembershipOp::AddLearner)),
                    (draw.duration, op(MembershipOp::Promote)),
                ],
            ),
            1 => (
                "remove a voter",
                vec![(Duration::ZERO, op(MembershipOp::Remove))],
            ),
            // The way a machine is replaced: the new one joins as a learner, catches up, then
            // takes a voter's place in one joint change.
            2 => (
                "add a learner, replace a voter by it",
                vec![
                    (Duration::ZERO, op(MembershipOp::AddLearner)),
                    (draw.duration, op(MembershipOp::Replace)),
                ],
            ),
            3 => (
                "transfer leadership",
                vec![(Duration::ZERO, op(MembershipOp::Transfer))],
            ),
            4 => (
                "transfer leadership twice",
                vec![
                    (Duration::ZERO, op(MembershipOp::Transfer)),
                    (draw.duration, op(MembershipOp::Transfer)),
                ],
            ),
            // The change waits for the new leader, which takes it as soon as it leads.
            _ => (
                "transfer leadership, then replace a voter",
                vec![
                    (Duration::ZERO, op(MembershipOp::Transfer)),
                    (Duration::ZERO, op(MembershipOp::Replace)),
                ],
            ),
        };
        Plan::new(description.to_owned(), steps)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// Every plan only asks membership ops of the leader (no node claimed, nothing to undo),
    /// and the seed's draws reach every op.
    #[test]
    fn plans_ask_the_leader_for_every_op_and_touch_no_node() {
        let nodes = [1, 2, 3, 4, 5, 6, 7];
        let mut seen = Vec::new();
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(2),
                nodes: &nodes,
                leader: Some(1),
                drift_bound_ppm: 0,
            };
            let plan = Membership.plan(draw, &mut rng);
            assert!(!plan.steps.is_empty());
            for (_, action) in &plan.steps {
                let Action::Membership(op, _) = action else {
                    panic!("seed {seed}: {action} is not a membership op");
                };
                assert_eq!(action.node(), None);
                assert_eq!(action.inverse(), None);
                if !seen.contains(op) {
                    seen.push(*op);
                }
            }
        }
        assert_eq!(seen.len(), 5, "ops drawn: {seen:?}");
    }
}
