//! Chaos runs take snapshots for real (issue 16): with the simulation's small snapshot
//! threshold every default run compacts, nodes coming back from faults catch up by
//! InstallSnapshot (Raft §7), and the harness compares the state every node reached at each
//! index, by applying or by restoring, through digests of the state machine's snapshot.

mod common;

use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::LogKind;
use rafty_harness::run::plugins::Plugins;
use rafty_workloads::WorkloadKind;

fn kv() -> WorkloadKind {
    WorkloadKind::named("kv").expect("registered")
}

/// A default run (every nemesis) snapshots on every node, restores snapshots, and every
/// state digest agrees.
#[test]
fn a_default_run_snapshots_restores_and_agrees_on_every_state() {
    let config = common::short_config(kv(), 10);
    for seed in [1, 2] {
        let output = common::valid_run(&config, seed, &Plugins::reference());
        let observed = &output.result.checks.invariants.observed;
        assert!(observed.snapshots_taken >= 5, "seed {seed}: {observed:?}");
        assert!(observed.restored >= 1, "seed {seed}: {observed:?}");
        assert!(
            observed.digests > observed.applied / 2,
            "seed {seed}: {observed:?}"
        );
    }
}

/// The `install-snapshot` nemesis alone: the follower it holds down catches up by installing
/// a snapshot from the leader, under kills aimed into the install, on both logs.
#[test]
fn the_install_snapshot_nemesis_makes_followers_install_snapshots() {
    for log in [LogKind::Memory, LogKind::File] {
        let mut config = common::short_config(kv(), 10);
        config.nemesis = vec![FaultKind::named("install-snapshot").expect("registered")];
        config.log = log;
        let output = common::valid_run(&config, 3, &Plugins::reference());
        let observed = &output.result.checks.invariants.observed;
        assert!(observed.snapshots_installed >= 1, "{log:?}: {observed:?}");
    }
}
