//! `install-snapshot`: a follower held down until the others compact their logs past it, so
//! that it must catch up by InstallSnapshot (Raft §7), and killed again while it installs.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

/// How long the follower stays down: long enough, at the simulation's snapshot threshold and
/// the default rate, for the others to take several snapshots and compact past its log.
const HOLD_MS: std::ops::Range<u64> = 3_000..7_000;
/// When the second kill lands after the restart: while the restarted follower is receiving
/// the leader's snapshot chunks, or restoring it.
const INTO_INSTALL_MS: std::ops::Range<u64> = 5..300;
/// How long the second kill lasts.
const SECOND_DOWN_MS: std::ops::Range<u64> = 50..500;

/// Kill a follower, hold it down while the others compact past its log, restart it (it must
/// install a snapshot), and, two times in three, kill it again a moment into the install and
/// restart it once more.
pub struct InstallSnapshot;

impl Fault for InstallSnapshot {
    fn name(&self) -> &'static str {
        "install-snapshot"
    }

    fn summary(&self) -> &'static str {
        "kill a follower and hold it down 3-7 s while the others compact their logs past it, \
         restart it so that it must catch up by InstallSnapshot, and usually kill it again \
         5-300 ms into the install"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    /// The fault's own length (`draw.duration`) is not used: what it needs is the time the
    /// others take to compact, so it holds its node for its own draw.
    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let target = follower(&draw, rng);
        let hold = Duration::from_millis(rng.random_range(HOLD_MS));
        let mut steps = vec![
            (Duration::ZERO, Action::Kill(target)),
            (hold, Action::Restart(target)),
        ];
        let mut description = format!("n{target} down {} ms", hold.as_millis());
        if rng.random_ratio(2, 3) {
            let into = hold + Duration::from_millis(rng.random_range(INTO_INSTALL_MS));
            let down = Duration::from_millis(rng.random_range(SECOND_DOWN_MS));
            steps.push((into, Action::Kill(target)));
            steps.push((into + down, Action::Restart(target)));
            description.push_str(&format!(
                ", killed again {} ms into its catch-up",
                (into - hold).as_millis()
            ));
        }
        Plan::new(description, steps)
    }
}

/// A node other than the leader when there is one (the leader is the one sending snapshots).
fn follower(draw: &Draw<'_>, rng: &mut ChaCha8Rng) -> NodeId {
    let followers: Vec<NodeId> = draw
        .nodes
        .iter()
        .copied()
        .filter(|&node| Some(node) != draw.leader)
        .collect();
    let choices = if followers.is_empty() {
        draw.nodes
    } else {
        &followers
    };
    choices[rng.random_range(0..choices.len())]
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn it_targets_a_follower_and_restarts_it_last() {
        for seed in 0..40 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(1),
                nodes: &[1, 2, 3],
                leader: Some(2),
                drift_bound_ppm: 0,
            };
            let plan = InstallSnapshot.plan(draw, &mut rng);
            let targets: Vec<NodeId> = plan.steps.iter().filter_map(|(_, a)| a.node()).collect();
            assert!(targets.iter().all(|&node| node == targets[0] && node != 2));
            let (hold, _) = plan.steps[1];
            assert!(HOLD_MS.contains(&(hold.as_millis() as u64)), "{plan:?}");
            assert!(matches!(plan.steps.last(), Some((_, Action::Restart(_)))));
        }
    }
}
