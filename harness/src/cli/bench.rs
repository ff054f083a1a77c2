//! `rafty bench`: commit throughput and latency of a 3-node cluster (see [`crate::bench`]),
//! and the hidden `rafty bench-node` that real mode spawns for each node.
//!
//! Exit code: 0 when the benchmark ran, 2 when the arguments are bad or it could not run.

use std::path::PathBuf;
use std::time::Duration;

use crate::bench::node_process::{self, NodeProcessOptions};
use crate::bench::options::{
    InProcessLog, MAX_CATCH_UP_ENTRIES, SnapshotPolicy, parse_clients, parse_log, parse_mode,
};
use crate::bench::{self, BenchOptions, Mode};
use crate::cli::check::parse_duration;
use crate::cli::number::whole_number;

/// The most rounds per client count `--rounds` takes.
const MAX_ROUNDS: u64 = 1000;
/// The largest command `--payload-bytes` takes (a frame must stay under the transport's cap).
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

/// Arguments of `rafty bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// in-process (3 nodes in this process, in-memory logs and network) or real (3 processes
    /// on 127.0.0.1 over TCP, file logs with fsync).
    #[arg(long, default_value = "in-process", value_parser = parse_mode)]
    pub mode: Mode,
    /// Concurrent closed-loop clients, comma-separated; one measurement per count.
    #[arg(long, default_value = "1,16,64,256,1024", value_parser = parse_client_counts)]
    pub clients: ClientCounts,
    /// How long clients run before each round measures (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// How long each round measures.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Rounds per client count, each on a fresh cluster; the table shows their spread.
    #[arg(long, default_value_t = 3, allow_hyphen_values = true,
          value_parser = whole_number(1, MAX_ROUNDS))]
    pub rounds: u64,
    /// Bytes of each command in in-process mode (real mode sends a small key-value put).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true,
          value_parser = whole_number(0, MAX_PAYLOAD_BYTES))]
    pub payload_bytes: u64,
    /// Real mode: where the nodes' temporary log directories and the fsync probe go. Use a
    /// directory on the disk you want to measure (a tmpfs makes fsync free).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Real mode: nodes keep their logs in memory (no fsync), to show what the disk costs.
    #[arg(long)]
    pub memory_log: bool,
    /// In process: each node's log, `memory` (MemoryLog, no I/O) or `file` (FileLog with one
    /// fsync per appended batch and a file snapshot store, in a temporary directory under
    /// --data-dir); the network stays in process.
    #[arg(long, default_value = "memory", value_parser = parse_log)]
    pub log: InProcessLog,
    /// Print the report as JSON (and no progress lines).
    #[arg(long)]
    pub json: bool,
    /// Whether the nodes snapshot and compact their logs (the library's default policy: every
    /// 10,000 entries, 5,000 kept), `on` or `off` (logs grow without bound).
    #[arg(long, default_value = "on", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    pub snapshots: bool,
    /// Instead of throughput: how a node this many entries behind catches up, by
    /// InstallSnapshot (snapshots on) and by AppendEntries alone (off), alternated for
    /// --rounds rounds each: 3 nodes in this process over TCP on 127.0.0.1, file logs and
    /// snapshot stores under --data-dir (--memory-log: in memory).
    #[arg(long, allow_hyphen_values = true,
          value_parser = whole_number(1, MAX_CATCH_UP_ENTRIES))]
    pub catch_up: Option<u64>,
    /// Measure reads instead of writes (in process or --mode real): log (a command through
    /// the log, fsynced in real mode), index (ReadIndex), lease (lease reads on, 20% drift
    /// margin) or stale (the leader's local state).
    #[arg(long, value_parser = crate::run::config::parse_reads)]
    pub reads: Option<rafty::ReadConsistency>,
    /// With --mode real: measure through the chaos test's real targets instead, `rafty`,
    /// `etcd` (on the PATH) or `both` (alternating at every client count and round), or
    /// `registry` (the service registry's config keys over HTTP+JSON), `rafty+registry`
    /// alternating, or `registry+tls` (the registry without and with TLS, alternating: HTTPS
    /// with a client certificate, mutual TLS between the nodes): writes, then linearizable
    /// reads, client latency only, 3 members on 127.0.0.1.
    #[arg(long, value_parser = ["rafty", "etcd", "both", "registry", "rafty+registry", "registry+tls"])]
    pub target: Option<String>,
    /// In process: snapshot every this many applied entries instead of the library's 10,000
    /// (e.g. 5000, openraft's default, for `bench/vs-openraft/`).
    #[arg(long, allow_hyphen_values = true, value_parser = whole_number(1, u64::MAX))]
    pub snapshot_every: Option<u64>,
    /// In process: keep this many entries behind each snapshot instead of the library's 5,000
    /// (openraft keeps 1000); needs --snapshot-every.
    #[arg(long, requires = "snapshot_every", allow_hyphen_values = true,
          value_parser = whole_number(0, u64::MAX))]
    pub snapshot_keep: Option<u64>,
    /// `off` starts the runtime without tokio's LIFO slot (a woken task waits its turn instead
    /// of running next): the leader's loop then proposes large batches (see BENCHMARKS.md).
    #[arg(long, default_value = "on", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    pub lifo_slot: bool,
    /// With --mode real: run each node process on a multi-thread runtime of this many
    /// workers instead of one current thread (0, the default).
    #[arg(long, default_value_t = 0, value_parser = whole_number(0, 64))]
    pub node_workers: u64,
}

