//! Running one catalogue entry: the default chaos test of `rafty test` (its nemesis and
//! workload, not ones chosen to fit the bug) with the bug planted and the core's own
//! assertions off, seed after seed until a run is invalid or the budget is spent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rafty::ReadConsistency;
use rafty::core::Mutation;
use rafty_workloads::{OperationMix, WorkloadConfig, WorkloadKind};

use crate::nemesis::FaultKind;
use crate::run::config::{ClientRouting, LAN_LATENCY, LogKind, TestConfig, Variant};
use crate::run::plugins::{Plugins, StateMachineFactoryMaker};
use crate::run::pool::run_seeds;
use crate::run::results::{RunResult, Validity};
use crate::run::runner::{self, RunOptions};
use crate::sim::broken::ReplayedStateMachineFactory;
use crate::sim::broken_txn::BrokenTxns;
use crate::sim::factories::SharedStateMachineFactory;

use super::entry::{Entry, Plant};

/// How far to search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// The first seed.
    pub first_seed: u64,
    /// At most this many seeds.
    pub seeds: u64,
    /// Runs at once, each on its own thread.
    pub jobs: usize,
    /// No new run starts after this much wall time.
    pub budget: Duration,
    /// Count a run as a catch only when a check from outside fired: not when the only
    /// findings are the node's own assertion (`node-panic`) or `liveness`, the weak catches.
    pub from_outside: bool,
}

/// Whether `checks` (as [`fired`] names them) hold a catch from outside: a safety check other
/// than the node's own assertion. `liveness` alone and `node-panic` are weak.
pub fn from_outside(checks: &[String]) -> bool {
    checks
        .iter()
        .any(|check| check != "liveness" && !check.starts_with("invariant node-panic"))
}

/// The run that caught a bug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caught {
    /// The first seed whose run is invalid.
    pub seed: u64,
    /// How many seeds up to and including it (the first seed counts as 1).
    pub seeds_to_catch: u64,
    /// Wall time from the start of the search until that run finished.
    pub wall: Duration,
    /// The checks that fired, e.g. `invariant election-safety`, `linearizability`.
    pub checks: Vec<String>,
    /// The first violation, in one line.
    pub detail: String,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The entry's name (or `reference (<log>)`).
    pub name: String,
    /// The first invalid run, if any.
    pub caught: Option<Caught>,
    /// Runs finished.
    pub runs: u64,
    /// Runs whose verdict was unknown (a failed simulation, an undecided check).
    pub unknown: u64,
    /// The first unknown run's seed and reason.
    pub first_unknown: Option<(u64, String)>,
    /// Wall time of the whole search.
    pub wall: Duration,
    /// Whether the budget stopped it before the seeds ran out (without catching).
    pub out_of_budget: bool,
}

/// The default test of `rafty test` on `log`: the kv workload, every fault kind `all` holds
/// for that log.
pub fn default_config(log: LogKind) -> TestConfig {
    let mut config = TestConfig::new(WorkloadKind::named("kv").expect("kv is registered"));
    config.log = log;
    config.nemesis = FaultKind::all(log);
    config
}

/// The test and the parts for `entry`: the default test, the bug planted, core assertions off.
/// An error when the plant needs rafty's `mutations` feature and it is not compiled in.
pub fn setup(entry: &Entry) -> Result<(TestConfig, Plugins), String> {
    let mut config = default_config(entry.log);
    for name in entry.extra_faults {
        let kind = FaultKind::named(name).ok_or_else(|| format!("no fault kind {name}"))?;
        config.nemesis.push(kind);
    }
    config.nemesis_overlap = entry.overlap;
    if let Plant::Core(mutation) = entry.plant {
        reads_for(mutation, &mut config);
    }
    // A transactional bug shows only under transactions (issue 23).
    if let Plant::BrokenTxns(_) = entry.plant {
        let kind = WorkloadKind::named("list-append").expect("list-append is registered");
        config.workload = WorkloadConfig::new(kind);
    }
    // A registry bug shows only on the registry (issue 25).
    if let Plant::Registry(_) = entry.plant {
        let kind = WorkloadKind::named("registry").expect("registry is registered");
        config.workload = WorkloadConfig::new(kind);
    }
    let plugins = planted(entry, &mut config)?;
    config.validate()?;
    Ok((config, plugins.without_core_assertions()))
}

