//! The checker on small histories whose verdicts are known by hand.

use std::time::Duration;

use super::*;
use crate::history::{Op, OpType, Process};
use crate::model::{CasRegister, Convention, KeyValue, Register};

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn ev(process: u64, kind: OpType, f: &str, value: Value) -> Op {
    Op::new(Process::Client(process), kind, f, value)
}

fn inv(process: u64, f: &str, value: Value) -> Op {
    ev(process, OpType::Invoke, f, value)
}

fn ok(process: u64, f: &str, value: Value) -> Op {
    ev(process, OpType::Ok, f, value)
}

fn cas(from: i64, to: i64) -> Value {
    Value::List(vec![int(from), int(to)])
}

fn verdict(history: &[Op], convention: Convention) -> Verdict {
    let history = History::from_ops(history.iter().cloned());
    check(
        &CasRegister::new(convention),
        &history,
        &CheckOptions::default(),
    )
    .unwrap()
    .valid
}

/// Knossos accepts `history` (it may drop failed operations and nil reads) but Porcupine does not.
fn assert_linearizable_only_under_knossos(history: &[Op]) {
    assert_eq!(verdict(history, Convention::Knossos), Verdict::Linearizable);
    assert_eq!(
        verdict(history, Convention::Porcupine),
        Verdict::NotLinearizable
    );
}

#[test]
fn an_empty_history_is_linearizable() {
    assert_eq!(verdict(&[], Convention::Native), Verdict::Linearizable);
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // p0 writes 1 while p1 writes 2; a later read of 1 means p1's write went first.
    let history = [
        inv(0, "write", int(1)),
        inv(1, "write", int(2)),
        ok(1, "write", int(2)),
        ok(0, "write", int(1)),
        inv(2, "read", Value::Nil),
        ok(2, "read", int(1)),
    ];
    assert_eq!(verdict(&history, Convention::Native), Verdict::Linearizable);
}

#[test]
fn a_stale_read_after_a_completed_write_is_not_linearizable() {
    let history = [
        inv(0, "write", int(1)),
        ok(0, "write", int(1)),
        inv(0, "write", int(2)),
        ok(0, "write", int(2)),
        inv(1, "read", Value::Nil),
        ok(1, "read", int(1)),
    ];
    assert_eq!(
        verdict(&history, Convention::Native),
        Verdict::NotLinearizable
    );
}

#[test]
fn an_indeterminate_write_may_take_effect_late() {
    let history = [
        inv(0, "write", int(1)),
        ev(0, OpType::Info, "write", Value::Keyword("timed-out".into())),
        inv(1, "read", Value::Nil),
        ok(1, "read", Value::Nil),
        inv(1, "read", Value::Nil),
        ok(1, "read", int(1)),
    ];
    assert_eq!(verdict(&history, Convention::Native), Verdict::Linearizable);
}

#[test]
fn an_indeterminate_write_may_never_take_effect() {
    let history = [
        inv(0, "write", int(1)),
        ev(0, OpType::Info, "write", Value::Nil),
        inv(1, "cas", cas(1, 2)),
        ev(1, OpType::Info, "cas", Value::Nil),
        inv(2, "read", Value::Nil),
        ok(2, "read", Value::Nil),
    ];
    assert_eq!(verdict(&history, Convention::Native), Verdict::Linearizable);
}

#[test]
fn an_indeterminate_write_cannot_take_effect_before_its_invocation() {
    let history = [
        inv(1, "read", Value::Nil),
        ok(1, "read", int(1)),
        inv(0, "write", int(1)),
    ];
    assert_eq!(
        verdict(&history, Convention::Native),
        Verdict::NotLinearizable
    );
}

#[test]
fn a_failed_cas_is_dropped_under_knossos_and_constrains_under_porcupine() {
    // The cas fails although the register holds 1: fine if it did not happen (Knossos), not
    // if it executed and saw another value (Porcupine).
    let history = [
        inv(0, "write", int(1)),
        ok(0, "write", int(1)),
        inv(0, "cas", cas(1, 2)),
        ev(0, OpType::Fail, "cas", cas(1, 2)),
    ];
    assert_linearizable_only_under_knossos(&history);
}

#[test]
fn a_nil_read_is_unconstrained_only_under_knossos() {
    let history = [
        inv(0, "write", int(1)),
        ok(0, "write", int(1)),
        inv(1, "read", Value::Nil),
        ok(1, "read", Value::Nil),
    ];
    assert_linearizable_only_under_knossos(&history);
    assert_eq!(
        verdict(&history, Convention::Native),
        Verdict::NotLinearizable
    );
}

