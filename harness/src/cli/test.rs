//! `rafty test`: run the chaos test of a simulated cluster for one seed or many.
//!
//! Exit code (Jepsen's convention): 0 when every run is valid, 1 when any is invalid, otherwise
//! 2 when any is unknown or the arguments are bad.

use std::path::PathBuf;
use std::time::Duration;

use rafty_workloads::WorkloadKind;

use crate::cli::check::parse_duration;
use crate::cli::number::whole_number;
use crate::nemesis::{KindList, parse_kind_list};
use crate::run::config::{LogKind, MAX_OVERLAP, TestConfig, Variant, parse_reads};
use crate::run::plugins::Plugins;
use crate::run::results::Validity;
use crate::run::store;
use crate::run::suite::{self, Shard, SuiteOptions, SuiteSummary};
use crate::sim::pinned::ClientRouting;

/// How many seeds run when neither `--seed` nor `--seeds` is given.
const DEFAULT_SEEDS: u64 = 5;

/// The most seeds one `rafty test` runs (shard larger suites across machines with --shard).
const MAX_SEEDS: u64 = 1_000_000;
/// The most faults `--nemesis-overlap` lets be in effect at once.
const MAX_NEMESIS_OVERLAP: u64 = MAX_OVERLAP as u64;
/// The highest `--rate`, operations per second.
const MAX_RATE: u32 = 100_000;

