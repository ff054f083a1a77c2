//! The transactional workloads end to end (issue 23): each runs through Raft as
//! `KvCommand::Txn`s under the default faults, is judged by its own checker (Elle for
//! list-append and rw-register, a direct one for the rest), valid and reproducible.

mod common;

use rafty_harness::run::plugins::Plugins;
use rafty_workloads::WorkloadKind;

#[test]
fn each_transactional_workload_is_judged_by_its_checker_and_valid() {
    for (name, checker) in [
        ("list-append", "elle list-append"),
        ("rw-register", "elle rw-register"),
        ("bank", "bank"),
        ("set", "set"),
        ("counter", "counter"),
        ("unique-ids", "unique-ids"),
    ] {
        let config = common::short_config(WorkloadKind::named(name).unwrap(), 5);
        let output = common::valid_run(&config, 3, &Plugins::reference());
        let check = &output.result.checks.linearizability;
        assert_eq!(check["checker"], checker, "{name}: {check}");
        assert_eq!(check["valid"], true, "{name}: {check}");
        assert!(output.result.ops.ok > 50, "{name}: {:?}", output.result.ops);
    }
}

#[test]
fn a_list_append_run_records_transactions_that_elle_reads_and_is_reproducible() {
    let config = common::short_config(WorkloadKind::named("list-append").unwrap(), 5);
    let first = common::valid_run(&config, 11, &Plugins::reference());
    let bytes = common::history_bytes(&first);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(r#""f":"txn","value":[["#),
        "transactions are recorded as Elle's micro-operations"
    );
    assert!(
        text.lines().any(|line| line.contains(r#""type":"ok""#)
            && line.contains(r#"["r","k"#)
            && !line.contains(r#",null]"#)),
        "an ok transaction records what its reads saw"
    );
    let check = &first.result.checks.linearizability;
    assert!(check["edges"]["wr"].as_u64().unwrap_or(0) > 0, "{check}");
    let second = common::run(&config, 11);
    assert!(
        bytes == common::history_bytes(&second),
        "seed 11 gave two histories"
    );
}
