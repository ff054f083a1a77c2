//! Turning a fault kind into timed actions: what to do, to whom, and when to undo it.

use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use super::action::Action;
use super::fault::FaultKind;
use super::partition::{self, Shape};

/// A fault planned from its start: timed actions (offsets from the start, in order) and a
/// one-line description for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The kind of fault.
    pub kind: FaultKind,
    /// What the fault does, for the history and reports.
    pub description: String,
    /// Actions and their offsets from the fault's start, sorted by offset.
    pub steps: Vec<(Duration, Action)>,
}

/// Plan a fault of `kind` lasting about `duration` over `nodes` (sorted ids).
pub fn plan(
    kind: FaultKind,
    duration: Duration,
    nodes: &[NodeId],
    leader: Option<NodeId>,
    rng: &mut ChaCha8Rng,
) -> Plan {
    let pick = |rng: &mut ChaCha8Rng| nodes[rng.random_range(0..nodes.len())];
    let leader_or_pick = |rng: &mut ChaCha8Rng| match leader.filter(|_| rng.random_bool(0.5)) {
        Some(node) => node,
        None => pick(rng),
    };
    let (description, steps) = match kind {
        FaultKind::Partition => {
            let shape = Shape::ALL[rng.random_range(0..Shape::ALL.len())];
            let grudge = partition::grudge(shape, nodes, leader, rng);
            let apply = Action::Partition(grudge.clone());
            let description = format!("{shape:?}: {apply}");
            (
                description,
                vec![(Duration::ZERO, apply), (duration, Action::Repair(grudge))],
            )
        }
        FaultKind::Kill | FaultKind::Power => {
            let targets = kill_targets(nodes, leader, rng);
            let names: Vec<String> = targets.iter().map(|n| format!("n{n}")).collect();
            type Step = fn(NodeId) -> Action;
            let (stop, start, verb): (Step, Step, _) = if kind == FaultKind::Kill {
                (Action::Kill, Action::Restart, "kill")
            } else {
                (Action::PowerOff, Action::PowerOn, "power off")
            };
            let mut steps: Vec<_> = targets.iter().map(|&n| (Duration::ZERO, stop(n))).collect();
            for &node in &targets {
                let stagger = Duration::from_millis(rng.random_range(0..200));
                steps.push((duration + stagger, start(node)));
            }
            (format!("{verb} {}", names.join(" ")), steps)
        }
        FaultKind::PowerMidWrite => {
            let node = leader_or_pick(rng);
            let operations = rng.random_range(0..MID_WRITE_OPERATIONS);
            let mut steps = vec![(Duration::ZERO, Action::ArmPowerCut(node, operations))];
            let mut description =
                format!("cut the power of n{node} inside a disk operation ({operations} more run)");
            // Half the time, cut it again from its boot on: inside its recovery, or inside the
            // large catch-up appends that follow (writes of many blocks, which tear).
            if rng.random_bool(0.5) {
                let again = rng.random_range(0..2 * MID_WRITE_OPERATIONS);
                steps.push((duration / 2, Action::PowerOnAfterCut(node)));
                steps.push((duration / 2, Action::ArmPowerCut(node, again)));
                description += &format!(", and again once it boots ({again} more run)");
            }
            steps.push((duration, Action::PowerOnAfterCut(node)));
            (description, steps)
        }
        FaultKind::Pause => {
            let node = leader_or_pick(rng);
            (
                format!("pause n{node}"),
                vec![
                    (Duration::ZERO, Action::Pause(node)),
                    (duration, Action::Resume(node)),
                ],
            )
        }
        FaultKind::Latency => {
            let node = leader_or_pick(rng);
            let latency = Duration::from_millis(rng.random_range(30..=300));
            let slow = Action::Slow(node, latency);
            (
                format!("{slow}"),
                vec![(Duration::ZERO, slow), (duration, Action::Unslow(node))],
            )
        }
        FaultKind::Clog => clog(duration, nodes, rng),
        FaultKind::Disk => {
            let node = leader_or_pick(rng);
            let fail = Action::FailDisk(node);
            (
                format!("{fail}"),
                vec![
                    (Duration::ZERO, fail),
                    (duration, Action::ReplaceDisk(node)),
                ],
            )
        }
        FaultKind::Corrupt => {
            let node = leader_or_pick(rng);
            // Which record and which bit: the log's contents are known only when the node's
            // host boots, so the draw is kept as a number and resolved then.
            let corrupt = Action::CorruptRecord(node, rng.random());
            (
                format!("bit rot in a record of n{node}'s log, found at restart"),
                vec![
                    (Duration::ZERO, corrupt),
                    (duration, Action::RestoreRecord(node)),
                ],
            )
        }
        // Reactive, driven by `super::figure8` rather than planned ahead.
        FaultKind::Figure8 => ("figure 8 sequence".to_owned(), Vec::new()),
    };
    let mut steps = steps;
    steps.sort_by_key(|(offset, _)| *offset);
    Plan {
        kind,
        description,
        steps,
    }
}