/// Arguments of `rafty test`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The workload: kv (many registers), register (one), or append (see --help for each).
    #[arg(long, default_value = "kv", value_parser = parse_workload, long_help = WorkloadKind::help())]
    pub workload: WorkloadKind,
    /// Nodes in the cluster: 3, 5 or 7.
    #[arg(long, default_value_t = 5, value_parser = parse_nodes, allow_hyphen_values = true)]
    pub nodes: usize,
    /// Faults, comma-separated: all, none, or kinds by name (see --help for each).
    #[arg(long, default_value = "all", value_parser = parse_kinds_arg, long_help = crate::nemesis::kind::help())]
    pub nemesis: FaultKinds,
    /// How long clients run operations and the nemesis acts (e.g. 30s, 500ms, 2m; at most 24h).
    #[arg(long, default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub time_limit: Duration,
    /// The typical length of a fault and of the healthy gap between two.
    #[arg(long, default_value = "2s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub nemesis_interval: Duration,
    /// At most this many faults in effect at once, each on its own schedule from the seed (1:
    /// one at a time). Faults at once never share a node or the links: a partition, clog or
    /// figure8 holds the links, latency the links' latency, every other kind its nodes.
    #[arg(long, default_value_t = 1, value_parser = whole_number(1, MAX_NEMESIS_OVERLAP), allow_hyphen_values = true)]
    pub nemesis_overlap: u64,
    /// The seed of a single run, or the first seed with --seeds.
    #[arg(long, value_parser = whole_number(0, u64::MAX), allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// How many seeds to run, from --seed on (from 1 without it); at most 1000000. Default: 5
    /// (seeds 1 to 5), or 1 when --seed is given.
    #[arg(long, value_parser = whole_number(1, MAX_SEEDS), allow_hyphen_values = true)]
    pub seeds: Option<u64>,
    /// Run only the i-th of n deterministic slices of the seeds (e.g. 3/8), for CI machines.
    #[arg(long, allow_hyphen_values = true)]
    pub shard: Option<Shard>,
    /// Concurrent clients, each with one operation outstanding.
    #[arg(long, value_parser = whole_number(1, 1000), allow_hyphen_values = true)]
    pub concurrency: Option<u64>,
    /// Target operations per second over all clients.
    #[arg(long, value_parser = whole_number(1, MAX_RATE.into()), allow_hyphen_values = true)]
    pub rate: Option<u64>,
    /// Keys the operations spread over (1 for the register workload).
    #[arg(long, value_parser = whole_number(1, 100_000), allow_hyphen_values = true)]
    pub keys: Option<u64>,
    /// The most micro-operations in a transaction (transactional workloads; default 4).
    #[arg(long, value_parser = whole_number(1, 1000), allow_hyphen_values = true)]
    pub txn_ops: Option<u64>,
    /// Every how many of a client's operations its active keys move one key on
    /// (transactional workloads; 0 never; list-append and rw-register default to 3).
    #[arg(long, value_parser = whole_number(0, 1_000_000), allow_hyphen_values = true)]
    pub key_rotation: Option<u64>,
    /// Operation mix as read,write,cas weights (e.g. 2,1,1; appends count as writes).
    #[arg(long, value_parser = parse_mix, allow_hyphen_values = true)]
    pub mix: Option<rafty_workloads::OperationMix>,
    /// The most entries one AppendEntries carries (a Raft setting).
    #[arg(long, value_parser = whole_number(1, 1_000_000), allow_hyphen_values = true)]
    pub max_append_entries: Option<u64>,
    /// The most AppendEntries in flight to one follower (a Raft setting).
    #[arg(long, value_parser = whole_number(1, 1024), allow_hyphen_values = true)]
    pub max_inflight_appends: Option<u64>,
    /// Take a snapshot every this many applied entries, 0 for never (a Raft setting).
    #[arg(long, value_parser = whole_number(0, 100_000_000), allow_hyphen_values = true)]
    pub snapshot_threshold_entries: Option<u64>,
    /// Entries kept in the log behind a snapshot (a Raft setting).
    #[arg(long, value_parser = whole_number(0, 100_000_000), allow_hyphen_values = true)]
    pub snapshot_keep_entries: Option<u64>,
    /// Run with the Raft settings as given, instead of drawing each run's batch size,
    /// in-flight window, election timing and RPC deadline from its seed (implied by --max-append-entries
    /// and --max-inflight-appends).
    #[arg(long)]
    pub fixed_settings: bool,
    /// Runs at once, each on its own thread.
    #[arg(long, default_value_t = 1, value_parser = whole_number(1, 64), allow_hyphen_values = true)]
    pub jobs: u64,
    /// Where results go: one folder per run, STORE/TEST/TIME-SEED/.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Write nothing to the store.
    #[arg(long)]
    pub no_store: bool,
    /// Each node's log: memory (rafty's MemoryLog, every write durable on return) or file
    /// (rafty's FileLog on its host's simulated disk, which loses unsynced writes, torn, on
    /// power loss).
    #[arg(long, default_value = "memory", value_parser = LogKind::parse)]
    pub log: LogKind,
    /// Shrink each invalid run as the suite finds it, after the suite: the smallest schedule
    /// that fails the same check is stored as a run of its own (TIME-shrunk-SEED) with its
    /// counterexample.txt. Needs the store.
    #[arg(long)]
    pub shrink: bool,
    /// With --shrink: no new shrinking run starts after this much wall time, per failure.
    #[arg(long, default_value = "2m", value_parser = parse_duration, allow_hyphen_values = true)]
    pub shrink_time_limit: Duration,
    /// A deliberately broken variant, to see the harness catch it (for harness development).
    #[arg(long, hide = true, default_value = "reference", value_parser = Variant::parse)]
    pub variant: Variant,
    /// How the workload reads (dissertation §6.4): log (a command through the log), index
    /// (ReadIndex: a heartbeat round, no log write), lease (§6.4.1: no round while the
    /// leader's lease holds; turns lease reads on) or stale (any node's local state: recorded
    /// as info, labelled "stale read", never checked as linearizable).
    #[arg(long, default_value = "log", value_parser = parse_reads)]
    pub reads: rafty::ReadConsistency,
    /// Write through client sessions (dissertation §6.3): each client registers a session and
    /// retries a write whose outcome is unknown under it until it learns the outcome (the
    /// cluster applies it at most once), so far fewer operations end indeterminate.
    #[arg(long)]
    pub sessions: bool,
    /// With --reads lease: the lease's clock-drift margin, as a share of the election timeout
    /// in percent.
    #[arg(long, default_value_t = 20)]
    pub lease_margin_percent: u32,
    /// How the workload clients choose a node: leader (follow the leader: the node that
    /// answered last, NotLeader hints, else round the nodes) or pinned (Jepsen's: each client
    /// process asks one node of the initial configuration once per operation, whatever its
    /// role, and moves to the next node after an indeterminate operation; the final reads
    /// follow the leader).
    #[arg(long, default_value = "leader", value_parser = ClientRouting::parse)]
    pub clients: ClientRouting,
    /// Follower reads (dissertation §6.4): a follower asked for an index or lease read gets
    /// the read index from the leader and serves once it applied that far, instead of
    /// refusing with NotLeader (what pinned clients meet at followers without it).
    #[arg(long)]
    pub follower_reads: bool,
    /// The simulated network's message latency: wan (1 to 10 ms a message) or lan (0 to 1
    /// ms: a message arrives by the simulation's next 1 ms step).
    #[arg(long, default_value = "wan", value_parser = ["wan", "lan"])]
    pub network: String,
    /// Run against real OS processes instead of the simulation: `rafty node` processes on
    /// 127.0.0.1 with their file logs on the real disk, the fault proxy on every link, faults
    /// partition, kill, pause, latency, clog and power (`all` means those; power runs the
    /// nodes with `--lazy-fs`). Not deterministic: the seed draws the faults and operations,
    /// the machine decides when they land.
    #[arg(long)]
    pub real: bool,
    /// With --real: the nodes' data go in a new directory under this one, removed at the end
    /// (default: the system's temporary folder).
    #[arg(long)]
    pub real_data_dir: Option<PathBuf>,
    /// With --real: the system under test, `rafty` (its own nodes) or `etcd` (found on the
    /// PATH; Debian: `apt-get install etcd-server`; register and kv workloads).
    #[arg(long, default_value = "rafty", value_parser = ["rafty", "etcd"])]
    pub target: String,
    /// With --target etcd: read serializably (from the member's local state, possibly stale)
    /// and record those reads as linearizable: the deliberately wrong client setting the
    /// checker must catch.
    #[arg(long)]
    pub etcd_serializable_reads: bool,
}