#[test]
fn the_counterexample_names_the_stuck_operation_and_the_longest_prefix() {
    let history = History::from_ops([
        inv(0, "write", int(1)),
        ok(0, "write", int(1)),
        inv(1, "cas", cas(1, 2)),
        inv(2, "read", Value::Nil),
        ok(1, "cas", cas(1, 2)),
        ok(2, "read", int(3)),
    ]);
    let result = check(
        &CasRegister::new(Convention::Native),
        &history,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(result.valid, Verdict::NotLinearizable);
    let counterexample = result.counterexample.unwrap();
    assert_eq!(counterexample.operation.description, "read -> 3");
    assert_eq!(counterexample.operation.invoke_position, 3);
    assert_eq!(counterexample.operation.line, 4);
    let concurrent: Vec<&str> = counterexample
        .concurrent
        .iter()
        .map(|op| op.description.as_str())
        .collect();
    assert_eq!(concurrent, vec!["cas 1->2"]);
    let prefix: Vec<(&str, &str)> = counterexample
        .linearized
        .iter()
        .map(|step| (step.operation.description.as_str(), step.state.as_str()))
        .collect();
    assert_eq!(prefix, vec![("write 1", "1"), ("cas 1->2", "2")]);
    assert_eq!(counterexample.state, "2");
    assert_eq!(counterexample.initial_state, "nil");
    // Serializable, for reports.
    let json = serde_json::to_string(&counterexample).unwrap();
    assert!(json.contains("\"description\":\"read -> 3\""), "{json}");
}

#[test]
fn keys_are_checked_independently() {
    let key = |op: Op, k: &str| op.with_key(Value::from(k));
    let history = History::from_ops([
        key(inv(0, "put", Value::from("a")), "x"),
        key(ok(0, "put", Value::from("a")), "x"),
        key(inv(1, "get", Value::Nil), "y"),
        key(ok(1, "get", Value::Nil), "y"),
        key(inv(1, "get", Value::Nil), "x"),
        key(ok(1, "get", Value::from("b")), "x"),
    ]);
    let result = check(
        &KeyValue::new(Convention::Native),
        &history,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(result.partitions, 2);
    assert_eq!(result.valid, Verdict::NotLinearizable);
    assert_eq!(
        result.counterexample.unwrap().partition,
        Some(Value::from("x"))
    );
}

#[test]
fn a_time_limit_gives_unknown_never_a_guess() {
    // Many concurrent indeterminate writes of distinct values and reads that need them:
    // a large search, stopped at once by a zero time limit.
    let mut ops = Vec::new();
    for p in 0..40 {
        ops.push(inv(p, "write", int(p as i64)));
    }
    for p in 0..40 {
        ops.push(ev(p, OpType::Info, "write", Value::Nil));
    }
    for round in 0..200 {
        ops.push(inv(100, "read", Value::Nil));
        ops.push(ok(100, "read", int(round % 40)));
    }
    let history = History::from_ops(ops);
    let options = CheckOptions {
        time_limit: Some(Duration::ZERO),
        ..CheckOptions::default()
    };
    let result = check(&Register::new(Convention::Native), &history, &options).unwrap();
    assert_eq!(result.valid, Verdict::Unknown);
    assert!(result.reason.unwrap().contains("time limit"));
}

#[test]
fn a_malformed_op_for_the_model_names_file_and_line() {
    let mut history = History::from_source("h.edn");
    history.push_at_line(inv(0, "cas", int(3)), 12);
    let error = check(
        &CasRegister::new(Convention::Knossos),
        &history,
        &CheckOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "h.edn:12: :cas value must be [expected new], found 3"
    );
}

/// A register history with a `cas` among its writes and reads, as in Porcupine's etcd files.
fn register_history_with_a_cas() -> History {
    let mut history = History::from_source("etcd.log");
    let ops = [
        inv(0, "write", int(1)),
        ok(0, "write", int(1)),
        inv(1, "cas", cas(1, 2)),
        ok(1, "cas", cas(1, 2)),
        inv(0, "read", Value::Nil),
        ok(0, "read", int(2)),
        inv(1, "cas", cas(5, 3)),
        ev(1, OpType::Fail, "cas", cas(5, 3)),
    ];
    for (line, op) in ops.into_iter().enumerate() {
        history.push_at_line(op, line + 1);
    }
    history
}

#[test]
fn an_op_the_model_does_not_have_is_refused_naming_the_first() {
    // Dropping the cas would make the read of 2 a violation that is not there.
    let error = check(
        &Register::new(Convention::Porcupine),
        &register_history_with_a_cas(),
        &CheckOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "etcd.log:3: :cas is not an operation of the register model (2 operations of \
         functions it does not have; the first is here)"
    );
    assert!(matches!(error, HistoryError::Unsupported { count: 2, .. }));
}

#[test]
fn skipping_unsupported_ops_counts_them_apart_from_the_skipped_ones() {
    let options = CheckOptions {
        skip_unsupported: true,
        ..CheckOptions::default()
    };
    let history = register_history_with_a_cas();
    let result = check(&Register::new(Convention::Porcupine), &history, &options).unwrap();
    assert_eq!(result.unsupported, 2);
    assert_eq!(result.skipped, 0);
    assert_eq!(result.operations, 2);
    // Which is why skipping is never the default: without the cas, the read of 2 is wrong.
    assert_eq!(result.valid, Verdict::NotLinearizable);
    // The model that has cas checks every op.
    let result = check(
        &CasRegister::new(Convention::Porcupine),
        &history,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!((result.unsupported, result.operations), (0, 4));
    assert_eq!(result.valid, Verdict::Linearizable);
}

#[test]
fn a_kv_history_under_a_register_model_is_refused() {
    let history = History::from_ops([
        inv(0, "get", Value::Nil).with_key(Value::from("k")),
        ok(0, "get", Value::from("")).with_key(Value::from("k")),
    ]);
    let error = check(
        &CasRegister::new(Convention::Porcupine),
        &history,
        &CheckOptions::default(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("<history>:1: :get is not an operation of the cas-register model"),
        "{error}"
    );
    let model = KeyValue::new(Convention::Porcupine);
    let result = check(&model, &history, &CheckOptions::default()).unwrap();
    assert_eq!(result.valid, Verdict::Linearizable);
}
