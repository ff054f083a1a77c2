//! Partition shapes (Jepsen's usual grudges), as pure functions from the cluster's nodes to the
//! set of directed links to cut. Nodes are named by their ids.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use rafty::NodeId;

/// The shape of a network partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// One random node cut off from all others.
    IsolateOne,
    /// The nodes split in two halves by id (the smaller half first).
    Halves,
    /// The nodes shuffled, then split in two halves.
    RandomHalves,
    /// Each node sees a majority of the nodes, no two the same majority (Jepsen's ring).
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
    /// The current leader (or a random node when none is known) cut off from all others.
    IsolateLeader,
    /// Messages from one node (often the leader) to all others are dropped, but it still
    /// receives theirs (or the reverse).
    OneWay,
}

impl Shape {
    /// Every shape, in the order the nemesis draws them.
    pub const ALL: [Shape; 7] = [
        Shape::IsolateOne,
        Shape::Halves,
        Shape::RandomHalves,
        Shape::MajoritiesRing,
        Shape::Bridge,
        Shape::IsolateLeader,
        Shape::OneWay,
    ];
}

/// A link between two nodes: `(from, to)`, or `(low, high)` for both directions.
pub type Link = (NodeId, NodeId);

/// A partition: the directed links `(from, to)` whose messages are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grudge {
    /// Cut links, each `(from, to)`; a symmetric cut lists both directions.
    pub cut: Vec<(NodeId, NodeId)>,
}

impl Grudge {
    /// Cut every link between a node of `a` and a node of `b`, both ways (a node in both is
    /// not cut from itself).
    pub fn between(a: &[NodeId], b: &[NodeId]) -> Self {
        let mut grudge = Grudge::default();
        for &x in a {
            for &y in b {
                if x != y {
                    grudge.cut.push((x, y));
                    grudge.cut.push((y, x));
                }
            }
        }
        grudge.normalize();
        grudge
    }

    /// The same cut with every node renamed by `rename`.
    pub fn renamed(&self, rename: &dyn Fn(NodeId) -> NodeId) -> Grudge {
        let mut grudge = Grudge {
            cut: self
                .cut
                .iter()
                .map(|&(a, b)| (rename(a), rename(b)))
                .collect(),
        };
        grudge.normalize();
        grudge
    }

    fn normalize(&mut self) {
        self.cut.sort_unstable();
        self.cut.dedup();
    }

    /// The cut links as unordered pairs `(low, high)` cut in both directions, and the links cut
    /// in one direction only.
    pub fn split_symmetric(&self) -> (Vec<Link>, Vec<Link>) {
        let mut both = Vec::new();
        let mut one_way = Vec::new();
        for &(from, to) in &self.cut {
            let reverse = self.cut.binary_search(&(to, from)).is_ok();
            if reverse {
                if from < to {
                    both.push((from, to));
                }
            } else {
                one_way.push((from, to));
            }
        }
        (both, one_way)
    }
}

/// The links to cut for `shape` over `nodes` (sorted ids), drawing any choice from `rng`.
/// `leader` is the current leader, if one is known.
pub fn grudge(
    shape: Shape,
    nodes: &[NodeId],
    leader: Option<NodeId>,
    rng: &mut ChaCha8Rng,
) -> Grudge {
    let pick = |rng: &mut ChaCha8Rng| nodes[rng.random_range(0..nodes.len())];
    match shape {
        Shape::IsolateOne => isolate(pick(rng), nodes),
        Shape::IsolateLeader => isolate(leader.unwrap_or_else(|| pick(rng)), nodes),
        Shape::Halves => {
            let (a, b) = nodes.split_at(nodes.len() / 2);
            Grudge::between(a, b)
        }
        Shape::RandomHalves => {
            let mut shuffled = nodes.to_vec();
            shuffled.shuffle(rng);
            let (a, b) = shuffled.split_at(nodes.len() / 2);
            Grudge::between(a, b)
        }
        Shape::MajoritiesRing => majorities_ring(nodes, rng),
        Shape::Bridge => {
            let mut shuffled = nodes.to_vec();
            shuffled.shuffle(rng);
            let bridge = shuffled.pop().expect("a cluster has nodes");
            let (a, b) = shuffled.split_at(shuffled.len() / 2);
            let mut grudge = Grudge::between(a, b);
            grudge.cut.retain(|&(x, y)| x != bridge && y != bridge);
            grudge
        }
        Shape::OneWay => {
            let node = if rng.random_bool(0.5) {
                leader.unwrap_or_else(|| pick(rng))
            } else {
                pick(rng)
            };
            let outgoing = rng.random_bool(0.5);
            let mut grudge = Grudge::default();
            for &other in nodes.iter().filter(|&&other| other != node) {
                grudge.cut.push(if outgoing {
                    (node, other)
                } else {
                    (other, node)
                });
            }
            grudge.normalize();
            grudge
        }
    }
}

