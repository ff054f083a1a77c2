//! One run: build the simulation from the seed, step it with the nemesis acting between
//! steps, then judge what happened.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rafty::service::KvClientConfig;
use rafty::tcp::TransportConfig;
use rafty_workloads::{Generator, Judge};

use crate::checks::settled;
use crate::nemesis::{FaultKind, FaultRecord, Listed, Nemesis, NemesisOptions};
use crate::sim::client::{Client, ClientTimes, FinalReads, ListedOps, OpLog, OpRecord, Operations};
use crate::sim::cluster::{self, ClusterContext, KV_PORT};
use crate::sim::control::SimNetwork;
use crate::sim::observe::Observations;
use crate::sim::pinned::RoutedApi;
use crate::sim::recorder::Recorder;
use crate::sim::registry::{RegistryClients, RegistryNodes};
use crate::sim::turmoil_fs::TORN_WRITE_BLOCK_BYTES;

use super::config::{TestConfig, Variant};
use super::judge::{self, Evidence};
use super::plugins::Plugins;
use super::progress::RunProgress;
use super::results::RunResult;
use super::seeds::Seeds;

/// The cluster id of every simulated cluster.
pub const CLUSTER_ID: u64 = 0x7261_6674; // "raft"

/// The turmoil host every client process runs on.
pub const CLIENT_HOST: &str = "clients";

/// Hosts a run with the `membership` nemesis starts outside the initial configuration
/// (node ids after the voters'), for it to add.
pub const SPARE_NODES: usize = 2;

/// What a run produced: its verdict and the artifacts for the store.
pub struct RunOutput {
    /// The verdict and the checks.
    pub result: RunResult,
    /// The history as `history.jsonl`, written while it was recorded (removed when dropped;
    /// the store renames it into the run's folder); `None` when it could not be created (the
    /// result's simulation check says why). Never read back whole: see [`judge`].
    pub history_spool: Option<tempfile::NamedTempFile>,
    /// Each node's log.
    pub node_logs: std::collections::BTreeMap<rafty::NodeId, Vec<String>>,
    /// The nemesis's primitive actions, timed.
    pub nemesis_log: Vec<String>,
    /// The configuration the run ran with (its settings as drawn from the seed).
    pub config: TestConfig,
    /// Every fault as applied (the schedule's nemesis, [`crate::schedule`]).
    pub faults: Vec<FaultRecord>,
    /// Each client's workload operations as run (the schedule's workload).
    pub client_ops: BTreeMap<u64, Vec<OpRecord>>,
    /// Whether the run can be replayed from a schedule (a simulated run of at most
    /// [`crate::sim::client::MAX_SCHEDULE_OPS`] operations; a real-process run cannot, and
    /// neither writes `schedule.json`).
    pub replayable: bool,
}

/// Whether the invariant `stop` waits for has been violated (looked at only when the count of
/// violations moved past `seen`).
fn violated(observations: &Observations, stop: &StopEarly, seen: &mut usize) -> bool {
    let Some(name) = &stop.at_violation_of else {
        return false;
    };
    observations.with_invariants(|invariants| {
        let (violations, count) = invariants.violations();
        if count == *seen {
            return false;
        }
        *seen = count;
        violations
            .iter()
            .any(|violation| violation.invariant == name)
    })
}

/// Where a run's faults and workload operations come from.
#[derive(Clone, Copy, Debug)]
pub enum Inputs<'s> {
    /// Drawn from the seed as the run goes.
    Drawn,
    /// Replayed from a schedule's lists (the seed still drives the nodes and the network).
    Listed {
        /// The faults.
        faults: &'s [FaultRecord],
        /// Each client's operations (a client absent runs none).
        client_ops: &'s BTreeMap<u64, Vec<OpRecord>>,
        /// Whether each fault is aimed at this run's leader ([`Listed::following_leader`]).
        follow_leader: bool,
    },
}

/// Where a run spools its history and how it shows progress.
pub struct RunOptions {
    /// The folder of the history's spool file (the store's root, so that the file is renamed
    /// into the run's folder); `None`: the system's temporary folder.
    pub spool_dir: Option<std::path::PathBuf>,
    /// The progress bar.
    pub progress: RunProgress,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            spool_dir: None,
            progress: RunProgress::hidden(),
        }
    }
}

/// Run `config` with `seed` and `plugins`, and judge it (history spooled to a temporary file,
/// no progress bar).
pub fn run(config: &TestConfig, seed: u64, plugins: &Plugins) -> RunOutput {
    run_with(config, seed, plugins, RunOptions::default())
}

