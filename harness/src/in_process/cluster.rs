//! The cluster of an in-process run: rafty [`Node`]s on the run's tokio runtime, each on a
//! [`MemoryLog`](rafty::MemoryLog) kept across its restarts and rafty's key-value machine,
//! every node-to-node call through the user's transport (a [`PeerCluster`]): node `i` calls
//! node `j` through the user's `Peer` wrapped as
//! `ObservedPeer(FaultyPeer(CheckedPeer(user's Peer)))`, and `j` answers through the user's
//! server, which hands calls to `CheckedHandler(ObservedRpc(node))`. The protocol checks see
//! the wire from both ends as in a simulated run; [`super::wire`] compares the two ends;
//! [`super::links`] applies the network faults.
//!
//! A kill stops the node's server (closing its connections) and its event loop, and drops the
//! node; its restart opens the same storage (every write durable on return, as a `kill -9`
//! leaves an fsynced log), starts a new node with new `Peer`s from the user's cluster, and
//! serves it at the same address. A pause stops the node's event loop ([`PauseSwitches`]);
//! its server still accepts calls, which wait, as a stopped process's kernel would take them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rafty::node::{Node, NodeOptions};
use rafty::snapshot::MemorySnapshotStore;
use rafty::testing::peer_cluster::PeerCluster;
use rafty::{Membership, NodeId, Peer, StaticPeersProvider};

use crate::checks::invariants::Observation;
use crate::run::seeds::Seeds;
use crate::sim::cluster::PauseSwitches;
use crate::sim::factories::{
    KvStateMachineFactory, MemoryLogFactory, NodeLogs, NodeStateMachines, ObservedStateMachine,
};
use crate::sim::node_observer::NodeObserver;
use crate::sim::observe::Observations;
use crate::sim::observed_log::ObservedLog;
use crate::sim::observed_peer::ObservedPeer;
use crate::sim::observed_rpc::ObservedRpc;

use super::links::{FaultyPeer, Links};
use super::wire::{CheckedHandler, CheckedPeer, WireLedger};
use crate::peer_calls::{HandlerLayer, PeerLayer};

/// The nodes running now, shared with the clients (a killed node is absent).
#[derive(Clone, Debug, Default)]
pub struct Running {
    nodes: Arc<Mutex<BTreeMap<NodeId, Node>>>,
}

impl Running {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<NodeId, Node>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Node `id`, if it runs.
    pub fn get(&self, id: NodeId) -> Option<Node> {
        self.lock().get(&id).cloned()
    }
}

/// A cluster on the user's transport.
pub struct InProcessCluster<'t> {
    ids: Vec<NodeId>,
    addresses: BTreeMap<NodeId, SocketAddr>,
    transport: &'t mut dyn PeerCluster,
    settings: Arc<rafty::Config>,
    seeds: Seeds,
    logs: MemoryLogFactory,
    snapshots: BTreeMap<NodeId, MemorySnapshotStore>,
    incarnations: BTreeMap<NodeId, u64>,
    /// Each node's pause switch.
    pub pauses: PauseSwitches,
    /// The network faults.
    pub links: Links,
    /// The nodes running.
    pub running: Running,
    observations: Observations,
    ledger: WireLedger,
}

