//! An in-process cluster of [`Node`]s on an [`InProcessNetwork`], with in-memory logs that
//! survive restarts and key-value state machines the test can read.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::core::Role;
use rafty::kv::{KvCommand, KvResponse, KvStateMachine};
use rafty::node::{Node, NodeEvent, NodeOptions, Observer, PauseSwitch};
use rafty::{
    ClientError, Config, InProcessNetwork, LogIndex, MemoryLog, MemoryStorage, NodeId,
    StateMachine, StaticPeersProvider, Term,
};

/// A state machine the test can inspect while the node owns it.
#[derive(Clone, Default)]
pub struct SharedKv(pub Arc<Mutex<KvStateMachine>>);

impl StateMachine for SharedKv {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        self.0.lock().unwrap().apply(index, command)
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        self.0.lock().unwrap().query(query)
    }
}

/// Every event every node reported, in order.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<(NodeId, NodeEvent)>>);

impl Observer for Recorder {
    fn on_event(&self, node: NodeId, event: &NodeEvent) {
        self.0.lock().unwrap().push((node, event.clone()));
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<(NodeId, NodeEvent)> {
        self.0.lock().unwrap().clone()
    }

    /// Every (term, node) that became leader, in order.
    pub fn leaderships(&self) -> Vec<(Term, NodeId)> {
        self.events()
            .into_iter()
            .filter_map(|(node, event)| match event {
                NodeEvent::BecameLeader { term } => Some((term, node)),
                _ => None,
            })
            .collect()
    }
}

pub struct Cluster {
    pub network: InProcessNetwork,
    pub config: Config,
    pub ids: Vec<NodeId>,
    pub nodes: BTreeMap<NodeId, Node>,
    pub storages: BTreeMap<NodeId, MemoryStorage>,
    pub machines: BTreeMap<NodeId, SharedKv>,
    /// Each node's pause switch, kept across restarts.
    pub pauses: BTreeMap<NodeId, PauseSwitch>,
    pub recorder: Arc<Recorder>,
}

pub fn put(key: &str, value: &str) -> Vec<u8> {
    KvCommand::Put {
        key: key.into(),
        value: value.into(),
    }
    .encode()
    .unwrap()
}

pub fn done() -> Vec<u8> {
    KvResponse::Done.encode().unwrap()
}

impl Cluster {
    /// Start nodes `1..=size` with `config`.
    pub async fn start(size: u64, config: Config) -> Cluster {
        let mut cluster = Cluster {
            network: InProcessNetwork::new(),
            config,
            ids: (1..=size).collect(),
            nodes: BTreeMap::new(),
            storages: BTreeMap::new(),
            machines: BTreeMap::new(),
            pauses: BTreeMap::new(),
            recorder: Arc::new(Recorder::default()),
        };
        for id in cluster.ids.clone() {
            cluster.start_node(id).await;
        }
        cluster
    }

    /// Start (or restart) node `id` on whatever its storage holds, with an empty state
    /// machine.
    pub async fn start_node(&mut self, id: NodeId) {
        let storage = self.storages.entry(id).or_default().clone();
        let machine = SharedKv::default();
        let peers = self
            .ids
            .iter()
            .filter(|peer| **peer != id)
            .map(|peer| self.network.peer(id, *peer))
            .collect();
        let pause = self.pauses.entry(id).or_default().clone();
        let options = NodeOptions::with_seed(42)
            .observer(self.recorder.clone())
            .check_invariants(true)
            .pause_switch(pause);
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
        self.network.register(id, Arc::new(node.clone()));
        self.nodes.insert(id, node);
        self.machines.insert(id, machine);
    }

    /// Crash node `id`: cut it off the network and stop it. Its storage survives.
    pub async fn kill(&mut self, id: NodeId) {
        self.network.crash(id);
        let node = self.nodes.remove(&id).expect("node is running");
        node.stop().await;
    }

    /// Freeze node `id`'s event loop (a simulated SIGSTOP); its peers and timers go on.
    pub fn pause(&self, id: NodeId) {
        self.pauses[&id].pause();
    }

    /// Let node `id`'s event loop run again.
    pub fn resume(&self, id: NodeId) {
        self.pauses[&id].resume();
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    /// The first member (in id order) other than `leader`.
    pub fn follower_of(&self, leader: NodeId) -> NodeId {
        self.ids
            .iter()
            .copied()
            .find(|id| *id != leader)
            .expect("a cluster of more than one node")
    }

    /// The running nodes that currently believe they lead, with their terms.
    pub fn leaders(&self) -> Vec<(NodeId, Term)> {
        self.nodes
            .values()
            .map(Node::status)
            .filter(|status| status.role == Role::Leader)
            .map(|status| (status.id, status.term))
            .collect()
    }

    /// Wait until exactly one node of `among` leads and all of `among` know it; returns it.
    pub async fn wait_for_leader(&self, among: &[NodeId]) -> NodeId {
        let found = wait_until(Duration::from_secs(10), || {
            let statuses: Vec<_> = among.iter().map(|id| self.nodes[id].status()).collect();
            let leader = statuses.iter().find(|s| s.role == Role::Leader)?;
            let agreed = statuses
                .iter()
                .all(|s| s.leader == Some(leader.id) && s.term == leader.term);
            agreed.then_some(leader.id)
        })
        .await;
        found.unwrap_or_else(|| panic!("no agreed leader among {among:?}: {:?}", self.leaders()))
    }

    /// The key-value data of node `id`.
    pub fn data(&self, id: NodeId) -> BTreeMap<String, String> {
        self.machines[&id].0.lock().unwrap().data().clone()
    }

    /// Wait until every node of `among` holds `key = value`.
    pub async fn wait_for_value(&self, among: &[NodeId], key: &str, value: &str) {
        let reached = wait_until(Duration::from_secs(10), || {
            among
                .iter()
                .all(|id| self.data(*id).get(key).map(String::as_str) == Some(value))
                .then_some(())
        })
        .await;
        assert!(reached.is_some(), "{key}={value} not on all of {among:?}");
    }

    /// Waits until `applied` (key, value) is on all of `among`, then asserts that `absent`
    /// is on none of them: a command that must never apply, checked after a later one did.
    pub async fn assert_never_applied(
        &self,
        among: &[NodeId],
        applied: (&str, &str),
        absent: &str,
    ) {
        self.wait_for_value(among, applied.0, applied.1).await;
        for id in among {
            assert_eq!(self.data(*id).get(absent), None, "node {id}");
        }
    }

    pub async fn submit(&self, id: NodeId, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.nodes[&id].submit(command).await
    }

    pub async fn stop_all(&mut self) {
        for (_, node) in std::mem::take(&mut self.nodes) {
            node.stop().await;
        }
    }
}

/// Poll `condition` every 10 ms of (virtual) time until it returns `Some`, at most `limit`.
pub async fn wait_until<T>(limit: Duration, mut condition: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = condition() {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Run `future` to completion, failing the test if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("took too long")
}
