//! The chaos run of a cluster on a user's log: rafty's harness, with the user's factory
//! plugged into every node and every fault that applies to it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rafty::testing::CrashFs;
use rafty_harness::nemesis::kind::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::{LogFactoryMaker, Plugins};
use rafty_harness::run::results::Validity;
use rafty_harness::run::suite::{self, SuiteOptions};
use rafty_harness::sim::factories::SharedLogFactory;
use rafty_harness::sim::user_log::{UserLogs, on_simulated_disk};
use rafty_workloads::WorkloadKind;

use crate::LogFactory;
use crate::log::Options;
use crate::session::{self, Session, Verdict};

/// Run `options.chaos_seeds` seeds (or the given one) of a 3-node key-value cluster on logs
/// from `factory`: on each host's simulated disk, with power loss and power loss inside a
/// write, when the log is on rafty's `FileSystem`; else on its own stores, with every fault
/// but those (a power cut of a store outside the simulation is only a kill).
pub(crate) fn run_log<F>(factory: F, session: &Session, options: &Options, verdict: &mut Verdict)
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    let seeds: Vec<u64> = match session.given_seed {
        Some(seed) => vec![seed],
        None => (1..=options.chaos_seeds).collect(),
    };
    if seeds.is_empty() {
        return;
    }
    let factory = Arc::new(Mutex::new(factory));
    let on_disk = {
        let mut factory = factory.lock().unwrap_or_else(|p| p.into_inner());
        factory
            .open_on_file_system(CrashFs::new(0), Path::new("/probe"))
            .is_some()
    };
    let Some(kv) = WorkloadKind::named("kv") else {
        verdict.not_run.push("chaos: no kv workload".to_owned());
        return;
    };
    let mut config = TestConfig::new(kv);
    config.nodes = 3;
    config.workload.time_limit = options.chaos_time_limit;
    config.log = if on_disk {
        LogKind::File
    } else {
        LogKind::Memory
    };
    config.nemesis = FaultKind::all(config.log);
    let log: LogFactoryMaker = if on_disk {
        Arc::new(move |_| match on_simulated_disk(factory.clone()) {
            Some(logs) => Arc::new(logs) as SharedLogFactory,
            None => unreachable!("the factory opened a log on a FileSystem before"),
        })
    } else {
        Arc::new(move |_| Arc::new(UserLogs::new(factory.clone())) as SharedLogFactory)
    };
    let test = session.test.clone();
    let plugins = Plugins {
        log,
        reproduce: Some(Arc::new(move |seed| session::reproduce(&test, seed))),
        ..Plugins::reference()
    };
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
    let summary = suite::run_suite(&config, &plugins, &suite_options);
    for run in &summary.runs {
        let dir = run
            .dir
            .as_ref()
            .map_or("not stored".to_owned(), |dir| dir.display().to_string());
        verdict.chaos.push(format!(
            "seed {}: {} ({} nodes, {} s simulated, faults {}), {} ms, report {dir}",
            run.seed,
            run.valid.describe(),
            config.nodes,
            config.workload.time_limit.as_secs(),
            faults.join(","),
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
