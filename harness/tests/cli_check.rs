//! `rafty check`, run as a user runs it: verdicts, JSON lines, exit codes, per-file errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories/porcupine")
        .join(relative)
}

fn rafty_check(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
        .arg("check")
        .args(args)
        .args(files)
        .output()
        .expect("rafty runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn scratch(name: &str, content: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, content).expect("scratch file written");
    path
}

#[test]
fn a_linearizable_file_exits_0() {
    let output = rafty_check(&["--model", "cas-register"], &[shared("etcd/etcd_002.log")]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("etcd_002.log: linearizable"), "{text}");
    assert!(text.contains("1 files: 1 linearizable"), "{text}");
}

#[test]
fn a_non_linearizable_file_exits_1_with_a_counterexample() {
    let files = [shared("etcd/etcd_002.log"), shared("etcd/etcd_000.log")];
    let output = rafty_check(&["--model", "cas-register"], &files);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("etcd_000.log: not linearizable"), "{text}");
    assert!(text.contains("cannot linearize process"), "{text}");
}

#[test]
fn json_lines_carry_file_valid_and_millis() {
    let files = [shared("kv/c10-ok.txt"), shared("kv/c10-bad.txt")];
    let output = rafty_check(&["--model", "kv", "--json"], &files);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["file"].as_str().unwrap().ends_with("c10-ok.txt"));
    assert_eq!(lines[0]["valid"], serde_json::Value::Bool(true));
    assert!(lines[0]["millis"].is_number());
    assert_eq!(lines[0]["format"], "edn-lines");
    assert_eq!(lines[1]["valid"], serde_json::Value::Bool(false));
    assert!(lines[1]["counterexample"]["operation"]["description"].is_string());
}

#[test]
fn a_bad_file_is_reported_with_its_line_and_the_others_still_checked() {
    let bad = scratch(
        "bad.jsonl",
        "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n\
         {\"index\":1,\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n",
    );
    let files = [
        bad,
        PathBuf::from("/no/such/history"),
        shared("kv/c01-ok.txt"),
    ];
    let output = rafty_check(&["--model", "kv", "--json"], &files);
    assert_eq!(output.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["valid"], "unknown");
    let error = lines[0]["error"].as_str().unwrap();
    assert!(error.contains("bad.jsonl:2: invalid op"), "{error}");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("/no/such/history")
    );
    assert_eq!(lines[2]["valid"], serde_json::Value::Bool(true));
}

#[test]
fn a_malformed_history_in_text_mode_names_file_and_line_on_stderr() {
    let bad = scratch(
        "orphan.edn",
        "{:process 0, :type :invoke, :f :read, :value nil}\n\
         {:process 1, :type :ok, :f :read, :value 3}\n",
    );
    let output = rafty_check(&["--model", "register"], &[bad]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("orphan.edn:2: process 1 completes :read (ok) without an open invocation"),
        "{stderr}"
    );
}

#[test]
fn a_time_limit_gives_unknown_and_exit_2() {
    // 30 concurrent indeterminate writes, then reads that cycle through their values: the
    // search is large, and a zero time limit stops it at once.
    let mut lines = Vec::new();
    for p in 0..30 {
        lines.push(format!(
            "{{\"index\":0,\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{p}}}"
        ));
    }
    for round in 0..100 {
        lines.push("{\"index\":0,\"process\":99,\"type\":\"invoke\",\"f\":\"read\"}".to_owned());
        lines.push(format!(
            "{{\"index\":0,\"process\":99,\"type\":\"ok\",\"f\":\"read\",\"value\":{}}}",
            round % 30
        ));
    }
    let file = scratch("slow.jsonl", &(lines.join("\n") + "\n"));
    let output = rafty_check(
        &["--model", "register", "--time-limit", "0s", "--json"],
        &[file],
    );
    assert_eq!(output.status.code(), Some(2));
    let line: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["valid"], "unknown");
    assert!(line["reason"].as_str().unwrap().contains("time limit"));
}

