//! Issue 23's scale target: a 1,000,000-transaction list-append history (10 keys active at a
//! time, 4 micro-operations a transaction, 10 processes, 1% indeterminate, 1% failed),
//! written as JSON lines, read back and checked. The times are printed (the figures to
//! quote); the criterion bench (`benches/elle.rs`) measures speed; `rafty check --model
//! list-append` on the same file reports peak memory. Debug builds skip this.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use rafty_checkers::elle::synthetic::{ListAppendShape, list_append_history};
use rafty_checkers::elle::{ElleOptions, TxnModel, check};
use rafty_checkers::export::write_jsonl;
use rafty_checkers::import;

#[test]
#[cfg_attr(debug_assertions, ignore = "large: run with --release")]
fn a_million_transaction_list_append_history_is_checked() {
    let shape = ListAppendShape::default();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("list-append-1m.jsonl");
    let history = list_append_history(&shape);
    let started = Instant::now();
    let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
    let checked = started.elapsed();
    assert!(result.valid, "{}", result.describe());
    assert!(result.anomaly_types.is_empty(), "{}", result.describe());
    assert_eq!(result.transactions, 1_000_000);
    let file = File::create(&path).expect("scratch file");
    write_jsonl(&history, BufWriter::new(file)).expect("history written");
    drop(history);

    let started = Instant::now();
    let imported = import::read_file(&path, None).expect("history read back");
    let read = started.elapsed();
    let result = check(
        TxnModel::ListAppend,
        &imported.history,
        &ElleOptions::default(),
    )
    .unwrap();
    let total = started.elapsed();
    eprintln!(
        "1M transactions: check in memory {checked:?}; from {}: read {read:?}, read + check \
         {total:?}; edges {:?}",
        path.display(),
        result.edges
    );
    assert!(result.valid, "{}", result.describe());
}