/// The power-mid-write fault lets `0..MID_WRITE_OPERATIONS` disk operations run before the
/// disk freezes: few, so the cut lands inside the operation sequences of the next `Log` calls
/// (an append is a write and an fsync; a segment roll adds a create and a directory sync; a
/// hard-state save is five operations; a truncation more).
pub const MID_WRITE_OPERATIONS: u64 = 12;

/// The leader, one random node, a random minority, or every node.
fn kill_targets(nodes: &[NodeId], leader: Option<NodeId>, rng: &mut ChaCha8Rng) -> Vec<NodeId> {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let mut targets = match rng.random_range(0..4) {
        0 => vec![leader.unwrap_or(shuffled[0])],
        1 => vec![shuffled[0]],
        2 => shuffled[..nodes.len().div_ceil(2) - 1].to_vec(),
        _ => shuffled,
    };
    if targets.is_empty() {
        targets.push(nodes[0]);
    }
    targets.sort_unstable();
    targets
}

/// Clog random node-to-node links one by one over the first half of the fault, then release
/// them in a random order over the second half.
fn clog(
    duration: Duration,
    nodes: &[NodeId],
    rng: &mut ChaCha8Rng,
) -> (String, Vec<(Duration, Action)>) {
    let mut pairs: Vec<(NodeId, NodeId)> = Vec::new();
    for (i, &a) in nodes.iter().enumerate() {
        for &b in &nodes[i + 1..] {
            pairs.push((a, b));
        }
    }
    pairs.shuffle(rng);
    let count = rng.random_range(1..=pairs.len().min(nodes.len() + 1));
    pairs.truncate(count);
    let half = duration / 2;
    let gap = half / count as u32;
    let mut steps = Vec::new();
    for (i, &(a, b)) in pairs.iter().enumerate() {
        steps.push((gap * i as u32, Action::Clog(a, b)));
    }
    let mut release = pairs.clone();
    release.shuffle(rng);
    for (i, &(a, b)) in release.iter().enumerate() {
        steps.push((half + gap * i as u32, Action::Unclog(a, b)));
    }
    let names: Vec<String> = pairs.iter().map(|(a, b)| format!("n{a}<->n{b}")).collect();
    (format!("clog {}", names.join(" ")), steps)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn every_plan_undoes_what_it_does() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for kind in FaultKind::ALL.into_iter().chain([
                FaultKind::Power,
                FaultKind::PowerMidWrite,
                FaultKind::Disk,
                FaultKind::Corrupt,
            ]) {
                let plan = plan(kind, Duration::from_secs(2), &nodes, Some(3), &mut rng);
                let mut in_effect: Vec<Action> = Vec::new();
                for (_, action) in &plan.steps {
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
                assert!(in_effect.is_empty(), "{plan:?} leaves {in_effect:?}");
            }
        }
    }

    /// The corrupt fault damages one node and restores that same node at its end; the node,
    /// and the draw that picks the record and bit, come from the seed.
    #[test]
    fn corrupt_restores_the_node_it_damaged_and_draws_from_the_seed() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        let corrupt = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            plan(
                FaultKind::Corrupt,
                Duration::from_secs(2),
                &nodes,
                Some(3),
                &mut rng,
            )
        };
        let mut draws = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let plan = corrupt(seed);
            assert_eq!(plan, corrupt(seed), "seed {seed} planned twice differently");
            let [(start, Action::CorruptRecord(node, draw)), (end, restore)] = &plan.steps[..]
            else {
                panic!("seed {seed}: {plan:?}");
            };
            assert_eq!((*start, *end), (Duration::ZERO, Duration::from_secs(2)));
            assert_eq!(restore, &Action::RestoreRecord(*node));
            assert!(plan.description.contains(&format!("n{node}'s log")));
            draws.insert(*draw);
        }
        assert!(draws.len() > 15, "the draws vary with the seed: {draws:?}");
    }
}
