//! Snapshots end to end, in process (§7): a follower cut off while the others commit and
//! compact past it catches up by InstallSnapshot; a restarted node starts from its snapshot
//! and replays only the log after it.
//!
//! The links are a small test-local network whose `Peer` forwards every call, InstallSnapshot
//! included, straight to the target node's `RpcHandler`, and which can cut a node off.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rafty::kv::{KvCommand, KvStateMachine};
use rafty::node::{Node, NodeEvent, NodeOptions, Observer};
use rafty::{
    AppendEntries, AppendEntriesResponse, Config, ForwardResponse, InstallSnapshot,
    InstallSnapshotResponse, LogIndex, MemoryLog, MemorySnapshotStore, MemoryStorage, NodeId, Peer,
    PeerError, RequestVote, RequestVoteResponse, RpcHandler, SnapshotSource, StateMachine,
    StaticPeersProvider, TimeoutNow, TimeoutNowResponse,
};

/// Which nodes exist and which are cut off.
#[derive(Clone, Default)]
struct Net {
    nodes: Arc<Mutex<BTreeMap<NodeId, Node>>>,
    cut: Arc<Mutex<BTreeSet<NodeId>>>,
}

struct Link {
    net: Net,
    from: NodeId,
    to: NodeId,
}

impl Link {
    fn target(&self) -> Result<Node, PeerError> {
        let cut = self.net.cut.lock().unwrap();
        let not_sent = |reason: &str| PeerError::NotSent {
            peer: self.to,
            reason: reason.into(),
        };
        if cut.contains(&self.from) || cut.contains(&self.to) {
            return Err(not_sent("cut off"));
        }
        let nodes = self.net.nodes.lock().unwrap();
        nodes.get(&self.to).cloned().ok_or_else(|| not_sent("down"))
    }
}

async fn bounded<T>(
    to: NodeId,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, PeerError>>,
) -> Result<T, PeerError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(PeerError::TimedOut { peer: to, timeout }))
}

#[async_trait]
impl Peer for Link {
    fn id(&self) -> NodeId {
        self.to
    }
    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        let node = self.target()?;
        bounded(self.to, timeout, node.request_vote(request)).await
    }
    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let node = self.target()?;
        bounded(self.to, timeout, node.append_entries(request)).await
    }
    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        let node = self.target()?;
        bounded(self.to, timeout, RpcHandler::forward(&node, command)).await
    }
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let node = self.target()?;
        bounded(self.to, timeout, node.install_snapshot(request)).await
    }
    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        let node = self.target()?;
        bounded(self.to, timeout, node.timeout_now(request)).await
    }
}

/// A key-value state machine the test can read, counting the commands it applies.
#[derive(Clone, Default)]
struct CountingKv {
    kv: Arc<Mutex<KvStateMachine>>,
    applies: Arc<AtomicU64>,
}

impl StateMachine for CountingKv {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        self.kv.lock().unwrap().apply(index, command)
    }
    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        self.kv.lock().unwrap().snapshot()
    }
    fn restore(&mut self, index: LogIndex, data: &mut dyn io::Read) -> io::Result<()> {
        self.kv.lock().unwrap().restore(index, data)
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(NodeId, NodeEvent)>>);

impl Observer for Recorder {
    fn on_event(&self, node: NodeId, event: &NodeEvent) {
        self.0.lock().unwrap().push((node, event.clone()));
    }
}

impl Recorder {
    fn saw(&self, node: NodeId, wanted: impl Fn(&NodeEvent) -> bool) -> bool {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .any(|(id, event)| *id == node && wanted(event))
    }
}

struct Cluster {
    net: Net,
    ids: Vec<NodeId>,
    config: Config,
    storages: BTreeMap<NodeId, MemoryStorage>,
    stores: BTreeMap<NodeId, MemorySnapshotStore>,
    machines: BTreeMap<NodeId, CountingKv>,
    recorder: Arc<Recorder>,
}

impl Cluster {
    async fn start(size: u64, config: Config) -> Cluster {
        let mut cluster = Cluster {
            net: Net::default(),
            ids: (1..=size).collect(),
            config,
            storages: BTreeMap::new(),
            stores: BTreeMap::new(),
            machines: BTreeMap::new(),
            recorder: Arc::new(Recorder::default()),
        };
        for id in cluster.ids.clone() {
            cluster.start_node(id).await;
        }
        cluster
    }

    /// Start (or restart) `id` on its log storage and snapshot store, with a new state
    /// machine.
    async fn start_node(&mut self, id: NodeId) {
        let storage = self.storages.entry(id).or_default().clone();
        let store = self.stores.entry(id).or_default().clone();
        let machine = CountingKv::default();
        let peers = self
            .ids
            .iter()
            .filter(|peer| **peer != id)
            .map(|peer| {
                Arc::new(Link {
                    net: self.net.clone(),
                    from: id,
                    to: *peer,
                }) as Arc<dyn Peer>
            })
            .collect();
        let options = NodeOptions::with_seed(9)
            .observer(self.recorder.clone())
            .check_invariants(true)
            .snapshot_store(store);
        let node = Node::start(
            id,
            MemoryLog::open(&storage),
            machine.clone(),
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(self.config.clone()),
            options,
        )
        .await
        .expect("node starts");
        self.net.nodes.lock().unwrap().insert(id, node);
        self.machines.insert(id, machine);
    }