/// `--snapshots on|off`.
fn parse_on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("'{other}' is neither on nor off")),
    }
}

/// The list `--clients` gives (a newtype, so clap takes the list as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCounts(pub Vec<usize>);

fn parse_client_counts(text: &str) -> Result<ClientCounts, String> {
    parse_clients(text).map(ClientCounts)
}

/// Arguments of the hidden `rafty bench-node` (spawned by `rafty bench --mode real`).
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The node's id.
    #[arg(long)]
    pub id: u64,
    /// The directory of its file log.
    #[arg(long)]
    pub dir: PathBuf,
    /// The cluster id its connections carry.
    #[arg(long)]
    pub cluster_id: u64,
    /// Keep the log in memory instead of a file log in `--dir`.
    #[arg(long)]
    pub memory_log: bool,
    /// Never snapshot or compact the log.
    #[arg(long)]
    pub no_snapshots: bool,
    /// Turn lease reads on (§6.4.1; `rafty bench --mode real --reads lease`).
    #[arg(long)]
    pub lease_reads: bool,
    /// Run on a multi-thread runtime of this many workers; 0: one current thread.
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
}

/// Run `rafty bench`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let options = BenchOptions {
        mode: args.mode,
        clients: args.clients.0.clone(),
        warmup: args.warmup,
        duration: args.duration,
        rounds: args.rounds as usize,
        payload_bytes: args.payload_bytes as usize,
        data_dir: args.data_dir.clone().unwrap_or_else(std::env::temp_dir),
        memory_log: args.memory_log,
        log: args.log,
        json: args.json,
        snapshots: args.snapshots,
        catch_up: args.catch_up,
        reads: args.reads,
        lifo_slot: args.lifo_slot,
        node_workers: args.node_workers as usize,
        snapshot_policy: args.snapshot_every.map(|every_entries| SnapshotPolicy {
            every_entries,
            keep_entries: args
                .snapshot_keep
                .unwrap_or(rafty::Config::default().snapshot_keep_entries),
        }),
    };
    if let Some(target) = &args.target {
        return compare_targets(args, target, &options);
    }
    if options.catch_up.is_some() {
        return match bench::catch_up::run(&options) {
            Ok(report) if args.json => {
                println!("{}", report.to_json());
                0
            }
            Ok(report) => {
                print!("{}", report.to_table());
                0
            }
            Err(error) => {
                eprintln!("rafty bench: {error}");
                2
            }
        };
    }
    match bench::run(&options) {
        Ok(report) if args.json => {
            println!("{}", report.to_json());
            0
        }
        Ok(report) => {
            print!("{}", report.to_table());
            0
        }
        Err(error) => {
            eprintln!("rafty bench: {error}");
            2
        }
    }
}