fn isolate(node: NodeId, nodes: &[NodeId]) -> Grudge {
    Grudge::between(&[node], nodes)
}

/// Nodes shuffled into a ring; each sees the nodes within ring distance `d`, with `2d + 1` at
/// least a majority, and is cut from the rest. With 3 nodes every node sees every other, so
/// the ring cuts nothing there (as in Jepsen).
fn majorities_ring(nodes: &[NodeId], rng: &mut ChaCha8Rng) -> Grudge {
    let mut ring = nodes.to_vec();
    ring.shuffle(rng);
    let n = ring.len();
    let majority = n / 2 + 1;
    // The smallest reach whose window (2 * reach + 1 nodes) holds a majority.
    let reach = (majority - 1).div_ceil(2);
    let mut grudge = Grudge::default();
    for i in 0..n {
        for j in 0..n {
            let distance = (i + n - j) % n;
            let distance = distance.min(n - distance);
            if i != j && distance > reach {
                grudge.cut.push((ring[i], ring[j]));
            }
        }
    }
    grudge.normalize();
    grudge
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn nodes(n: u64) -> Vec<NodeId> {
        (1..=n).collect()
    }

    fn sees(grudge: &Grudge, node: NodeId, all: &[NodeId]) -> usize {
        all.iter()
            .filter(|&&o| o == node || !grudge.cut.contains(&(o, node)))
            .count()
    }

    #[test]
    fn halves_cut_every_link_across_and_none_within() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let grudge = grudge(Shape::Halves, &nodes(5), None, &mut rng);
        assert!(grudge.cut.contains(&(1, 3)) && grudge.cut.contains(&(3, 1)));
        assert!(!grudge.cut.contains(&(1, 2)) && !grudge.cut.contains(&(3, 5)));
        assert_eq!(grudge.cut.len(), 2 * 2 * 3);
    }

    #[test]
    fn isolate_leader_cuts_the_leader_from_everyone() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let grudge = grudge(Shape::IsolateLeader, &nodes(5), Some(4), &mut rng);
        assert_eq!(sees(&grudge, 4, &nodes(5)), 1);
        assert_eq!(sees(&grudge, 1, &nodes(5)), 4);
    }

    #[test]
    fn majorities_ring_gives_every_node_a_majority_but_not_all() {
        for n in [5u64, 7] {
            let mut rng = ChaCha8Rng::seed_from_u64(n);
            let all = nodes(n);
            let grudge = grudge(Shape::MajoritiesRing, &all, None, &mut rng);
            for &node in &all {
                let seen = sees(&grudge, node, &all);
                assert!(
                    seen > all.len() / 2 && seen < all.len(),
                    "n={n} node {node} sees {seen}"
                );
            }
        }
    }

    #[test]
    fn bridge_node_sees_everyone_and_the_sides_do_not_see_each_other() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let all = nodes(5);
        let grudge = grudge(Shape::Bridge, &all, None, &mut rng);
        let bridges: Vec<_> = all
            .iter()
            .filter(|&&n| sees(&grudge, n, &all) == 5)
            .collect();
        assert_eq!(bridges.len(), 1, "{grudge:?}");
        assert!(!grudge.cut.is_empty());
    }

    #[test]
    fn one_way_cuts_only_one_direction() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let grudge = grudge(Shape::OneWay, &nodes(3), Some(2), &mut rng);
        let (both, one_way) = grudge.split_symmetric();
        assert!(both.is_empty());
        assert_eq!(one_way.len(), 2);
    }
}
