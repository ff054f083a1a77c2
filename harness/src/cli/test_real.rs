//! `rafty test --real`: the chaos test against real OS processes ([`crate::real`]), through the
//! same suite, judge, store and reports as a simulated run.
//!
//! Exit code: 0 when every run is valid, 1 when any is invalid, 2 when any is unknown or the
//! arguments are bad, 130 when SIGINT or SIGTERM stopped it (after its processes were killed
//! and its data directories removed).

use crate::nemesis::FaultKind;
use crate::real::etcd;
use crate::real::faults::REAL_KINDS;
use crate::real::runner::{self, RealOptions, RealRunError, TargetKind};
use crate::run::config::TestConfig;
use crate::run::results::Validity;
use crate::run::store;
use crate::run::suite::{self, SuiteOptions};

use super::test::Args;

/// Why a simulated fault kind has no real-process counterpart.
fn not_real(kind: &str) -> &'static str {
    match kind {
        "power-mid-write" => {
            "it tears a write-back part-way, which needs the simulation's disk (--real's power \
             loses a node's unsynced writes whole)"
        }
        "disk" | "corrupt" => "it needs a disk the harness controls (the simulation's)",
        _ => "it needs the simulation's control of the nodes' internals",
    }
}

/// The fault kinds `--nemesis` names for a real run against `target`, or why one cannot be.
/// `all` is every real kind the target takes (etcd's members cannot have their power cut).
fn kinds(args: &Args, target: TargetKind) -> Result<Vec<FaultKind>, String> {
    let list = &args.nemesis.0;
    let mut names: Vec<&str> = list.named.iter().map(|kind| kind.name()).collect();
    for name in &names {
        if !REAL_KINDS.contains(name) {
            return Err(format!(
                "--nemesis {name} is not available with --real: {}; with --real the kinds are \
                 {} (all means those)",
                not_real(name),
                REAL_KINDS.join(", ")
            ));
        }
        if *name == "power" && target != TargetKind::Rafty {
            return Err(
                "--nemesis power needs --target rafty: a power cut loses the unsynced writes \
                 `rafty node --lazy-fs` keeps in its memory; etcd's stay in the kernel"
                    .to_owned(),
            );
        }
    }
    if list.all {
        names.extend(
            (REAL_KINDS.into_iter()).filter(|kind| *kind != "power" || target == TargetKind::Rafty),
        );
    }
    Ok(names
        .into_iter()
        .filter_map(FaultKind::named)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// The system `--target` names, or why it cannot run `config`.
fn target(args: &Args, config: &TestConfig) -> Result<TargetKind, String> {
    match args.target.as_str() {
        "etcd" => {
            etcd::find_etcd()?;
            let workload = config.workload.kind.name();
            if !matches!(workload, "register" | "kv") {
                return Err(format!(
                    "--target etcd runs the register and kv workloads, not {workload}"
                ));
            }
            Ok(TargetKind::Etcd {
                serializable_reads: args.etcd_serializable_reads,
            })
        }
        _ if args.etcd_serializable_reads => {
            Err("--etcd-serializable-reads needs --target etcd".to_owned())
        }
        _ => Ok(TargetKind::Rafty),
    }
}

/// Run `rafty test --real`; returns the exit code.
pub fn run(args: &Args, mut config: TestConfig) -> u8 {
    let target = match target(args, &config) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("rafty test --real: {error}");
            return 2;
        }
    };
    config.nemesis = match kinds(args, target) {
        Ok(kinds) => kinds,
        Err(error) => {
            eprintln!("rafty test: {error}");
            return 2;
        }
    };
    if args.shrink {
        eprintln!("rafty test: --shrink needs a replayable run; a --real run is not deterministic");
        return 2;
    }
    let seeds = match args.seeds() {
        Ok(seeds) if !seeds.is_empty() => seeds,
        Ok(_) => return 0,
        Err(error) => {
            eprintln!("rafty test: {error}");
            return 2;
        }
    };
    if !args.no_store {
        if let Err(error) = store::check_writable(&args.store) {
            eprintln!("rafty test: --store {error}");
            return 2;
        }
    }
    let data_root = args
        .real_data_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    eprintln!(
        "rafty test --real: {} on {} {} processes, nemesis {}, {:?} per run, {} seed(s) \
         from {} (not deterministic: the seed draws the faults and operations, the machine \
         decides when they land)",
        config.workload.kind,
        config.nodes,
        match target {
            TargetKind::Rafty => "rafty node",
            TargetKind::Etcd { .. } => "etcd",
        },
        runner::real_kinds(&config).join(","),
        config.workload.time_limit,
        seeds.len(),
        seeds[0]
    );
    let options = SuiteOptions {
        seeds,
        store: (!args.no_store).then(|| args.store.clone()),
        progress: false,
        jobs: args.jobs as usize,
    };
    let name = runner::real_name(&config, target);
    let reproduce = |seed| runner::real_reproduce(&config, seed, target);
    let summary = suite::run_suite_with(
        &config,
        &name,
        &options,
        reproduce,
        |seed, run_options| {
            let real = RealOptions {
                data_root: data_root.clone(),
                spool_dir: run_options.spool_dir,
                target,
            };
            // A panic of the harness unwinds through the run, whose processes and data go with
            // it (see crate::real::process); the run is then reported unknown, like a simulated
            // run's.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runner::run_real(&config, seed, &real)
            }))
            .map_err(|payload| {
                let message = rafty::node::panic_message(payload.as_ref());
                RealRunError::Failed(format!("the harness panicked: {message}"))
            })
            .and_then(|outcome| outcome);
            match ran {
                Ok(output) => Ok(output),
                Err(RealRunError::Failed(error)) => Err(error),
                Err(RealRunError::Interrupted(signal)) => {
                    eprintln!(
                        "rafty test --real: {signal}: stopped; the run's node processes were killed \
                     and its data directory removed"
                    );
                    std::process::exit(130);
                }
            }
        },
    );
    for run in &summary.runs {
        let stored = run
            .dir
            .as_ref()
            .map_or(String::new(), |dir| format!(" -> {}", dir.display()));
        let reason = if run.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", run.reason)
        };
        println!(
            "seed {}: {}{reason} ({:.1}s){stored}",
            run.seed,
            run.valid.describe(),
            run.wall_ms as f64 / 1000.0
        );
    }
    println!(
        "{} real runs: {} valid, {} invalid, {} unknown (not deterministic)",
        summary.runs.len(),
        summary.count(Validity::Valid),
        summary.count(Validity::Invalid),
        summary.count(Validity::Unknown),
    );
    if !args.no_store {
        println!("reports: {}", args.store.join("index.html").display());
    }
    let unstored = summary.unstored().count();
    let verdict = summary.validity().exit_code() as u8;
    if unstored > 0 && verdict == 0 {
        eprintln!("rafty test: {unstored} runs could not be stored");
        return 2;
    }
    verdict
}
