//! A run streams its history to a spool file as it records it: the file is `history.jsonl`
//! byte for byte, and it is removed with the run's output unless the store renamed it in.

mod common;

use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner::{self, RunOptions};
use rafty_workloads::WorkloadKind;

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn the_spool_is_the_history_and_is_removed_with_the_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 3);
    let options = RunOptions {
        spool_dir: Some(dir.path().to_owned()),
        ..RunOptions::default()
    };
    let output = runner::run_with(&config, 5, &Plugins::reference(), options);
    let spool = output.history_spool.as_ref().expect("a spool");
    assert_eq!(files_in(dir.path()), [spool.path().to_owned()]);
    let spooled = std::fs::read(spool.path()).expect("read the spool");
    assert!(spooled.len() > 1000, "the run recorded a real history");
    // Read back event by event and written again: the same bytes (so the spool is
    // `history.jsonl`, one event a line).
    let events = rafty_harness::sim::recorder::read_spool(spool.path()).expect("reads back");
    let mut rewritten = Vec::new();
    rafty_harness::run::store::write_history_jsonl(&events, &mut rewritten).expect("in memory");
    assert!(spooled == rewritten, "spool != history.jsonl");
    drop(output);
    assert!(
        files_in(dir.path()).is_empty(),
        "the spool outlived the run"
    );
}
