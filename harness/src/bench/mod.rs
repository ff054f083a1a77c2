//! `rafty bench`: commit throughput and latency of a 3-node cluster under N closed-loop
//! clients, in process (the setup of openraft's "minimal" benchmark) or as three OS processes
//! over TCP with the file log and fsync.
//!
//! Each client submits one command, waits for its result, and submits the next. For every
//! client count and every round the benchmark starts a fresh cluster, lets the clients run
//! through a warm-up, then counts the operations that both started and finished within the
//! measured window and records their latency. Rounds are repeated so the spread of ops/s says
//! how noisy the machine was.
//!
//! Besides the clients' latency (submit to answer) it measures, inside the leader, the commit
//! latency as Raft defines it (the leader's core accepts a command to the leader learns it
//! committed; [`commit_clock`]).
//!
//! Layout: [`options`] (what to run), [`closed_loop`] (the clients), [`in_process`] and
//! [`real`] (the clusters), [`node_process`] (the child process of real mode), [`machine`]
//! (fsync and loopback round trip, load average, peak memory), [`stats`] and [`report`]
//! (results, table, JSON); [`catch_up`] (`--catch-up`: a node far behind catching up, by
//! snapshot and by entries) and [`counting`] (a connector that counts the bytes it carries);
//! [`loop_stats`] (in process: the leader's event-loop counters over the window).

pub mod catch_up;
pub mod closed_loop;
pub mod commit_clock;
pub mod counting;
pub mod in_process;
pub mod loop_stats;
pub mod machine;
pub mod node_process;
pub mod options;
pub mod real;
pub mod report;
pub mod stats;

use std::time::Duration;

pub use options::{BenchOptions, Mode};
pub use report::{BenchReport, ClientCountResult};

use rafty::Config;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options are impossible; the message names the flag.
    #[error("invalid option: {0}")]
    Options(String),
    /// The cluster could not be started or never elected a leader.
    #[error("cluster: {0}")]
    Cluster(String),
    /// A node process failed or said something unexpected.
    #[error("node process: {0}")]
    NodeProcess(String),
    /// Local I/O failed (temporary directory, runtime, probes).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The settings every benchmark node runs with: the library's defaults, but election
/// timeouts long enough that a loaded 2-core machine does not depose a healthy leader
/// mid-round (an election would show up as a latency spike and errors, not as Raft's cost),
/// and no forwarding: a follower answers `NotLeader` with a hint, so every client finds and
/// then talks to the leader itself (a forwarding follower would answer for the leader, and
/// a `KvClient` would keep sending through it, one extra hop per command).
///
/// With `snapshots` the library's snapshot policy applies unchanged (Raft §7: a snapshot every
/// 10,000 entries, 5,000 kept behind it); without, both thresholds are 0 and no node ever
/// snapshots or compacts.
pub fn bench_config(snapshots: bool) -> Config {
    let defaults = Config::default();
    let (entries, bytes) = if snapshots {
        (
            defaults.snapshot_threshold_entries,
            defaults.snapshot_threshold_bytes,
        )
    } else {
        (0, 0)
    };
    Config {
        snapshot_threshold_entries: entries,
        snapshot_threshold_bytes: bytes,
        forward_to_leader: false,
        election_timeout_min: Duration::from_millis(1_000),
        election_timeout_max: Duration::from_millis(2_000),
        heartbeat_interval: Duration::from_millis(100),
        command_timeout: Duration::from_secs(5),
        rpc_timeout: Duration::from_secs(1),
        ..defaults
    }
}

/// Run the benchmark `options` describe, every client count and every round.
pub fn run(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    options.validate()?;
    if options.catch_up.is_some() {
        return Err(BenchError::Options(
            "--catch-up runs with bench::catch_up::run, not bench::run".into(),
        ));
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if !options.lifo_slot {
        // tokio_unstable (.cargo/config.toml): see BenchOptions::lifo_slot.
        builder.disable_lifo_slot();
    }
    let runtime = builder.build()?;
    let load_before = machine::load_average();
    let mut results = Vec::new();
    for &clients in &options.clients {
        let mut rounds = Vec::new();
        let mut bounds = Vec::new();
        for round in 0..options.rounds {
            if !options.json {
                eprintln!(
                    "bench: {} clients, round {} of {}",
                    clients,
                    round + 1,
                    options.rounds
                );
            }
            let outcome = match options.mode {
                Mode::InProcess => runtime.block_on(in_process::run_round(options, clients))?,
                Mode::Real => {
                    // Measured next to every round: fsync latency here swings tenfold with
                    // what else writes to the disk.
                    bounds.push(machine::measure_bounds(&options.data_dir, &runtime)?);
                    runtime.block_on(real::run_round(options, clients))?
                }
            };
            rounds.push(outcome);
        }
        results.push(ClientCountResult::from_rounds(clients, rounds, &bounds));
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(BenchReport::new(
        options,
        load_before,
        machine::load_average(),
        results,
    ))
}

#[cfg(test)]
mod tests;
