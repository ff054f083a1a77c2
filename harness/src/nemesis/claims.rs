//! The claim rule that lets faults overlap (`--nemesis-overlap N`) without fighting.
//!
//! Every fault in effect claims what it changes, and a new fault is drawn only from what no
//! fault in effect claims:
//!
//! * [`Resource::Links`]: the cut and held state of node-to-node links. `partition`, `clog` and
//!   `figure8` claim it. turmoil keeps one state per link direction (healthy, cut or held), so
//!   two of these at once would overwrite each other (a repair would reconnect what the other
//!   cut; a partition drops what a clog holds). At most one is in effect.
//! * [`Resource::Latency`]: the links' latency. `latency` claims it: `unslow` restores every
//!   link of its node, and so would undo another slow node's link to it.
//! * [`Resource::Membership`]: the configuration. `membership` claims it: one change (or
//!   transfer) at a time, as the leader allows only one uncommitted configuration entry.
//! * [`Resource::Node`]: one node's process, host, disk and pause switch. `kill`, `power`,
//!   `power-mid-write`, `pause`, `disk` and `corrupt` claim each node their plan touches, and
//!   pick their targets only among unclaimed nodes: a paused node is never killed, a node
//!   already down is never power-cut, and a restart never happens while another fault holds the
//!   node down.
//!
//! Node faults and a link fault do compose (a node restarting into a partition, a power cut
//! during a clog). One interaction is resolved by the scheduler: a host that stops (kill or
//! power loss) has its outgoing links cut and repaired while its tasks die, which resets the
//! links another fault cut or held, so right after each host stop the scheduler re-asserts
//! the partition or clogs in effect on that node's links (see
//! [`super::action::Action::stops_host`]).

use std::collections::BTreeSet;

use rafty::NodeId;

use super::kind::{Claim, FaultKind};
use super::plan::Plan;

/// Something a fault in effect holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// The cut and held state of every node-to-node link.
    Links,
    /// The latency of every link.
    Latency,
    /// The cluster's configuration.
    Membership,
    /// One node: its process, host, disk and pause switch.
    Node(NodeId),
}

/// The shared resource a kind claims, or `None` for a kind that claims the nodes it targets.
pub fn shared_resource(kind: FaultKind) -> Option<Resource> {
    match kind.fault().claim() {
        Claim::Links => Some(Resource::Links),
        Claim::Latency => Some(Resource::Latency),
        Claim::Membership => Some(Resource::Membership),
        Claim::Nodes => None,
    }
}

/// What a planned fault of `kind` claims: its shared resource, or every node its steps touch.
pub fn claims(kind: FaultKind, plan: &Plan) -> BTreeSet<Resource> {
    match shared_resource(kind) {
        Some(resource) => BTreeSet::from([resource]),
        None => plan
            .steps
            .iter()
            .filter_map(|(_, action)| action.node())
            .map(Resource::Node)
            .collect(),
    }
}

/// The kinds a new fault may be drawn from while `claimed` is held (in the order of `kinds`),
/// and the nodes a node-claiming kind may target (in the order of `nodes`).
pub fn eligible(
    kinds: &[FaultKind],
    claimed: &BTreeSet<Resource>,
    nodes: &[NodeId],
) -> (Vec<FaultKind>, Vec<NodeId>) {
    let free: Vec<NodeId> = nodes
        .iter()
        .copied()
        .filter(|&node| !claimed.contains(&Resource::Node(node)))
        .collect();
    let kinds = kinds
        .iter()
        .copied()
        .filter(|&kind| match shared_resource(kind) {
            Some(resource) => !claimed.contains(&resource),
            None => !free.is_empty(),
        })
        .collect();
    (kinds, free)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::nemesis::kind::Draw;

    /// Every kind that may overlap with others (the claims' domain).
    fn every_kind() -> Vec<FaultKind> {
        FaultKind::every()
            .filter(|kind| kind.fault().overlaps())
            .collect()
    }

    fn kind(name: &str) -> FaultKind {
        FaultKind::named(name).unwrap()
    }

    /// Draw faults one after another as the scheduler does, each from what the earlier ones
    /// left unclaimed: no two ever claim the same node or shared resource, and node faults
    /// act only on their own nodes.
    #[test]
    fn two_faults_never_claim_the_same_node_or_the_network() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut claimed = BTreeSet::new();
            for _ in 0..4 {
                let (kinds, free) = eligible(&every_kind(), &claimed, &nodes);
                if kinds.is_empty() {
                    break;
                }
                let kind = kinds[rng.random_range(0..kinds.len())];
                let targets = if shared_resource(kind).is_some() {
                    nodes.clone()
                } else {
                    free.clone()
                };
                // As the scheduler does: the leader is a target only if it is free.
                let leader = Some(1).filter(|leader| targets.contains(leader));
                let draw = Draw {
                    duration: Duration::from_secs(2),
                    nodes: &targets,
                    leader,
                    drift_bound_ppm: 0,
                };
                let planned = kind.plan(draw, &mut rng);
                let mine = claims(kind, &planned);
                assert!(!mine.is_empty(), "{planned:?} claims nothing");
                assert!(
                    mine.is_disjoint(&claimed),
                    "seed {seed}: {planned:?} claims {mine:?}, already held: {claimed:?}"
                );
                if shared_resource(kind).is_none() {
                    for (_, action) in &planned.steps {
                        let node = action.node().expect("a node fault acts on nodes");
                        assert!(
                            free.contains(&node),
                            "seed {seed}: {action} on a claimed node"
                        );
                    }
                }
                claimed.extend(mine);
            }
        }
    }

    #[test]
    fn a_claimed_network_or_latency_excludes_its_kinds_and_claimed_nodes_are_not_targets() {
        let nodes: Vec<NodeId> = (1..=3).collect();
        let claimed = BTreeSet::from([Resource::Links, Resource::Node(2)]);
        let (kinds, free) = eligible(&every_kind(), &claimed, &nodes);
        assert_eq!(free, [1, 3]);
        assert!(!kinds.contains(&kind("partition")));
        assert!(!kinds.contains(&kind("clog")));
        assert!(!kinds.contains(&kind("figure8")));
        assert!(kinds.contains(&kind("latency")) && kinds.contains(&kind("kill")));
        let every_node: BTreeSet<_> = nodes.iter().map(|&n| Resource::Node(n)).collect();
        let (kinds, free) = eligible(&every_kind(), &every_node, &nodes);
        assert!(free.is_empty());
        let names: Vec<_> = kinds.iter().map(|kind| kind.name()).collect();
        assert_eq!(
            names,
            [
                "partition",
                "latency",
                "clog",
                "figure8",
                "membership",
                "depose"
            ]
        );
    }

    /// Nothing claimed: every kind and every node, in order (so `--nemesis-overlap 1` draws
    /// exactly as the one-fault-at-a-time schedule did).
    #[test]
    fn nothing_claimed_leaves_every_kind_and_node() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        let (kinds, free) = eligible(&every_kind(), &BTreeSet::new(), &nodes);
        assert_eq!(kinds, every_kind());
        assert_eq!(free, nodes);
    }
}
