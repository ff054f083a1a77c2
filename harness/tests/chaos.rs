//! A short chaos run of each workload passes on the reference implementation: 5 nodes, every
//! nemesis, a few seconds of simulated time each (the long suites are `rafty test --seeds N`).

mod common;

use rafty_harness::run::results::Validity;
use rafty_workloads::WorkloadKind;

fn passes(kind: WorkloadKind, seeds: &[u64]) {
    let config = common::short_config(kind, 6);
    for &seed in seeds {
        let output = common::run(&config, seed);
        let result = &output.result;
        assert_eq!(
            result.valid,
            Validity::Valid,
            "{kind} seed {seed}: {}\nreproduce: {}",
            serde_json::to_string_pretty(&result.checks).unwrap_or_default(),
            result.reproduce
        );
        assert!(
            result.ops.ok > 50,
            "{kind} seed {seed}: only {} ops succeeded",
            result.ops.ok
        );
        assert!(
            result.nemesis.len() >= 3,
            "{kind} seed {seed}: the nemesis barely acted"
        );
    }
}

#[test]
fn the_kv_workload_passes_under_every_nemesis() {
    passes(WorkloadKind::Kv, &[1, 2]);
}

#[test]
fn the_register_workload_passes_under_every_nemesis() {
    passes(WorkloadKind::Register, &[1, 2]);
}

#[test]
fn the_append_workload_passes_under_every_nemesis() {
    passes(WorkloadKind::Append, &[1, 2]);
}