/// The parts of `config` with `entry`'s bug planted (a variant's plant sets `config.variant`).
/// An error when the plant needs rafty's `mutations` feature and it is not compiled in.
pub fn planted(entry: &Entry, config: &mut TestConfig) -> Result<Plugins, String> {
    Ok(match entry.plant {
        Plant::Core(mutation) => Plugins::for_config(config)?.with_mutation(mutation)?,
        Plant::Variant(variant) => {
            config.variant = variant;
            Plugins::for_config(config)?
        }
        Plant::BrokenTxns(bug) => Plugins {
            state_machine: broken_txns(bug)?,
            ..Plugins::for_config(config)?
        },
        Plant::Registry(bug) => Plugins {
            registry_bug: Some(registry_bug(bug)?),
            ..Plugins::for_config(config)?
        },
        Plant::ReplayedStateMachine => {
            let state_machine: StateMachineFactoryMaker = Arc::new(|| {
                Arc::new(ReplayedStateMachineFactory::new()) as SharedStateMachineFactory
            });
            Plugins {
                state_machine,
                ..Plugins::for_config(config)?
            }
        }
    })
}

/// State machines planting `bug`.
#[cfg(feature = "mutations")]
fn broken_txns(bug: BrokenTxns) -> Result<StateMachineFactoryMaker, String> {
    Ok(Arc::new(move || {
        Arc::new(bug.factory()) as SharedStateMachineFactory
    }))
}

/// Broken state machines are compiled only with the `mutations` feature.
#[cfg(not(feature = "mutations"))]
fn broken_txns(bug: BrokenTxns) -> Result<StateMachineFactoryMaker, String> {
    Err(format!(
        "the planted bug {bug:?} needs rafty's mutations: rebuild with `--features mutations`"
    ))
}

/// `bug`, when it can be planted: registry bugs are compiled only with `mutations`.
fn registry_bug(bug: rafty_registry::RegistryBug) -> Result<rafty_registry::RegistryBug, String> {
    if cfg!(feature = "mutations") {
        Ok(bug)
    } else {
        Err(format!(
            "the planted bug {bug:?} needs the registry's mutations: rebuild with `--features \
             mutations`"
        ))
    }
}

/// The lease entry's keys, clients and operations a second (the default test: 8, 10, 100).
const LEASE_KEYS: usize = 2;
/// See [`LEASE_KEYS`].
const LEASE_CLIENTS: usize = 20;
/// See [`LEASE_KEYS`].
const LEASE_RATE_PER_SECOND: u32 = 500;
/// The lease entry's mix, reads to writes (the default test: 2 reads, 1 write, 1 cas). A
/// pinned client's write or cas hangs until its request timeout (100 ms) when its node's
/// leader was cut off, and a client is free to read at the deposed leader, or write at its
/// successor, in the few ms of the window only if it issued no write in the 100 ms before:
/// the chance of a write in the window times a read after it, `w (1 - w)^6` at 25 operations
/// a second per client, is highest near one write in seven.
const LEASE_MIX: OperationMix = OperationMix {
    read: 6,
    write: 1,
    cas: 0,
};

