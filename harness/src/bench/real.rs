//! Real mode: three nodes as OS processes (this binary's hidden `bench-node` subcommand), each
//! with a file log in its own temporary directory, talking TCP on 127.0.0.1; clients use
//! [`KvClient`] over TCP, one connection per 64 clients.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rafty::NodeId;
use rafty::service::{KvClient, KvClientConfig};
use rafty::tcp::TokioConnector;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::closed_loop::{RoundOutcome, Window, run_clients};
use super::node_process::{CommitLatencies, Control, Listening, PeerList};
use super::stats::{from_counts, new_histogram};
use super::{BenchError, BenchOptions};

const IDS: [NodeId; 3] = [1, 2, 3];
/// Clients sharing one [`KvClient`] (one multiplexed connection; the transport's default
/// in-flight limit per connection is 64).
const CLIENTS_PER_CONNECTION: usize = 64;
/// How long a child may take to bind its listeners, and the cluster to answer a first write.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long a child may take to answer [`Control::Report`].
const REPORT_WAIT: Duration = Duration::from_secs(10);

/// One node process.
struct NodeProcess {
    child: Child,
    /// Carries [`Control`] lines; closing it tells the child to stop.
    stdin: Option<ChildStdin>,
    /// Carries the child's answers.
    stdout: BufReader<ChildStdout>,
    listening: Listening,
}

/// What the nodes report when a round's window closes.
pub struct Measured {
    /// Every node's commit latencies as leader.
    pub commits: Histogram<u64>,
    /// Every node's log appends.
    pub appends: Histogram<u64>,
    /// Each node's peak resident memory in bytes (of those whose system reports it).
    pub peak_rss_bytes: Vec<u64>,
    /// The most entries a node had applied.
    pub entries_applied: u64,
}

/// Three node processes and the directory that holds their logs.
pub struct ProcessCluster {
    nodes: Vec<NodeProcess>,
    cluster_id: u64,
    _dir: tempfile::TempDir,
}

impl ProcessCluster {
    /// Spawn the three nodes, each with a fresh directory under `data_dir` (and a file log
    /// there unless `memory_log`), and tell each the others' addresses.
    pub async fn start(
        data_dir: &Path,
        memory_log: bool,
        snapshots: bool,
        lease_reads: bool,
        workers: usize,
    ) -> Result<ProcessCluster, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("rafty-bench-")
            .tempdir_in(data_dir)
            .map_err(|error| {
                BenchError::Cluster(format!(
                    "cannot create a temporary directory in {}: {error}",
                    data_dir.display()
                ))
            })?;
        let cluster_id = u64::from(std::process::id()) << 16 | u64::from(rand::random::<u16>());
        let mut nodes = Vec::new();
        for id in IDS {
            nodes.push(
                spawn_node(
                    id,
                    &dir.path().join(format!("node-{id}")),
                    cluster_id,
                    memory_log,
                    snapshots,
                    lease_reads,
                    workers,
                )
                .await?,
            );
        }
        let peers: Vec<(NodeId, String)> = nodes
            .iter()
            .map(|node| (node.listening.id, node.listening.raft.clone()))
            .collect();
        let line = serde_json::to_string(&PeerList { peers }).expect("serializable") + "\n";
        for node in &mut nodes {
            let stdin = node.stdin.as_mut().expect("stdin is open");
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await?;
        }
        Ok(ProcessCluster {
            nodes,
            cluster_id,
            _dir: dir,
        })
    }

    /// Send `control` to every node.
    pub async fn tell(&mut self, control: Control) -> Result<(), BenchError> {
        let line = serde_json::to_string(&control).expect("serializable") + "\n";
        for node in &mut self.nodes {
            let stdin = node.stdin.as_mut().expect("stdin is open");
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await?;
        }
        Ok(())
    }

    /// Stop every node's commit clock ([`Control::Report`]) and merge their histograms: the
    /// commit latencies, and the log appends; with each node's memory and applied index.
    pub async fn commit_latencies(&mut self) -> Result<Measured, BenchError> {
        self.tell(Control::Report).await?;
        let mut all = new_histogram();
        let mut appends = new_histogram();
        let mut peak_rss_bytes = Vec::new();
        let mut entries_applied = 0;
        for node in &mut self.nodes {
            let id = node.listening.id;
            let mut line = String::new();
            match tokio::time::timeout(REPORT_WAIT, node.stdout.read_line(&mut line)).await {
                Ok(Ok(bytes)) if bytes > 0 => {}
                _ => {
                    return Err(BenchError::NodeProcess(format!(
                        "node {id} did not report its commit latencies within {REPORT_WAIT:?}"
                    )));
                }
            }
            let report: CommitLatencies = serde_json::from_str(&line).map_err(|error| {
                BenchError::NodeProcess(format!(
                    "node {id} said {line:?}, not its commit latencies: {error}"
                ))
            })?;
            all.add(from_counts(&report.counts))
                .expect("histograms of equal bounds");
            appends
                .add(from_counts(&report.appends))
                .expect("histograms of equal bounds");
            peak_rss_bytes.extend(report.peak_rss_bytes);
            entries_applied = entries_applied.max(report.last_applied);
        }
        Ok(Measured {
            commits: all,
            appends,
            peak_rss_bytes,
            entries_applied,
        })
    }

    /// A client of the cluster's key-value service.
    pub fn client(&self) -> KvClient<TokioConnector> {
        let addrs = self
            .nodes
            .iter()
            .map(|node| (node.listening.id, node.listening.kv.clone()));
        let config = KvClientConfig {
            request_timeout: Duration::from_secs(10),
            max_attempts: 20,
            retry_delay: Duration::from_millis(20),
            ..KvClientConfig::new(self.cluster_id)
        };
        KvClient::new(TokioConnector, addrs, config)
    }

    /// Stop every node: close its stdin, give it a moment to exit, then kill it.
    pub async fn stop(mut self) {
        for node in &mut self.nodes {
            drop(node.stdin.take());
        }
        for node in &mut self.nodes {
            let exited = tokio::time::timeout(Duration::from_secs(3), node.child.wait()).await;
            if !matches!(exited, Ok(Ok(_))) {
                let _ = node.child.kill().await;
            }
        }
    }
}

