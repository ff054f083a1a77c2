//! `power`: power loss between simulation steps (unsynced writes lost, torn), then power on.

use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::kill::stop_and_start;

/// Cut the power of nodes' hosts (the leader, one, a minority or all) and power them on later:
/// every unsynced write is lost (torn at block boundaries). The cut comes between simulation
/// steps, so it never lands inside a `Log` call: a log that syncs before it returns (FileLog)
/// has nothing unsynced then, and only a log that acknowledges unsynced writes loses any
/// (`power-mid-write` cuts inside an operation). With a log whose every write is durable on
/// return (MemoryLog), the same as `kill`, so in `all` only with `--log file`.
pub struct Power;

impl Fault for Power {
    fn name(&self) -> &'static str {
        "power"
    }

    fn summary(&self) -> &'static str {
        "power loss of the leader, a node, a minority or every node between steps (unsynced \
         writes lost, torn), power on later; with --log memory the same as kill"
    }

    fn in_all(&self, log: LogKind) -> bool {
        log == LogKind::File
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        stop_and_start(draw, rng, "power off", Action::PowerOff, Action::PowerOn)
    }
}
