//! `latency`: a latency spike on every link of one node.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// Latency spikes (30 to 300 ms, with jitter) on every link of one node.
pub struct Latency;

impl Fault for Latency {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn summary(&self) -> &'static str {
        "30 to 300 ms of latency on every link of one node"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Latency
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        let latency = Duration::from_millis(rng.random_range(30..=300));
        let slow = Action::Slow(node, latency);
        Plan::new(
            format!("{slow}"),
            vec![(Duration::ZERO, slow), (draw.duration, Action::Unslow(node))],
        )
    }
}