/// `rafty bench --mode real --target ...`: [`crate::real::bench`]; a markdown table on stdout.
fn compare_targets(args: &Args, target: &str, options: &BenchOptions) -> u8 {
    use crate::real::bench::{self as compare, CompareOptions};
    if args.mode != Mode::Real {
        eprintln!("rafty bench: --target needs --mode real");
        return 2;
    }
    let targets = match target {
        "both" => vec!["rafty", "etcd"],
        "etcd" => vec!["etcd"],
        "registry" => vec!["registry"],
        "rafty+registry" => vec!["rafty", "registry"],
        "registry+tls" => vec!["registry", "registry-tls"],
        _ => vec!["rafty"],
    };
    if targets.contains(&"etcd") {
        if let Err(error) = crate::real::etcd::find_etcd() {
            eprintln!("rafty bench: {error}");
            return 2;
        }
    }
    let load_before = bench::machine::load_average();
    let compare_options = CompareOptions {
        targets,
        clients: options.clients.clone(),
        warmup: options.warmup,
        duration: options.duration,
        rounds: options.rounds,
        data_dir: options.data_dir.clone(),
    };
    eprintln!("{}", compare::TABLE_HEAD);
    match compare::run(&compare_options) {
        Ok(measurements) => {
            println!("{}", compare::TABLE_HEAD);
            for measurement in &measurements {
                println!("{}", compare::row(measurement));
            }
            let load = |load: Option<bench::machine::LoadAverage>| {
                load.map_or("unknown".to_owned(), |load| {
                    format!("{:.2} {:.2} {:.2}", load.one, load.five, load.fifteen)
                })
            };
            println!(
                "load average before: {}; after: {}",
                load(load_before),
                load(bench::machine::load_average())
            );
            0
        }
        Err(error) => {
            eprintln!("rafty bench: {error}");
            2
        }
    }
}

/// Run `rafty bench-node`; returns the exit code.
pub fn run_node(args: &NodeArgs) -> u8 {
    let options = NodeProcessOptions {
        id: args.id,
        dir: args.dir.clone(),
        cluster_id: args.cluster_id,
        memory_log: args.memory_log,
        snapshots: !args.no_snapshots,
        lease_reads: args.lease_reads,
        workers: args.workers,
    };
    match node_process::run(&options) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rafty bench-node {}: {error}", args.id);
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn snapshots_are_on_unless_switched_off_and_catch_up_takes_a_count() {
        let parse = |line: &str| {
            let words = std::iter::once("bench").chain(line.split_whitespace());
            Cli::try_parse_from(words).map_err(|error| error.to_string())
        };
        assert!(parse("").unwrap().args.snapshots);
        assert!(parse("--snapshots on").unwrap().args.snapshots);
        assert!(!parse("--snapshots off").unwrap().args.snapshots);
        let error = parse("--snapshots maybe").unwrap_err();
        assert!(
            error.contains("--snapshots") && error.contains("neither on nor off"),
            "{error}"
        );
        assert_eq!(parse("").unwrap().args.catch_up, None);
        assert_eq!(
            parse("--catch-up 100000").unwrap().args.catch_up,
            Some(100_000)
        );
        let error = parse("--catch-up 0").unwrap_err();
        assert!(error.contains("--catch-up"), "{error}");
    }

    /// A negative or out-of-range count gets a range error naming the flag, not clap's
    /// "unexpected argument" (a `-1` read as a flag).
    #[test]
    fn negative_rounds_and_payload_get_a_range_error_naming_the_flag() {
        let parse = |line: &str| {
            let words = std::iter::once("bench").chain(line.split_whitespace());
            Cli::try_parse_from(words).map_err(|error| error.to_string())
        };
        let args = parse("--rounds 2 --payload-bytes 64").unwrap().args;
        assert_eq!((args.rounds, args.payload_bytes), (2, 64));
        for (line, flag) in [
            ("--rounds -1", "--rounds"),
            ("--rounds 0", "--rounds"),
            ("--payload-bytes -1", "--payload-bytes"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(
                error.contains(flag) && error.contains("is not a whole number from"),
                "{line}: {error}"
            );
        }
    }
}
