//! Membership timings in simulated time (tokio's paused clock, in-process network with 1 ms
//! links), for
//! BENCHMARKS.md (issue 17's measures):
//!
//! * the unavailability window of a leadership transfer (§3.10): from the call to the first
//!   command the new leader commits, over many seeds (p50, p99, max);
//! * the time from `add_learner` to a promoted voter for a node 100,000 entries behind, which
//!   catches up by InstallSnapshot (the leader compacted the entries it lacks).
//!
//! Run: `cargo run --release -p rafty --example membership_timings [seeds] [entries]`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::kv::{KvCommand, KvStateMachine};
use rafty::node::{Node, NodeOptions};
use rafty::{
    Config, InProcessNetwork, Membership, MemoryLog, MemorySnapshotStore, NodeId,
    StaticPeersProvider,
};
use tokio::time::Instant;

const ALL: [NodeId; 4] = [1, 2, 3, 4];
/// The one-way delay of every link (a LAN-like 1 ms), so simulated time means something.
const LINK_DELAY: Duration = Duration::from_millis(1);

struct Cluster {
    network: InProcessNetwork,
    nodes: BTreeMap<NodeId, Node>,
    config: Config,
    seed: u64,
}

impl Cluster {
    async fn start(&mut self, id: NodeId, options: NodeOptions) {
        let peers = ALL
            .iter()
            .filter(|peer| **peer != id)
            .map(|peer| self.network.peer(id, *peer))
            .collect();
        let node = Node::start(
            id,
            MemoryLog::new(),
            KvStateMachine::new(),
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(self.config.clone()),
            options.snapshot_store(MemorySnapshotStore::new()),
        )
        .await
        .expect("node starts");
        self.network.register(id, Arc::new(node.clone()));
        self.nodes.insert(id, node);
    }

    async fn bootstrap(config: Config, seed: u64) -> Cluster {
        let mut cluster = Cluster {
            network: InProcessNetwork::new(),
            nodes: BTreeMap::new(),
            config,
            seed,
        };
        for from in ALL {
            for to in ALL.into_iter().filter(|to| *to != from) {
                cluster.network.set_delay(from, to, LINK_DELAY);
            }
        }
        for id in [1, 2, 3] {
            let options =
                NodeOptions::with_seed(seed).initial_membership(Membership::new([1, 2, 3]));
            cluster.start(id, options).await;
        }
        cluster
    }

    async fn leader(&self) -> NodeId {
        loop {
            let leader = self.nodes.values().find(|node| node.role() == Role::Leader);
            if let Some(leader) = leader {
                return leader.id();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn put(&self, via: NodeId, key: String) -> bool {
        let command = KvCommand::Put {
            value: key.clone(),
            key,
        };
        self.nodes[&via]
            .submit(command.encode().unwrap())
            .await
            .is_ok()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// From `transfer_leadership` to the first command committed by the target.
async fn transfer_window(seed: u64) -> Duration {
    let cluster = Cluster::bootstrap(Config::default(), seed).await;
    let leader = cluster.leader().await;
    while !cluster.put(leader, "warm".into()).await {}
    let target = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let start = Instant::now();
    let node = cluster.nodes[&leader].clone();
    tokio::spawn(async move { node.transfer_leadership(target).await });
    while !(cluster.nodes[&target].role() == Role::Leader
        && cluster.put(target, "after".into()).await)
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// From `add_learner` to a promoted voter, for a node `entries` behind: added, caught up
/// (by snapshot, then the log after it), promoted.
async fn catch_up(entries: u64) -> (Duration, u64) {
    let config = Config {
        command_timeout: Duration::from_secs(60),
        ..Config::default()
    };
    let mut cluster = Cluster::bootstrap(config, 1).await;
    let leader = cluster.leader().await;
    for batch in 0..entries / 1000 {
        let mut puts = Vec::new();
        for index in 0..1000 {
            let node = cluster.nodes[&leader].clone();
            let command = KvCommand::Put {
                key: format!("k{}", batch * 1000 + index),
                value: "v".repeat(16),
            };
            puts.push(tokio::spawn(async move {
                node.submit(command.encode().unwrap()).await
            }));
        }
        for put in puts {
            put.await.unwrap().expect("put committed");
        }
    }
    let seed = cluster.seed;
    cluster.start(4, NodeOptions::with_seed(seed).join()).await;
    let start = Instant::now();
    let node = cluster.nodes[&leader].clone();
    node.add_learner(4).await.expect("learner added");
    // Promote once caught up (§4.2.1): what an operator (or the harness) waits for.
    let target = node.status().commit_index;
    while cluster.nodes[&4].status().last_applied < target {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    loop {
        match node.promote(4).await {
            Ok(_) => break,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    (start.elapsed(), cluster.nodes[&4].status().snapshot_index)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().map_or(100, |n| n.parse().expect("seeds"));
    let entries: u64 = args.next().map_or(100_000, |n| n.parse().expect("entries"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let wall = std::time::Instant::now();
        let mut windows = Vec::new();
        for seed in 1..=seeds {
            windows.push(transfer_window(seed).await);
        }
        windows.sort();
        println!(
            "leadership transfer unavailability ({seeds} seeds, simulated): p50 {:?} p99 {:?} \
             max {:?} (wall {:?})",
            percentile(&windows, 0.5),
            percentile(&windows, 0.99),
            windows.last().unwrap(),
            wall.elapsed()
        );
        let wall = std::time::Instant::now();
        let (took, snapshot_index) = catch_up(entries).await;
        println!(
            "add_learner to promoted voter, {entries} entries behind (simulated): {took:?}, \
             installed snapshot through {snapshot_index} (wall {:?})",
            wall.elapsed()
        );
    });
}
