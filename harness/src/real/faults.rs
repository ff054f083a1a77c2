//! The faults of a real-process run, drawn from the seed (which kinds, nodes and shapes;
//! *when* they land on the nodes' execution is up to the machine): `kill` (SIGKILL, then a
//! restart from the node's data directory), `pause` (SIGSTOP, then SIGCONT), `partition`
//! (one node isolated, the cluster cut in two halves, or one node's messages to all others
//! lost one way), `latency` (every message to and from a node held 20 to 200 ms) and `clog`
//! (every message to and from a node held until the clog ends), the last three through the
//! [`super::proxy::FaultProxy`], and `power`: the power of one node, of a majority or of every
//! node cut at once, then each restarted from what it had synced.
//!
//! A real power cut loses what the kernel has not written to the disk yet; an unprivileged
//! process cannot discard another process's unsynced page-cache writes (that takes root and a
//! device-mapper target such as dm-log-writes, or a filesystem in user space). So a run with
//! `power` starts its nodes with `rafty node --lazy-fs`: their unsynced writes stay in their
//! own memory ([`rafty::file_log::fs::LazyFs`]) until synced, and the power-cut signal makes a
//! node forget them and exit at once (see [`super::node`]). On such nodes a `kill` (SIGKILL)
//! loses them too; `power` adds several nodes losing them at the same moment, which is what
//! makes an acknowledged but unsynced write disappear from a majority. What `LazyFs` does not
//! model: torn or reordered write-back of a file's unsynced writes (the simulation's
//! `power-mid-write` does), and lost directory operations (they reach the disk at once).

use std::fmt;
use std::time::Duration;

use rafty::NodeId;
use rand::Rng;
use rand::seq::SliceRandom;

/// The fault kinds a real-process run can apply, by their `--nemesis` names.
pub const REAL_KINDS: [&str; 6] = ["partition", "kill", "pause", "latency", "clog", "power"];

/// The kinds an in-process run ([`crate::in_process`]) can apply: the real ones but `power`
/// (its nodes share the harness's process, whose writes go through the kernel).
pub const IN_PROCESS_KINDS: [&str; 5] = ["partition", "kill", "pause", "latency", "clog"];

/// One fault, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL `node`; restart it at the stop.
    Kill {
        /// The node.
        node: NodeId,
    },
    /// SIGSTOP `node`; SIGCONT at the stop.
    Pause {
        /// The node.
        node: NodeId,
    },
    /// Cut these directions `(from, to)`.
    Partition {
        /// The shape, in words.
        shape: String,
        /// The directions cut.
        cut: Vec<(NodeId, NodeId)>,
    },
    /// Hold every message to and from `node` this long.
    Latency {
        /// The node.
        node: NodeId,
        /// The latency added.
        latency: Duration,
    },
    /// Hold every message to and from `node` until the stop.
    Clog {
        /// The node.
        node: NodeId,
    },
    /// Cut the power of `nodes` together (each loses its unsynced writes and dies); restart
    /// them at the stop.
    Power {
        /// The nodes, in order: one, a majority or all.
        nodes: Vec<NodeId>,
    },
}

impl Fault {
    /// Draw a fault of `kind` (one of [`REAL_KINDS`]) over `nodes`.
    pub fn draw(kind: &str, nodes: &[NodeId], rng: &mut impl Rng) -> Fault {
        let node = nodes[rng.random_range(0..nodes.len())];
        match kind {
            "kill" => Fault::Kill { node },
            "pause" => Fault::Pause { node },
            "latency" => Fault::Latency {
                node,
                latency: Duration::from_millis(rng.random_range(20..=200)),
            },
            "clog" => Fault::Clog { node },
            "partition" => draw_partition(node, nodes, rng),
            "power" => draw_power(nodes, rng),
            other => unreachable!("not a real fault kind: {other}"),
        }
    }