/// [`run_with`], with a panic of the harness itself (outside the nodes, which report their
/// own) caught: `Err` carries its message. The other seeds of a suite still run, and this one
/// is reported unknown.
pub fn run_caught(
    config: &TestConfig,
    seed: u64,
    plugins: &Plugins,
    run_options: RunOptions,
) -> Result<RunOutput, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_with(config, seed, plugins, run_options)
    }))
    .map_err(|payload| {
        let message = rafty::node::panic_message(payload.as_ref());
        format!("the harness panicked: {message}")
    })
}

/// [`run`] with `options`.
pub fn run_with(
    config: &TestConfig,
    seed: u64,
    plugins: &Plugins,
    run_options: RunOptions,
) -> RunOutput {
    run_inputs(
        &config.for_seed(seed),
        seed,
        plugins,
        run_options,
        Inputs::Drawn,
    )
}

/// When a run may stop before its clients finish: a shrinker's candidate needs no more than
/// to know whether one invariant is violated ([`crate::shrink`]).
#[derive(Clone, Debug)]
pub struct StopEarly {
    /// Stop as soon as the invariant checker has a violation of this invariant (its name, as
    /// in `leader-completeness`); `None`: never for a violation.
    pub at_violation_of: Option<String>,
    /// Stop at this simulated time whatever happened (the run then passes unless it already
    /// fails); `None`: run to the end.
    pub give_up_at: Option<Duration>,
}

/// Run `config` exactly as given (its settings are not drawn again) with `seed` for the
/// nodes' and the network's randomness, the faults and operations from `inputs`, and judge it.
pub fn run_inputs(
    config: &TestConfig,
    seed: u64,
    plugins: &Plugins,
    run_options: RunOptions,
    inputs: Inputs<'_>,
) -> RunOutput {
    run_inputs_stopping(config, seed, plugins, run_options, inputs, None)
}

