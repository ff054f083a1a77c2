//! `rafty bench --catch-up N`: how a node N entries behind catches up, by InstallSnapshot
//! (Raft §7) and by AppendEntries alone, in time and in bytes on the wire.
//!
//! Each round starts three nodes in this process, talking TCP on 127.0.0.1 through the real
//! transport, with file logs and file snapshot stores (fsync) in a fresh directory under
//! `--data-dir` (`--memory-log`: in-memory logs and snapshot stores) and the key-value state
//! machine. Node 3 is down (its address reserved, nothing listening) while nodes 1 and 2
//! commit N puts of [`VALUE_BYTES`]-byte values over [`KEYS`] keys; once the leader's
//! snapshot policy has settled (its latest snapshot taken and the log compacted behind it),
//! node 3 starts with an empty log and the clock runs until it has applied everything the
//! leader committed. Bytes are counted on every connection to and from node 3, both ways
//! (frames, handshakes, heartbeats: everything the transport wrote). Rounds alternate
//! snapshots off and on, so both see the same machine.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::tcp::{
    BackoffConfig, ServerHandle, TcpPeer, TokioAcceptor, TransportConfig, serve_raft,
};
use rafty::{
    Config, FileLog, FileSnapshotStore, KvCommand, KvStateMachine, Log, MemoryLog, NodeId, Peer,
    RpcHandler, SnapshotStore, StaticPeersProvider,
};
use serde::Serialize;

use super::counting::{ByteCounts, CountingConnector};
use super::machine::{LoadAverage, load_average};
use super::stats::Spread;
use super::{BenchError, BenchOptions, bench_config};

const IDS: [NodeId; 3] = [1, 2, 3];
/// The node that is down while the others write, then catches up.
const LAGGING: NodeId = 3;
/// Distinct keys the puts cycle over: the state (and so the snapshot) holds this many.
pub const KEYS: u64 = 10_000;
/// Bytes of each put's value.
pub const VALUE_BYTES: usize = 100;
/// Concurrent writers submitting the puts to the leader.
const WRITERS: u64 = 256;
/// How long an election, the writes or the snapshot policy may take.
const WAIT: Duration = Duration::from_secs(600);
/// How long node 3 may take to catch up (100,000 entries take seconds).
const CATCH_UP_WAIT: Duration = Duration::from_secs(120);

/// One catch-up.
#[derive(Clone, Debug, Serialize)]
pub struct CatchUpRound {
    /// Whether the nodes took snapshots (and the leader could send one).
    pub snapshots: bool,
    /// The leader's commit index when node 3 started: what it had to catch up to.
    pub commit_index: u64,
    /// The leader's first log index then (1: never compacted).
    pub leader_first_index: u64,
    /// The leader's latest snapshot's index then (0: none).
    pub leader_snapshot_index: u64,
    /// The index of the snapshot node 3 installed (0: none, it caught up by entries only).
    pub installed_snapshot_index: u64,
    /// Node 3's start to node 3 having applied `commit_index`, in milliseconds.
    pub catch_up_ms: f64,
    /// Bytes sent to node 3 during the catch-up (requests to it, answers to its calls).
    pub bytes_to_follower: u64,
    /// Bytes node 3 sent (its answers, its own calls).
    pub bytes_from_follower: u64,
}

/// Every round of a `--catch-up` run.
#[derive(Clone, Debug, Serialize)]
pub struct CatchUpReport {
    /// Entries written while node 3 was down.
    pub entries: u64,
    /// In-memory logs and snapshot stores instead of files.
    pub memory_log: bool,
    /// The settings' snapshot policy with snapshots on: (threshold entries, kept entries).
    pub policy: (u64, u64),
    /// Logical CPUs of this machine.
    pub cpus: usize,
    /// Load average when the run started.
    pub load_before: Option<LoadAverage>,
    /// Load average when it ended.
    pub load_after: Option<LoadAverage>,
    /// Every round, in the order run (off and on alternating).
    pub rounds: Vec<CatchUpRound>,
}