    async fn stop(&self, id: NodeId) {
        let node = self.net.nodes.lock().unwrap().remove(&id).expect("running");
        node.stop().await;
    }

    fn node(&self, id: NodeId) -> Node {
        self.net.nodes.lock().unwrap()[&id].clone()
    }

    fn data(&self, id: NodeId) -> BTreeMap<String, String> {
        self.machines[&id].kv.lock().unwrap().data().clone()
    }

    async fn wait_for_leader(&self) -> NodeId {
        wait_until(|| {
            let nodes = self.net.nodes.lock().unwrap();
            let leader = nodes
                .values()
                .map(Node::status)
                .find(|s| s.role == rafty::core::Role::Leader)?;
            nodes
                .values()
                .all(|n| n.status().leader == Some(leader.id))
                .then_some(leader.id)
        })
        .await
        .expect("a leader")
    }

    async fn put(&self, leader: NodeId, key: &str, value: &str) {
        let command = KvCommand::Put {
            key: key.into(),
            value: value.into(),
        };
        self.node(leader)
            .submit(command.encode().unwrap())
            .await
            .expect("committed");
    }
}

/// Poll every 10 ms of virtual time, at most 20 s.
async fn wait_until<T>(mut condition: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..2000 {
        if let Some(found) = condition() {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn config() -> Config {
    Config {
        snapshot_threshold_entries: 5,
        snapshot_keep_entries: 2,
        snapshot_chunk_bytes: 16,
        ..Config::default()
    }
}

/// §7 ("the leader must occasionally send snapshots to followers that lag behind"): a
/// follower cut off while the others commit and compact past its log catches up by
/// InstallSnapshot, in several chunks, and ends with the same key-value state.
#[tokio::test(start_paused = true)]
async fn a_follower_behind_the_compacted_log_catches_up_by_install_snapshot() {
    let cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader().await;
    let behind = cluster
        .ids
        .iter()
        .copied()
        .find(|id| *id != leader)
        .unwrap();
    cluster.put(leader, "before", "cut").await;
    cluster.net.cut.lock().unwrap().insert(behind);
    for round in 0..30 {
        cluster
            .put(leader, &format!("k{}", round % 7), &round.to_string())
            .await;
    }
    let behind_last = cluster.node(behind).status().last_index;
    let compacted = wait_until(|| {
        let first = cluster.node(leader).status().first_index;
        (first > behind_last + 1).then_some(first)
    })
    .await;
    assert!(
        compacted.is_some(),
        "the leader compacted past the follower's last index {behind_last}: {:?}",
        cluster.node(leader).status()
    );
    assert!(
        cluster
            .recorder
            .saw(leader, |e| matches!(e, NodeEvent::SnapshotTaken { .. }))
    );
    assert!(
        cluster
            .recorder
            .saw(leader, |e| matches!(e, NodeEvent::LogCompacted { .. }))
    );
    cluster.net.cut.lock().unwrap().clear();
    let expected = cluster.data(leader);
    let caught_up = wait_until(|| (cluster.data(behind) == expected).then_some(())).await;
    assert!(
        caught_up.is_some(),
        "{:?} != {expected:?}",
        cluster.data(behind)
    );
    assert!(
        cluster
            .recorder
            .saw(behind, |e| matches!(e, NodeEvent::SnapshotInstalled { .. }))
    );
    let status = cluster.node(behind).status();
    assert!(status.snapshot_index > behind_last, "{status:?}");
    assert!(status.first_index > behind_last + 1, "{status:?}");
}

/// §7: a restarted node restores its state machine from its latest snapshot and replays only
/// the log after it (counted applies), reaching the same state.
#[tokio::test(start_paused = true)]
async fn a_restarted_node_starts_from_its_snapshot_and_replays_only_the_tail() {
    let mut cluster = Cluster::start(1, config()).await;
    let leader = cluster.wait_for_leader().await;
    for round in 0..12 {
        cluster.put(leader, &format!("k{round}"), "v").await;
    }
    let taken = wait_until(|| {
        let status = cluster.node(leader).status();
        (status.snapshot_index >= 10).then_some(status)
    })
    .await
    .expect("a snapshot through index 10 or later");
    let expected = cluster.data(leader);
    cluster.stop(leader).await;
    cluster.start_node(leader).await;
    let restarted = cluster.node(leader).status();
    assert_eq!(restarted.snapshot_index, taken.snapshot_index);
    assert_eq!(restarted.last_applied, taken.snapshot_index);
    assert!(
        restarted.first_index > 1,
        "the log was compacted: {restarted:?}"
    );
    let replayed = wait_until(|| (cluster.data(leader) == expected).then_some(())).await;
    assert!(
        replayed.is_some(),
        "{:?} != {expected:?}",
        cluster.data(leader)
    );
    let applies = cluster.machines[&leader].applies.load(Ordering::SeqCst);
    // Only the commands after the snapshot (the log's tail) are applied again.
    assert_eq!(
        applies,
        taken.last_index - taken.snapshot_index,
        "{taken:?}"
    );
    assert!(applies < 12);
}
