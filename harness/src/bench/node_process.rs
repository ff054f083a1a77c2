//! The child side of real mode (`rafty bench-node`, hidden): one node in its own process, on
//! a [`FileLog`] (fsync on every append batch), reached over TCP.
//!
//! The conversation with the parent, one JSON line each way on stdin and stdout:
//! 1. the child binds its Raft and key-value listeners on 127.0.0.1 port 0 and prints
//!    [`Listening`] with the addresses it got;
//! 2. the parent, once every child is listening, writes [`PeerList`];
//! 3. the child starts its node and serves; the parent sends [`Control::Measure`] when the
//!    round's window opens and [`Control::Report`] when it closes, and the child answers the
//!    latter with [`CommitLatencies`]: its commit latencies as leader (see
//!    [`super::commit_clock`]) of the entries proposed in the window, and how long its log
//!    appends took;
//! 4. when its stdin closes (the parent ends the round, or died) the child stops the node and
//!    exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rafty::node::{Node, NodeOptions};
use rafty::service::serve_kv;
use rafty::tcp::{TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft};
use rafty::{
    FileLog, FileSnapshotStore, KvStateMachine, Log, MemoryLog, NodeId, Peer, RpcHandler,
    SnapshotStore, StaticPeersProvider,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::commit_clock::{CommitClock, TimedLog};
use super::machine::peak_rss_bytes;
use super::stats::to_counts;
use super::{BenchError, bench_config};

/// What a child reports once its listeners are bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// The node's id.
    pub id: NodeId,
    /// Where it answers Raft calls.
    pub raft: String,
    /// Where it answers key-value commands.
    pub kv: String,
}

/// The other nodes' Raft addresses, which the parent sends each child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerList {
    /// `(id, raft address)` of every other node.
    pub peers: Vec<(NodeId, String)>,
}

/// What the parent tells a running child, one JSON line each, after the [`PeerList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// The measurement window opens: record the commit latency of entries proposed from now.
    Measure,
    /// The window closes: stop recording and answer [`CommitLatencies`].
    Report,
}

/// A child's answer to [`Control::Report`]: what it measured over the window, in
/// nanoseconds, each as the `(value, count)` buckets of an hdrhistogram
/// ([`super::stats::from_counts`] rebuilds it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitLatencies {
    /// The node's id.
    pub id: NodeId,
    /// Its commit latency of each entry it proposed as leader (empty unless it led).
    pub counts: Vec<(u64, u64)>,
    /// The duration of each of its log appends (write + fsync of a batch).
    pub appends: Vec<(u64, u64)>,
    /// Its peak resident memory so far, in bytes (`VmHWM`), if the system reports it.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// The entries it had applied.
    #[serde(default)]
    pub last_applied: u64,
}

/// How one child node runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProcessOptions {
    /// The node's id.
    pub id: NodeId,
    /// The directory of its file log.
    pub dir: PathBuf,
    /// The cluster id every handshake carries.
    pub cluster_id: u64,
    /// Use an in-memory log instead of the file log (no fsync): to split commit latency into
    /// its disk and its network parts.
    pub memory_log: bool,
    /// Take snapshots and compact the log (the library's policy), or never.
    pub snapshots: bool,
    /// Lease reads on (§6.4.1), with a margin of a fifth of the election timeout.
    pub lease_reads: bool,
    /// A multi-thread runtime of this many workers; 0: a current-thread runtime.
    pub workers: usize,
}

/// Run one benchmark node until stdin closes. Blocks; builds its own runtime, a
/// current-thread one: four processes share the machine's cores in real mode, and on a
/// multi-thread runtime every hop between the node's tasks (transport, service, event loop)
/// tended to wake another worker thread through the kernel. On one thread a hop is a function
/// call. The leader's fsync still overlaps its followers' (§10.2.1) although it blocks this
/// thread: the event loop starts each RPC itself and the TCP transport writes the request at
/// once, so the requests are on the wire before the leader's own write begins.
pub fn run(options: &NodeProcessOptions) -> Result<(), BenchError> {
    let mut builder = if options.workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(options.workers);
        builder
    };
    let runtime = builder.enable_all().build()?;
    runtime.block_on(serve(options))
}

