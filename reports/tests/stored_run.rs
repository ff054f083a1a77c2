//! write_stored_run_report: a report drawn from a run folder as the harness stores it.

mod common;

use std::path::Path;

use rafty_checkers::{CheckOptions, Convention, KeyValue, check};
use rafty_reports::{ReportError, write_stored_run_report};

/// A run folder with results.json (with the checker's result), history.jsonl and node logs.
fn stored_run(dir: &Path, broken: bool) {
    let mut history = common::kv_history(300, 4, 2, 21);
    if broken {
        history = common::break_one_read(&history);
    }
    let result = check(
        &KeyValue::new(Convention::Native),
        &history,
        &CheckOptions::default(),
    )
    .unwrap();
    let results = serde_json::json!({
        "test": "kv-5n",
        "seed": 21,
        "valid": !broken,
        "checks": {
            "linearizability": result,
            "durability": {"valid": true, "acknowledged": 3, "missing": []},
            "invariants": {"valid": !broken, "violation_count": 1, "violations": [{
                "invariant": "state-machine-safety", "time_ns": 250_000_000u64, "node": 3,
                "detail": "n3 applied a different command at index 7 than n1 did",
            }]},
        },
        "reproduce": "cargo run --release -p rafty-harness -- test --seed 21",
    });
    std::fs::write(dir.join("results.json"), results.to_string()).unwrap();
    let mut jsonl = Vec::new();
    rafty_checkers::export::write_jsonl(&history, &mut jsonl).unwrap();
    // As the harness records them: the node that served each completion.
    let jsonl: String = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|line| match line.contains("\"type\":\"invoke\"") {
            true => format!("{line}\n"),
            false => format!("{},\"node\":\"n2\"}}\n", line.trim_end_matches('}')),
        })
        .collect();
    std::fs::write(dir.join("history.jsonl"), jsonl).unwrap();
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::write(
        dir.join("nodes/n4.log"),
        "   0.000000s n4 Started\n   0.168000s n4 role Leader term 1 leader Some(4)\n",
    )
    .unwrap();
}

#[test]
fn a_stored_failing_run_is_drawn_with_its_counterexample_and_leaders() {
    let dir = tempfile::tempdir().unwrap();
    stored_run(dir.path(), true);
    write_stored_run_report(dir.path()).unwrap();
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).unwrap();
    assert!(summary.contains("test:      kv-5n"), "{summary}");
    assert!(summary.contains("verdict:   invalid"), "{summary}");
    assert!(
        summary.contains("linearizability          invalid"),
        "{summary}"
    );
    assert!(
        summary.contains("cannot be linearized in state"),
        "{summary}"
    );
    assert!(
        summary.contains("0.168 s  n4 leader of term 1"),
        "{summary}"
    );
    assert!(summary.contains("reproduce: cargo run --release -p rafty-harness -- test --seed 21"));
    let html = std::fs::read_to_string(dir.path().join("timeline.html")).unwrap();
    assert!(html.contains("id=\"cex\""));
    assert!(
        summary.contains("(ok, served by n2; history position"),
        "{summary}"
    );
    assert!(html.contains("\"n\":[\"n2\","), "nodes embedded");
    assert!(html.contains(
        "\"notes\":[{\"time_ns\":250000000,\"node\":3,\"label\":\"state-machine-safety\""
    ));
    assert!(
        summary.contains("0.250 s  state-machine-safety n3: n3 applied a different command"),
        "{summary}"
    );
    assert!(html.contains("\"leaders\":[{\"time_ns\":168000000,\"node\":4,\"term\":1}]"));
}

#[test]
fn a_stored_passing_run_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    stored_run(dir.path(), false);
    let files = write_stored_run_report(dir.path()).unwrap();
    assert_eq!(files.len(), 5);
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).unwrap();
    assert!(summary.contains("verdict:   valid"), "{summary}");
}

#[test]
fn missing_or_malformed_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let error = write_stored_run_report(dir.path()).unwrap_err();
    assert!(matches!(error, ReportError::Read { .. }), "{error:?}");
    assert_eq!(error.path(), dir.path().join("results.json"));

    std::fs::write(dir.path().join("results.json"), "{\"valid\": true}").unwrap();
    std::fs::write(
        dir.path().join("history.jsonl"),
        "{\"index\": 0, \"process\": 1}\n",
    )
    .unwrap();
    let error = write_stored_run_report(dir.path()).unwrap_err();
    assert_eq!(error.path(), dir.path().join("history.jsonl"));
    assert!(error.to_string().contains("history.jsonl:1"), "{error}");

    std::fs::write(dir.path().join("results.json"), "[1,").unwrap();
    let error = write_stored_run_report(dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("results.json: not JSON"),
        "{error}"
    );
}