/// The reads (and faults) a read-path mutation needs to exist at all: ReadIndex reads, or
/// lease reads (issue 21); and what it takes to see one go stale from outside: Jepsen's
/// clients pinned to nodes (some keep reading at a deposed leader while others write at its
/// successor) and a leader change aimed at the bug's window: `depose` alone (a deposed
/// leader's last moments) for a read without its heartbeat round, `hold-first-append` (a
/// successor confirmed before its first entry commits) for a read before that commit,
/// `clock-bound` alone (the leader's clock slow within the lease's bound, cut off right after
/// its heartbeat round) on a LAN with contention and few writes for a lease without its
/// margin; for a follower read, follower reads on and `depose`. Every other entry runs the
/// default test. Public for the mutation oracle (`tests/mutants_oracle.rs`), whose read legs
/// run these setups unplanted.
pub fn reads_for(mutation: Mutation, config: &mut TestConfig) {
    let (reads, aimed) = match mutation {
        Mutation::ReadWithoutHeartbeat => {
            // `depose` alone: drawn at every fault instead of one in thirteen, it caught the
            // bug at seed 35 where `all` plus `depose` took 185 seeds (CATALOGUE.md).
            config.nemesis.clear();
            (ReadConsistency::Linearizable, "depose")
        }
        Mutation::ReadBeforeTermCommitted => (ReadConsistency::Linearizable, "hold-first-append"),
        // Follower reads: pinned clients ask followers, which serve through the leader.
        Mutation::FollowerReadBeforeApply => {
            config.raft.follower_reads = true;
            (ReadConsistency::Linearizable, "depose")
        }
        Mutation::LeaseWithoutDriftMargin => {
            // `clock-bound` alone, at every fault: its window is a few ms per leader change.
            config.nemesis.clear();
            // A successor elected and writing within a few ms of the lease's end.
            (config.latency_min, config.latency_max) = LAN_LATENCY;
            // That window is a few ms wide at most (a quarter of the election timeout less
            // an election and a write): Jepsen's contention (few keys, many clients, a high
            // rate) puts a read of a key just written into it.
            config.workload.key_count = LEASE_KEYS;
            config.workload.concurrency = LEASE_CLIENTS;
            config.workload.rate_per_second = LEASE_RATE_PER_SECOND;
            config.workload.mix = LEASE_MIX;
            (ReadConsistency::Lease, "clock-bound")
        }
        // Client sessions (issue 21): the clients must write through sessions.
        Mutation::SessionTableNotInSnapshot => {
            config.sessions = true;
            return;
        }
        _ => return,
    };
    config.reads = reads;
    config.clients = ClientRouting::Pinned;
    config.nemesis.extend(FaultKind::named(aimed));
}

/// The unplanted reference on `log`, core assertions off: what every entry is measured against.
pub fn reference_setup(log: LogKind) -> Result<(TestConfig, Plugins), String> {
    let mut config = default_config(log);
    config.variant = Variant::Reference;
    let plugins = Plugins::for_config(&config)?;
    Ok((config, plugins.without_core_assertions()))
}

/// One finished run.
struct Finished {
    seed: u64,
    valid: Validity,
    checks: Vec<String>,
    detail: String,
    at: Duration,
}

/// Run `config` with `plugins` seed after seed (`jobs` at once, in seed order) until one is
/// invalid (with `from_outside`, invalid by a check from outside), the seeds run out or the
/// budget is spent. The first invalid seed is the lowest
/// among those run: every lower seed was started before it and is waited for.
pub fn search(
    name: &str,
    config: &TestConfig,
    plugins: &Plugins,
    options: &SearchOptions,
) -> Outcome {
    let start = Instant::now(); // outside the simulation: the search's wall time
    let caught_one = AtomicBool::new(false);
    let seeds: Vec<u64> = (0..options.seeds)
        .map_while(|offset| options.first_seed.checked_add(offset))
        .collect();
    let stop = || caught_one.load(Ordering::SeqCst) || start.elapsed() >= options.budget;
    let finished: Vec<Finished> = run_seeds(&seeds, options.jobs, stop, |seed| {
        let (mut valid, checks, detail) = run_one(config, plugins, seed);
        if options.from_outside && valid == Validity::Invalid && !from_outside(&checks) {
            // A weak catch: not the one this search looks for.
            valid = Validity::Valid;
        }
        if valid == Validity::Invalid {
            caught_one.store(true, Ordering::SeqCst);
        }
        Finished {
            seed,
            valid,
            checks,
            detail,
            at: start.elapsed(),
        }
    })
    .into_iter()
    .map(|(_, run)| run)
    .collect();
    let caught = finished
        .iter()
        .find(|run| run.valid == Validity::Invalid)
        .map(|run| Caught {
            seed: run.seed,
            seeds_to_catch: run.seed - options.first_seed + 1,
            wall: run.at,
            checks: run.checks.clone(),
            detail: run.detail.clone(),
        });
    let unknown: Vec<&Finished> = finished
        .iter()
        .filter(|run| run.valid == Validity::Unknown)
        .collect();
    let runs = finished.len() as u64;
    Outcome {
        name: name.to_owned(),
        out_of_budget: caught.is_none() && runs < options.seeds,
        caught,
        runs,
        unknown: unknown.len() as u64,
        first_unknown: unknown.first().map(|run| (run.seed, run.detail.clone())),
        wall: start.elapsed(),
    }
}

