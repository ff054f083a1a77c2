//! One in-process run: start the cluster on the user's transport, wait for a leader, run the
//! workload clients while the nemesis acts, heal, stop, and judge the history with the same
//! judge as a simulated run (linearizability, the protocol checks from both ends of the wire,
//! durability, liveness), with the wire checks of [`super::wire`] among the invariants.
//!
//! Not deterministic: the machine schedules the tasks and the user's transport. The seed draws
//! the faults, the operations and the settings; when they land is the machine's.

use std::path::Path;
use std::time::{Duration, Instant};

use rafty::ReadConsistency;
use rafty::testing::peer_cluster::{PeerCluster, loopback_addresses};
use rafty_workloads::{ClientOp, Generator, OpResult};

use crate::real::faults::IN_PROCESS_KINDS;
use crate::real::record::{RealRun, unix_ms};
use crate::real::runner::{clients_under_nemesis, real_settings};
use crate::run::config::{LogKind, TestConfig};
use crate::run::judge::{self, Evidence};
use crate::run::runner::RunOutput;
use crate::run::seeds::Seeds;
use crate::sim::client::{Acknowledged, Client, ClientTimes, FinalReads, KvApi, OpLog, Operations};
use crate::sim::clock;
use crate::sim::observe::Observations;
use crate::sim::recorder::Recorder;

use super::api::NodesApi;
use super::cluster::InProcessCluster;
use super::nemesis::InProcessNemesis;

/// How long the cluster may take to elect a leader and commit a first write.
const READY_WAIT: Duration = Duration::from_secs(20);

/// What `results.json`'s `real.note` says of an in-process run.
pub const NOT_DETERMINISTIC: &str = "An in-process real-time run is not deterministic: the \
    machine schedules the nodes' tasks and your transport. The seed draws the faults, the \
    operations and the settings; when they land is the machine's, so a rerun of the seed \
    applies the same faults at other moments. Network faults are applied by the harness around \
    your Peer (calls refused, answers dropped, messages held or delayed), not on your \
    transport's wire: your connections stay up through a partition.";

/// The test's name: `peer-<workload>-<nodes>n-<kinds>` (`peer-kv-3n-all`).
pub fn in_process_name(config: &TestConfig, kinds: &[&str]) -> String {
    let label = if kinds.len() == IN_PROCESS_KINDS.len() {
        "all".to_owned()
    } else if kinds.is_empty() {
        "none".to_owned()
    } else {
        kinds.join("+")
    };
    format!(
        "peer-{}-{}n-{label}",
        config.workload.kind.name(),
        config.nodes
    )
}

/// Run `config` with `seed` on `transport`, applying faults of `kinds` (of
/// [`IN_PROCESS_KINDS`]);
/// spool the history under `spool_dir` (else the system's temporary folder). Blocks on a
/// runtime of its own (current thread); must not be called inside one.
pub fn run_in_process(
    transport: &mut dyn PeerCluster,
    config: &TestConfig,
    kinds: &[&'static str],
    seed: u64,
    spool_dir: Option<&Path>,
) -> Result<RunOutput, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build a runtime: {error}"))?;
    let local = tokio::task::LocalSet::new();
    let outcome =
        runtime.block_on(local.run_until(run_async(transport, config, kinds, seed, spool_dir)));
    clock::end_real_run();
    drop(local);
    outcome
}

async fn run_async(
    transport: &mut dyn PeerCluster,
    config: &TestConfig,
    kinds: &[&'static str],
    seed: u64,
    spool_dir: Option<&Path>,
) -> Result<RunOutput, String> {
    let wall_start = Instant::now();
    let mut config = config.for_seed(seed);
    config.raft = real_settings(&config.raft);
    config.log = LogKind::Memory;
    config.nemesis_overlap = 1;
    let ids = config.node_ids();
    let addresses = loopback_addresses(ids.len())
        .map_err(|error| format!("no free ports on 127.0.0.1: {error}"))?;
    let seeds = Seeds::new(seed);
    let observations = Observations::new();
    observations.set_ack_window(2 * config.op_timeout + Duration::from_secs(1));
    // Until the workload starts, the run's clock reads zero (the start-up is at time 0).
    let mut cluster = InProcessCluster::start(
        &ids,
        addresses,
        transport,
        config.raft.clone(),
        seeds,
        observations.clone(),
    )
    .await?;
    if let Err(error) = wait_until_ready(&cluster).await {
        cluster.stop().await;
        return Err(error);
    }

    let spool = match spool_dir {
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
    // The run's clock starts with the workload (the history's times count from here).
    clock::start_real_run();
    let started_unix_ms = unix_ms();
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
    let mut tasks = Vec::new();
    for index in 0..concurrency {
        let generator =
            Generator::for_client(config.workload.clone(), seeds.derive("workload", 0), index);
        let api = NodesApi::new(
            cluster.running.clone(),
            ids.clone(),
            index,
            config.reads,
            time_limit,
        );
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
            acknowledged: Acknowledged::new(observations.clone()),
        };
        tasks.push(tokio::task::spawn_local(client.run()));
    }
    let nemesis = InProcessNemesis {
        kinds: kinds.to_vec(),
        interval: config.nemesis_interval,
        start_after: Duration::from_secs(1),
        time_limit,
        rng: seeds.rng("nemesis", 0),
    };
    let hard_deadline = times.final_reads_until + config.op_timeout + Duration::from_secs(5);
    let (outcome, mut error) =
        clients_under_nemesis(tasks, hard_deadline, nemesis.run(&mut cluster, &recorder)).await;
    let elapsed = clock::now();
    let node_logs = cluster.stop().await;
    if let Err(failure) = recorder.finish() {
        error.get_or_insert_with(|| format!("the history could not be spooled: {failure}"));
    }
    config.nemesis = kinds
        .iter()
        .filter_map(|name| crate::nemesis::kind::FaultKind::named(name))
        .collect();
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
    result.test = in_process_name(&config, kinds);
    result.real = Some(RealRun {
        deterministic: false,
        note: NOT_DETERMINISTIC.to_owned(),
        target: "in-process".to_owned(),
        fault_kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
        faults: outcome.applied,
        not_checked: vec![
            "power loss: the nodes run on MemoryLog, whose writes are durable on return; \
             the Peer part has no disk"
                .to_owned(),
        ],
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

/// Write through the library API until a leader commits it.
async fn wait_until_ready(cluster: &InProcessCluster<'_>) -> Result<(), String> {
    let mut api = NodesApi::new(
        cluster.running.clone(),
        cluster.ids().to_vec(),
        0,
        ReadConsistency::Linearizable,
        Duration::MAX,
    );
    let ready = ClientOp::Write {
        key: "rafty-in-process-ready".to_owned(),
        value: 1,
    };
    let deadline = Instant::now() + READY_WAIT;
    loop {
        match api.execute(&ready).await.0 {
            OpResult::Ok(_) => return Ok(()),
            OpResult::Fail(error) | OpResult::Info(error) if Instant::now() >= deadline => {
                return Err(format!(
                    "the cluster on your transport committed no write within {READY_WAIT:?}: \
                     {error} (are calls reaching the other nodes' servers?)"
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
