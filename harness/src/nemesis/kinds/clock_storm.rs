//! `clock-storm`: clock faults far beyond any lease's drift bound, aimed where they break a
//! lease: the leader's clock jumps back by one to four maximum election timeouts and runs
//! 10-50% slow, and the leader is cut off from the other nodes (clients still reach it), so
//! they elect a new leader while the old one's clock says its lease still holds. Set right and
//! healed at its end.
//!
//! Lease reads (dissertation §6.4.1) are only as safe as the bound on clock drift they assume:
//! this kind is the proof that the bound is real (a run with `--reads lease` under it serves
//! stale reads; `--reads index`, which trusts no clock, stays linearizable under the same
//! faults). Not in `all`, and not for a run that wants to pass with lease reads on.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::{Action, ClockDraw};
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::partition::{self, Shape};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// The largest election timeout the harness draws, in ms: jumps are multiples of it.
const ELECTION_TIMEOUT_MAX_MS: i64 = 300;

/// Jump the leader's clock back far beyond any lease margin, slow it, and isolate it.
pub struct ClockStorm;

impl Fault for ClockStorm {
    fn name(&self) -> &'static str {
        "clock-storm"
    }

    fn summary(&self) -> &'static str {
        "beyond any lease's drift bound: the leader's clock jumps back 1-4 election timeouts and \
         runs slow while it is cut off from the other nodes (breaks lease reads: shows the \
         bound is real)"
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
        let jump_ms = -rng.random_range(ELECTION_TIMEOUT_MAX_MS..=4 * ELECTION_TIMEOUT_MAX_MS);
        let drift_ppm = -rng.random_range(100_000..=500_000);
        let skew = ClockDraw { jump_ms, drift_ppm };
        let grudge = partition::grudge(Shape::IsolateLeader, draw.nodes, Some(leader), rng);
        let isolate = Action::Partition(grudge.clone());
        Plan::new(
            format!("storm n{leader}'s clock ({jump_ms:+}ms, {drift_ppm:+}ppm), {isolate}"),
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

    #[test]
    fn a_storm_skews_and_isolates_the_leader_beyond_the_bound_then_sets_it_right() {
        let nodes = [1, 2, 3, 4, 5];
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(2),
                nodes: &nodes,
                leader: Some(3),
                drift_bound_ppm: 0,
            };
            let plan = ClockStorm.plan(draw, &mut rng);
            let actions: Vec<&Action> = plan.steps.iter().map(|(_, a)| a).collect();
            let [
                Action::SkewClock(3, skew),
                Action::Partition(cut),
                Action::Repair(healed),
                Action::UnskewClock(3),
            ] = actions.as_slice()
            else {
                panic!("seed {seed}: {actions:?}");
            };
            assert!(skew.jump_ms <= -ELECTION_TIMEOUT_MAX_MS, "{skew:?}");
            assert!(skew.drift_ppm <= -100_000, "{skew:?}");
            assert_eq!(cut, healed);
            let mut cut_off: Vec<(u64, u64)> = cut.cut.clone();
            cut_off.sort_unstable();
            let expected: Vec<(u64, u64)> = [(3, 1), (3, 2), (3, 4), (3, 5)]
                .into_iter()
                .flat_map(|(a, b)| [(a, b), (b, a)])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(cut_off, expected, "seed {seed}: the leader is cut off both ways");
        }
    }
}
