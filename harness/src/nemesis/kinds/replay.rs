//! `replay`: the network delivers some nodes' Raft messages late and again, as Raft's model
//! allows (§5.1: messages may be delayed, duplicated and reordered): what the other kinds'
//! network never does, since it only delays within a latency bound and drops.

use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use crate::nemesis::action::{Action, ReplayDraw};
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// The chance per request that it or its answer is held back, in percent.
const HOLD_PERCENT: std::ops::RangeInclusive<u8> = 30..=90;
/// The chance per request that a recorded request is delivered again, in percent.
const REPEAT_PERCENT: std::ops::RangeInclusive<u8> = 2..=20;
/// How long the leader is paused, when it is, so that the replayed nodes elect another.
const PAUSE_MS: std::ops::RangeInclusive<u64> = 150..=800;

/// For one node to all of them (the leader half the time among them): of the requests they send
/// (votes and pre-votes, AppendEntries, InstallSnapshot chunks), some, or their answers, are
/// held back up to the call's deadline, and some recorded ones (the network records what every
/// node sends, in small rings, even before the fault) are delivered again 50 ms to 2 s later,
/// their answers lost (see [`crate::sim::replay`]). When the leader is among them, it is also
/// paused a moment early in the fault, so that the others hold an election
/// while their votes travel late: a granted vote can then reach a candidate after it moved on
/// to a later term.
pub struct Replay;

impl Fault for Replay {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn summary(&self) -> &'static str {
        "deliver the Raft requests of some nodes, or their answers, late (by the call's \
         deadline), and deliver requests they sent before again 50 ms to 2 s later; pause the \
         leader among them a moment, so that they elect another meanwhile"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let mut targets = vec![leader_or_pick(&draw, rng)];
        let mut others: Vec<NodeId> = draw
            .nodes
            .iter()
            .copied()
            .filter(|node| !targets.contains(node))
            .collect();
        others.shuffle(rng);
        let count = rng.random_range(1..=draw.nodes.len());
        targets.extend(others.into_iter().take(count - 1));
        let mut steps = Vec::new();
        let mut parts = Vec::new();
        for &node in &targets {
            let replay = ReplayDraw {
                seed: rng.random(),
                hold_percent: rng.random_range(HOLD_PERCENT),
                repeat_percent: rng.random_range(REPEAT_PERCENT),
                hold_entries_ms: 0,
                cut_after_heartbeats: 0,
            };
            parts.push(format!(
                "n{node} (hold {}%, again {}%)",
                replay.hold_percent, replay.repeat_percent
            ));
            steps.push((Duration::ZERO, Action::Replay(node, replay)));
            steps.push((draw.duration, Action::Unreplay(node)));
        }
        let leader = draw.leader.filter(|leader| targets.contains(leader));
        if let Some(leader) = leader {
            let at = draw.duration.mul_f64(rng.random_range(0.0..0.5));
            let pause = Duration::from_millis(rng.random_range(PAUSE_MS));
            let resume = (at + pause).min(draw.duration);
            steps.push((at, Action::Pause(leader)));
            steps.push((resume, Action::Resume(leader)));
            parts.push(format!("n{leader} paused {} ms", (resume - at).as_millis()));
        }
        Plan::new(format!("replay {}", parts.join(" ")), steps)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rand::SeedableRng;

    use super::*;
    use crate::nemesis::kind::FaultKind;

    #[test]
    fn it_is_named_replay_and_in_the_default_set() {
        let kind: FaultKind = "replay".parse().expect("registered");
        assert_eq!(kind.name(), "replay");
        assert!(FaultKind::all(LogKind::Memory).contains(&kind));
        assert!(FaultKind::all(LogKind::File).contains(&kind));
        assert!(crate::nemesis::kind::help().contains("* replay: "));
    }

    #[test]
    fn it_replays_one_to_all_distinct_free_nodes_with_drawn_chances() {
        let mut counts = BTreeSet::new();
        let mut led = 0;
        let mut paused = 0;
        for seed in 0..100 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(2),
                nodes: &[1, 2, 4, 5],
                leader: Some(4),
                drift_bound_ppm: 0,
            };
            let plan = Replay.plan(draw, &mut rng);
            let mut targets = Vec::new();
            for (offset, action) in &plan.steps {
                match action {
                    Action::Replay(node, replay) => {
                        assert_eq!(*offset, Duration::ZERO);
                        assert!(HOLD_PERCENT.contains(&replay.hold_percent), "{plan:?}");
                        assert!(REPEAT_PERCENT.contains(&replay.repeat_percent), "{plan:?}");
                        targets.push(*node);
                    }
                    Action::Unreplay(node) => {
                        assert_eq!(*offset, Duration::from_secs(2));
                        assert!(targets.contains(node), "{plan:?}");
                    }
                    Action::Pause(node) | Action::Resume(node) => {
                        assert_eq!(*node, 4, "only the leader is paused: {plan:?}");
                        assert!(targets.contains(node), "{plan:?}");
                        paused += 1;
                    }
                    other => panic!("{other} in {plan:?}"),
                }
            }
            let distinct: BTreeSet<NodeId> = targets.iter().copied().collect();
            assert_eq!(distinct.len(), targets.len(), "{plan:?}");
            assert!(distinct.iter().all(|node| [1, 2, 4, 5].contains(node)));
            counts.insert(targets.len());
            led += usize::from(targets.contains(&4));
            assert!(plan.description.starts_with("replay n"), "{}", plan.description);
        }
        assert_eq!(counts, BTreeSet::from([1, 2, 3, 4]));
        assert!(led > 50, "the leader is replayed more than a node at random: {led}");
        assert_eq!(paused, 2 * led, "the leader among them paused and resumed");
    }

    #[test]
    fn the_plan_follows_the_seed() {
        let plan = |seed| {
            let draw = Draw {
                duration: Duration::from_secs(1),
                nodes: &[1, 2, 3],
                leader: None,
                drift_bound_ppm: 0,
            };
            Replay.plan(draw, &mut ChaCha8Rng::seed_from_u64(seed))
        };
        assert_eq!(plan(3), plan(3));
        assert_ne!(plan(3), plan(4));
    }
}
