//! In-process mode, the setup of openraft's "minimal" benchmark: three nodes in this process,
//! in-memory logs, the in-process network, a state machine that does nothing (but snapshots
//! its applied index, so the snapshot policy runs and logs are compacted), and clients
//! calling the leader directly, each through a [`rafty::node::Submitter`] of its own
//! ([`Node::submit`]'s answers and deadline, one timer per client).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rafty::ReadConsistency;
use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::{
    InProcessNetwork, LogIndex, MemoryLog, NodeId, Peer, RpcHandler, SnapshotSource, StateMachine,
    StaticPeersProvider,
};

use super::closed_loop::{RoundOutcome, Window, run_stateful_clients};
use super::commit_clock::CommitClock;
use super::loop_stats::LoopSummary;
use super::machine::peak_rss_bytes;
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
}

impl InProcessCluster {
    /// Start nodes 1, 2 and 3 with the benchmark settings (snapshots on or off).
    pub async fn start(snapshots: bool) -> Result<InProcessCluster, BenchError> {
        InProcessCluster::start_with(bench_config(snapshots)).await
    }

    /// Start nodes 1, 2 and 3 with `config`.
    pub async fn start_with(config: rafty::Config) -> Result<InProcessCluster, BenchError> {
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
            let node = Node::start(
                id,
                MemoryLog::new(),
                NoopStateMachine::default(),
                Arc::new(StaticPeersProvider::new(peers)),
                Arc::new(config.clone()),
                NodeOptions::with_seed(id).observer(clock.clone()),
            )
            .await
            .map_err(|error| BenchError::Cluster(format!("node {id} did not start: {error}")))?;
            network.register(id, Arc::new(node.clone()) as Arc<dyn RpcHandler>);
            nodes.push(node);
            clocks.push(clock);
        }
        Ok(InProcessCluster { nodes, clocks })
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
    let cluster = InProcessCluster::start_with(config).await?;
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
