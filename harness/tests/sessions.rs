//! `rafty test --sessions` (dissertation §6.3): the clients write through client sessions;
//! runs stay valid and reproducible, and a write whose answer was lost is retried until its
//! outcome is known, so fewer operations end indeterminate.

mod common;

use rafty_harness::run::plugins::Plugins;
use rafty_workloads::WorkloadKind;

/// Client operations (not the nemesis's) that ended `info` in `history`.
fn info_ops(history: &[u8]) -> usize {
    String::from_utf8_lossy(history)
        .lines()
        .filter(|line| line.contains(r#""type":"info""#) && !line.contains(r#""nemesis""#))
        .count()
}

#[test]
fn a_run_with_sessions_is_valid_and_reproducible() {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 5);
    config.sessions = true;
    assert!(config.name().ends_with("-sessions"), "{}", config.name());
    let first = common::valid_run(&config, 7, &Plugins::reference());
    let second = common::run(&config, 7);
    let bytes = common::history_bytes(&first);
    assert!(bytes.len() > 1000, "the run recorded a real history");
    assert!(
        bytes == common::history_bytes(&second),
        "seed 7 gave two histories"
    );
    assert!(
        first.result.reproduce.contains(" --sessions"),
        "{}",
        first.result.reproduce
    );
}

/// §6.3's purpose, measured over a few seeds of the default faults: with sessions, fewer
/// client operations end indeterminate than without (the counts are the same seeds' runs).
#[test]
fn sessions_leave_fewer_operations_indeterminate() {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 5);
    let (mut without, mut with) = (0, 0);
    for seed in 1..=6 {
        config.sessions = false;
        without += info_ops(&common::history_bytes(&common::run(&config, seed)));
        config.sessions = true;
        with += info_ops(&common::history_bytes(&common::valid_run(
            &config,
            seed,
            &Plugins::reference(),
        )));
    }
    assert!(without > 0, "the faults left some operation in doubt");
    assert!(
        with < without,
        "with sessions {with} info, without {without}"
    );
}