fn parse_workload(text: &str) -> Result<WorkloadKind, String> {
    text.parse()
        .map_err(|error: rafty_workloads::ConfigError| error.reason)
}

fn parse_mix(text: &str) -> Result<rafty_workloads::OperationMix, String> {
    let bad = || format!("bad mix `{text}`: expected read,write,cas weights such as 2,1,1");
    let weights: Vec<u32> = text
        .split(',')
        .map(|part| part.trim().parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    match weights[..] {
        [read, write, cas] => Ok(rafty_workloads::OperationMix { read, write, cas }),
        _ => Err(bad()),
    }
}

fn parse_nodes(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(nodes @ (3 | 5 | 7)) => Ok(nodes),
        _ => Err(format!(
            "`{text}` nodes: the cluster must have 3, 5 or 7 nodes"
        )),
    }
}

/// The `--nemesis` list (one argument, comma-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultKinds(pub KindList);

fn parse_kinds_arg(text: &str) -> Result<FaultKinds, String> {
    parse_kind_list(text).map(FaultKinds)
}

impl Args {
    /// The test these arguments describe, validated; the error names each bad flag.
    pub fn config(&self) -> Result<TestConfig, String> {
        let mut config = TestConfig::new(self.workload);
        config.nodes = self.nodes;
        config.nemesis = self.nemesis.0.resolve(self.log);
        config.nemesis_interval = self.nemesis_interval;
        config.nemesis_overlap = self.nemesis_overlap as usize;
        config.workload.time_limit = self.time_limit;
        if let Some(concurrency) = self.concurrency {
            config.workload.concurrency = concurrency as usize;
        }
        if let Some(rate) = self.rate {
            // At most MAX_RATE, which fits a u32.
            config.workload.rate_per_second = rate as u32;
        }
        if let Some(keys) = self.keys {
            config.workload.key_count = keys as usize;
        }
        if let Some(mix) = self.mix {
            config.workload.mix = mix;
        }
        if let Some(ops) = self.txn_ops {
            config.workload.txn_ops = ops as usize;
        }
        if let Some(every) = self.key_rotation {
            config.workload.key_rotation = every;
        }
        if let Some(entries) = self.max_append_entries {
            config.raft.max_append_entries = entries as usize;
        }
        if let Some(inflight) = self.max_inflight_appends {
            config.raft.max_inflight_appends = inflight as usize;
        }
        if let Some(threshold) = self.snapshot_threshold_entries {
            config.raft.snapshot_threshold_entries = threshold;
        }
        if let Some(keep) = self.snapshot_keep_entries {
            config.raft.snapshot_keep_entries = keep;
        }
        config.draw_settings = !self.fixed_settings
            && self.max_append_entries.is_none()
            && self.max_inflight_appends.is_none();
        config.variant = self.variant;
        config.log = self.log;
        config.reads = self.reads;
        config.sessions = self.sessions;
        config.lease_margin_percent = self.lease_margin_percent;
        config.clients = self.clients;
        config.raft.follower_reads = self.follower_reads;
        if self.network == "lan" {
            (config.latency_min, config.latency_max) = crate::run::config::LAN_LATENCY;
        }
        let problems = config.problems();
        if !problems.is_empty() {
            let described: Vec<String> = problems
                .iter()
                .map(|problem| problem.for_command_line())
                .collect();
            return Err(described.join("; "));
        }
        Ok(config)
    }

