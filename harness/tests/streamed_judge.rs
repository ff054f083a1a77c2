//! After the simulation nothing holds the whole history: the judge takes the operation counts,
//! the p99 latency and the liveness windows in one pass over `history.jsonl`, and the store
//! writes `history.edn` a line at a time. Both must give exactly what the in-memory
//! computations over the whole history give (`History::from_ops`, `ok_latency_ms_p99`,
//! `liveness::check`, `export::write_edn`), which this test keeps as the reference.

mod common;

use std::collections::BTreeMap;

use rafty_checkers::{History, OpType};
use rafty_harness::checks::liveness;
use rafty_harness::run::judge::{LIVENESS_MIN_WINDOW, LIVENESS_RECOVERY};
use rafty_harness::run::results::OpCounts;
use rafty_harness::sim::recorder::read_spool;
use rafty_workloads::WorkloadKind;

#[test]
fn the_streamed_judge_equals_the_in_memory_one() {
    for (workload, seed) in [("kv", 1), ("kv", 2), ("append", 3), ("register", 4)] {
        let mut config = common::short_config(WorkloadKind::named(workload).unwrap(), 12);
        // Faults 3 s apart: healthy windows long enough to be checked between them.
        config.nemesis_interval = std::time::Duration::from_secs(3);
        let output = common::run(&config, seed);
        let spool = output.history_spool.as_ref().expect("a spool");
        let events = read_spool(spool.path()).expect("the spool reads back");
        assert!(events.len() > 100, "seed {seed}: a real history");
        let history = History::from_ops(events.iter().map(|recorded| recorded.op.clone()));
        let result = &output.result;

        let mut ops = OpCounts::default();
        for op in history.ops.iter().filter(|op| op.process.is_client()) {
            match op.kind {
                OpType::Invoke => ops.invoked += 1,
                OpType::Ok => ops.ok += 1,
                OpType::Fail => ops.fail += 1,
                OpType::Info => ops.info += 1,
            }
        }
        assert_eq!(
            serde_json::to_value(&result.ops).unwrap(),
            serde_json::to_value(&ops).unwrap(),
            "{workload} seed {seed}: op counts"
        );

        let p99 = rafty_reports::ok_latency_ms_p99(&history).ok().flatten();
        assert!(
            p99.is_some(),
            "{workload} seed {seed}: some operation succeeded"
        );
        assert_eq!(result.latency_ms_p99, p99, "{workload} seed {seed}: p99");

        // The final reads are not in the history: the keys never read are the judge's own.
        let final_reads: BTreeMap<String, Option<rafty_checkers::Value>> = result
            .checks
            .liveness
            .keys_never_read
            .iter()
            .map(|key| (key.clone(), None))
            .collect();
        let in_memory = liveness::check(
            &history.ops,
            &result.nemesis,
            config.workload.time_limit,
            LIVENESS_RECOVERY,
            LIVENESS_MIN_WINDOW,
            &final_reads,
        );
        assert!(in_memory.windows_checked > 0, "{workload} seed {seed}");
        assert_eq!(result.checks.liveness, in_memory, "{workload} seed {seed}");

        let mut streamed = Vec::new();
        rafty_harness::run::store::write_history_edn(spool.path(), &mut streamed).unwrap();
        let mut whole = Vec::new();
        rafty_checkers::export::write_edn(&history, &mut whole).unwrap();
        assert!(streamed == whole, "{workload} seed {seed}: history.edn");
    }
}

/// The streamed p99 is `None` where the in-memory one fails: events that do not pair up.
#[test]
fn an_unpaired_history_has_no_streamed_p99() {
    use rafty_checkers::{Op, Process, Value};
    let events = [
        Op::new(Process::Client(0), OpType::Invoke, "read", Value::Nil).with_time(1),
        Op::new(Process::Client(0), OpType::Invoke, "read", Value::Nil).with_time(2),
        Op::new(Process::Client(0), OpType::Ok, "read", Value::Nil).with_time(3),
    ];
    let mut stream = rafty_reports::OkLatencyStream::default();
    for op in &events {
        stream.observe(op);
    }
    assert!(rafty_reports::ok_latency_ms_p99(&History::from_ops(events.clone())).is_err());
    assert_eq!(stream.p99_ms(), None);
}