#[test]
fn an_explicit_format_and_convention_override_detection() {
    // The format and convention given are the ones used (and reported), not the detected
    // format's default (porcupine).
    let output = rafty_check(
        &[
            "--model",
            "cas-register",
            "--format",
            "jepsen-log",
            "--convention",
            "knossos",
            "--json",
        ],
        &[shared("etcd/etcd_002.log")],
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["convention"], "knossos");
    assert_eq!(line["format"], "jepsen-log");
}

#[test]
fn an_unknown_model_is_a_usage_error() {
    let output = rafty_check(&["--model", "queue"], &[shared("etcd/etcd_002.log")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown model 'queue'"));
}

fn vendored(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../checkers/tests/histories")
        .join(relative)
}

#[test]
fn an_independent_history_is_checked_per_key_and_the_failing_key_named() {
    let files = [
        vendored("independent/register-ok.edn"),
        vendored("independent/cas-register-bad.edn"),
    ];
    let output = rafty_check(&["--model", "cas-register"], &files);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("register-ok.edn: linearizable (6 ops, 0 skipped, 2 partitions; edn as knossos, independent"),
        "{text}"
    );
    assert!(
        text.contains("cas-register-bad.edn: not linearizable"),
        "{text}"
    );
    assert!(text.contains("  key :y\n"), "{text}");
    assert!(text.contains("read -> 3 (ok, line 7)"), "{text}");
}

#[test]
fn independent_json_names_the_key_and_the_mode() {
    let files = [
        vendored("porcupine-independent/etcd_002_005.log"),
        vendored("porcupine-independent/etcd_002_000.log"),
    ];
    let output = rafty_check(
        &["--model", "cas-register", "--independent", "--json"],
        &files,
    );
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["valid"], serde_json::Value::Bool(true));
    assert_eq!(lines[0]["independent"], serde_json::Value::Bool(true));
    assert_eq!(lines[0]["partitions"], 2);
    assert_eq!(lines[1]["valid"], serde_json::Value::Bool(false));
    assert_eq!(lines[1]["counterexample"]["partition"], 1);
}

#[test]
fn independent_no_checks_the_tuples_as_plain_values() {
    let output = rafty_check(
        &["--model", "register", "--independent=no", "--json"],
        &[vendored("independent/register-ok.edn")],
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["independent"], serde_json::Value::Bool(false));
    assert_eq!(line["partitions"], 1);
}

#[test]
fn a_plain_value_among_independent_tuples_names_file_and_line() {
    let output = rafty_check(
        &["--model", "register"],
        &[vendored("independent/mixed.edn")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "mixed.edn:3: :write invoke: an independent op's value must be a [key value] tuple, \
             found 4"
        ),
        "{stderr}"
    );
}

#[test]
fn malformed_tuples_under_independent_yes_name_file_and_line() {
    let bad = scratch(
        "short-tuple.edn",
        "{:process 0, :type :invoke, :f :write, :value [3]}\n",
    );
    let long = scratch(
        "long-tuple.edn",
        "{:process 0, :type :invoke, :f :write, :value [3 4]}\n\
         {:process 0, :type :ok, :f :write, :value [3 4]}\n\
         {:process 0, :type :invoke, :f :write, :value [1 2 3]}\n",
    );
    let output = rafty_check(
        &["--model", "register", "--independent", "--json"],
        &[bad, long],
    );
    assert_eq!(output.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let error = |i: usize| lines[i]["error"].as_str().unwrap().to_owned();
    assert!(
        error(0).contains("short-tuple.edn:1: :write invoke"),
        "{}",
        error(0)
    );
    assert!(error(0).contains("found [3] (1 element)"), "{}", error(0));
    assert!(
        error(1).contains("long-tuple.edn:3: :write invoke"),
        "{}",
        error(1)
    );
    assert!(
        error(1).contains("found [1 2 3] (3 elements)"),
        "{}",
        error(1)
    );
}
