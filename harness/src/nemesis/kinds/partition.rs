//! `partition`: a network partition of one of the usual shapes ([`Shape`]), healed at its end.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::partition::{self, Shape};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

/// Network partitions of the usual shapes; see [`Shape`].
pub struct Partition;

impl Fault for Partition {
    fn name(&self) -> &'static str {
        "partition"
    }

    fn summary(&self) -> &'static str {
        "a network partition: one node or the leader isolated, halves, a bridge, a ring of \
         majorities, or one way"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let shape = Shape::ALL[rng.random_range(0..Shape::ALL.len())];
        let grudge = partition::grudge(shape, draw.nodes, draw.leader, rng);
        let apply = Action::Partition(grudge.clone());
        Plan::new(
            format!("{shape:?}: {apply}"),
            vec![
                (Duration::ZERO, apply),
                (draw.duration, Action::Repair(grudge)),
            ],
        )
    }
}
