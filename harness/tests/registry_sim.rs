//! The service registry in the simulation (`rafty test --workload registry`, issue 25): the
//! registry's state machine, HTTP API and leader ticker on every node under the default
//! nemesis, judged by the registry checker; one seed reproduces its history byte for byte.

mod common;

use rafty_harness::run::results::Validity;
use rafty_workloads::WorkloadKind;

fn registry_config() -> rafty_harness::run::config::TestConfig {
    common::short_config(WorkloadKind::named("registry").expect("registered"), 5)
}

/// DESIGN.md's determinism rule, through axum, hyper and the leader's ticker: nothing on the
/// registry's path reads the wall clock or depends on a hash map's order.
#[test]
fn the_same_seed_twice_gives_a_byte_identical_registry_history() {
    let config = registry_config();
    let first = common::history_bytes(&common::run(&config, 3));
    let second = common::history_bytes(&common::run(&config, 3));
    assert!(first.len() > 10_000, "the run recorded a real history");
    assert!(
        first == second,
        "seed 3 gave two different registry histories"
    );
}

/// A run under every default fault is valid, judged by the registry checker, and exercises
/// every operation the checker reads: registrations, deregistrations, keepalives, lists,
/// watches that saw changes (expiries among them) and the config keys.
#[test]
fn a_registry_run_under_the_default_nemesis_is_valid_and_checks_every_operation() {
    let config = registry_config();
    let output = common::run(&config, 5);
    let checks = serde_json::to_value(&output.result.checks).expect("serializable");
    assert_eq!(output.result.valid, Validity::Valid, "{checks}");
    assert_eq!(checks["linearizability"]["checker"], "registry", "{checks}");
    assert!(
        checks["linearizability"]["registry"]["checked"].as_u64() > Some(100),
        "{checks}"
    );
    let spool = output.history_spool.as_ref().expect("a history");
    let text = std::fs::read_to_string(spool.path()).expect("it reads");
    for f in [
        "register",
        "deregister",
        "keepalive",
        "list",
        "watch",
        "read",
        "write",
        "cas",
    ] {
        let ok = format!("\"type\":\"ok\",\"f\":\"{f}\"");
        assert!(text.contains(&ok), "no ok {f} in the history");
    }
    assert!(
        text.contains("\"expired\""),
        "no watcher saw a lease expire"
    );
}
