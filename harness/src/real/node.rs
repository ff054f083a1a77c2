//! `rafty node`: one reference node as an OS process. Its Raft log is a [`FileLog`] and its
//! snapshots a [`FileSnapshotStore`] in its own data directory; it talks to its peers over
//! rafty's TCP transport and serves the key-value service and the membership admin service on
//! their own ports. With `--registry` its state machine is the service registry
//! (`rafty_registry`) instead, whose HTTP+JSON API it serves on that address (the key-value
//! port then answers every command as invalid); over HTTPS when the node has TLS files.
//!
//! Once its listeners are bound it prints one JSON line on stdout, [`Listening`] (the
//! addresses it got: port 0 asks for any free one), then serves until SIGTERM or SIGINT, when
//! it stops its servers and its node and exits 0. What it does goes to stderr, one line each:
//! role changes, snapshots, compactions, and why it stopped.
//!
//! With `--lazy-fs` its log and snapshot store run on [`LazyFs`], which keeps every write not
//! yet synced in the process's memory: SIGUSR1 is then a **power cut** ([`POWER_CUT_SIGNAL`],
//! [`super::power_cut`]): wherever the node was, between a write and its fsync included, it
//! cuts each of its files back to its length at its last sync (a cut inside a sync loses the
//! batch the sync had written into the file), logs how many unsynced bytes it loses and exits
//! at once with [`POWER_CUT_EXIT_CODE`], leaving on the disk exactly what it had synced. (A
//! SIGKILL of such a node loses the writes still in its memory too, not a batch inside a
//! sync.) `--power-cut-at-sync N` cuts the power inside the Nth sync, for tests
//! ([`super::sync_hook`]). Without `--lazy-fs`, SIGUSR1 is logged and ignored: the kernel
//! would keep the unsynced writes, so it could not be a power cut.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rafty::file_log::fs::{LazyFs, StdFs};

use crate::real::sync_hook::SyncHookFs;
use rafty::node::{Node, NodeEvent, NodeOptions, Observer};
use rafty::service::{serve_admin, serve_kv};
use rafty::tcp::tls::{ClientAuth, TlsAcceptor, TlsConnector, TlsError, TlsIdentity};
use rafty::tcp::{
    Acceptor, ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{
    Config, FileLog, FileLogOptions, FilePeersProvider, FileSnapshotStore, KvStateMachine, NodeId,
    Peer, PeersProvider, RpcHandler, SnapshotStore, StateMachine, StaticPeersProvider,
};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// How one node process runs (from `rafty node`'s flags, checked).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// The node's id.
    pub id: NodeId,
    /// Its data directory: the log, the snapshots (created when missing).
    pub data_dir: PathBuf,
    /// Where it listens for Raft calls (`HOST:PORT`; port 0: any).
    pub raft: String,
    /// Where it serves the key-value service.
    pub kv: String,
    /// Where it serves the admin service, if anywhere.
    pub admin: Option<String>,
    /// Every other node: id and Raft address (static; empty when `peers_file` is given).
    pub peers: Vec<(NodeId, String)>,
    /// A TOML peers file ([`FilePeersProvider`]), re-read every `peers_poll`.
    pub peers_file: Option<PathBuf>,
    /// How often the peers file is re-read.
    pub peers_poll: Duration,
    /// The cluster id every handshake carries.
    pub cluster_id: u64,
    /// Its Raft settings.
    pub settings: Config,
    /// Where it serves Prometheus metrics at `/metrics`, if anywhere.
    pub metrics: Option<String>,
    /// Its TLS files: mutual TLS on the Raft and client ports when given.
    pub tls: Option<TlsFiles>,
    /// Serve the service registry (`rafty_registry`) instead of the bare key-value store.
    pub registry: Option<RegistryHttp>,
    /// Keep unsynced writes in memory ([`LazyFs`]), so that SIGUSR1 is a power cut.
    pub lazy_fs: bool,
    /// With `lazy_fs`, cut the power inside the node's Nth sync (from 1), between the sync's
    /// writes and its fsync ([`crate::real::sync_hook`]): for tests.
    pub power_cut_at_sync: Option<u64>,
}

/// The signal that cuts a `--lazy-fs` node's power.
pub const POWER_CUT_SIGNAL: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGUSR1;

/// The exit status of a node whose power was cut.
pub const POWER_CUT_EXIT_CODE: i32 = 86;

