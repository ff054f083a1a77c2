//! The chaos runs of a cluster on a user's part: rafty's harness, with the user's factory
//! plugged into every node and every fault that applies to it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rafty::testing::CrashFs;
use rafty_harness::nemesis::kind::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::{
    LogFactoryMaker, PeersProviderMaker, Plugins, StateMachineFactoryMaker,
};
use rafty_harness::run::results::Validity;
use rafty_harness::run::suite::{self, SuiteOptions, SuiteSummary};
use rafty_harness::sim::factories::{SharedLogFactory, SharedStateMachineFactory};
use rafty_harness::sim::shadow_machine::ShadowMachines;
use rafty_harness::sim::user_log::{UserLogs, on_simulated_disk};
use rafty_harness::sim::user_peers::{SharedPeersProviders, UserPeersProviders};
use rafty_workloads::WorkloadKind;

use crate::log::Options;
use crate::session::{self, Session, Verdict};
use crate::{LogFactory, PeersProviderFactory, StateMachineFactory};

/// Run `options.chaos_seeds` seeds (or the given one) of a 3-node key-value cluster on logs
/// from `factory`: on each host's simulated disk, with power loss and power loss inside a
/// write, when the log is on rafty's `FileSystem`; else on its own stores, with every fault
/// but those (a power cut of a store outside the simulation is only a kill).
pub(crate) fn run_log<F>(factory: F, session: &Session, options: &Options, verdict: &mut Verdict)
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    if seeds(session, options).is_empty() {
        return;
    }
    let factory = Arc::new(Mutex::new(factory));
    let on_disk = {
        let mut factory = factory.lock().unwrap_or_else(|p| p.into_inner());
        factory
            .open_on_file_system(CrashFs::new(0), Path::new("/probe"))
            .is_some()
    };
    let log_kind = if on_disk {
        LogKind::File
    } else {
        LogKind::Memory
    };
    let Some(config) = kv_config(log_kind, options, verdict) else {
        return;
    };
    let log: LogFactoryMaker = if on_disk {
        Arc::new(move |_| match on_simulated_disk(factory.clone()) {
            Some(logs) => Arc::new(logs) as SharedLogFactory,
            None => unreachable!("the factory opened a log on a FileSystem before"),
        })
    } else {
        Arc::new(move |_| Arc::new(UserLogs::new(factory.clone())) as SharedLogFactory)
    };
    let plugins = Plugins {
        log,
        ..Plugins::reference()
    };
    run(&config, plugins, session, options, verdict);
}

/// Run `options.chaos_seeds` seeds (or the given one) of a 3-node key-value cluster on
/// rafty's `FileLog` (on each host's simulated disk, so power loss applies), with a machine
/// from `factory` on every node as the shadow of the key-value one (the harness's
/// `shadow_machine`): its answers and states judged across nodes, restarts, snapshot installs
/// and power cuts.
pub(crate) fn run_state_machine<F>(
    factory: F,
    session: &Session,
    options: &Options,
    verdict: &mut Verdict,
) where
    F: StateMachineFactory + Send + 'static,
{
    if seeds(session, options).is_empty() {
        return;
    }
    let Some(config) = kv_config(LogKind::File, options, verdict) else {
        return;
    };
    let factory = Arc::new(Mutex::new(factory));
    let state_machine: StateMachineFactoryMaker = Arc::new(move || {
        Arc::new(ShadowMachines::new(factory.clone())) as SharedStateMachineFactory
    });
    let plugins = Plugins {
        state_machine,
        ..Plugins::file_log()
    };
    run(&config, plugins, session, options, verdict);
}

