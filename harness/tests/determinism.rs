//! One seed reproduces a run exactly: the same seed twice gives a byte-identical history, and
//! another seed a different one (DESIGN.md, determinism rules).

mod common;

use rafty_workloads::WorkloadKind;

#[test]
fn the_same_seed_twice_gives_a_byte_identical_history() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 5);
    let first = common::history_bytes(&common::run(&config, 7));
    let second = common::history_bytes(&common::run(&config, 7));
    assert!(first.len() > 1000, "the run recorded a real history");
    assert!(first == second, "seed 7 gave two different histories");
}

#[test]
fn another_seed_gives_a_different_history() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 5);
    let seven = common::history_bytes(&common::run(&config, 7));
    let eight = common::history_bytes(&common::run(&config, 8));
    assert_ne!(seven, eight);
}

#[test]
fn node_logs_and_nemesis_actions_are_reproducible_too() {
    let config = common::short_config(WorkloadKind::named("append").unwrap(), 4);
    let first = common::run(&config, 11);
    let second = common::run(&config, 11);
    assert_eq!(first.node_logs, second.node_logs);
    assert_eq!(first.nemesis_log, second.nemesis_log);
}

/// tokio numbers tasks with one process-wide counter, and a dropped runtime shuts its tasks
/// down in an order that depends on those numbers. A run must not depend on what ran before it
/// in the same process (`--seeds N` runs many seeds in one process, `--jobs` at once).
#[test]
fn a_run_does_not_depend_on_what_ran_before_it_in_the_process() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 8);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for seed in [1, 2, 3] {
        let expected = common::history_bytes(&common::run(&config, seed));
        for shift in 1..=3 {
            for _ in 0..shift {
                runtime.block_on(async { tokio::spawn(async {}).await.expect("a task") });
            }
            let shifted = common::history_bytes(&common::run(&config, seed));
            assert!(
                shifted == expected,
                "seed {seed} changed after {shift} more tokio tasks"
            );
        }
    }
}

/// The file log on turmoil's disks, kills (bounces), power losses (torn writes drawn from
/// the simulation's seeded generator), power cuts inside disk operations (the operation drawn
/// from the seed) and bit rot (record and bit drawn from the seed) reproduce too, whatever ran
/// before in the process; the log that skips its fsyncs leaves the most unsynced writes for
/// power losses to tear.
#[test]
fn file_logs_kills_and_power_losses_are_reproducible() {
    use rafty_harness::nemesis::FaultKind;
    use rafty_harness::run::config::{LogKind, Variant};
    use rafty_harness::run::plugins::Plugins;
    use rafty_harness::run::runner;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 6);
    config.log = LogKind::File;
    config.nemesis = vec![
        FaultKind::named("kill").unwrap(),
        FaultKind::named("power").unwrap(),
        FaultKind::named("power-mid-write").unwrap(),
        FaultKind::named("corrupt").unwrap(),
    ];
    for variant in [Variant::Reference, Variant::AcknowledgeBeforeFsync] {
        config.variant = variant;
        let plugins = Plugins::for_config(&config).expect("harness-side parts");
        let run = |seed| runner::run(&config, seed, &plugins);
        let first = run(6);
        runtime.block_on(async { tokio::spawn(async {}).await.expect("a task") });
        let second = run(6);
        let froze = first
            .nemesis_log
            .iter()
            .any(|line| line.contains("disk froze"));
        assert!(froze, "seed 6 cut no power inside a disk operation");
        assert_eq!(first.node_logs, second.node_logs);
        let (first, second) = (
            common::history_bytes(&first),
            common::history_bytes(&second),
        );
        assert!(first.len() > 1000, "the run recorded a real history");
        assert!(
            first == second,
            "{}: seed 6 gave two histories",
            variant.name()
        );
    }
}

/// Pauses (each node's `PauseSwitch`, flipped from the outer step loop) reproduce too.
#[test]
fn pauses_are_reproducible() {
    use rafty_harness::nemesis::FaultKind;

    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 6);
    config.nemesis = vec![FaultKind::named("pause").unwrap()];
    let first = common::run(&config, 5);
    let second = common::run(&config, 5);
    assert!(
        first
            .nemesis_log
            .iter()
            .any(|line| line.contains("pause n")),
        "the run paused a node: {:?}",
        first.nemesis_log
    );
    assert!(common::history_bytes(&first) == common::history_bytes(&second));
    assert_eq!(first.node_logs, second.node_logs);
}
