//! Membership changes end to end on the in-process network (dissertation chapter 4, §3.10):
//! a node joins as a learner and catches up (by snapshot when the log it needs is compacted),
//! is promoted, the old leader removes itself, and leadership is transferred.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rafty::core::{MembershipChangeError, Role};
use rafty::kv::{KvCommand, KvStateMachine};
use rafty::node::{AdminError, Node, NodeOptions};
use rafty::{
    Config, InProcessNetwork, Membership, MemoryLog, MemorySnapshotStore, MemoryStorage, NodeId,
    StaticPeersProvider,
};

/// Every node the test may start; each node's provider knows where all of them are (§4: the
/// provider says where, the configuration says who).
const ALL: [NodeId; 5] = [1, 2, 3, 4, 5];

struct Cluster {
    network: InProcessNetwork,
    config: Config,
    nodes: BTreeMap<NodeId, Node>,
    /// Each node's log and snapshot store, which survive a restart.
    disks: BTreeMap<NodeId, (MemoryStorage, MemorySnapshotStore)>,
}

impl Cluster {
    fn new(config: Config) -> Cluster {
        Cluster {
            network: InProcessNetwork::new(),
            config,
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
        }
    }

    async fn start(&mut self, id: NodeId, options: NodeOptions) {
        let peers = ALL
            .iter()
            .filter(|peer| **peer != id)
            .map(|peer| self.network.peer(id, *peer))
            .collect();
        let (storage, store) = self.disks.entry(id).or_default().clone();
        let options = options.check_invariants(true).snapshot_store(store);
        let node = Node::start(
            id,
            MemoryLog::open(&storage),
            KvStateMachine::new(),
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(self.config.clone()),
            options,
        )
        .await
        .expect("node starts");
        self.network.register(id, Arc::new(node.clone()));
        self.nodes.insert(id, node);
    }