/// Where a node serves the service registry's HTTP API, and where the others do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryHttp {
    /// Its HTTP address (`HOST:PORT`; port 0: any).
    pub listen: String,
    /// The other nodes' HTTP addresses, for redirecting reads to the leader (may be empty).
    pub peers: Vec<(NodeId, String)>,
    /// With TLS on (the node's `tls`), whether HTTPS clients must present a certificate.
    pub client_auth: ClientAuth,
}

/// The PEM files of a node's mutual TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The node's certificate chain, its own first.
    pub cert: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
    /// The cluster's certificate authority.
    pub ca: PathBuf,
}

/// The line a node prints on stdout once its listeners are bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// The node's id.
    pub id: NodeId,
    /// Where it answers Raft calls.
    pub raft: String,
    /// Where it serves the key-value service.
    pub kv: String,
    /// Where it serves the admin service, if it does.
    pub admin: Option<String>,
    /// Where it serves Prometheus metrics at `/metrics`, if it does.
    #[serde(default)]
    pub metrics: Option<String>,
    /// Where it serves the service registry's HTTP API, if it does.
    #[serde(default)]
    pub registry: Option<String>,
}

/// Why a node process could not run.
#[derive(Debug, thiserror::Error)]
pub enum NodeProcessError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Which listener.
        what: &'static str,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The data directory, log or snapshot store could not be opened.
    #[error("{0}")]
    Storage(String),
    /// The node refused to start.
    #[error("the node did not start: {0}")]
    Start(String),
    /// The TLS files could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// Any other I/O failure (the runtime, stdout, the signal handlers).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Run the node until SIGTERM or SIGINT. Blocks, on a current-thread runtime of its own
/// (several nodes share the machine's cores; see [`crate::bench::node_process::run`]).
pub fn run(config: &NodeConfig) -> Result<(), NodeProcessError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

async fn bind(addr: &str, what: &'static str) -> Result<TokioAcceptor, NodeProcessError> {
    TokioAcceptor::bind(addr)
        .await
        .map_err(|source| NodeProcessError::Bind {
            addr: addr.to_owned(),
            what,
            source,
        })
}