/// Run `--catch-up`: `options.rounds` rounds with snapshots off, then on, alternating.
pub fn run(options: &BenchOptions) -> Result<CatchUpReport, BenchError> {
    options.validate()?;
    let entries = options
        .catch_up
        .ok_or_else(|| BenchError::Options("--catch-up: give the entries behind".into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let load_before = load_average();
    let mut rounds = Vec::new();
    for round in 0..options.rounds {
        for snapshots in [false, true] {
            if !options.json {
                eprintln!(
                    "bench: catch-up of {entries} entries, snapshots {}, round {} of {}",
                    if snapshots { "on" } else { "off" },
                    round + 1,
                    options.rounds
                );
            }
            let outcome = runtime.block_on(run_round(options, entries, snapshots))?;
            rounds.push(outcome);
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    let policy = bench_config(true);
    Ok(CatchUpReport {
        entries,
        memory_log: options.memory_log,
        policy: (
            policy.snapshot_threshold_entries,
            policy.snapshot_keep_entries,
        ),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        load_before,
        load_after: load_average(),
        rounds,
    })
}

/// A started node and its Raft server.
struct Member {
    node: Node,
    server: ServerHandle,
}

/// Where the nodes listen, and the counters of node 3's links.
struct Wiring {
    addrs: BTreeMap<NodeId, String>,
    cluster_id: u64,
    /// Connections dialed to node 3.
    to_lagging: Arc<ByteCounts>,
    /// Connections node 3 dialed.
    from_lagging: Arc<ByteCounts>,
}

impl Wiring {
    fn transport(&self) -> TransportConfig {
        TransportConfig {
            // Node 3 is down for the whole write phase: redial it quickly once it is up, so
            // the dial backoff does not add up to half a second to the catch-up.
            backoff: BackoffConfig {
                initial: Duration::from_millis(2),
                max: Duration::from_millis(10),
            },
            ..TransportConfig::new(self.cluster_id)
        }
    }

    fn peers(&self, id: NodeId) -> Vec<Arc<dyn Peer>> {
        IDS.into_iter()
            .filter(|&peer| peer != id)
            .map(|peer| {
                let counts = if peer == LAGGING {
                    self.to_lagging.clone()
                } else if id == LAGGING {
                    self.from_lagging.clone()
                } else {
                    Arc::default()
                };
                Arc::new(TcpPeer::new(
                    CountingConnector::new(counts),
                    id,
                    peer,
                    self.addrs[&peer].clone(),
                    self.transport(),
                )) as Arc<dyn Peer>
            })
            .collect()
    }
}

async fn run_round(
    options: &BenchOptions,
    entries: u64,
    snapshots: bool,
) -> Result<CatchUpRound, BenchError> {
    let dir = tempfile::Builder::new()
        .prefix("rafty-catch-up-")
        .tempdir_in(&options.data_dir)
        .map_err(|error| {
            BenchError::Cluster(format!(
                "cannot create a temporary directory in {}: {error}",
                options.data_dir.display()
            ))
        })?;
    let mut acceptors = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    for id in IDS {
        let acceptor = TokioAcceptor::bind("127.0.0.1:0").await?;
        addrs.insert(id, acceptor.local_addr()?.to_string());
        acceptors.insert(id, acceptor);
    }
    // Node 3's address stays reserved but closed: dials to it are refused until it starts.
    drop(acceptors.remove(&LAGGING));
    let wiring = Wiring {
        addrs,
        cluster_id: u64::from(std::process::id()) << 16 | u64::from(rand::random::<u16>()),
        to_lagging: Arc::default(),
        from_lagging: Arc::default(),
    };
    let config = bench_config(snapshots);
    let mut members = Vec::new();
    for (id, acceptor) in acceptors {
        members.push(start_member(options, dir.path(), id, acceptor, &wiring, snapshots).await?);
    }
    let outcome =
        behind_and_catch_up(options, dir.path(), entries, &config, &wiring, &mut members).await;
    for member in &members {
        member.server.shutdown();
        member.node.stop().await;
    }
    let mut outcome = outcome?;
    outcome.snapshots = snapshots;
    Ok(outcome)
}

/// Write `entries` puts with node 3 down, let the snapshot policy settle, then start node 3
/// and time its catch-up. Node 3 is pushed onto `members` so the caller stops it.
async fn behind_and_catch_up(
    options: &BenchOptions,
    dir: &Path,
    entries: u64,
    config: &Config,
    wiring: &Wiring,
    members: &mut Vec<Member>,
) -> Result<CatchUpRound, BenchError> {
    let leader = wait_for_leader(members).await?;
    write_puts(&leader, entries).await?;
    let target = leader.status().commit_index;
    wait_until("the leader's snapshot policy settles", WAIT, || {
        let status = leader.status();
        let settled_snapshot = config.snapshot_threshold_entries == 0
            || status.commit_index - status.snapshot_index < config.snapshot_threshold_entries;
        let compacted = status.snapshot_index == 0
            || status.first_index
                == status
                    .snapshot_index
                    .saturating_sub(config.snapshot_keep_entries)
                    + 1;
        let follower_done = members
            .iter()
            .all(|member| member.node.status().last_applied >= target);
        settled_snapshot && compacted && follower_done
    })
    .await?;
    let before = leader.status();
    let start = Instant::now();
    let acceptor = TokioAcceptor::bind(&wiring.addrs[&LAGGING]).await?;
    let bytes_before = (wiring.to_lagging.written(), wiring.from_lagging.read());
    let answers_before = (wiring.to_lagging.read(), wiring.from_lagging.written());
    members.push(
        start_member(
            options,
            dir,
            LAGGING,
            acceptor,
            wiring,
            config.snapshot_threshold_entries > 0,
        )
        .await?,
    );
    let lagging = members.last().expect("just pushed").node.clone();
    let caught_up = wait_until("node 3 catches up", CATCH_UP_WAIT, || {
        lagging.status().last_applied >= target
    })
    .await;
    if let Err(error) = caught_up {
        return Err(BenchError::Cluster(format!(
            "{error}; the leader: {:?}; node 3: {:?}",
            leader.status(),
            lagging.status()
        )));
    }
    let catch_up = start.elapsed();
    let bytes_to =
        wiring.to_lagging.written() + wiring.from_lagging.read() - bytes_before.0 - bytes_before.1;
    let bytes_from = wiring.to_lagging.read() + wiring.from_lagging.written()
        - answers_before.0
        - answers_before.1;
    Ok(CatchUpRound {
        snapshots: false,
        commit_index: target,
        leader_first_index: before.first_index,
        leader_snapshot_index: before.snapshot_index,
        installed_snapshot_index: lagging.status().snapshot_index,
        catch_up_ms: catch_up.as_secs_f64() * 1e3,
        bytes_to_follower: bytes_to,
        bytes_from_follower: bytes_from,
    })
}

/// Start node `id` on `acceptor`: a file log and snapshot store in `dir/node-<id>` (in
/// memory with `--memory-log`), the key-value state machine, TCP peers.
async fn start_member(
    options: &BenchOptions,
    dir: &Path,
    id: NodeId,
    acceptor: TokioAcceptor,
    wiring: &Wiring,
    snapshots: bool,
) -> Result<Member, BenchError> {
    let node_dir = dir.join(format!("node-{id}"));
    let node = if options.memory_log {
        start_node(
            id,
            MemoryLog::new(),
            NodeOptions::with_seed(id),
            wiring,
            snapshots,
        )
        .await?
    } else {
        let log = FileLog::open(node_dir.join("log")).map_err(|error| {
            BenchError::Cluster(format!("node {id}: cannot open its file log: {error}"))
        })?;
        let store_dir = node_dir.join("snapshots");
        let node_options = NodeOptions::with_seed(id).open_snapshot_store(Arc::new(move || {
            Ok(Box::new(FileSnapshotStore::open(&store_dir)?) as Box<dyn SnapshotStore>)
        }));
        start_node(id, log, node_options, wiring, snapshots).await?
    };
    let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
    let server = serve_raft(acceptor, handler, id, wiring.transport());
    Ok(Member { node, server })
}

async fn start_node<L: Log>(
    id: NodeId,
    log: L,
    node_options: NodeOptions,
    wiring: &Wiring,
    snapshots: bool,
) -> Result<Node, BenchError> {
    Node::start(
        id,
        log,
        KvStateMachine::new(),
        Arc::new(StaticPeersProvider::new(wiring.peers(id))),
        Arc::new(bench_config(snapshots)),
        node_options,
    )
    .await
    .map_err(|error| BenchError::Cluster(format!("node {id} did not start: {error}")))
}

async fn wait_for_leader(members: &[Member]) -> Result<Node, BenchError> {
    let mut leader = None;
    wait_until("a leader is elected", WAIT, || {
        leader = members
            .iter()
            .find(|member| member.node.role() == Role::Leader)
            .map(|member| member.node.clone());
        leader.is_some()
    })
    .await?;
    Ok(leader.expect("found"))
}

/// Submit `entries` puts to `leader` from [`WRITERS`] concurrent writers.
async fn write_puts(leader: &Node, entries: u64) -> Result<(), BenchError> {
    let next = Arc::new(AtomicU64::new(0));
    let value = "v".repeat(VALUE_BYTES);
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (leader, next, value) = (leader.clone(), next.clone(), value.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= entries {
                        return Ok(());
                    }
                    let put = KvCommand::Put {
                        key: format!("k{}", i % KEYS),
                        value: value.clone(),
                    };
                    let command = put.encode().map_err(|error| error.to_string())?;
                    leader
                        .submit(command)
                        .await
                        .map_err(|error| format!("put {i}: {error}"))?;
                }
            })
        })
        .collect();
    for writer in writers {
        writer
            .await
            .map_err(|error| BenchError::Cluster(format!("a writer panicked: {error}")))?
            .map_err(BenchError::Cluster)?;
    }
    Ok(())
}

