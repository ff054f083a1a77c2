//! One real-process run: start the cluster (rafty's nodes or etcd, a [`RealTarget`]), wait for
//! a leader, run the same clients (the same [`Client`] code, over TCP) while the nemesis acts,
//! then stop the members and judge the history with the same judge as a simulated run. The run's clock is the wall clock from the moment
//! the clients start ([`clock::start_real_run`]).
//!
//! Interrupted (SIGINT or SIGTERM) or panicking, the run's future is dropped with everything
//! it owns: the cluster kills its processes and removes its data directory
//! ([`super::process`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rafty_workloads::Generator;

use super::cluster::RealCluster;
use super::etcd::EtcdCluster;
use super::faults::REAL_KINDS;
use super::nemesis::{NemesisOutcome, RealNemesis};
use super::record::{RealRun, unix_ms};
use super::target::{self, RealTarget};
use crate::run::config::{LogKind, TestConfig};
use crate::run::judge::{self, Evidence};
use crate::run::runner::RunOutput;
use crate::run::seeds::Seeds;
use crate::sim::client::{Acknowledged, Client, ClientTimes, FinalReads, OpLog, Operations};
use crate::sim::clock;
use crate::sim::observe::Observations;
use crate::sim::recorder::Recorder;

/// Which system a real-process run tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetKind {
    /// rafty's own nodes (`rafty node` processes).
    #[default]
    Rafty,
    /// An etcd cluster (`etcd` from the PATH).
    Etcd {
        /// Serializable reads, served from the member's local state: the deliberately wrong
        /// client setting, which the linearizability checker must catch.
        serializable_reads: bool,
    },
}

impl TargetKind {
    /// `rafty` or `etcd`.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Rafty => "rafty",
            TargetKind::Etcd { .. } => "etcd",
        }
    }
}

/// Where a real-process run keeps its data and history.
#[derive(Clone, Debug)]
pub struct RealOptions {
    /// The nodes' data go in a new directory under this one (removed at the end).
    pub data_root: PathBuf,
    /// The history's spool folder (the store's root); `None`: the system's temporary folder.
    pub spool_dir: Option<PathBuf>,
    /// The system under test.
    pub target: TargetKind,
}

/// Why a real-process run has no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealRunError {
    /// SIGINT or SIGTERM arrived (named): the run was abandoned and cleaned up.
    Interrupted(&'static str),
    /// The cluster could not be set up.
    Failed(String),
}

/// The Raft settings of a real-process run: `drawn` (batch size, in-flight window and
/// snapshot policy as the seed drew them) with election timing for real processes sharing a
/// loaded machine (a simulated millisecond is exact; a real one is not).
pub fn real_settings(drawn: &rafty::Config) -> rafty::Config {
    rafty::Config {
        election_timeout_min: Duration::from_millis(300),
        election_timeout_max: Duration::from_millis(600),
        heartbeat_interval: Duration::from_millis(75),
        rpc_timeout: Duration::from_millis(300),
        lease_read_margin: drawn.lease_read_margin.map(|_| Duration::from_millis(60)),
        ..drawn.clone()
    }
}

/// The kinds of `config` a real run applies: those of [`REAL_KINDS`] it names.
pub fn real_kinds(config: &TestConfig) -> Vec<&'static str> {
    REAL_KINDS
        .into_iter()
        .filter(|name| config.nemesis.iter().any(|kind| kind.name() == *name))
        .collect()
}

/// The test's name: `real-` and the simulated name's parts (`real-kv-3n-kill+pause-file`);
/// for another target than rafty, its name in place of the log's (`real-kv-3n-kill-etcd`).
pub fn real_name(config: &TestConfig, target: TargetKind) -> String {
    let kinds = real_kinds(config);
    let label = if kinds.len() == REAL_KINDS.len() {
        "all".to_owned()
    } else if kinds.is_empty() {
        "none".to_owned()
    } else {
        kinds.join("+")
    };
    let system = match target {
        TargetKind::Rafty => "file",
        TargetKind::Etcd {
            serializable_reads: false,
        } => "etcd",
        TargetKind::Etcd {
            serializable_reads: true,
        } => "etcd-serializable",
    };
    format!(
        "real-{}-{}n-{label}-{system}",
        config.workload.kind.name(),
        config.nodes
    )
}

