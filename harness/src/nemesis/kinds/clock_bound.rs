//! `clock-bound`: the leader's clock runs slow, as far as the lease reads' drift bound
//! allows and no further, while the leader is cut off from the other nodes (clients still
//! reach it); set right and healed at its end. A lease (dissertation §6.4.1) holds for the
//! minimum election timeout less a margin, the bound on how far clocks may drift within one
//! lease; the run's margin (`--lease-margin-percent`, reaching the fault as
//! [`Draw::drift_bound_ppm`]) is that bound, and the drift is drawn from half of it to all
//! of it.
//!
//! Within the bound a correct lease stays safe: a leader slow by the whole bound ends its
//! lease at the minimum election timeout in true time, before the followers that heard its
//! round may elect another (one clock skewed at a time: the kind may not overlap). A lease
//! without its margin outlives that by a quarter of the election timeout at a 20% bound,
//! and serves stale reads when a successor commits a write meanwhile. Beyond the bound:
//! `clock-storm`.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::{Action, ClockDraw};
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::partition::{self, Shape};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// Slow the leader's clock within the lease's drift bound, and isolate it.
pub struct ClockBound;

impl Fault for ClockBound {
    fn name(&self) -> &'static str {
        "clock-bound"
    }

    fn summary(&self) -> &'static str {
        "within the lease's drift bound: the leader's clock runs slow by half the bound to all \
         of it (--lease-margin-percent of the election timeout) while it is cut off from the \
         other nodes (a correct lease survives it)"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn overlaps(&self) -> bool {
        // It claims the links, yet skews the leader's clock, which a node fault may hold.
        false
    }

    fn skews_clocks(&self) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let leader = draw.leader.unwrap_or_else(|| leader_or_pick(&draw, rng));
        let bound = draw.drift_bound_ppm.max(0);
        let drift_ppm = -rng.random_range(bound / 2..=bound);
        let skew = ClockDraw {
            jump_ms: 0,
            drift_ppm,
        };
        let grudge = partition::grudge(Shape::IsolateLeader, draw.nodes, Some(leader), rng);
        let isolate = Action::Partition(grudge.clone());
        Plan::new(
            format!("drift n{leader}'s clock {drift_ppm:+}ppm (bound {bound}ppm), {isolate}"),
            vec![
                (Duration::ZERO, Action::SkewClock(leader, skew)),
                (Duration::ZERO, isolate),
                (draw.duration, Action::Repair(grudge)),
                (draw.duration, Action::UnskewClock(leader)),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// The leader's clock runs slow by half the bound to the bound while it is isolated, and
    /// both are undone at the end; without lease reads (bound 0) nothing drifts.
    #[test]
    fn plans_slow_the_isolated_leaders_clock_within_the_bound_and_undo_it() {
        for seed in 0..50 {
            for bound in [200_000, 0] {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let draw = Draw {
                    duration: Duration::from_secs(2),
                    nodes: &[1, 2, 3, 4, 5],
                    leader: Some(2),
                    drift_bound_ppm: bound,
                };
                let plan = ClockBound.plan(draw, &mut rng);
                let actions: Vec<&Action> = plan.steps.iter().map(|(_, action)| action).collect();
                let [
                    Action::SkewClock(2, skew),
                    Action::Partition(cut),
                    Action::Repair(repaired),
                    Action::UnskewClock(2),
                ] = actions[..]
                else {
                    panic!("unexpected plan {actions:?}");
                };
                assert_eq!(cut, repaired);
                assert!(cut.cut.iter().all(|(a, b)| *a == 2 || *b == 2), "{cut:?}");
                assert_eq!(skew.jump_ms, 0);
                assert!(-skew.drift_ppm <= bound && -skew.drift_ppm >= bound / 2, "{skew:?}");
            }
        }
    }
}