    /// Its kind's name (`kill`, `partition`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Pause { .. } => "pause",
            Fault::Partition { .. } => "partition",
            Fault::Latency { .. } => "latency",
            Fault::Clog { .. } => "clog",
            Fault::Power { .. } => "power",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Kill { node } | Fault::Pause { node } | Fault::Clog { node } => {
                write!(f, "n{node}")
            }
            Fault::Partition { shape, .. } => write!(f, "{shape}"),
            Fault::Latency { node, latency } => write!(f, "n{node} +{}ms", latency.as_millis()),
            Fault::Power { nodes } => write!(f, "{}", names(nodes)),
        }
    }
}

/// Every direction between a node of `a` and a node of `b`, both ways.
fn between(a: &[NodeId], b: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let mut cut = Vec::new();
    for &x in a {
        for &y in b {
            cut.push((x, y));
            cut.push((y, x));
        }
    }
    cut.sort_unstable();
    cut
}

fn names(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(|node| format!("n{node}")).collect();
    names.join(",")
}

/// One node, a majority or every node, equally likely.
fn draw_power(nodes: &[NodeId], rng: &mut impl Rng) -> Fault {
    let count = match rng.random_range(0..3) {
        0 => 1,
        1 => nodes.len() / 2 + 1,
        _ => nodes.len(),
    };
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let mut chosen = shuffled[..count].to_vec();
    chosen.sort_unstable();
    Fault::Power { nodes: chosen }
}

fn draw_partition(node: NodeId, nodes: &[NodeId], rng: &mut impl Rng) -> Fault {
    let others: Vec<NodeId> = nodes.iter().copied().filter(|&n| n != node).collect();
    match rng.random_range(0..3) {
        0 => Fault::Partition {
            shape: format!("isolate n{node}"),
            cut: between(&[node], &others),
        },
        1 => {
            let mut shuffled = nodes.to_vec();
            shuffled.shuffle(rng);
            let (minority, majority) = shuffled.split_at(nodes.len() / 2);
            let (mut minority, mut majority) = (minority.to_vec(), majority.to_vec());
            minority.sort_unstable();
            majority.sort_unstable();
            Fault::Partition {
                shape: format!("halves {} | {}", names(&minority), names(&majority)),
                cut: between(&minority, &majority),
            }
        }
        _ => Fault::Partition {
            shape: format!("one-way n{node} -/-> {}", names(&others)),
            cut: others.iter().map(|&other| (node, other)).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn every_kind_draws_a_fault_of_its_kind_on_the_cluster() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for kind in REAL_KINDS {
            for _ in 0..20 {
                let fault = Fault::draw(kind, &[1, 2, 3], &mut rng);
                assert_eq!(fault.kind(), kind);
                if let Fault::Partition { cut, .. } = &fault {
                    assert!(!cut.is_empty(), "{fault}");
                    assert!(
                        cut.iter().all(|(a, b)| a != b && *a <= 3 && *b <= 3),
                        "{fault}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_power_cut_takes_one_node_a_majority_or_all() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sizes = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let Fault::Power { nodes } = Fault::draw("power", &[1, 2, 3, 4, 5], &mut rng) else {
                panic!("power draws a power cut");
            };
            assert!(nodes.windows(2).all(|pair| pair[0] < pair[1]), "{nodes:?}");
            assert!(nodes.iter().all(|node| (1..=5).contains(node)), "{nodes:?}");
            sizes.insert(nodes.len());
        }
        assert_eq!(sizes, [1, 3, 5].into(), "one, a majority of five, all five");
    }

    #[test]
    fn partitions_come_in_three_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut shapes = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let fault = Fault::draw("partition", &[1, 2, 3, 4, 5], &mut rng);
            shapes.insert(fault.to_string().split(' ').next().unwrap().to_owned());
            if let Fault::Partition { shape, cut } = &fault {
                if shape.starts_with("one-way") {
                    assert_eq!(cut.len(), 4, "one direction to each other node");
                }
                if shape.starts_with("halves") {
                    assert_eq!(cut.len(), 2 * 2 * 3, "2 x 3 nodes, both ways");
                }
            }
        }
        assert_eq!(shapes.len(), 3, "{shapes:?}");
    }
}
