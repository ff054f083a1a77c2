//! `clog`: node-to-node links held one by one, then released in a random order.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

/// Clog random node-to-node links one by one over the first half of the fault (messages
/// held, not dropped), then release them in a random order over the second half.
pub struct Clog;

impl Fault for Clog {
    fn name(&self) -> &'static str {
        "clog"
    }

    fn summary(&self) -> &'static str {
        "hold the messages of node-to-node links one by one, then release them in a random order"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let nodes = draw.nodes;
        let mut pairs: Vec<(NodeId, NodeId)> = Vec::new();
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                pairs.push((a, b));
            }
        }
        pairs.shuffle(rng);
        let count = rng.random_range(1..=pairs.len().min(nodes.len() + 1));
        pairs.truncate(count);
        let half = draw.duration / 2;
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
        Plan::new(format!("clog {}", names.join(" ")), steps)
    }
}