async fn serve(config: &NodeConfig) -> Result<(), NodeProcessError> {
    use tokio::signal::unix::{SignalKind, signal};
    // Installed first: a SIGTERM from here on stops the node gracefully.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // With --lazy-fs, SIGUSR1 is the power cut's own handler, from the start.
    let mut ignored_power_cut = if config.lazy_fs {
        crate::real::power_cut::install(config.id)?;
        None
    } else {
        Some(signal(SignalKind::user_defined1())?)
    };
    let tls = match &config.tls {
        Some(files) => Some(load_tls(files)?),
        None => None,
    };
    let raft_acceptor = bind(&config.raft, "--raft").await?;
    let kv_acceptor = bind(&config.kv, "--kv").await?;
    let admin_acceptor = match &config.admin {
        Some(addr) => Some(bind(addr, "--admin").await?),
        None => None,
    };
    // Installed before the node starts, so its first values are recorded.
    let metrics = match &config.metrics {
        Some(addr) => Some(
            crate::real::node_metrics::serve_metrics(addr)
                .await
                .map_err(NodeProcessError::Start)?,
        ),
        None => None,
    };
    let registry_listener = match &config.registry {
        Some(registry) => Some(
            tokio::net::TcpListener::bind(&registry.listen)
                .await
                .map_err(|source| NodeProcessError::Bind {
                    addr: registry.listen.clone(),
                    what: "--registry",
                    source,
                })?,
        ),
        None => None,
    };
    let (machine, applied): (Box<dyn StateMachine>, _) = match &config.registry {
        Some(_) => {
            let (machine, applied) =
                rafty_registry::state_machine(rafty_registry::state::DEFAULT_MAX_CHANGES);
            (Box::new(machine), Some(applied))
        }
        None => (Box::new(rafty::Sessions::new(KvStateMachine::new())), None),
    };
    let node = start_node(config, tls.as_ref(), machine).await?;
    let transport = TransportConfig::new(config.cluster_id);
    let listening = Listening {
        id: config.id,
        raft: raft_acceptor.local_addr()?.to_string(),
        kv: kv_acceptor.local_addr()?.to_string(),
        admin: match &admin_acceptor {
            Some(acceptor) => Some(acceptor.local_addr()?.to_string()),
            None => None,
        },
        metrics: metrics.as_ref().map(|(addr, _)| addr.to_string()),
        registry: match &registry_listener {
            Some(listener) => Some(listener.local_addr()?.to_string()),
            None => None,
        },
    };
    if let (Some(listener), Some(applied), Some(registry)) =
        (registry_listener, applied, &config.registry)
    {
        let peers = registry.peers.iter().cloned().collect();
        let api = rafty_registry::Api::new(node.clone(), applied, peers);
        rafty_registry::spawn_ticker(node.clone(), rafty_registry::ticker::DEFAULT_TICK_INTERVAL);
        let id = config.id;
        match &tls {
            Some(identity) => {
                let https = rafty_registry::https::HttpsListener::new(
                    listener,
                    identity,
                    config.cluster_id,
                    registry.client_auth,
                )
                .map_err(|error| NodeProcessError::Tls(error.to_string()))?;
                tokio::spawn(async move {
                    if let Err(error) = rafty_registry::http::serve_tls(https, api.https()).await {
                        log_line(id, &format!("the registry's HTTPS server stopped: {error}"));
                    }
                });
            }
            None => {
                tokio::spawn(async move {
                    if let Err(error) = rafty_registry::http::serve(listener, api).await {
                        log_line(id, &format!("the registry's HTTP server stopped: {error}"));
                    }
                });
            }
        }
    }
    let acceptors = Acceptors {
        raft: raft_acceptor,
        kv: kv_acceptor,
        admin: admin_acceptor,
    };
    let servers = match &tls {
        None => acceptors.serve(&node, config.id, &transport),
        Some(identity) => {
            let secure = |acceptor| {
                TlsAcceptor::new(acceptor, identity, &transport)
                    .map_err(|error| NodeProcessError::Tls(error.to_string()))
            };
            let acceptors = Acceptors {
                raft: secure(acceptors.raft)?,
                kv: secure(acceptors.kv)?,
                admin: acceptors.admin.map(secure).transpose()?,
            };
            acceptors.serve(&node, config.id, &transport)
        }
    };
    let mut stdout = tokio::io::stdout();
    let line = serde_json::to_string(&listening).expect("serializable") + "\n";
    stdout.write_all(line.as_bytes()).await?;
    stdout.flush().await?;
    let signal = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            _ = next_signal(&mut ignored_power_cut) => log_line(
                config.id,
                "SIGUSR1 ignored: a power cut needs --lazy-fs (the kernel keeps this \
                 node's unsynced writes)",
            ),
        }
    };
    log_line(config.id, &format!("{signal}: stopping"));
    for server in &servers {
        server.shutdown();
    }
    node.stop().await;
    log_line(config.id, "stopped");
    Ok(())
}

/// The next delivery of `signal`; never, when there is none.
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// The node's listeners, bound.
struct Acceptors<A> {
    raft: A,
    kv: A,
    admin: Option<A>,
}

impl<A: Acceptor> Acceptors<A> {
    /// Serve Raft, the key-value service and (if bound) the admin service.
    fn serve(self, node: &Node, id: NodeId, transport: &TransportConfig) -> Vec<ServerHandle> {
        let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
        let mut servers = vec![
            serve_raft(self.raft, handler, id, transport.clone()),
            serve_kv(self.kv, Arc::new(node.clone()), id, transport.clone()),
        ];
        if let Some(admin) = self.admin {
            servers.push(serve_admin(admin, node.clone(), id, transport.clone()));
        }
        servers
    }
}

/// The TLS identity of `--tls-cert`, `--tls-key` and `--tls-ca`, checked whole (a key that
/// does not match its certificate is refused here, not at the first connection).
fn load_tls(files: &TlsFiles) -> Result<TlsIdentity, NodeProcessError> {
    let tls = |error: TlsError| NodeProcessError::Tls(error.to_string());
    let identity = TlsIdentity::load(&files.cert, &files.key, &files.ca).map_err(tls)?;
    identity.server_config().map_err(tls)?;
    identity.client_config().map_err(tls)?;
    Ok(identity)
}