/// Spawn `rafty bench-node` for node `id` in `dir` and read the addresses it bound.
async fn spawn_node(
    id: NodeId,
    dir: &Path,
    cluster_id: u64,
    memory_log: bool,
    snapshots: bool,
    lease_reads: bool,
    workers: usize,
) -> Result<NodeProcess, BenchError> {
    let stderr = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::File::create(dir.join("node.log")))
        .map_err(|error| {
            BenchError::NodeProcess(format!("cannot prepare {}: {error}", dir.display()))
        })?;
    let program = this_executable()?;
    let mut child = Command::new(&program)
        .arg("bench-node")
        .arg("--id")
        .arg(id.to_string())
        .arg("--dir")
        .arg(dir)
        .arg("--cluster-id")
        .arg(cluster_id.to_string())
        .args(memory_log.then_some("--memory-log"))
        .args((!snapshots).then_some("--no-snapshots"))
        .args(lease_reads.then_some("--lease-reads"))
        .arg("--workers")
        .arg(workers.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            BenchError::NodeProcess(format!(
                "cannot spawn `{} bench-node` for node {id}: {error}",
                program.display()
            ))
        })?;
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    let read = stdout.read_line(&mut line);
    match tokio::time::timeout(START_WAIT, read).await {
        Ok(Ok(bytes)) if bytes > 0 => {}
        _ => {
            let _ = child.kill().await;
            let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
            return Err(BenchError::NodeProcess(format!(
                "node {id} did not report its addresses; its log says: {}",
                log.trim()
            )));
        }
    }
    let listening: Listening = serde_json::from_str(&line).map_err(|error| {
        BenchError::NodeProcess(format!(
            "node {id} said {line:?}, not its addresses: {error}"
        ))
    })?;
    let stdin = child.stdin.take();
    Ok(NodeProcess {
        child,
        stdin,
        stdout,
        listening,
    })
}

/// The running binary. On Linux `/proc/self/exe` still runs it after a rebuild replaced the
/// file on disk (which `current_exe` would then name with a " (deleted)" suffix).
fn this_executable() -> Result<PathBuf, BenchError> {
    let proc_self = PathBuf::from("/proc/self/exe");
    if proc_self.exists() {
        return Ok(proc_self);
    }
    std::env::current_exe().map_err(|error| {
        BenchError::NodeProcess(format!(
            "cannot find this executable to spawn nodes: {error}"
        ))
    })
}

/// Write until the cluster answers: it has elected a leader and the client found it.
async fn wait_until_ready(client: &KvClient<TokioConnector>) -> Result<(), BenchError> {
    let deadline = Instant::now() + START_WAIT;
    loop {
        match client.put("bench-ready", "1").await {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() >= deadline => {
                return Err(BenchError::Cluster(format!(
                    "no write succeeded within {START_WAIT:?}: {error}"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One round: a fresh process cluster, `clients` closed-loop clients writing small puts (or,
/// with `--reads`, reading their key with that consistency: a log read is a command the
/// leader appends and fsyncs); the nodes measure their commit latency over the same window.
pub async fn run_round(options: &BenchOptions, clients: usize) -> Result<RoundOutcome, BenchError> {
    let lease_reads = options.reads == Some(rafty::ReadConsistency::Lease);
    let mut cluster = ProcessCluster::start(
        &options.data_dir,
        options.memory_log,
        options.snapshots,
        lease_reads,
        options.node_workers,
    )
    .await?;
    let connections: Vec<Arc<KvClient<TokioConnector>>> = (0..clients
        .div_ceil(CLIENTS_PER_CONNECTION))
        .map(|_| Arc::new(cluster.client()))
        .collect();
    for connection in &connections {
        if let Err(error) = wait_until_ready(connection).await {
            cluster.stop().await;
            return Err(error);
        }
    }
    let window = Window::after(options.warmup, options.duration);
    let reads = options.reads;
    let run = run_clients(clients, window, move |client| {
        let connection = connections[client / CLIENTS_PER_CONNECTION].clone();
        let key = format!("k{client}");
        async move {
            let done = match reads {
                Some(consistency) => connection.read(&key, consistency).await.map(drop),
                None => connection.put(&key, "v").await,
            };
            done.map_err(|error| error.to_string())
        }
    });
    let measure = async {
        window.opened().await;
        cluster.tell(Control::Measure).await?;
        window.closed().await;
        cluster.commit_latencies().await
    };
    let (mut outcome, commit_latencies) = tokio::join!(run, measure);
    cluster.stop().await;
    let measured = commit_latencies?;
    outcome.commit_latencies = Some(measured.commits);
    outcome.append_latencies = Some(measured.appends);
    outcome.peak_rss_bytes = measured.peak_rss_bytes;
    outcome.entries_applied = measured.entries_applied;
    Ok(outcome)
}