    /// The seeds to run. A range that would run past `u64::MAX` is refused (it never wraps).
    pub fn seeds(&self) -> Result<Vec<u64>, String> {
        let count = match (self.seed, self.seeds) {
            (_, Some(count)) => count,
            (Some(_), None) => 1,
            (None, None) => DEFAULT_SEEDS,
        };
        let first = self.seed.unwrap_or(1);
        if suite::seed_range_overflows(first, count) {
            return Err(format!(
                "--seed/--seeds: the range of {count} seeds from {first} overflows u64 (the \
                 last seed would be {first} + {} > {})",
                count - 1,
                u64::MAX
            ));
        }
        Ok(suite::seeds(first, count, self.shard))
    }
}

/// Run `rafty test`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let config = match args.config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rafty test: {error}");
            return 2;
        }
    };
    if args.real && config.clients != ClientRouting::Leader {
        eprintln!("rafty test: --clients pinned runs in the simulation only; drop it with --real");
        return 2;
    }
    if args.real {
        return super::test_real::run(args, config);
    }
    let plugins = match Plugins::for_config(&config) {
        Ok(plugins) => plugins,
        Err(error) => {
            eprintln!("rafty test: {error}");
            return 2;
        }
    };
    let seeds = match args.seeds() {
        Ok(seeds) => seeds,
        Err(error) => {
            eprintln!("rafty test: {error}");
            return 2;
        }
    };
    if args.shrink && args.no_store {
        eprintln!(
            "rafty test: --shrink needs the store (it shrinks each failing run's schedule.json); drop --no-store"
        );
        return 2;
    }
    if !args.no_store {
        if let Err(error) = store::check_writable(&args.store) {
            eprintln!("rafty test: --store {error}");
            return 2;
        }
    }
    if seeds.is_empty() {
        eprintln!(
            "rafty test: shard {} of {} seeds is empty",
            args.shard.map_or(String::new(), |s| s.to_string()),
            args.seeds.unwrap_or(1)
        );
        return 0;
    }
    eprintln!(
        "rafty test: {} on {} nodes, nemesis {}, {:?} per run, {} seed(s) from {}",
        config.workload.kind,
        config.nodes,
        nemesis_names(&config),
        config.workload.time_limit,
        seeds.len(),
        seeds[0]
    );
    let options = SuiteOptions {
        seeds,
        store: (!args.no_store).then(|| args.store.clone()),
        progress: true,
        jobs: args.jobs as usize,
    };
    let summary = suite::run_suite(&config, &plugins, &options);
    print_summary(&summary, config.workload.time_limit);
    if !args.no_store {
        println!("reports: {}", args.store.join("index.html").display());
    }
    let unstored: Vec<_> = summary.unstored().collect();
    for run in &unstored {
        let error = run.store_error.as_deref().unwrap_or_default();
        eprintln!("rafty test: seed {}: {error}", run.seed);
    }
    if args.shrink {
        shrink_failures(&summary, args);
    }
    let verdict = summary.validity().exit_code() as u8;
    if !unstored.is_empty() && verdict == 0 {
        // Every run was valid, but some results are missing from the store: not a pass.
        eprintln!(
            "rafty test: {} of {} runs could not be stored under {}",
            unstored.len(),
            summary.runs.len(),
            args.store.display()
        );
        return 2;
    }
    verdict
}

/// Shrink every invalid run of `summary` from its stored schedule; a failure to shrink one is
/// reported and the others still go.
fn shrink_failures(summary: &SuiteSummary, args: &Args) {
    let options = crate::shrink::ShrinkOptions {
        time_limit: args.shrink_time_limit,
        progress: true,
        ..crate::shrink::ShrinkOptions::default()
    };
    for run in summary
        .runs
        .iter()
        .filter(|run| run.valid == Validity::Invalid)
    {
        let Some(dir) = &run.dir else { continue };
        let shrunk = crate::schedule::load(dir)
            .map_err(|error| error.to_string())
            .and_then(|schedule| {
                crate::cli::shrink::shrink_and_store(&schedule, &options, Some(&args.store))
            });
        if let Err(error) = shrunk {
            eprintln!("rafty test: seed {}: not shrunk: {error}", run.seed);
        }
    }
}

