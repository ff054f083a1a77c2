//! In-process mode, the setup of openraft's "minimal" benchmark: three nodes in this process,
//! in-memory logs, the in-process network, a state machine that does nothing (but snapshots
//! its applied index, so the snapshot policy runs and logs are compacted), and clients
//! calling the leader directly, each through a [`rafty::node::Submitter`] of its own
//! ([`Node::submit`]'s answers and deadline, one timer per client). With `--log file` each
//! node keeps a [`FileLog`] (one fsync per appended batch) and a [`FileSnapshotStore`] in a
//! temporary directory under `--data-dir` instead, removed when the round ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rafty::ReadConsistency;
use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::{
    FileLog, FileSnapshotStore, InProcessNetwork, Log, LogIndex, MemoryLog, NodeId, Peer,
    RpcHandler, SnapshotSource, SnapshotStore, StateMachine, StaticPeersProvider,
};

use super::closed_loop::{RoundOutcome, Window, run_stateful_clients};
use super::commit_clock::CommitClock;
use super::loop_stats::LoopSummary;
use super::machine::peak_rss_bytes;
use super::options::InProcessLog;
use super::stats::new_histogram;
use super::{BenchError, BenchOptions, bench_config};

const IDS: [NodeId; 3] = [1, 2, 3];
/// How long a fresh cluster may take to elect a leader.
const ELECTION_WAIT: Duration = Duration::from_secs(15);

/// A state machine that only acknowledges: the benchmark measures Raft, not an application.
/// Its snapshot is its applied index (8 bytes), so that with snapshots on the node runs the
/// whole policy (take, write, compact) at the cost Raft adds, not an application's.
#[derive(Debug, Default)]
pub struct NoopStateMachine {
    applied: LogIndex,
}

impl StateMachine for NoopStateMachine {
    fn apply(&mut self, index: LogIndex, _command: &[u8]) -> Vec<u8> {
        self.applied = index;
        Vec::new()
    }

    /// Reads without the log answer with nothing, as commands do.
    fn query(&self, _query: &[u8]) -> Option<Vec<u8>> {
        Some(Vec::new())
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        Some(Box::new(AppliedIndex(self.applied)))
    }

    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn std::io::Read,
    ) -> std::io::Result<()> {
        let mut bytes = [0u8; 8];
        data.read_exact(&mut bytes)?;
        let applied = LogIndex::from_le_bytes(bytes);
        if applied > last_included_index {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a snapshot of index {applied} claims to cover only {last_included_index}"),
            ));
        }
        self.applied = applied;
        Ok(())
    }
}

/// The [`NoopStateMachine`]'s frozen state: its applied index, little-endian.
struct AppliedIndex(LogIndex);

impl SnapshotSource for AppliedIndex {
    fn write_to(self: Box<Self>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(&self.0.to_le_bytes())
    }
}

/// Three running nodes on one in-process network.
pub struct InProcessCluster {
    nodes: Vec<Node>,
    /// Each node's commit latencies as leader.
    clocks: Vec<Arc<CommitClock>>,
    /// With file logs: the nodes' directories, removed when the cluster is dropped.
    _dir: Option<tempfile::TempDir>,
}

/// Where the nodes of one cluster keep their logs.
enum LogPlace {
    Memory,
    /// Under this directory, `node-<id>/log` and `node-<id>/snapshots`.
    Files(PathBuf),
}

impl InProcessCluster {
    /// Start nodes 1, 2 and 3 with the benchmark settings (snapshots on or off).
    pub async fn start(snapshots: bool) -> Result<InProcessCluster, BenchError> {
        InProcessCluster::start_with(bench_config(snapshots)).await
    }

    /// Start nodes 1, 2 and 3 with `config` and in-memory logs.
    pub async fn start_with(config: rafty::Config) -> Result<InProcessCluster, BenchError> {
        InProcessCluster::start_on(config, InProcessLog::Memory, Path::new(".")).await
    }

    /// Start nodes 1, 2 and 3 with `config`, their logs as `log` says (file logs in a fresh
    /// temporary directory under `data_dir`).
    pub async fn start_on(
        config: rafty::Config,
        log: InProcessLog,
        data_dir: &Path,
    ) -> Result<InProcessCluster, BenchError> {
        let dir = match log {
            InProcessLog::Memory => None,
            InProcessLog::File => Some(
                tempfile::Builder::new()
                    .prefix("rafty-bench-")
                    .tempdir_in(data_dir)?,
            ),
        };
        let place = dir.as_ref().map_or(LogPlace::Memory, |dir| {
            LogPlace::Files(dir.path().to_path_buf())
        });
        let network = InProcessNetwork::new();
        let mut nodes = Vec::new();
        let mut clocks = Vec::new();
        for id in IDS {
            let clock = Arc::new(CommitClock::default());
            let peers: Vec<Arc<dyn Peer>> = IDS
                .into_iter()
                .filter(|peer| *peer != id)
                .map(|peer| network.peer(id, peer))
                .collect();
            let peers = Arc::new(StaticPeersProvider::new(peers));
            let options = NodeOptions::with_seed(id).observer(clock.clone());
            let node = match &place {
                LogPlace::Memory => {
                    start_node(id, MemoryLog::new(), peers, &config, options).await?
                }
                LogPlace::Files(dir) => {
                    let node_dir = dir.join(format!("node-{id}"));
                    let log = FileLog::open(node_dir.join("log")).map_err(|error| {
                        BenchError::Cluster(format!("node {id}: cannot open its file log: {error}"))
                    })?;
                    let store_dir = node_dir.join("snapshots");
                    let options = options.open_snapshot_store(Arc::new(move || {
                        Ok(Box::new(FileSnapshotStore::open(&store_dir)?)
                            as Box<dyn SnapshotStore>)
                    }));
                    start_node(id, log, peers, &config, options).await?
                }
            };
            network.register(id, Arc::new(node.clone()) as Arc<dyn RpcHandler>);
            nodes.push(node);
            clocks.push(clock);
        }
        Ok(InProcessCluster {
            nodes,
            clocks,
            _dir: dir,
        })
    }