impl<'t> InProcessCluster<'t> {
    /// Start nodes `ids` (served at `addresses`, one each) on `transport`, with `settings`,
    /// reporting to `observations`.
    pub async fn start(
        ids: &[NodeId],
        addresses: Vec<SocketAddr>,
        transport: &'t mut dyn PeerCluster,
        settings: rafty::Config,
        seeds: Seeds,
        observations: Observations,
    ) -> Result<InProcessCluster<'t>, String> {
        observations.set_cluster_size(ids.len());
        let mut cluster = InProcessCluster {
            ids: ids.to_vec(),
            addresses: ids.iter().copied().zip(addresses).collect(),
            transport,
            settings: Arc::new(settings),
            seeds,
            logs: MemoryLogFactory::new(),
            snapshots: ids
                .iter()
                .map(|&id| (id, MemorySnapshotStore::new()))
                .collect(),
            incarnations: BTreeMap::new(),
            pauses: PauseSwitches::new(ids),
            links: Links::new(),
            running: Running::default(),
            ledger: WireLedger::new(observations.clone()),
            observations,
        };
        for &id in ids {
            cluster.restart(id).await?;
        }
        Ok(cluster)
    }

    /// The node ids.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Node `id`'s peers: a new `Peer` of the user's to every other node, wrapped.
    async fn peers(&mut self, id: NodeId) -> Result<Vec<Arc<dyn Peer>>, String> {
        let mut peers = Vec::new();
        let others: Vec<(NodeId, SocketAddr)> = self
            .addresses
            .iter()
            .map(|(&other, &address)| (other, address))
            .filter(|&(other, _)| other != id)
            .collect();
        for (other, address) in others {
            let user = self
                .transport
                .peer(id, other, address)
                .await
                .map_err(|error| format!("the Peer from n{id} to n{other}: {error}"))?;
            let checked = CheckedPeer::new(id, user, self.ledger.clone()).into_peer();
            let faulty = FaultyPeer::new(id, checked, self.links.clone()).into_peer();
            let observed = ObservedPeer::new(id, faulty, self.observations.clone());
            peers.push(observed.into_peer());
        }
        Ok(peers)
    }

    /// Start node `id` from its storage and serve it (nothing if it runs).
    pub async fn restart(&mut self, id: NodeId) -> Result<(), String> {
        if self.running.get(id).is_some() {
            return Ok(());
        }
        let incarnation = {
            let count = self.incarnations.entry(id).or_default();
            *count += 1;
            *count - 1
        };
        self.observations.observe(id, Observation::Started);
        let log = self
            .logs
            .open(id)
            .map_err(|error| format!("n{id}: cannot open its log: {error}"))?;
        let log = ObservedLog::open(id, log, self.observations.clone())
            .map_err(|error| format!("n{id}: cannot read its log: {error}"))?;
        let state_machine = ObservedStateMachine::new(
            id,
            KvStateMachineFactory.create(id),
            self.observations.clone(),
        );
        let peers = StaticPeersProvider::new(self.peers(id).await?);
        let options = NodeOptions {
            seed: self.seeds.derive("node", Seeds::pack(id, incarnation)),
            observer: Some(Arc::new(NodeObserver::new(self.observations.clone()))),
            check_invariants: true,
            pause_switch: Some(self.pauses.switch(id)),
            initial_membership: Some(Membership::new(self.ids.iter().copied())),
            ..NodeOptions::default()
        }
        .snapshot_store(self.snapshots[&id].clone());
        let node = Node::start(
            id,
            log,
            state_machine,
            Arc::new(peers),
            self.settings.clone(),
            options,
        )
        .await
        .map_err(|error| format!("n{id} cannot start: {error}"))?;
        let observed = ObservedRpc::new(id, node.clone(), self.observations.clone());
        let handler = CheckedHandler::new(id, Arc::new(observed), self.ledger.clone());
        let address = self.addresses[&id];
        if let Err(error) = self
            .transport
            .start_server(id, address, handler.into_handler())
            .await
        {
            node.stop().await;
            return Err(format!(
                "n{id}'s server at {address} did not start: {error}"
            ));
        }
        self.running.lock().insert(id, node);
        Ok(())
    }

    /// Kill node `id`: stop its server and its event loop (nothing if it is down).
    pub async fn kill(&mut self, id: NodeId) {
        let node = self.running.lock().remove(&id);
        if let Some(node) = node {
            self.transport.stop_server(id).await;
            node.stop().await;
            self.observations.observe(id, Observation::Stopped);
        }
    }

    /// Stop every node and server; each node's log.
    pub async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>> {
        for id in self.ids.clone() {
            self.pauses.resume(id);
            self.kill(id).await;
        }
        self.observations.node_logs()
    }
}