/// Start the node on its data directory; with `--lazy-fs`, its log and snapshot store run on
/// a [`LazyFs`] that the power cut reports and cuts back.
async fn start_node(
    config: &NodeConfig,
    tls: Option<&TlsIdentity>,
    machine: Box<dyn StateMachine>,
) -> Result<Node, NodeProcessError> {
    let dir = &config.data_dir;
    let storage = |what: &str, error: &dyn std::fmt::Display| {
        NodeProcessError::Storage(format!("cannot open {what} in {}: {error}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|error| storage("the data directory", &error))?;
    let log_dir = dir.join("log");
    let snapshots = dir.join("snapshots");
    let (peers, listed) = peers_provider(config, tls)?;
    let lazy = if config.lazy_fs { " (lazy fs)" } else { "" };
    log_line(
        config.id,
        &format!("starting with peers {listed:?} in {}{lazy}", dir.display()),
    );
    let options = NodeOptions::with_seed(config.id).observer(Arc::new(LogLines));
    let settings = Arc::new(config.settings.clone());
    let start = |error: rafty::node::StartError| NodeProcessError::Start(error.to_string());
    if !config.lazy_fs {
        let log = FileLog::open(&log_dir).map_err(|error| storage("the file log", &error))?;
        let options = options.open_snapshot_store(snapshot_store(StdFs, snapshots, dir)?);
        let node = Node::start(config.id, log, machine, peers, settings, options).await;
        return node.map_err(start);
    }
    let hook = crate::real::sync_hook::cut_at_sync(config.power_cut_at_sync);
    let fs = LazyFs::new(SyncHookFs::new(StdFs, hook));
    crate::real::power_cut::report(&fs);
    let log = FileLog::open_with(fs.clone(), &log_dir, FileLogOptions::default())
        .map_err(|error| storage("the file log", &error))?;
    let options = options.open_snapshot_store(snapshot_store(fs.clone(), snapshots, dir)?);
    let node = Node::start(config.id, log, machine, peers, settings, options).await;
    node.map_err(start)
}

/// The factory of the node's snapshot store in `snapshots` on `fs`, opened once here so that a
/// damaged snapshot is refused before the node starts.
fn snapshot_store<FS: rafty::file_log::fs::FileSystem + Clone + Sync>(
    fs: FS,
    snapshots: PathBuf,
    dir: &std::path::Path,
) -> Result<rafty::node::SnapshotStoreFactory, NodeProcessError> {
    FileSnapshotStore::open_with(fs.clone(), &snapshots).map_err(|error| {
        NodeProcessError::Storage(format!(
            "cannot open the snapshot store in {}: {error}",
            dir.display()
        ))
    })?;
    Ok(Arc::new(move || {
        Ok(
            Box::new(FileSnapshotStore::open_with(fs.clone(), &snapshots)?)
                as Box<dyn SnapshotStore>,
        )
    }))
}

/// The node's peers: from its peers file (watched every `peers_poll`), else its static list;
/// and the members they name, for the log.
type Peers = (Arc<dyn PeersProvider>, Vec<(NodeId, String)>);

fn peers_provider(
    config: &NodeConfig,
    tls: Option<&TlsIdentity>,
) -> Result<Peers, NodeProcessError> {
    let (own, cluster_id) = (config.id, config.cluster_id);
    let tls = tls.cloned();
    let connect = move |id: NodeId, addr: &str| {
        let transport = TransportConfig::new(cluster_id);
        let addr = addr.to_owned();
        match &tls {
            None => {
                Arc::new(TcpPeer::new(TokioConnector, own, id, addr, transport)) as Arc<dyn Peer>
            }
            Some(identity) => {
                let connector = TlsConnector::new(TokioConnector, identity, cluster_id, id)
                    .expect("the identity was checked at start and every node id names a host");
                Arc::new(TcpPeer::new(connector, own, id, addr, transport))
            }
        }
    };
    let Some(path) = &config.peers_file else {
        let peers = config
            .peers
            .iter()
            .map(|(id, addr)| connect(*id, addr))
            .collect();
        let provider = Arc::new(StaticPeersProvider::new(peers));
        return Ok((provider, config.peers.clone()));
    };
    let provider = FilePeersProvider::open(path, own, Box::new(connect))
        .map_err(|error| NodeProcessError::Start(format!("--peers-file {error}")))?;
    let provider = Arc::new(provider);
    provider.watch(config.peers_poll);
    let listed = provider.members().into_iter().collect();
    Ok((provider, listed))
}

/// Writes the node's notable events to stderr.
struct LogLines;

impl Observer for LogLines {
    fn on_event(&self, node: NodeId, event: &NodeEvent) {
        match event {
            NodeEvent::Committed { .. } | NodeEvent::Applied { .. } => {}
            other => log_line(node, &format!("{other:?}")),
        }
    }
}

/// One line on stderr: wall-clock seconds since the epoch, the node, the text.
fn log_line(node: NodeId, text: &str) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    eprintln!("{:.6} n{node} {text}", now.as_secs_f64());
}
