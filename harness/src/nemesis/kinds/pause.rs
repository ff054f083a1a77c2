//! `pause`: a node's event loop frozen (SIGSTOP, a long GC pause), then resumed.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// Pause a node's event loop: it handles nothing, not even its own timers, while the others go
/// on; on resume it carries on where it was, late.
pub struct Pause;

impl Fault for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn summary(&self) -> &'static str {
        "freeze a node's event loop, timers included (SIGSTOP, a long GC pause), resume it later"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        Plan::new(
            format!("pause n{node}"),
            vec![
                (Duration::ZERO, Action::Pause(node)),
                (draw.duration, Action::Resume(node)),
            ],
        )
    }
}
