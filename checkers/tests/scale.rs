//! Issue 3's scale target: a 1,000,000-operation key-value history (1,000 keys, 20
//! processes, 1% indeterminate), written as JSON lines, read back and checked whole. The time
//! each takes is printed (the figure to quote); the criterion bench measures speed. Debug
//! builds skip these, as they are large.

use std::fs::File;
use std::io::BufWriter;
use std::time::{Duration, Instant};

use rafty_checkers::export::write_jsonl;
use rafty_checkers::import::{self, Format};
use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};
use rafty_checkers::{CheckOptions, Convention, KeyValue, Verdict, check};

#[test]
#[cfg_attr(debug_assertions, ignore = "large: run with --release")]
fn a_million_operation_kv_history_is_checked_whole() {
    let shape = KvShape::default();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kv-1m.jsonl");
    let history = kv_history(&shape);
    let file = File::create(&path).expect("scratch file");
    write_jsonl(&history, BufWriter::new(file)).expect("history written");
    drop(history);

    let started = Instant::now();
    let imported = import::read_file(&path, None).expect("history read back");
    assert_eq!(imported.format, Format::Jsonl);
    let read = started.elapsed();
    let model = KeyValue::new(Convention::Native);
    let options = CheckOptions {
        time_limit: Some(Duration::from_secs(60)),
        ..CheckOptions::default()
    };
    let result = check(&model, &imported.history, &options).expect("well-formed history");
    let total = started.elapsed();
    eprintln!(
        "1M ops: read {read:?}, read + check {total:?}; {} ops checked, {} skipped, {} partitions",
        result.operations, result.skipped, result.partitions
    );
    assert_eq!(result.valid, Verdict::Linearizable);
    assert_eq!(result.partitions, 1000);
    let _ = std::fs::remove_file(&path);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "large: run with --release")]
fn a_long_single_key_history_is_checked_within_its_time_limit() {
    // One partition of 100,000 operations: memo entries stay as short as the window of
    // concurrency, so this is linear, not quadratic, in time and memory.
    let shape = KvShape {
        operations: 100_000,
        keys: 1,
        processes: 5,
        ..KvShape::default()
    };
    let history = kv_history(&shape);
    let started = Instant::now();
    let model = KeyValue::new(Convention::Native);
    // A generous time limit turns a quadratic blow-up into `Unknown`, which fails below; the
    // speed itself is measured by the criterion bench, not asserted here.
    let options = CheckOptions {
        time_limit: Some(Duration::from_secs(60)),
        ..CheckOptions::default()
    };
    let result = check(&model, &history, &options).expect("well-formed history");
    let took = started.elapsed();
    eprintln!("100k ops on one key: {took:?}");
    assert_eq!(result.valid, Verdict::Linearizable);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "large: run with --release")]
fn a_violation_planted_in_a_million_operations_is_reported_on_its_key() {
    let mut history = kv_history(&KvShape::default());
    let (position, key) = plant_violation(&mut history).expect("a read to change");
    let started = Instant::now();
    let result = check(
        &KeyValue::new(Convention::Native),
        &history,
        &CheckOptions::default(),
    )
    .expect("well-formed history");
    eprintln!(
        "1M ops, one planted violation: {:?}, {} steps",
        started.elapsed(),
        result.steps
    );
    assert_eq!(result.valid, Verdict::NotLinearizable);
    let counterexample = result.counterexample.expect("a counterexample");
    assert_eq!(counterexample.partition, Some(key));
    assert_eq!(counterexample.operation.completion_position, Some(position));
}