/// Poll `done` every millisecond until it holds; an error naming `what` after `limit`.
async fn wait_until(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return Err(BenchError::Cluster(format!(
                "not done within {limit:?}: {what}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

impl CatchUpReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The rounds as a table, then the medians of each mode and their ratios.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let load = |load: &Option<LoadAverage>| {
            load.map_or("unknown".into(), |l| {
                format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen)
            })
        };
        let _ = writeln!(
            out,
            "rafty bench --catch-up {}: node 3 starts empty after nodes 1 and 2 committed {} \
             puts ({VALUE_BYTES}-byte values over {KEYS} keys); 3 nodes in this process, TCP \
             on 127.0.0.1, {}; snapshot policy when on: every {} entries, {} kept; {} CPUs, \
             load {} -> {}",
            self.entries,
            self.entries,
            if self.memory_log {
                "MemoryLog + MemorySnapshotStore"
            } else {
                "FileLog + FileSnapshotStore (fsync)"
            },
            self.policy.0,
            self.policy.1,
            self.cpus,
            load(&self.load_before),
            load(&self.load_after)
        );
        let _ = writeln!(
            out,
            "{:>9} {:>9} {:>12} {:>12} {:>12} {:>12} {:>14} {:>14}",
            "snapshots",
            "commit",
            "leader first",
            "leader snap",
            "installed",
            "catch-up ms",
            "to node 3 MiB",
            "from it KiB"
        );
        for round in &self.rounds {
            let _ = writeln!(
                out,
                "{:>9} {:>9} {:>12} {:>12} {:>12} {:>12.1} {:>14.2} {:>14.1}",
                if round.snapshots { "on" } else { "off" },
                round.commit_index,
                round.leader_first_index,
                round.leader_snapshot_index,
                round.installed_snapshot_index,
                round.catch_up_ms,
                mib(round.bytes_to_follower),
                round.bytes_from_follower as f64 / 1024.0
            );
        }
        let median = |snapshots: bool, field: fn(&CatchUpRound) -> f64| {
            let values: Vec<f64> = self
                .rounds
                .iter()
                .filter(|round| round.snapshots == snapshots)
                .map(field)
                .collect();
            Spread::of(&values).median
        };
        let time = |round: &CatchUpRound| round.catch_up_ms;
        let bytes = |round: &CatchUpRound| mib(round.bytes_to_follower);
        let (time_off, time_on) = (median(false, time), median(true, time));
        let (bytes_off, bytes_on) = (median(false, bytes), median(true, bytes));
        let _ = writeln!(
            out,
            "medians: by entries (snapshots off) {time_off:.1} ms, {bytes_off:.2} MiB to node 3; \
             by snapshot (on) {time_on:.1} ms, {bytes_on:.2} MiB; on/off: time {:.3}x, bytes {:.3}x",
            time_on / time_off,
            bytes_on / bytes_off
        );
        out
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
