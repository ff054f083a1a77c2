//! `corrupt`: bit rot in a durable record of a node's log, found when it restarts.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::Action;
use crate::nemesis::kind::{Claim, Draw, Fault};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::leader_or_pick;

/// One bit of a record strictly before the log's tail flips while the node's host is powered
/// off (record and bit drawn from the run's seed); on power-on the log refuses to open (a
/// checksum names the file and offset) and the node stays down, fail-stop, never serving the
/// entry; later the damaged bytes are restored (as from a backup) and the node restarts with
/// its whole log. Needs `--log file`; not part of `all`. See
/// [`crate::sim::turmoil_fs::bit_rot`].
pub struct Corrupt;

impl Fault for Corrupt {
    fn name(&self) -> &'static str {
        "corrupt"
    }

    fn summary(&self) -> &'static str {
        "with --log file: a bit of a durable record rots while a node is powered off; its log \
         must refuse to open, and it stays down until the record is restored"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn refuse(&self, log: LogKind) -> Option<String> {
        (log != LogKind::File).then(|| {
            format!(
                "corrupt rots a bit of a FileLog record on disk; use --log file (got --log {})",
                log.name()
            )
        })
    }

    fn claim(&self) -> Claim {
        Claim::Nodes
    }

    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan {
        let node = leader_or_pick(&draw, rng);
        // Which record and which bit: the log's contents are known only when the node's host
        // boots, so the draw is kept as a number and resolved then.
        let corrupt = Action::CorruptRecord(node, rng.random());
        Plan::new(
            format!("bit rot in a record of n{node}'s log, found at restart"),
            vec![
                (Duration::ZERO, corrupt),
                (draw.duration, Action::RestoreRecord(node)),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use rafty::NodeId;

    /// The corrupt fault damages one node and restores that same node at its end; the node,
    /// and the draw that picks the record and bit, come from the seed.
    #[test]
    fn corrupt_restores_the_node_it_damaged_and_draws_from_the_seed() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        let corrupt = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draw = Draw {
                duration: Duration::from_secs(2),
                nodes: &nodes,
                leader: Some(3),
                drift_bound_ppm: 0,
            };
            Corrupt.plan(draw, &mut rng)
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