fn nemesis_names(config: &TestConfig) -> String {
    let names: Vec<&str> = config.nemesis.iter().map(|kind| kind.name()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// Above this many runs, only the runs that are not valid get a line of their own.
const LIST_EVERY_RUN_UP_TO: usize = 20;

/// How long a run took: the simulated time split into the time limit (operations and faults)
/// and what follows it (faults healed, the cluster's recovery, the final reads), then the wall
/// time, e.g. `11.0s simulated = 10.0s time limit + 1.0s recovery and final reads, in 2.31s`.
fn describe_times(simulated_ms: u64, time_limit: Duration, wall_ms: u64) -> String {
    let limit_ms = time_limit.as_millis() as u64;
    let seconds = |ms: u64| ms as f64 / 1000.0;
    let simulated = if simulated_ms >= limit_ms {
        format!(
            "{:.1}s simulated = {:.1}s time limit + {:.1}s recovery and final reads",
            seconds(simulated_ms),
            seconds(limit_ms),
            seconds(simulated_ms - limit_ms),
        )
    } else {
        format!(
            "{:.1}s simulated, stopped before the {:.1}s time limit",
            seconds(simulated_ms),
            seconds(limit_ms)
        )
    };
    format!("{simulated}, in {:.2}s", seconds(wall_ms))
}

fn print_summary(summary: &SuiteSummary, time_limit: Duration) {
    let list_all = summary.runs.len() <= LIST_EVERY_RUN_UP_TO;
    for run in summary
        .runs
        .iter()
        .filter(|run| list_all || run.valid != Validity::Valid)
    {
        let stored = run
            .dir
            .as_ref()
            .map_or(String::new(), |dir| format!(" -> {}", dir.display()));
        println!(
            "seed {}: {}{}{} ({}){stored}",
            run.seed,
            run.valid.describe(),
            if run.failure == "none" {
                String::new()
            } else {
                format!(" ({})", run.failure)
            },
            if run.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", run.reason)
            },
            describe_times(run.simulated_ms, time_limit, run.wall_ms),
        );
    }
    let simulated: u64 = summary.runs.iter().map(|run| run.simulated_ms).sum();
    let wall: u64 = summary.runs.iter().map(|run| run.wall_ms).sum();
    println!(
        "{} runs: {} valid, {} invalid, {} unknown; {:.0}x real time",
        summary.runs.len(),
        summary.count(Validity::Valid),
        summary.count(Validity::Invalid),
        summary.count(Validity::Unknown),
        simulated as f64 / wall.max(1) as f64,
    );
    for run in summary
        .runs
        .iter()
        .filter(|run| run.valid != Validity::Valid)
    {
        println!("reproduce seed {}: {}", run.seed, run.reproduce);
    }
}

/// Parses `args` (the words after `rafty test`) as the command line would; for tests.
#[cfg(test)]
pub(crate) fn parse(args: &str) -> Result<Args, String> {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    let words = std::iter::once("test").chain(args.split_whitespace());
    Cli::try_parse_from(words)
        .map(|cli| cli.args)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::FaultKind;

    fn kind(name: &str) -> FaultKind {
        FaultKind::named(name).expect("a registered kind")
    }

    /// The configuration `args` describe (they must parse and be valid).
    fn config_of(args: &str) -> TestConfig {
        parse(args).unwrap().config().unwrap()
    }

    /// Why the configuration `args` describe is refused (they must parse).
    fn config_error(args: &str) -> String {
        parse(args).unwrap().config().unwrap_err()
    }

    #[test]
    fn nemesis_overlap_defaults_to_one_and_is_bounded() {
        assert_eq!(config_of("").nemesis_overlap, 1);
        let three = config_of("--nemesis-overlap 3");
        assert_eq!(three.nemesis_overlap, 3);
        for bad in ["--nemesis-overlap 0", "--nemesis-overlap 9"] {
            let Err(error) = parse(bad) else {
                panic!("{bad} was accepted")
            };
            assert!(error.contains("--nemesis-overlap"), "{bad}: {error}");
        }
    }

    #[test]
    fn no_flags_is_the_readme_default() {
        let args = parse("").unwrap();
        let config = args.config().unwrap();
        assert_eq!(config.nodes, 5);
        assert_eq!(config.workload.kind, WorkloadKind::named("kv").unwrap());
        assert_eq!(config.nemesis, FaultKind::all(LogKind::Memory));
        assert_eq!(args.seeds().unwrap(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn all_includes_power_loss_with_the_file_log() {
        let file = config_of("--log file");
        assert!(file.nemesis.contains(&kind("power")), "{:?}", file.nemesis);
        assert!(file.nemesis.contains(&kind("kill")));
        let memory = config_of("--nemesis all");
        assert!(!memory.nemesis.contains(&kind("power")));
        let listed = config_of("--log file --nemesis kill,partition");
        assert_eq!(listed.nemesis, [kind("partition"), kind("kill")]);
        let power = config_of("--nemesis power");
        assert_eq!(power.nemesis, [kind("power")]);
        let both = config_of("--log file --nemesis all,disk");
        assert!(both.nemesis.contains(&kind("power")) && both.nemesis.contains(&kind("disk")));
    }

    #[test]
    fn corrupt_needs_the_file_log_and_is_added_to_all_by_name() {
        let error = config_error("--nemesis corrupt");
        assert!(
            error.contains("corrupt") && error.contains("--log file"),
            "{error}"
        );
        let error = config_error("--nemesis all,corrupt --log memory");
        assert!(error.contains("--log memory"), "{error}");
        let alone = config_of("--log file --nemesis corrupt");
        assert_eq!(alone.nemesis, [kind("corrupt")]);
        let all = config_of("--log file");
        assert!(!all.nemesis.contains(&kind("corrupt")), "{:?}", all.nemesis);
        let both = config_of("--log file --nemesis all,corrupt");
        let mut expected = FaultKind::all(LogKind::Memory);
        expected.extend([kind("power"), kind("power-mid-write"), kind("corrupt")]);
        expected.sort_unstable();
        assert_eq!(both.nemesis, expected);
    }

    #[test]
    fn power_mid_write_needs_the_file_log_and_is_in_all_with_it() {
        let error = config_error("--nemesis power-mid-write");
        assert!(
            error.contains("power-mid-write") && error.contains("--log file"),
            "{error}"
        );
        let alone = config_of("--log file --nemesis power-mid-write");
        assert_eq!(alone.nemesis, [kind("power-mid-write")]);
        let file = config_of("--log file");
        assert!(file.nemesis.contains(&kind("power-mid-write")));
        let memory = config_of("--nemesis all");
        assert!(!memory.nemesis.contains(&kind("power-mid-write")));
    }

    #[test]
    fn seed_seeds_and_shard_pick_the_runs() {
        assert_eq!(parse("--seed 7").unwrap().seeds().unwrap(), [7]);
        assert_eq!(
            parse("--seed 7 --seeds 3").unwrap().seeds().unwrap(),
            [7, 8, 9]
        );
        assert_eq!(
            parse("--seed 7 --seeds 3 --shard 2/3")
                .unwrap()
                .seeds()
                .unwrap(),
            [8]
        );
        assert_eq!(
            parse("--seeds 200 --shard 3/8")
                .unwrap()
                .seeds()
                .unwrap()
                .len(),
            25
        );
    }

    #[test]
    fn knobs_reach_the_config() {
        let args = parse("--workload append --nodes 3 --nemesis kill,pause --time-limit 30s --concurrency 4 --rate 50 --keys 2 --mix 1,3,0").unwrap();
        let config = args.config().unwrap();
        assert_eq!(
            (config.nodes, config.workload.kind),
            (3, WorkloadKind::named("append").unwrap())
        );
        assert_eq!(config.nemesis, [kind("kill"), kind("pause")]);
        assert_eq!(config.workload.time_limit, Duration::from_secs(30));
        assert_eq!(
            (
                config.workload.concurrency,
                config.workload.rate_per_second,
                config.workload.key_count
            ),
            (4, 50, 2)
        );
        assert_eq!(config.workload.mix.write, 3);
    }

    /// The store folder says what was tested: the three runs of
    /// `for n in kill partition pause; do rafty test --seed 1 --nemesis $n; done` get three.
    #[test]
    fn the_test_name_says_what_was_tested() {
        let name = |args: &str| config_of(args).name();
        assert_eq!(name(""), "kv-5n-all-memory");
        assert_eq!(name("--nemesis kill"), "kv-5n-kill-memory");
        assert_eq!(name("--nemesis partition"), "kv-5n-partition-memory");
        assert_eq!(name("--nemesis pause"), "kv-5n-pause-memory");
        assert_eq!(
            name("--workload register --nodes 3 --nemesis pause,kill --log file"),
            "register-3n-kill+pause-file"
        );
        assert_eq!(name("--log file"), "kv-5n-all-file");
        assert_eq!(
            name("--log file --nemesis all,corrupt"),
            "kv-5n-all+corrupt-file"
        );
        assert_eq!(name("--nemesis none"), "kv-5n-none-memory");
        assert_eq!(
            name("--variant forgetful-log"),
            "kv-5n-all-memory-forgetful-log"
        );
        // `all` spelled out kind by kind is still `all`.
        assert_eq!(
            name("--nemesis partition,kill,pause,latency,clog,figure8,install-snapshot,replay"),
            "kv-5n-all-memory"
        );
    }

    /// `--seeds`'s help says what runs without it.
    #[test]
    fn seeds_help_states_its_default() {
        use clap::CommandFactory;

        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let help = Cli::command().render_long_help().to_string();
        let seeds = help
            .split("--seeds <SEEDS>")
            .nth(1)
            .and_then(|rest| rest.split("--shard").next())
            .expect("--seeds is in the help");
        let seeds = seeds.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            seeds.contains(&format!("Default: {DEFAULT_SEEDS}")),
            "{seeds}"
        );
        assert!(seeds.contains("1 when --seed is given"), "{seeds}");
    }

    /// `11.0s simulated` for `--time-limit 10s` says what the extra second was.
    #[test]
    fn simulated_time_beyond_the_limit_is_explained() {
        assert_eq!(
            describe_times(11_000, Duration::from_secs(10), 2_310),
            "11.0s simulated = 10.0s time limit + 1.0s recovery and final reads, in 2.31s"
        );
        assert_eq!(
            describe_times(0, Duration::from_secs(10), 0),
            "0.0s simulated, stopped before the 10.0s time limit, in 0.00s"
        );
    }

    /// clap reads `-1` as a flag unless told otherwise; each numeric flag gives a range error
    /// naming itself instead of "unexpected argument".
    #[test]
    fn negative_numbers_get_range_errors_naming_the_flag() {
        let error = parse("--nodes -1").unwrap_err();
        assert!(
            error.contains("--nodes") && error.contains("the cluster must have 3, 5 or 7 nodes"),
            "{error}"
        );
        for (flag, range) in [
            ("--seed", "from 0 to 18446744073709551615"),
            ("--seeds", "from 1 to 1000000"),
            ("--jobs", "from 1 to 64"),
            ("--concurrency", "from 1 to 1000"),
            ("--rate", "from 1 to 100000"),
            ("--keys", "from 1 to 100000"),
            ("--nemesis-overlap", "from 1 to 8"),
            ("--max-append-entries", "from 1 to 1000000"),
            ("--max-inflight-appends", "from 1 to 1024"),
        ] {
            let error = parse(&format!("{flag} -1")).unwrap_err();
            assert!(
                error.contains(flag) && error.contains(range) && !error.contains("unexpected"),
                "{flag}: {error}"
            );
        }
        for (args, expected) in [
            ("--time-limit -1s", "not a duration"),
            ("--nemesis-interval -1s", "not a duration"),
            ("--shard -1/8", "expected i/n"),
            ("--mix -1,1,1", "bad mix"),
        ] {
            let error = parse(args).unwrap_err();
            assert!(error.contains(expected), "{args}: {error}");
        }
    }

    #[test]
    fn bad_flags_get_clear_errors() {
        assert!(parse("--nodes 4").unwrap_err().contains("3, 5 or 7"));
        assert!(
            parse("--nemesis partition,nope")
                .unwrap_err()
                .contains("unknown nemesis `nope`")
        );
        assert!(parse("--nemesis crash").unwrap_err().contains("power"));
        assert!(parse("--log disk").unwrap_err().contains("memory or file"));
        let error = config_error("--variant acknowledge-before-fsync");
        assert!(error.contains("--log file"), "{error}");
        assert!(parse("--shard 0/4").unwrap_err().contains("expected i/n"));
        assert!(
            parse("--time-limit soon")
                .unwrap_err()
                .contains("not a duration")
        );
        let error = config_error("--workload register --keys 3");
        assert!(error.contains("exactly one key"), "{error}");
    }
}
