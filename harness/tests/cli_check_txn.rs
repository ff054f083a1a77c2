//! `rafty check --model list-append|rw-register`, run as a user runs it: verdicts against a
//! consistency model, anomalies explained, JSON lines, exit codes, errors naming the line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn elle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/elle")
        .join(name)
}

fn rafty_check(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
        .arg("check")
        .args(args)
        .args(files)
        .output()
        .expect("rafty runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

#[test]
fn a_read_skew_exits_1_with_each_edge_explained() {
    let output = rafty_check(&["--model", "list-append"], &[elle("g-single.jsonl")]);
    assert_eq!(output.status.code(), Some(1));
    let out = text(&output.stdout);
    assert!(
        out.contains("g-single.jsonl: not strict-serializable: G-single (ruling out"),
        "{out}"
    );
    assert!(
        out.contains("T1 read key \"x\" as [] without 1; T2 appended 1"),
        "{out}"
    );
    assert!(
        out.contains("1 files: 0 valid, 1 invalid, 0 errors"),
        "{out}"
    );
}

#[test]
fn a_valid_history_exits_0() {
    let output = rafty_check(&["--model", "list-append"], &[elle("g-single-near.jsonl")]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("valid (strict-serializable)"));
}

#[test]
fn a_stale_read_is_valid_against_serializability() {
    let output = rafty_check(
        &[
            "--model",
            "list-append",
            "--consistency-model",
            "serializable",
        ],
        &[elle("g-single-realtime.jsonl")],
    );
    assert_eq!(output.status.code(), Some(0));
    let out = text(&output.stdout);
    assert!(
        out.contains(
            "valid (serializable, though G-single-realtime rules out strict-serializable)"
        ),
        "{out}"
    );
}

#[test]
fn json_lines_carry_the_anomaly_types_and_models_ruled_out() {
    let output = rafty_check(
        &["--model", "rw-register", "--json"],
        &[elle("register-g1c.jsonl")],
    );
    assert_eq!(output.status.code(), Some(1));
    let line: serde_json::Value =
        serde_json::from_str(text(&output.stdout).trim()).expect("one JSON object");
    assert_eq!(line["valid"], false);
    assert_eq!(line["anomaly_types"], serde_json::json!(["G1c"]));
    assert_eq!(line["not"][0], "read-committed");
    assert!(line["millis"].is_number());
}

#[test]
fn a_malformed_micro_operation_exits_2_naming_the_line() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-txn.jsonl");
    std::fs::write(
        &path,
        "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\"]]}\n",
    )
    .unwrap();
    let output = rafty_check(&["--model", "list-append"], std::slice::from_ref(&path));
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains(
            "bad-txn.jsonl:1: micro-operation 1 ([\"append\" \"x\"]): expected [f key value]"
        ),
        "{err}"
    );
}

/// Writes `lines` (our JSON lines) to a scratch file named `name`.
fn scratch(name: &str, lines: &[&str]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("scratch file written");
    path
}

/// Issue 23: `rafty check --model set` (a direct checker): a lost acknowledged add exits 1
/// naming its line and kind; the same history with the add in the final read exits 0; a
/// malformed line is an error naming it (exit 2).
#[test]
fn a_set_history_lost_add_exits_1_naming_its_line() {
    let add = r#"{"index":0,"process":0,"type":"invoke","f":"add","value":1}"#;
    let added = r#"{"index":1,"process":0,"type":"ok","f":"add","value":1}"#;
    let read = r#"{"index":2,"process":1,"type":"invoke","f":"read","value":null}"#;
    let lost = scratch(
        "set-lost.jsonl",
        &[
            add,
            added,
            read,
            r#"{"index":3,"process":1,"type":"ok","f":"read","value":[]}"#,
        ],
    );
    let kept = scratch(
        "set-kept.jsonl",
        &[
            add,
            added,
            read,
            r#"{"index":3,"process":1,"type":"ok","f":"read","value":[1]}"#,
        ],
    );
    let output = rafty_check(&["--model", "set"], std::slice::from_ref(&lost));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("line 2: lost"), "{out}");
    let output = rafty_check(&["--model", "set"], &[kept]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let bad = scratch("set-bad.jsonl", &[add, "{not json"]);
    let output = rafty_check(&["--model", "set"], &[bad]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("set-bad.jsonl:2"),
        "{}",
        text(&output.stderr)
    );
}
