//! What a benchmark run measures: mode, client counts, warm-up, duration, rounds.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::BenchError;

/// Where the cluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Three nodes in this process: in-memory logs, the in-process network.
    InProcess,
    /// Three OS processes on 127.0.0.1: TCP peers, file logs with fsync, KV clients over TCP.
    Real,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Mode::InProcess => "in-process",
            Mode::Real => "real",
        })
    }
}

/// Which `Log` each in-process node keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InProcessLog {
    /// [`rafty::MemoryLog`]: an append is durable on return and costs no I/O.
    Memory,
    /// [`rafty::FileLog`] in a temporary directory under `--data-dir` (one fsync per
    /// appended batch), with a [`rafty::FileSnapshotStore`] beside it: a log read pays a
    /// disk write, as the premise has it, while the network stays in process.
    File,
}

impl std::fmt::Display for InProcessLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            InProcessLog::Memory => "memory",
            InProcessLog::File => "file",
        })
    }
}

/// Everything a benchmark run needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchOptions {
    /// In process or real processes.
    pub mode: Mode,
    /// The numbers of concurrent closed-loop clients, one measurement each, in order.
    pub clients: Vec<usize>,
    /// How long clients run before measuring starts.
    pub warmup: Duration,
    /// How long each round measures.
    pub duration: Duration,
    /// How many rounds per client count (each on a fresh cluster).
    pub rounds: usize,
    /// Bytes of each command (in-process mode; real mode sends a small KV put).
    pub payload_bytes: usize,
    /// Where real mode puts the nodes' data directories and the fsync probe's file.
    pub data_dir: PathBuf,
    /// Real mode: nodes keep their log in memory (no fsync), to show what the disk costs.
    pub memory_log: bool,
    /// In process (`--log`): each node's log, in memory (the default) or a file log with
    /// fsync under `data_dir`.
    pub log: InProcessLog,
    /// Print JSON instead of a table (and no progress lines).
    pub json: bool,
    /// Whether the nodes take snapshots and compact their logs (the library's default policy,
    /// Raft §7); off sets both snapshot thresholds to 0, so logs grow without bound.
    pub snapshots: bool,
    /// Instead of the throughput rounds: measure how a node this many entries behind catches
    /// up, by InstallSnapshot and by AppendEntries alone ([`super::catch_up`]).
    pub catch_up: Option<u64>,
    /// Instead of writes: reads with this consistency (dissertation §6.4), in process or in
    /// real mode.
    pub reads: Option<rafty::ReadConsistency>,
    /// In process: a snapshot policy other than the library's (with snapshots on), e.g.
    /// openraft's for a side-by-side run (`bench/vs-openraft/`).
    pub snapshot_policy: Option<SnapshotPolicy>,
    /// Whether the runtime's workers keep tokio's LIFO slot (the default). Off, a task woken
    /// by another runs after the tasks already queued instead of next: a client's submission
    /// no longer hands the worker straight to the leader's loop, which then proposes batches
    /// of ~100 commands instead of ~3 (BENCHMARKS.md, issue 24).
    pub lifo_slot: bool,
    /// Real mode: each node process on a multi-thread runtime of this many workers; 0 (the
    /// default): a current-thread runtime (see [`super::node_process::run`]).
    pub node_workers: usize,
}

/// When the nodes snapshot (Raft §7): every `every_entries` applied entries, keeping
/// `keep_entries` behind the snapshot for followers that lag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// Entries applied since the last snapshot that trigger the next.
    pub every_entries: u64,
    /// Entries kept in the log behind the snapshot.
    pub keep_entries: u64,
}

/// The largest client count accepted: each client is a task, and in real mode every 64 share
/// one connection.
pub const MAX_CLIENTS: usize = 16_384;
/// The largest command payload accepted.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// The most entries `--catch-up` writes before the lagging node starts.
pub const MAX_CATCH_UP_ENTRIES: u64 = 10_000_000;

