//! `kill`: process crashes with the OS intact (the page cache keeps unsynced writes), then
//! restarts.

use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

/// Kill nodes' processes (the leader, one, a minority or all) and restart them later: the
/// hosts stay up, so their disks keep every write, synced or not (the OS page cache).
pub struct Kill;

impl Fault for Kill {
    fn name(&self) -> &'static str {
        "kill"
    }

    fn summary(&self) -> &'static str {
        "kill the processes of the leader, a node, a minority or every node (the OS keeps its \
         page cache, so unsynced writes survive), restart them later"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        stop_and_start(draw, rng, "kill", Action::Kill, Action::Restart)
    }
}

/// Stop `targets` at once with `stop`, start each with `start` at the end, staggered by up to
/// 200 ms (shared with `power`).
pub fn stop_and_start(
    draw: Draw<'_>,
    rng: &mut ChaCha8Rng,
    verb: &str,
    stop: fn(NodeId) -> Action,
    start: fn(NodeId) -> Action,
) -> Plan {
    let targets = targets(draw.nodes, draw.leader, rng);
    let names: Vec<String> = targets.iter().map(|n| format!("n{n}")).collect();
    let mut steps: Vec<_> = targets.iter().map(|&n| (Duration::ZERO, stop(n))).collect();
    for &node in &targets {
        let stagger = Duration::from_millis(rng.random_range(0..200));
        steps.push((draw.duration + stagger, start(node)));
    }
    Plan::new(format!("{verb} {}", names.join(" ")), steps)
}

/// The leader, one random node, a random minority, or every node.
fn targets(nodes: &[NodeId], leader: Option<NodeId>, rng: &mut ChaCha8Rng) -> Vec<NodeId> {
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
