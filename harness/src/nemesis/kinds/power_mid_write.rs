//! `power-mid-write`: a power cut inside a node's disk operations, and maybe again inside its
//! recovery.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault, Watch, Watcher};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// The fault lets `0..MID_WRITE_OPERATIONS` disk operations run before the disk freezes: few,
/// so the cut lands inside the operation sequences of the next `Log` calls (an append is a
/// write and an fsync; a segment roll adds a create and a directory sync; a hard-state save is
/// five operations; a truncation more).
pub const MID_WRITE_OPERATIONS: u64 = 12;

/// Cut one node's power *inside* a sequence of disk operations (between a write and its
/// fsync, inside a truncation, a segment roll, a hard-state save): its disk freezes after a
/// number of operations drawn from the seed (0 to 11; every later one fails with `EIO` and
/// changes nothing, so the node fail-stops, acknowledging nothing of the interrupted write),
/// then the power goes, dropping what was unsynced, torn at block boundaries; later the host
/// powers on and the node recovers from its disk. Half the time the fault cuts it again from
/// that boot on (0 to 23 operations: inside its recovery or its first catch-up appends). If
/// the node makes no disk operation, the power goes at the fault's end (or half-way, for the
/// first of two cuts), between steps. Needs `--log file`; in `all` with it.
pub struct PowerMidWrite;

impl Fault for PowerMidWrite {
    fn name(&self) -> &'static str {
        "power-mid-write"
    }

    fn summary(&self) -> &'static str {
        "with --log file: the power goes inside a node's disk operations (between a write and \
         its fsync, inside a hard-state save, a segment roll), half the time again inside its \
         recovery"
    }

    fn in_all(&self, log: LogKind) -> bool {
        log == LogKind::File
    }

    fn refuse(&self, log: LogKind) -> Option<String> {
        (log != LogKind::File).then(|| {
            format!(
                "power-mid-write freezes a FileLog's disk inside its operations; use --log file \
                 (got --log {})",
                log.name()
            )
        })
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        let operations = rng.random_range(0..MID_WRITE_OPERATIONS);
        let mut steps = vec![(Duration::ZERO, Action::ArmPowerCut(node, operations))];
        let mut description =
            format!("cut the power of n{node} inside a disk operation ({operations} more run)");
        // Half the time, cut it again from its boot on: inside its recovery, or inside the
        // large catch-up appends that follow (writes of many blocks, which tear).
        if rng.random_bool(0.5) {
            let again = rng.random_range(0..2 * MID_WRITE_OPERATIONS);
            steps.push((draw.duration / 2, Action::PowerOnAfterCut(node)));
            steps.push((draw.duration / 2, Action::ArmPowerCut(node, again)));
            description += &format!(", and again once it boots ({again} more run)");
        }
        steps.push((draw.duration, Action::PowerOnAfterCut(node)));
        Plan::new(description, steps)
    }

    fn watcher(&self, plan: &Plan) -> Option<Box<dyn Watcher>> {
        let node = plan.steps.iter().find_map(|(_, action)| match action {
            Action::ArmPowerCut(node, _) => Some(*node),
            _ => None,
        })?;
        Some(Box::new(CutWhenFrozen { node }))
    }
}

/// Cuts the power the moment the armed disk froze inside an operation ([`Action::ArmPowerCut`]
/// arms it; the simulation says when it is due), before anything else due then.
struct CutWhenFrozen {
    node: NodeId,
}

impl Watcher for CutWhenFrozen {
    fn poll(&mut self, watch: Watch<'_>) -> Vec<Action> {
        if watch.network.power_cut_due(self.node) {
            vec![Action::CutArmedPower(self.node)]
        } else {
            Vec::new()
        }
    }
}