/// [`run_inputs`], the simulation stopped early as `stop` says (a stopped run's history ends
/// there; the judge sees it as it is). The simulation up to the stop is the same step for step.
pub fn run_inputs_stopping(
    config: &TestConfig,
    seed: u64,
    plugins: &Plugins,
    mut run_options: RunOptions,
    inputs: Inputs<'_>,
    stop: Option<&StopEarly>,
) -> RunOutput {
    let wall_start = std::time::Instant::now(); // outside the simulation: the report's wall time
    let seeds = Seeds::new(seed);
    let nodes = config.node_ids();
    // The `membership` nemesis's spares: hosts outside the initial configuration.
    let membership = FaultKind::named("membership").is_some_and(|k| config.nemesis.contains(&k));
    let spares = if membership { SPARE_NODES } else { 0 };
    let initial_voters = nodes.len();
    let nodes: Vec<rafty::NodeId> = (1..=(initial_voters + spares) as rafty::NodeId).collect();
    let time_limit = config.workload.time_limit;
    let final_reads_until = time_limit + config.quiet_period;
    let hard_deadline = final_reads_until + config.op_timeout + Duration::from_secs(5);

    let mut builder = turmoil::Builder::new();
    // Every host's disk tears unsynced writes on power loss (used by logs on turmoil's
    // filesystem, such as `--log file`; MemoryLog never touches it).
    builder.fs().block_size(TORN_WRITE_BLOCK_BYTES);
    let mut sim = builder
        .rng_seed(seeds.derive("turmoil", 0))
        .epoch(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(hard_deadline + Duration::from_secs(1))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(config.latency_min)
        .max_message_latency(config.latency_max)
        .tcp_capacity(1 << 14)
        .build();

    let observations = Observations::new();
    // The voters never drop below the initial count (crate::sim::admin), so a majority of it
    // is always enough for the checks that count quorums.
    observations.set_cluster_size(initial_voters);
    let transport = TransportConfig::new(CLUSTER_ID);
    // The registry workload runs the registry on every node instead of the key-value store.
    let registry = (config.workload.kind.judge() == Judge::Registry)
        .then(|| Arc::new(RegistryNodes::new(plugins.registry_bug)));
    let state_machines: crate::sim::factories::SharedStateMachineFactory = match &registry {
        Some(registry) => registry.clone(),
        None => (plugins.state_machine)(),
    };
    let mut context = ClusterContext::new(
        nodes.clone(),
        seeds,
        config.raft.clone(),
        transport.clone(),
        (plugins.log)(seeds.derive("disk", 0)),
        state_machines,
        observations.clone(),
        plugins.node_hook.clone(),
    );
    context.initial_voters = initial_voters;
    context.stale_reads = config.variant == Variant::StaleLeaderReads;
    context.peers_providers = plugins.peers_provider.as_ref().map(|make| make());
    context.app = (registry.clone()).map(|registry| registry as Arc<dyn cluster::NodeApp>);
    context.skewed_clocks = config
        .nemesis
        .iter()
        .any(|kind| kind.fault().skews_clocks());
    let context = Arc::new(context);
    cluster::register(&mut sim, &context);

    let spool = match &run_options.spool_dir {
        Some(dir) => {
            let mut builder = tempfile::Builder::new();
            builder.prefix(".history-").suffix(".jsonl");
            // Renamed into the run's folder as `history.jsonl`: as readable as the run's
            // other files (tempfile makes it owner-only).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                builder.permissions(std::fs::Permissions::from_mode(0o644));
            }
            builder.tempfile_in(dir)
        }
        None => tempfile::NamedTempFile::new(),
    };
    let spool_dir = run_options
        .spool_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let (spool, recorder) = match spool.and_then(|spool| Ok((spool.reopen()?, spool))) {
        Ok((file, spool)) => (Some(spool), Recorder::new(file)),
        Err(error) => {
            let error = io::Error::new(
                error.kind(),
                format!(
                    "cannot create the history spool in {}: {error}",
                    spool_dir.display()
                ),
            );
            (None, Recorder::failed(error))
        }
    };
    let keys = match registry {
        // The registry's final lists and reads are its clients' own (sim::registry).
        Some(_) => Vec::new(),
        None => rafty_workloads::generator::keys(&config.workload),
    };
    let final_reads = FinalReads::new(&keys);
    // An acknowledgement comes at most an operation timeout after its invocation; twice that
    // is the durability ledger's window (see checks::durability).
    observations.set_ack_window(2 * config.op_timeout + Duration::from_secs(1));
    // Everything heals at the time limit; the run goes on at least `SETTLE_BOUND` past it, so
    // that the cluster's settling is judged (checks::settled).
    observations.set_settle_checkpoint(time_limit + settled::CATCH_UP_CHECKPOINT);
    let settled_from = time_limit + settled::SETTLE_BOUND;
    let acknowledged = crate::sim::client::Acknowledged::new(observations.clone());
    let times = ClientTimes {
        time_limit,
        final_reads_from: time_limit + config.recovery,
        final_reads_until,
        op_timeout: config.op_timeout,
    };
    let mut kv_config = KvClientConfig::new(CLUSTER_ID);
    kv_config.request_timeout = Duration::from_millis(500);
    kv_config.max_attempts = 6;
    kv_config.sessions = config.sessions;
    // Every client process runs as a task of one turmoil client host: far cheaper to step
    // than one host per process, and clients are never partitioned anyway.
    let clients = vec![CLIENT_HOST.to_owned()];
    let concurrency = config.workload.concurrency as u64;
    let op_log = OpLog::default();
    let client_op_log = op_log.clone();
    if registry.is_some() {
        let clients = RegistryClients {
            nodes: nodes[..initial_voters].to_vec(),
            clients: concurrency,
            rngs: (0..concurrency)
                .map(|process| (process, seeds.rng("workload", process)))
                .collect(),
            time_limit,
            final_lists_from: time_limit + config.recovery,
            watch_until: time_limit + config.recovery + Duration::from_secs(3),
            recorder: recorder.clone(),
        };
        sim.client(CLIENT_HOST, clients.run());
    } else {
        let mut processes = Vec::new();
        for index in 0..concurrency {
            let generator =
                Generator::for_client(config.workload.clone(), seeds.derive("workload", 0), index);
            let operations: Box<dyn Operations> = match inputs {
                Inputs::Drawn => Box::new(generator.clone()),
                Inputs::Listed { client_ops, .. } => Box::new(ListedOps::new(
                    client_ops.get(&index).cloned().unwrap_or_default(),
                )),
            };
            let (recorder, final_reads, acknowledged, op_log) = (
                recorder.clone(),
                final_reads.clone(),
                acknowledged.clone(),
                op_log.clone(),
            );
            processes.push((
                index,
                generator,
                operations,
                op_log,
                recorder,
                final_reads,
                acknowledged,
            ));
        }
        let (client_nodes, client_config) = (nodes.clone(), kv_config.clone());
        let (reads, routing) = (config.reads, config.clients);
        sim.client(CLIENT_HOST, async move {
            let mut tasks = Vec::new();
            for (index, generator, operations, op_log, recorder, final_reads, acknowledged) in
                processes
            {
                let api = RoutedApi::new(
                    routing,
                    index,
                    (&client_nodes[..initial_voters], &client_nodes),
                    KV_PORT,
                    &client_config,
                    (reads, time_limit),
                );
                let client = Client {
                    index,
                    concurrency,
                    generator,
                    operations,
                    op_log,
                    api,
                    recorder,
                    times,
                    final_reads,
                    acknowledged,
                };
                tasks.push(tokio::task::spawn_local(client.run()));
            }
            for task in tasks {
                task.await?;
            }
            Ok(())
        });
    }

    let options = NemesisOptions {
        kinds: config.nemesis.clone(),
        interval: config.nemesis_interval,
        start_after: Duration::from_secs(1),
        heal_at: time_limit,
        overlap: config.nemesis_overlap,
        drift_bound_ppm: drift_bound_ppm(config),
    };
    let mut nemesis = match inputs {
        Inputs::Drawn => Nemesis::new(options, nodes.clone(), seeds.rng("nemesis", 0)),
        Inputs::Listed {
            faults,
            follow_leader,
            ..
        } => {
            let faults = faults.to_vec();
            let listed = if follow_leader {
                Listed::following_leader(faults)
            } else {
                Listed::new(faults)
            };
            Nemesis::with_source(time_limit, Box::new(listed))
        }
    };
    let mut nemesis_recorded = 0;
    let mut faults = 0u64;
    let mut violations_seen = 0;
    let error = loop {
        let now = sim.elapsed();
        {
            let mut network = SimNetwork {
                sim: &mut sim,
                nodes: &nodes,
                clients: &clients,
                latency: (config.latency_min, config.latency_max),
                observations: &observations,
                log_factory: context.log_factory.as_ref(),
                gate: &context.gate,
                pauses: &context.pauses,
                replays: &context.replays,
                admin: &context.admin,
                clocks: &context.clocks,
            };
            nemesis.poll(now, &observations, &mut network);
        }
        for event in &nemesis.events()[nemesis_recorded..] {
            recorder.record_nemesis(event);
            faults += u64::from(event.f.starts_with("start-"));
        }
        nemesis_recorded = nemesis.events().len();
        match sim.step() {
            // The clients are done; the nodes run on until the settle bound.
            Ok(true) if sim.elapsed() >= settled_from => break None,
            Ok(_) => {}
            Err(error) => break Some(format!("simulation failed: {error}")),
        }
        run_options
            .progress
            .step(sim.elapsed(), recorder.client_completions(), faults);
        if let Some(stop) = stop {
            if stop.give_up_at.is_some_and(|at| sim.elapsed() >= at)
                || violated(&observations, stop, &mut violations_seen)
            {
                break None;
            }
        }
        if sim.elapsed() > hard_deadline {
            break Some(format!(
                "clients still running at the hard deadline ({hard_deadline:?})"
            ));
        }
    };
    let simulated = sim.elapsed();
    // Read outside the simulation, which it does not touch.
    let peak_rss_bytes = crate::bench::machine::peak_rss_bytes();
    drop(sim);
    run_options.progress.finish();

    // The simulation is gone: only now is the history read back (by the judge, from disk, a
    // line at a time), so the two are never in memory at once.
    let (history_file, error) = match recorder.finish() {
        Ok(()) => (spool.as_ref().map(|spool| spool.path()), error),
        Err(failure) => {
            let failure = format!("the history could not be spooled: {failure}");
            (
                None,
                Some(error.map_or(failure.clone(), |first| format!("{first}; {failure}"))),
            )
        }
    };
    let evidence = Evidence {
        config,
        seed,
        history_file,
        nemesis: nemesis.events(),
        observations: &observations,
        final_reads: final_reads.results(),
        error,
        simulated,
        wall: wall_start.elapsed(),
        peak_rss_bytes,
    };
    let result = judge::judge(&evidence);
    let nemesis_log = nemesis
        .actions()
        .iter()
        .map(|(time, action)| format!("{:>10.3}s {action}", time.as_secs_f64()))
        .collect();
    RunOutput {
        result,
        history_spool: spool,
        node_logs: observations.node_logs(),
        nemesis_log,
        config: config.clone(),
        faults: nemesis.recorded().to_vec(),
        // A registry run's operations are not listed (its clients draw their own).
        replayable: client_op_log.complete() && registry.is_none(),
        client_ops: client_op_log.take(),
    }
}

/// The drift bound the run's lease reads assume, in parts per million (their margin as a
/// share of the minimum election timeout): what the `clock-bound` fault skews clocks up to.
/// 0 without lease reads.
fn drift_bound_ppm(config: &TestConfig) -> i64 {
    if config.reads == rafty::ReadConsistency::Lease {
        i64::from(config.lease_margin_percent) * 10_000
    } else {
        0
    }
}
