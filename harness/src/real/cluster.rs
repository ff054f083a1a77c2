//! A cluster of `rafty node` processes on 127.0.0.1 with the fault proxy on every link, its
//! data in a temporary directory removed when the cluster is dropped (after its processes are
//! killed: the fields drop in order): rafty's own [`RealTarget`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rafty::service::{KvClient, KvClientConfig};
use rafty::tcp::TokioConnector;
use rafty::tcp::tls::ClientAuth;
use rafty::{NodeId, ReadConsistency};

use super::node::{RegistryHttp, TlsFiles};
use super::process::{NodeProcess, NodeSpec};
use super::proxy::FaultProxy;
use super::target::RealTarget;
use crate::sim::client::KvApi;
use crate::sim::kv_api::ServiceApi;

/// The node processes, the proxy between them, and their data.
pub struct RealCluster {
    nodes: BTreeMap<NodeId, NodeProcess>,
    proxy: FaultProxy,
    cluster_id: u64,
    dir: tempfile::TempDir,
    tls: bool,
}

/// How every node process of a cluster runs, beyond its settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeModes {
    /// `rafty node --lazy-fs`, so that its power can be cut.
    pub lazy_fs: bool,
    /// Mutual TLS between the nodes and on their client ports (HTTPS for the registry),
    /// with certificates made for the cluster at its start (`rafty certs`, into `certs/` of
    /// its data directory, with a client identity `bench`).
    pub tls: bool,
}

/// The client identity a TLS cluster's certificates include (`certs/bench.pem`).
pub const TLS_CLIENT: &str = "bench";

impl RealCluster {
    /// Start nodes `ids`, each with `settings` and `modes`, its data in a new directory under
    /// `data_root`.
    pub async fn start(
        ids: &[NodeId],
        data_root: &Path,
        settings: &rafty::Config,
        modes: NodeModes,
    ) -> Result<RealCluster, String> {
        RealCluster::start_serving(ids, data_root, settings, false, modes).await
    }

    /// [`RealCluster::start`] with each node serving the service registry
    /// (`rafty node --registry`) on a free port instead of the bare key-value store.
    pub async fn start_registry(
        ids: &[NodeId],
        data_root: &Path,
        settings: &rafty::Config,
        modes: NodeModes,
    ) -> Result<RealCluster, String> {
        RealCluster::start_serving(ids, data_root, settings, true, modes).await
    }

    async fn start_serving(
        ids: &[NodeId],
        data_root: &Path,
        settings: &rafty::Config,
        registry: bool,
        modes: NodeModes,
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
            tls: modes.tls,
        };
        if modes.tls {
            crate::cli::certs::make(&crate::cli::certs::Args {
                cluster_id,
                nodes: ids.to_vec(),
                clients: vec![TLS_CLIENT.to_owned()],
                hosts: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
                out: cluster.certs_dir(),
            })?;
        }
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
                listen: NodeSpec::any_ports(),
                registry: registry.then(|| RegistryHttp {
                    listen: "127.0.0.1:0".to_owned(),
                    peers: Vec::new(),
                    client_auth: ClientAuth::Required,
                }),
                tls: modes.tls.then(|| TlsFiles {
                    cert: cluster.certs_dir().join(format!("node-{id}.pem")),
                    key: cluster.certs_dir().join(format!("node-{id}.key")),
                    ca: cluster.certs_dir().join("ca.pem"),
                }),
                lazy_fs: modes.lazy_fs,
            };
            let node = NodeProcess::start(spec).await?;
            cluster.proxy.set_target(id, node.listening().raft.clone());
            cluster.nodes.insert(id, node);
        }
        Ok(cluster)
    }

    /// A client of every node's key-value service (straight to the nodes: clients are never
    /// partitioned).
    pub fn kv_client(&self, mut config: KvClientConfig) -> KvClient<TokioConnector> {
        config.transport.cluster_id = self.cluster_id;
        let addrs = self
            .nodes
            .values()
            .map(|node| (node.id(), node.listening().kv.clone()));
        KvClient::new(TokioConnector, addrs, config)
    }

    /// Each node's registry HTTP address (none for nodes not serving it).
    pub fn registry_addresses(&self) -> BTreeMap<NodeId, String> {
        (self.nodes.values())
            .filter_map(|node| Some((node.id(), node.listening().registry.clone()?)))
            .collect()
    }

    /// Where a TLS cluster's certificates are (`ca.pem`, `node-<ID>.pem`, `bench.pem`...).
    pub fn certs_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("certs")
    }

    /// Whether the nodes run with TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    fn node(&mut self, id: NodeId) -> &mut NodeProcess {
        self.nodes.get_mut(&id).expect("a node of the cluster")
    }
}

/// A workload client's settings: half a second per request, six attempts.
fn client_config(sessions: bool) -> KvClientConfig {
    let mut config = KvClientConfig::new(0);
    config.request_timeout = Duration::from_millis(500);
    config.max_attempts = 6;
    config.sessions = sessions;
    config
}

#[async_trait(?Send)]
impl RealTarget for RealCluster {
    fn name(&self) -> &'static str {
        "rafty"
    }

    fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    fn pids(&self) -> Vec<u32> {
        self.nodes.values().filter_map(NodeProcess::pid).collect()
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    fn client(
        &self,
        reads: ReadConsistency,
        reads_until: Duration,
        sessions: bool,
    ) -> Box<dyn KvApi> {
        let client = self.kv_client(client_config(sessions));
        Box::new(ServiceApi::over(client).with_reads(reads, reads_until))
    }

    async fn kill(&mut self, node: NodeId) -> Result<(), String> {
        self.node(node).kill().await;
        Ok(())
    }

    async fn restart(&mut self, node: NodeId) -> Result<(), String> {
        self.node(node).restart().await
    }

    /// Every node of `nodes` gets the signal first, then each is reaped: their power goes
    /// together.
    async fn cut_power(&mut self, nodes: &[NodeId]) -> Result<(), String> {
        for &node in nodes {
            self.node(node).cut_power()?;
        }
        let mut first_error = None;
        for &node in nodes {
            if let Err(error) = self.node(node).power_died().await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn pause(&mut self, node: NodeId) {
        self.node(node).pause();
    }

    fn resume(&mut self, node: NodeId) {
        self.node(node).resume();
    }

    async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>> {
        let mut logs = BTreeMap::new();
        for (&id, node) in &mut self.nodes {
            node.stop().await;
            logs.insert(id, node.log_lines());
        }
        logs
    }

    fn not_checked(&self) -> Vec<String> {
        vec![
            "invariants: the node processes report nothing to the harness (no observations), \
             so election safety, state machine safety and Raft's rules on the wire are not \
             checked"
                .to_owned(),
            "durability: no ledger of applied entries (acknowledged 0); the final reads of \
             every key, checked for linearizability with the rest of the history, stand for it"
                .to_owned(),
        ]
    }
}