/// Run `config` with `seed` on real processes and judge it; blocks on a runtime of its own.
/// SIGINT or SIGTERM abandon the run (everything it started is cleaned up).
pub fn run_real(
    config: &TestConfig,
    seed: u64,
    options: &RealOptions,
) -> Result<RunOutput, RealRunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| RealRunError::Failed(format!("cannot build a runtime: {error}")))?;
    let local = tokio::task::LocalSet::new();
    let outcome = runtime.block_on(local.run_until(async {
        tokio::select! {
            output = run_async(config, seed, options) => output.map_err(RealRunError::Failed),
            signal = interrupted() => Err(RealRunError::Interrupted(signal)),
        }
    }));
    clock::end_real_run();
    drop(local);
    outcome
}

/// Resolves at SIGINT or SIGTERM, naming it (never, if the handlers cannot be installed).
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}

/// Start the cluster `options` names: `ids`, its data under `options.data_root`.
async fn start_target(
    config: &TestConfig,
    options: &RealOptions,
) -> Result<Box<dyn RealTarget>, String> {
    let ids = config.node_ids();
    Ok(match options.target {
        TargetKind::Rafty => {
            let modes = super::cluster::NodeModes {
                lazy_fs: real_kinds(config).contains(&"power"),
                tls: false,
            };
            Box::new(RealCluster::start(&ids, &options.data_root, &config.raft, modes).await?)
        }
        TargetKind::Etcd { serializable_reads } => {
            Box::new(EtcdCluster::start(&ids, &options.data_root, serializable_reads).await?)
        }
    })
}