/// Run `options.chaos_seeds` seeds (or the given one) of a 3-node key-value cluster whose
/// nodes get their peers from providers of `factory`, on one source listing every node (the
/// harness's `user_peers`): every answer checked against the source, which changes three
/// times during the run; each run on a fresh source.
pub(crate) fn run_peers_provider<F>(
    factory: F,
    session: &Session,
    options: &Options,
    verdict: &mut Verdict,
) where
    F: PeersProviderFactory + Send + 'static,
    F::Source: Send,
{
    if seeds(session, options).is_empty() {
        return;
    }
    let Some(config) = kv_config(LogKind::Memory, options, verdict) else {
        return;
    };
    let factory = Arc::new(Mutex::new(factory));
    let peers_provider: PeersProviderMaker = Arc::new(move || {
        Arc::new(UserPeersProviders::new(factory.clone())) as SharedPeersProviders
    });
    let plugins = Plugins {
        peers_provider: Some(peers_provider),
        ..Plugins::reference()
    };
    run(&config, plugins, session, options, verdict);
}

/// The seeds to run: the one given, else 1 to `options.chaos_seeds`.
pub(crate) fn seeds(session: &Session, options: &Options) -> Vec<u64> {
    match session.given_seed {
        Some(seed) => vec![seed],
        None => (1..=options.chaos_seeds).collect(),
    }
}

/// A 3-node key-value run on logs of `log`, under every fault that applies to them.
pub(crate) fn kv_config(
    log: LogKind,
    options: &Options,
    verdict: &mut Verdict,
) -> Option<TestConfig> {
    let Some(kv) = WorkloadKind::named("kv") else {
        verdict.not_run.push("chaos: no kv workload".to_owned());
        return None;
    };
    let mut config = TestConfig::new(kv);
    config.nodes = 3;
    config.workload.time_limit = options.chaos_time_limit;
    config.log = log;
    config.nemesis = FaultKind::all(log);
    Some(config)
}

/// Run `config` with `plugins` at the session's seeds, each stored under `store/` with the
/// command that reruns the user's test; a line per run in `verdict`, and a failure per run
/// that is not valid.
pub(crate) fn run(
    config: &TestConfig,
    plugins: Plugins,
    session: &Session,
    options: &Options,
    verdict: &mut Verdict,
) {
    let test = session.test.clone();
    let plugins = Plugins {
        reproduce: Some(Arc::new(move |seed| session::reproduce(&test, seed))),
        ..plugins
    };
    let seeds = seeds(session, options);
    let suite_options = SuiteOptions {
        seeds,
        store: Some("store".into()),
        progress: false,
        jobs: 1,
    };
    if let Err(error) = rafty_harness::run::store::check_writable(Path::new("store")) {
        verdict
            .chaos_failures
            .push(format!("the store folder cannot be written: {error}"));
        return;
    }
    if cfg!(not(tokio_unstable)) {
        verdict.chaos.push(
            "warning: built without `--cfg tokio_unstable`, so the simulation cannot seed \
             tokio's scheduler (a seed may not replay exactly) and a panic in a node's task \
             does not fail the run; add `[build] rustflags = [\"--cfg\", \"tokio_unstable\"]` \
             to your crate's .cargo/config.toml"
                .to_owned(),
        );
    }
    let faults: Vec<&str> = config.nemesis.iter().map(|kind| kind.name()).collect();
    let summary = suite::run_suite(config, &plugins, &suite_options);
    let what = format!(
        "{} nodes, {} s simulated, faults {}",
        config.nodes,
        config.workload.time_limit.as_secs(),
        faults.join(",")
    );
    report_runs(&summary, &what, verdict);
}

/// A line per run of `summary` (what ran: `what`) in `verdict`, and a failure per run that is
/// not valid, with its report's folder and the command that reruns it.
pub(crate) fn report_runs(summary: &SuiteSummary, what: &str, verdict: &mut Verdict) {
    for run in &summary.runs {
        let dir = run
            .dir
            .as_ref()
            .map_or("not stored".to_owned(), |dir| dir.display().to_string());
        verdict.chaos.push(format!(
            "seed {}: {} ({what}), {} ms, report {dir}",
            run.seed,
            run.valid.describe(),
            run.wall_ms
        ));
        if run.valid != Validity::Valid {
            verdict.chaos_failures.push(format!(
                "seed {}: {} ({}): {}; report {dir}; reproduce: {}",
                run.seed,
                run.valid.describe(),
                run.failure,
                run.reason,
                run.reproduce
            ));
        }
    }
}