    /// The leader, once one is elected.
    pub async fn leader(&self) -> Result<Node, BenchError> {
        let deadline = Instant::now() + ELECTION_WAIT;
        while Instant::now() < deadline {
            let leader = self.nodes.iter().find(|node| node.role() == Role::Leader);
            if let Some(leader) = leader {
                return Ok(leader.clone());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(BenchError::Cluster(format!(
            "no leader elected within {ELECTION_WAIT:?}"
        )))
    }

    /// Stop every node.
    pub async fn stop(self) {
        for node in &self.nodes {
            node.stop().await;
        }
    }
}

/// Start node `id` on `log` with the no-op state machine.
async fn start_node<L: Log>(
    id: NodeId,
    log: L,
    peers: Arc<StaticPeersProvider>,
    config: &rafty::Config,
    options: NodeOptions,
) -> Result<Node, BenchError> {
    Node::start(
        id,
        log,
        NoopStateMachine::default(),
        peers,
        Arc::new(config.clone()),
        options,
    )
    .await
    .map_err(|error| BenchError::Cluster(format!("node {id} did not start: {error}")))
}

/// One round: a fresh cluster, `clients` closed-loop clients on its leader.
pub async fn run_round(options: &BenchOptions, clients: usize) -> Result<RoundOutcome, BenchError> {
    let mut config = bench_config(options.snapshots);
    if let Some(policy) = options.snapshot_policy {
        config.snapshot_threshold_entries = policy.every_entries;
        config.snapshot_keep_entries = policy.keep_entries;
    }
    if options.reads == Some(ReadConsistency::Lease) {
        config.lease_read_margin = Some(config.election_timeout_min / 5);
    }
    let cluster = InProcessCluster::start_on(config, options.log, &options.data_dir).await?;
    let leader = match cluster.leader().await {
        Ok(leader) => leader,
        Err(error) => {
            cluster.stop().await;
            return Err(error);
        }
    };
    let payload = vec![0u8; options.payload_bytes];
    let status = leader.clone();
    let window = Window::after(options.warmup, options.duration);
    let clocks = cluster.clocks.clone();
    let counted = leader.clone();
    let commit_latencies = tokio::spawn(async move {
        window.opened().await;
        clocks.iter().for_each(|clock| clock.start());
        let counters_from = counted.status().counters;
        window.closed().await;
        let counters = counted.status().counters.since(&counters_from);
        let mut all = new_histogram();
        for clock in &clocks {
            all.add(clock.stop().commits)
                .expect("histograms of equal bounds");
        }
        let seconds = window.duration().as_secs_f64();
        (all, LoopSummary::of(&counters, seconds))
    });
    let reads = options.reads;
    // Each client writes and reads through a `Submitter` of its own (one deadline timer reused
    // for all its operations, as a client library holding a connection would).
    let new_client = |_client| leader.submitter();
    let mut outcome = run_stateful_clients(clients, window, new_client, move |mut client| {
        let command = payload.clone();
        async move {
            let answer = match reads {
                Some(consistency) => client.read(command, consistency).await,
                None => client.submit(command).await,
            };
            (client, answer.map(drop).map_err(|error| error.to_string()))
        }
    })
    .await;
    let (commits, loop_stats) = commit_latencies.await.expect("the commit clock ran");
    outcome.commit_latencies = Some(commits);
    outcome.loop_stats = Some(loop_stats);
    // Every success counted must be an applied entry: a cheap guard against a benchmark that
    // measures something other than commits.
    let applied = status.status().last_applied;
    outcome.entries_applied = cluster
        .nodes
        .iter()
        .map(|node| node.status().last_applied)
        .max()
        .unwrap_or(0);
    outcome.peak_rss_bytes = peak_rss_bytes().into_iter().collect();
    cluster.stop().await;
    let through_log = matches!(options.reads, None | Some(ReadConsistency::Log));
    if through_log && applied < outcome.ops {
        return Err(BenchError::Cluster(format!(
            "{} operations succeeded but the leader applied only {applied} entries",
            outcome.ops
        )));
    }
    Ok(outcome)
}