    /// Start voters `voters` as a fresh cluster of exactly them.
    async fn bootstrap(config: Config, voters: &[NodeId]) -> Cluster {
        let mut cluster = Cluster::new(config);
        for &id in voters {
            let options = NodeOptions::with_seed(7)
                .initial_membership(Membership::new(voters.iter().copied()));
            cluster.start(id, options).await;
        }
        cluster
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    async fn leader(&self, among: &[NodeId]) -> NodeId {
        for _ in 0..400 {
            let leader = among
                .iter()
                .find(|id| self.node(**id).role() == Role::Leader)
                .copied();
            if let Some(leader) = leader
                && among
                    .iter()
                    .all(|id| self.node(*id).status().leader == Some(leader))
            {
                return leader;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no leader among {among:?}");
    }

    async fn put(&self, via: NodeId, key: &str) {
        let command = KvCommand::Put {
            key: key.into(),
            value: key.into(),
        };
        self.node(via)
            .submit(command.encode().unwrap())
            .await
            .expect("put committed");
    }

    /// Wait until `id` has applied everything `leader` has committed.
    async fn caught_up(&self, id: NodeId, leader: NodeId) {
        let target = self.node(leader).status().commit_index;
        for _ in 0..400 {
            if self.node(id).status().last_applied >= target {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "node {id} did not catch up to {target}: {:?}",
            self.node(id).status()
        );
    }
}

/// §4.2.1 then §4.2, §4.2.2, §3.10: learner, catch-up, promotion, the leader removing itself,
/// a transfer to the newcomer.
#[tokio::test(start_paused = true)]
async fn a_node_joins_as_learner_is_promoted_and_takes_over_from_a_removed_leader() {
    let mut cluster = Cluster::bootstrap(Config::default(), &[1, 2, 3]).await;
    let leader = cluster.leader(&[1, 2, 3]).await;
    for key in ["a", "b", "c"] {
        cluster.put(leader, key).await;
    }
    cluster.start(4, NodeOptions::with_seed(7).join()).await;
    assert_eq!(cluster.node(4).membership().0, Membership::default());
    cluster
        .node(leader)
        .add_learner(4)
        .await
        .expect("learner added");
    cluster.caught_up(4, leader).await;
    assert_eq!(
        cluster.node(4).membership().0,
        Membership::new([1, 2, 3]).with_learners([4])
    );
    assert_eq!(cluster.node(4).role(), Role::Follower);
    let refused = cluster.node(leader).promote(9).await;
    assert!(
        matches!(
            refused,
            Err(AdminError::Membership(MembershipChangeError::UnknownNode {
                node: 9,
                ..
            }))
        ),
        "{refused:?}"
    );
    cluster.node(leader).promote(4).await.expect("promoted");
    assert_eq!(
        cluster.node(leader).membership().0,
        Membership::new([1, 2, 3, 4])
    );
    cluster.node(leader).remove(leader).await.expect("removed");
    let rest: Vec<NodeId> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let next = cluster.leader(&rest).await;
    assert_ne!(next, leader);
    assert_ne!(cluster.node(leader).role(), Role::Leader);
    if next != 4 {
        cluster
            .node(next)
            .transfer_leadership(4)
            .await
            .expect("transferred");
    }
    assert_eq!(cluster.leader(&rest).await, 4);
    cluster.put(4, "d").await;
    let removed = cluster.node(leader).submit(b"x".to_vec()).await;
    assert!(
        removed.is_err(),
        "a removed node leads nothing: {removed:?}"
    );
}

/// §4.3: two voters replaced at once go through C_old,new; the call returns once C_new is
/// committed, and the cluster keeps committing.
#[tokio::test(start_paused = true)]
async fn joint_consensus_replaces_two_voters_at_once() {
    let mut cluster = Cluster::bootstrap(Config::default(), &[1, 2, 3]).await;
    let leader = cluster.leader(&[1, 2, 3]).await;
    cluster.put(leader, "a").await;
    for id in [4, 5] {
        cluster.start(id, NodeOptions::with_seed(7).join()).await;
        cluster.node(leader).add_learner(id).await.expect("learner");
        cluster.caught_up(id, leader).await;
    }
    let keep = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let target = Membership::new([leader, keep, 4, 5]);
    // {1, 2, 3} -> {leader, keep, 4, 5}: the third old voter leaves, two join: joint.
    cluster
        .node(leader)
        .change_membership(target.clone())
        .await
        .expect("changed");
    assert_eq!(cluster.node(leader).membership().0, target);
    cluster.put(leader, "b").await;
    cluster.caught_up(5, leader).await;
    assert_eq!(cluster.node(5).membership().0, target);
}

/// §4.2.1 with §7: a learner that needs entries the leader compacted away catches up by
/// InstallSnapshot, and the snapshot carries the configuration as of its index (§5.4 of the
/// dissertation), so the learner knows every member before any later entry reaches it.
#[tokio::test(start_paused = true)]
async fn a_learner_far_behind_catches_up_by_snapshot_carrying_the_configuration() {
    let config = Config {
        snapshot_threshold_entries: 8,
        snapshot_keep_entries: 0,
        ..Config::default()
    };
    let mut cluster = Cluster::bootstrap(config, &[1, 2, 3]).await;
    let leader = cluster.leader(&[1, 2, 3]).await;
    cluster.start(4, NodeOptions::with_seed(7).join()).await;
    cluster.node(leader).add_learner(4).await.expect("learner");
    cluster.caught_up(4, leader).await;
    cluster.node(leader).promote(4).await.expect("promoted");
    for index in 0..30 {
        cluster.put(leader, &format!("k{index}")).await;
    }
    let status = cluster.node(leader).status();
    assert!(status.first_index > 10, "compacted: {status:?}");
    // Node 4's configuration entries are compacted away: a restart finds its configuration
    // in its snapshot (a joining node's empty start configuration would leave it mute).
    cluster.caught_up(4, leader).await;
    let node_4 = cluster.node(4).status();
    assert!(node_4.first_index > 10, "compacted: {node_4:?}");
    cluster.network.crash(4);
    cluster.node(4).stop().await;
    cluster.start(4, NodeOptions::with_seed(7).join()).await;
    assert_eq!(
        cluster.node(4).membership().0,
        Membership::new([1, 2, 3, 4])
    );
    cluster.start(5, NodeOptions::with_seed(7).join()).await;
    cluster.node(leader).add_learner(5).await.expect("learner");
    cluster.caught_up(5, leader).await;
    let joined = cluster.node(5).status();
    assert!(
        joined.snapshot_index > 10,
        "installed a snapshot: {joined:?}"
    );
    assert_eq!(
        cluster.node(5).membership().0,
        Membership::new([1, 2, 3, 4]).with_learners([5])
    );
}
