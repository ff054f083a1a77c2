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
    passes(WorkloadKind::named("kv").unwrap(), &[1, 2]);
}

#[test]
fn the_register_workload_passes_under_every_nemesis() {
    passes(WorkloadKind::named("register").unwrap(), &[1, 2]);
}

#[test]
fn the_append_workload_passes_under_every_nemesis() {
    passes(WorkloadKind::named("append").unwrap(), &[1, 2]);
}

/// A cluster that never elects a leader (its election timeout is longer than the run) makes
/// no progress while healthy: a liveness failure, reported apart from safety, which holds.
#[test]
fn a_cluster_that_never_elects_a_leader_fails_liveness_not_safety() {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 4);
    config.nemesis = Vec::new();
    config.quiet_period = std::time::Duration::from_secs(2);
    // The settings as given: a seed's draw would bring the election timeout back down.
    config.draw_settings = false;
    config.raft.election_timeout_min = std::time::Duration::from_secs(100);
    config.raft.election_timeout_max = std::time::Duration::from_secs(101);
    let output = common::run(&config, 1);
    let result = &output.result;
    assert_eq!(result.valid, Validity::Invalid);
    assert_eq!(result.failure, "liveness");
    assert!(!result.checks.liveness.stalled_windows_ns.is_empty());
    assert_eq!(result.checks.liveness.keys_never_read.len(), 8);
    assert_eq!(result.checks.invariants.violation_count, 0);
    assert_eq!(
        result.checks.linearizability["valid"],
        serde_json::Value::Bool(true)
    );
    assert_eq!(result.ops.ok, 0);
}
