//! `disk`: a node's disk fails every write (the node fail-stops); later the disk is replaced.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// A node's disk starts failing every write: the node fail-stops; later it is crashed, given
/// its disk back and restarted. Not part of `all`.
pub struct Disk;

impl Fault for Disk {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn summary(&self) -> &'static str {
        "a node's disk fails every write, so the node fail-stops; later the disk is replaced"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        let fail = Action::FailDisk(node);
        Plan::new(
            format!("{fail}"),
            vec![
                (Duration::ZERO, fail),
                (draw.duration, Action::ReplaceDisk(node)),
            ],
        )
    }
}
