//! A cluster of `rafty node` processes on 127.0.0.1 with the fault proxy on every link, its
//! data in a temporary directory removed when the cluster is dropped (after its processes are
//! killed: the fields drop in order).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rafty::NodeId;
use rafty::service::{KvClient, KvClientConfig};
use rafty::tcp::TokioConnector;

use super::faults::Fault;
use super::process::{NodeProcess, NodeSpec};
use super::proxy::{FaultProxy, Flow};

/// The node processes, the proxy between them, and their data.
pub struct RealCluster {
    nodes: BTreeMap<NodeId, NodeProcess>,
    proxy: FaultProxy,
    cluster_id: u64,
    dir: tempfile::TempDir,
}

impl RealCluster {
    /// Start nodes `ids`, each with `settings`, its data in a new directory under `data_root`.
    pub async fn start(
        ids: &[NodeId],
        data_root: &Path,
        settings: &rafty::Config,
    ) -> Result<RealCluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("rafty-real-")
            .tempdir_in(data_root)
            .map_err(|error| {
                format!(
                    "cannot create a data directory in {}: {error}",
                    data_root.display()
                )
            })?;
        let proxy = FaultProxy::bind(ids)
            .await
            .map_err(|error| format!("cannot bind the fault proxy: {error}"))?;
        let cluster_id = u64::from(std::process::id()) << 16 | u64::from(rand::random::<u16>());
        let settings_file = dir.path().join("settings.json");
        let text = serde_json::to_string_pretty(settings).expect("serializable");
        std::fs::write(&settings_file, text)
            .map_err(|error| format!("cannot write {}: {error}", settings_file.display()))?;
        let mut cluster = RealCluster {
            nodes: BTreeMap::new(),
            proxy,
            cluster_id,
            dir,
        };
        for &id in ids {
            let node_dir = cluster.dir.path().join(format!("n{id}"));
            let spec = NodeSpec {
                id,
                data_dir: node_dir.clone(),
                peers: ids
                    .iter()
                    .filter(|&&peer| peer != id)
                    .map(|&peer| (peer, cluster.proxy.address(id, peer).to_owned()))
                    .collect(),
                cluster_id,
                settings_file: settings_file.clone(),
                log_file: cluster.dir.path().join(format!("n{id}.log")),
            };
            let node = NodeProcess::start(spec).await?;
            cluster.proxy.set_target(id, node.listening().raft.clone());
            cluster.nodes.insert(id, node);
        }
        Ok(cluster)
    }

    /// The node ids.
    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The process ids of the nodes now running.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.values().filter_map(NodeProcess::pid).collect()
    }

    /// The directory holding every node's data.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A client of every node's key-value service (straight to the nodes: clients are never
    /// partitioned).
    pub fn client(&self, mut config: KvClientConfig) -> KvClient<TokioConnector> {
        config.transport.cluster_id = self.cluster_id;
        let addrs = self
            .nodes
            .values()
            .map(|node| (node.id(), node.listening().kv.clone()));
        KvClient::new(TokioConnector, addrs, config)
    }

    /// Start `fault`.
    pub async fn start_fault(&mut self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::Kill { node } => self.node(*node).kill().await,
            Fault::Pause { node } => self.node(*node).pause(),
            Fault::Partition { cut, .. } => {
                for &(from, to) in cut {
                    self.proxy.set_flow(from, to, Flow::Cut);
                }
            }
            Fault::Latency { node, latency } => {
                for (from, to) in self.links_of(*node) {
                    self.proxy.set_latency(from, to, *latency);
                }
            }
            Fault::Clog { node } => {
                for (from, to) in self.links_of(*node) {
                    self.proxy.set_flow(from, to, Flow::Clogged);
                }
            }
        }
        Ok(())
    }

    /// Undo `fault`.
    pub async fn stop_fault(&mut self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::Kill { node } => self.node(*node).restart().await?,
            Fault::Pause { node } => self.node(*node).resume(),
            Fault::Partition { cut, .. } => {
                for &(from, to) in cut {
                    self.proxy.set_flow(from, to, Flow::Open);
                }
            }
            Fault::Latency { node, .. } => {
                for (from, to) in self.links_of(*node) {
                    self.proxy.set_latency(from, to, Duration::ZERO);
                }
            }
            Fault::Clog { node } => {
                for (from, to) in self.links_of(*node) {
                    self.proxy.set_flow(from, to, Flow::Open);
                }
            }
        }
        Ok(())
    }

    /// Every link open, every node running and resumed.
    pub async fn heal(&mut self) -> Result<(), String> {
        self.proxy.heal_all();
        for node in self.nodes.values_mut() {
            node.resume();
            node.restart().await?;
        }
        Ok(())
    }

    /// Stop every node gracefully; each node's log.
    pub async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>> {
        let mut logs = BTreeMap::new();
        for (&id, node) in &mut self.nodes {
            node.stop().await;
            logs.insert(id, node.log_lines());
        }
        logs
    }

    fn node(&mut self, id: NodeId) -> &mut NodeProcess {
        self.nodes.get_mut(&id).expect("a node of the cluster")
    }

    /// Both directions between `node` and every other node.
    fn links_of(&self, node: NodeId) -> Vec<(NodeId, NodeId)> {
        self.nodes
            .keys()
            .filter(|&&other| other != node)
            .flat_map(|&other| [(node, other), (other, node)])
            .collect()
    }
}