/// One run's verdict, the checks that fired and the first violation. A panic of the harness
/// itself is an unknown verdict, as in `rafty test`.
fn run_one(config: &TestConfig, plugins: &Plugins, seed: u64) -> (Validity, Vec<String>, String) {
    match runner::run_caught(config, seed, plugins, RunOptions::default()) {
        Ok(output) => {
            let (checks, detail) = fired(&output.result);
            (output.result.valid, checks, detail)
        }
        Err(reason) => (Validity::Unknown, Vec::new(), reason),
    }
}

/// The longest detail kept, in characters.
const DETAIL_CHARS: usize = 160;

/// Which checks failed in `result`, and the first thing each found, in one line.
pub fn fired(result: &RunResult) -> (Vec<String>, String) {
    let checks_of = &result.checks;
    let mut checks = Vec::new();
    let mut details = Vec::new();
    if checks_of.linearizability["valid"] == serde_json::Value::Bool(false) {
        // A transactional workload's check names itself (`elle list-append`, `bank`).
        let name = checks_of.linearizability["checker"]
            .as_str()
            .unwrap_or("linearizability");
        checks.push(name.to_owned());
        if let Some(describe) = checks_of.linearizability["describe"].as_str() {
            details.push(describe.to_owned());
        }
    }
    for violation in &checks_of.invariants.violations {
        let name = if violation.invariant == "node-panic" {
            "invariant node-panic (the node's own assertion)".to_owned()
        } else {
            format!("invariant {}", violation.invariant)
        };
        if !checks.contains(&name) {
            checks.push(name);
            details.push(violation.detail.clone());
        }
    }
    if checks_of.durability.valid == Validity::Invalid {
        checks.push("durability".to_owned());
        if let Some(missing) = checks_of.durability.missing.first() {
            details.push(format!("acknowledged write lost: {missing}"));
        }
    }
    if !checks_of.liveness.valid {
        checks.push("liveness".to_owned());
        details.extend(checks_of.liveness.unanswered.first().cloned());
        details.extend(checks_of.liveness.unsettled.first().cloned());
        details.extend(checks_of.liveness.admin.first().cloned());
    }
    if let Some(error) = &checks_of.simulation.error {
        details.push(error.clone());
    }
    let mut detail: String = details.join("; ").chars().take(DETAIL_CHARS).collect();
    if detail.is_empty() && result.valid == Validity::Unknown {
        detail = "a check could not decide".to_owned();
    }
    detail = detail.replace(['\n', '|'], " ");
    (checks, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The node's own assertion and a stall are weak catches; any other check is from outside.
    #[test]
    fn only_checks_other_than_the_nodes_assertion_and_liveness_are_from_outside() {
        let names = |checks: &[&str]| -> Vec<String> {
            checks.iter().map(|check| (*check).to_owned()).collect()
        };
        assert!(!from_outside(&names(&[])));
        assert!(!from_outside(&names(&[
            "invariant node-panic (the node's own assertion)",
            "liveness"
        ])));
        assert!(from_outside(&names(&[
            "liveness",
            "invariant log-matching"
        ])));
        assert!(from_outside(&names(&["durability"])));
    }
}