async fn run_async(
    config: &TestConfig,
    seed: u64,
    options: &RealOptions,
) -> Result<RunOutput, String> {
    let wall_start = Instant::now();
    let mut config = config.for_seed(seed);
    config.raft = real_settings(&config.raft);
    config.log = LogKind::File;
    config.nemesis_overlap = 1;
    if let TargetKind::Etcd { .. } = options.target {
        config.recovery = config.recovery.max(super::etcd::RECOVERY);
    }
    let mut cluster = start_target(&config, options).await?;
    target::wait_until_ready(cluster.as_ref()).await?;

    let spool = match &options.spool_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix(".history-")
            .suffix(".jsonl")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(dir),
        None => tempfile::NamedTempFile::new(),
    }
    .map_err(|error| format!("cannot create the history spool: {error}"))?;
    let recorder = Recorder::new(
        spool
            .reopen()
            .map_err(|error| format!("cannot open the history spool: {error}"))?,
    );
    let seeds = Seeds::new(seed);
    let time_limit = config.workload.time_limit;
    let times = ClientTimes {
        time_limit,
        final_reads_from: time_limit + config.recovery,
        final_reads_until: time_limit + config.quiet_period,
        op_timeout: config.op_timeout,
    };
    let keys = rafty_workloads::generator::keys(&config.workload);
    let final_reads = FinalReads::new(&keys);
    let op_log = OpLog::default();
    let concurrency = config.workload.concurrency as u64;

    clock::start_real_run();
    let started_unix_ms = unix_ms();
    let mut tasks = Vec::new();
    for index in 0..concurrency {
        let generator =
            Generator::for_client(config.workload.clone(), seeds.derive("workload", 0), index);
        let api = cluster.client(config.reads, time_limit, config.sessions);
        let client = Client {
            index,
            concurrency,
            operations: Box::new(generator.clone()) as Box<dyn Operations>,
            generator,
            op_log: op_log.clone(),
            api,
            recorder: recorder.clone(),
            times,
            final_reads: final_reads.clone(),
            acknowledged: Acknowledged::unchecked(),
        };
        tasks.push(tokio::task::spawn_local(client.run()));
    }
    let kinds = real_kinds(&config);
    let nemesis = RealNemesis {
        kinds: kinds.clone(),
        interval: config.nemesis_interval,
        start_after: Duration::from_secs(1),
        time_limit,
        rng: seeds.rng("nemesis", 0),
    };
    let hard_deadline = times.final_reads_until + config.op_timeout + Duration::from_secs(5);
    let (outcome, mut error) = clients_under_nemesis(
        tasks,
        hard_deadline,
        nemesis.run(cluster.as_mut(), &recorder),
    )
    .await;
    let elapsed = clock::now();
    let not_checked = cluster.not_checked();
    let node_logs = cluster.stop().await;
    drop(cluster); // its data directory goes; the logs are kept
    if let Err(failure) = recorder.finish() {
        error.get_or_insert_with(|| format!("the history could not be spooled: {failure}"));
    }
    let observations = Observations::new();
    let evidence = Evidence {
        config: &config,
        seed,
        history_file: Some(spool.path()),
        nemesis: &outcome.events,
        observations: &observations,
        final_reads: final_reads.results(),
        error,
        simulated: elapsed,
        wall: wall_start.elapsed(),
        peak_rss_bytes: crate::bench::machine::peak_rss_bytes(),
    };
    let mut result = judge::judge(&evidence);
    result.test = real_name(&config, options.target);
    result.reproduce = real_reproduce(&config, seed, options.target);
    result.real = Some(RealRun {
        deterministic: false,
        note: "A real-process run is not deterministic: the OS schedules the processes, the \
               network and the disk. The seed draws the faults and operations; when they land \
               is the machine's. The faults below are those applied, with wall-clock times."
            .to_owned(),
        target: options.target.name().to_owned(),
        fault_kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
        faults: outcome.applied,
        not_checked,
        started_unix_ms,
    });
    Ok(RunOutput {
        result,
        history_spool: Some(spool),
        node_logs,
        nemesis_log: outcome.log,
        config,
        faults: Vec::new(),
        client_ops: op_log.take(),
        replayable: false,
    })
}

/// A real run's reproduction line: the command that draws the same seed's faults and
/// operations again, which land at other moments.
pub fn real_reproduce(config: &TestConfig, seed: u64, target: TargetKind) -> String {
    let flags = match target {
        TargetKind::Rafty => "",
        TargetKind::Etcd {
            serializable_reads: false,
        } => " --target etcd",
        TargetKind::Etcd {
            serializable_reads: true,
        } => " --target etcd --etcd-serializable-reads",
    };
    format!(
        "not deterministic (real processes): `{} --real{flags}` runs the same seed's faults and \
         operations again, at other moments",
        judge::reproduce_command(config, seed)
    )
}

/// Run the nemesis while waiting for the client tasks until `hard_deadline`, and name the first
/// failure: a client task that failed, clients still running at the deadline, or the
/// nemesis's own failure (shared by the real-process and the in-process runs).
pub(crate) async fn clients_under_nemesis(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    hard_deadline: Duration,
    nemesis: impl std::future::Future<Output = NemesisOutcome>,
) -> (NemesisOutcome, Option<String>) {
    let clients = async {
        for task in tasks {
            if let Err(error) = task.await {
                return Err(format!("a client task failed: {error}"));
            }
        }
        Ok(())
    };
    let (outcome, clients) = tokio::join!(nemesis, tokio::time::timeout(hard_deadline, clients));
    let mut error = match clients {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(_) => Some(format!(
            "clients still running at the hard deadline ({hard_deadline:?})"
        )),
    };
    if let Some(failure) = &outcome.error {
        error.get_or_insert_with(|| format!("the nemesis failed: {failure}"));
    }
    (outcome, error)
}
