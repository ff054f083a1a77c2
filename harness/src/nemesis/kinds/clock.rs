//! `clock`: a node's clock jumps (forward or back) and drifts (fast or slow), then is set
//! right. Only lease reads (dissertation §6.4.1) depend on clocks; the jumps and drifts drawn
//! stay within what the default lease margin covers with two nodes skewed at once (see
//! [`MAX_JUMP_MS`], [`MAX_DRIFT_PPM`]), so correct lease reads survive it (a lease without its
//! margin is not yet caught under it: CATALOGUE.md). Faults beyond the bound: `clock-storm`.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::{Action, ClockDraw};
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// The largest jump drawn, either way, in ms.
pub const MAX_JUMP_MS: i64 = 8;
/// The fastest or slowest drift drawn, in parts per million (2%).
pub const MAX_DRIFT_PPM: i64 = 20_000;

/// Skew a node's clock (the leader's half the time): a jump and a drift, undone at the end.
pub struct Clock;

impl Fault for Clock {
    fn name(&self) -> &'static str {
        "clock"
    }

    fn summary(&self) -> &'static str {
        "jump a node's clock forward or back and make it run fast or slow, then set it right"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        // Adding a kind to `all` moves every recorded catalogue seed.
        false
    }

    fn skews_clocks(&self) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        let magnitude = rng.random_range(1..=MAX_JUMP_MS);
        let jump_ms = if rng.random_bool(0.5) {
            magnitude
        } else {
            -magnitude
        };
        let drift_ppm = rng.random_range(-MAX_DRIFT_PPM..=MAX_DRIFT_PPM);
        let skew = ClockDraw { jump_ms, drift_ppm };
        Plan::new(
            format!("skew n{node}'s clock ({jump_ms:+}ms, {drift_ppm:+}ppm)"),
            vec![
                (Duration::ZERO, Action::SkewClock(node, skew)),
                (draw.duration, Action::UnskewClock(node)),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn plans_skew_one_node_within_the_bounds_and_set_it_right() {
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(2),
                nodes: &[1, 2, 3],
                leader: Some(2),
                drift_bound_ppm: 0,
            };
            let plan = Clock.plan(draw, &mut rng);
            let actions: Vec<&Action> = plan.steps.iter().map(|(_, action)| action).collect();
            match actions[..] {
                [Action::SkewClock(node, skew), Action::UnskewClock(undone)] => {
                    assert_eq!(node, undone);
                    assert!(skew.jump_ms != 0 && skew.jump_ms.abs() <= MAX_JUMP_MS);
                    assert!(skew.drift_ppm.abs() <= MAX_DRIFT_PPM);
                }
                _ => panic!("unexpected plan {actions:?}"),
            }
        }
    }
}