async fn serve(options: &NodeProcessOptions) -> Result<(), BenchError> {
    let raft_acceptor = TokioAcceptor::bind("127.0.0.1:0").await?;
    let kv_acceptor = TokioAcceptor::bind("127.0.0.1:0").await?;
    let listening = Listening {
        id: options.id,
        raft: raft_acceptor.local_addr()?.to_string(),
        kv: kv_acceptor.local_addr()?.to_string(),
    };
    let mut stdout = tokio::io::stdout();
    let line = serde_json::to_string(&listening).expect("serializable") + "\n";
    stdout.write_all(line.as_bytes()).await?;
    stdout.flush().await?;
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    stdin.read_line(&mut line).await?;
    let peer_list: PeerList = serde_json::from_str(&line).map_err(|error| {
        BenchError::NodeProcess(format!("bad peer list {line:?} from the parent: {error}"))
    })?;
    let clock = Arc::new(CommitClock::default());
    let node = start_node(options, &peer_list, &options.dir, clock.clone()).await?;
    let transport = TransportConfig::new(options.cluster_id);
    let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
    let raft_server = serve_raft(raft_acceptor, handler, options.id, transport.clone());
    let kv_server = serve_kv(kv_acceptor, Arc::new(node.clone()), options.id, transport);
    // Serve, and obey the parent, until it closes our stdin (or exits).
    let obeyed = obey(&node, &mut stdin, &mut stdout, &clock).await;
    raft_server.shutdown();
    kv_server.shutdown();
    node.stop().await;
    obeyed
}

/// Follow the parent's [`Control`] lines until stdin closes.
async fn obey(
    node: &Node,
    stdin: &mut (impl AsyncBufReadExt + Unpin),
    stdout: &mut (impl AsyncWriteExt + Unpin),
    clock: &CommitClock,
) -> Result<(), BenchError> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let control: Control = serde_json::from_str(&line).map_err(|error| {
            BenchError::NodeProcess(format!(
                "bad control line {line:?} from the parent: {error}"
            ))
        })?;
        match control {
            Control::Measure => clock.start(),
            Control::Report => {
                let measured = clock.stop();
                let report = CommitLatencies {
                    id: node.id(),
                    counts: to_counts(&measured.commits),
                    appends: to_counts(&measured.appends),
                    peak_rss_bytes: peak_rss_bytes(),
                    last_applied: node.status().last_applied,
                };
                let answer = serde_json::to_string(&report).expect("serializable") + "\n";
                stdout.write_all(answer.as_bytes()).await?;
                stdout.flush().await?;
            }
        }
    }
}

async fn start_node(
    options: &NodeProcessOptions,
    peer_list: &PeerList,
    dir: &Path,
    clock: Arc<CommitClock>,
) -> Result<Node, BenchError> {
    if options.memory_log {
        let log = TimedLog::new(MemoryLog::new(), clock.clone());
        let node_options = NodeOptions::with_seed(options.id).observer(clock.clone());
        start_on(options, peer_list, TimedLog::new(log, clock), node_options).await
    } else {
        let snapshots = dir.join("snapshots");
        let node_options = NodeOptions::with_seed(options.id)
            .observer(clock.clone())
            .open_snapshot_store(Arc::new(move || {
                Ok(Box::new(FileSnapshotStore::open(&snapshots)?) as Box<dyn SnapshotStore>)
            }));
        let log = FileLog::open(dir).map_err(|error| {
            BenchError::NodeProcess(format!(
                "cannot open the file log in {}: {error}",
                dir.display()
            ))
        })?;
        start_on(options, peer_list, TimedLog::new(log, clock), node_options).await
    }
}

/// The benchmark's settings, with lease reads on if asked.
fn node_config(options: &NodeProcessOptions) -> rafty::Config {
    let mut config = bench_config(options.snapshots);
    if options.lease_reads {
        config.lease_read_margin = Some(config.election_timeout_min / 5);
    }
    config
}

/// Starts the node on `log`, whichever log the options picked.
async fn start_on<L: Log>(
    options: &NodeProcessOptions,
    peer_list: &PeerList,
    log: L,
    node_options: NodeOptions,
) -> Result<Node, BenchError> {
    let peers = tcp_peers(options, peer_list);
    Node::start(
        options.id,
        log,
        KvStateMachine::new(),
        Arc::new(StaticPeersProvider::new(peers)),
        Arc::new(node_config(options)),
        node_options,
    )
    .await
    .map_err(|error| BenchError::NodeProcess(format!("node {} did not start: {error}", options.id)))
}

fn tcp_peers(options: &NodeProcessOptions, peer_list: &PeerList) -> Vec<Arc<dyn Peer>> {
    peer_list
        .peers
        .iter()
        .filter(|(id, _)| *id != options.id)
        .map(|(id, addr)| {
            let transport = TransportConfig::new(options.cluster_id);
            Arc::new(TcpPeer::new(
                TokioConnector,
                options.id,
                *id,
                addr.clone(),
                transport,
            )) as Arc<dyn Peer>
        })
        .collect()
}
