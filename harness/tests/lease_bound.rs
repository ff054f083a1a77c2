//! Lease reads (dissertation §6.4.1) are safe only within the clock-drift bound they assume,
//! and the bound is real: under `clock-storm` (the leader's clock jumps back one to four
//! election timeouts and runs slow while it is cut off) a lease with the default margin serves
//! stale reads, which the linearizability check catches, while ReadIndex reads (no clock
//! trusted) stay linearizable under the very same faults. (Within the bound, under the `clock`
//! kind, lease reads stay valid: `rafty test --nemesis all,clock --reads lease`, BENCHMARKS.md.)

mod common;

use std::time::Duration;

use rafty::ReadConsistency;
use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::TestConfig;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::results::Validity;
use rafty_harness::run::runner;
use rafty_workloads::WorkloadKind;

/// The seed at which the storm's stale read is found (`rafty test --nodes 5 --seed 14 --nemesis
/// clock-storm --reads lease --keys 2 --concurrency 40 --time-limit 60s`; of seeds 9-32, 10 are
/// invalid, 3 unknown and 11 valid since lease reads are served in the caller's task (seed 6,
/// the seed before that, is now valid), and seed 14 is valid with `--reads index`).
const SEED: u64 = 14;

fn storm(reads: ReadConsistency) -> TestConfig {
    let mut config = TestConfig::new(WorkloadKind::named("kv").unwrap());
    config.nemesis = vec![FaultKind::named("clock-storm").unwrap()];
    config.workload.time_limit = Duration::from_secs(60);
    config.workload.key_count = 2;
    config.workload.concurrency = 40;
    config.reads = reads;
    config
}

#[test]
fn drift_beyond_the_bound_breaks_lease_reads_and_not_read_index() {
    let lease = runner::run(&storm(ReadConsistency::Lease), SEED, &Plugins::reference());
    let checks = serde_json::to_value(&lease.result.checks).unwrap();
    assert_eq!(
        lease.result.valid,
        Validity::Invalid,
        "{}: {checks}",
        lease.result.reproduce
    );
    assert_eq!(
        checks["linearizability"]["valid"], false,
        "a stale lease read is a linearizability violation: {checks}"
    );
    let index = common::valid_run(
        &storm(ReadConsistency::Linearizable),
        SEED,
        &Plugins::reference(),
    );
    assert!(
        index.faults.iter().any(|f| f.kind.name() == "clock-storm"),
        "the same storms ran under ReadIndex"
    );
}

/// The storm claims the links but skews the leader's clock, which a node fault could hold:
/// a run that lets it overlap other faults is refused, naming the flag.
#[test]
fn a_storm_with_overlapping_faults_is_refused() {
    let mut config = storm(ReadConsistency::Lease);
    config.nemesis.push(FaultKind::named("kill").unwrap());
    config.nemesis_overlap = 2;
    let error = config.validate().unwrap_err();
    assert!(
        error.contains("--nemesis-overlap") && error.contains("clock-storm"),
        "{error}"
    );
    config.nemesis_overlap = 1;
    assert_eq!(config.validate(), Ok(()));
}