impl BenchOptions {
    /// Check every value; the error names the flag and what is wrong with it.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |message: String| Err(BenchError::Options(message));
        if self.clients.is_empty() {
            return bad("--clients: give at least one client count".into());
        }
        if let Some(count) = self
            .clients
            .iter()
            .find(|&&count| count == 0 || count > MAX_CLIENTS)
        {
            return bad(format!(
                "--clients: {count} is out of range (1..={MAX_CLIENTS})"
            ));
        }
        if self.duration.is_zero() {
            return bad("--duration: must be greater than zero".into());
        }
        if self.rounds == 0 {
            return bad("--rounds: must be at least 1".into());
        }
        if self.payload_bytes > MAX_PAYLOAD_BYTES {
            return bad(format!(
                "--payload-bytes: {} is above the maximum of {MAX_PAYLOAD_BYTES}",
                self.payload_bytes
            ));
        }
        if self.memory_log && self.mode != Mode::Real && self.catch_up.is_none() {
            return bad("--memory-log: only meaningful with --mode real or --catch-up".into());
        }
        if self.log == InProcessLog::File
            && (self.mode != Mode::InProcess || self.catch_up.is_some())
        {
            return bad(
                "--log file: in-process throughput rounds only (real mode and --catch-up use \
                 file logs unless --memory-log)"
                    .into(),
            );
        }
        if let Some(entries) = self.catch_up
            && !(1..=MAX_CATCH_UP_ENTRIES).contains(&entries)
        {
            return bad(format!(
                "--catch-up: {entries} is out of range (1..={MAX_CATCH_UP_ENTRIES})"
            ));
        }
        if self.catch_up.is_some() && self.mode == Mode::Real {
            return bad(
                "--catch-up: runs its own three nodes in this process over TCP; drop --mode real"
                    .into(),
            );
        }
        if let Some(policy) = self.snapshot_policy {
            if self.mode != Mode::InProcess || self.catch_up.is_some() {
                return bad(
                    "--snapshot-every / --snapshot-keep: in-process throughput rounds only".into(),
                );
            }
            if !self.snapshots {
                return bad("--snapshot-every / --snapshot-keep: not with --snapshots off".into());
            }
            if policy.every_entries == 0 {
                return bad("--snapshot-every: must be at least 1".into());
            }
        }
        let on_disk =
            self.mode == Mode::Real || self.catch_up.is_some() || self.log == InProcessLog::File;
        if on_disk && !self.data_dir.is_dir() {
            return bad(format!(
                "--data-dir: {} is not a directory",
                self.data_dir.display()
            ));
        }
        Ok(())
    }
}

/// Parse a comma-separated list of client counts, e.g. `1,16,64,256,1024`.
pub fn parse_clients(text: &str) -> Result<Vec<usize>, String> {
    let counts = text
        .split(',')
        .map(str::trim)
        .map(|part| match part.parse::<usize>() {
            Ok(count) if (1..=MAX_CLIENTS).contains(&count) => Ok(count),
            _ => Err(format!(
                "'{part}' is not a client count (a whole number from 1 to {MAX_CLIENTS}; \
                 give a list like 1,16,64)"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(counts)
}

/// Parse `--mode`: `in-process` or `real`.
pub fn parse_mode(text: &str) -> Result<Mode, String> {
    match text {
        "in-process" | "inprocess" | "in_process" => Ok(Mode::InProcess),
        "real" => Ok(Mode::Real),
        other => Err(format!("unknown mode '{other}' (use in-process or real)")),
    }
}

/// Parse `--log`: `memory` or `file`.
pub fn parse_log(text: &str) -> Result<InProcessLog, String> {
    match text {
        "memory" => Ok(InProcessLog::Memory),
        "file" => Ok(InProcessLog::File),
        other => Err(format!("unknown log '{other}' (use memory or file)")),
    }
}
