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
    assert!(lines[0]["steps"].as_u64().unwrap() > 0);
    if cfg!(target_os = "linux") {
        assert!(lines[0]["peak_memory_kib"].as_u64().unwrap() > 0);
    }
    assert_eq!(lines[0]["format"], "edn-lines");
    assert_eq!(lines[1]["valid"], serde_json::Value::Bool(false));
    assert!(lines[1]["counterexample"]["operation"]["description"].is_string());
}

#[test]
fn an_empty_or_blank_file_is_an_empty_history_and_valid() {
    let files = [scratch("empty.log", ""), scratch("blank.log", "\n")];
    let output = rafty_check(&["--model", "cas-register", "--json"], &files);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    for line in json_lines(&output) {
        assert_eq!(line["valid"], serde_json::Value::Bool(true), "{line}");
        assert_eq!(line["operations"], 0, "{line}");
    }
}

#[test]
fn a_search_past_the_memory_budget_is_unknown_with_the_reason() {
    let output = rafty_check(
        &["--model", "kv", "--memory-budget", "1"],
        &[shared("kv/c50-ok.txt")],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(text.contains("unknown"), "{text}");
    assert!(
        text.contains("memory budget of 1 MB reached after"),
        "{text}"
    );
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
        text.contains("register-ok.edn: linearizable (cas-register; 6 ops, 0 skipped, 2 partitions; edn as knossos, independent"),
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

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object a line"))
        .collect()
}

#[test]
fn ops_the_model_does_not_have_are_an_error_naming_the_first() {
    // Porcupine's kv file under a cas-register, and etcd's cas ops under a register: before,
    // "linearizable (0 ops, 58 skipped)" and a violation that is not there.
    let files = [shared("kv/c01-ok.txt"), shared("etcd/etcd_002.log")];
    let output = rafty_check(&["--model", "cas-register", "--json"], &files[..1]);
    assert_eq!(output.status.code(), Some(2));
    let lines = json_lines(&output);
    let error = lines[0]["error"].as_str().unwrap();
    assert!(
        error.contains("c01-ok.txt:1: :append is not an operation of the cas-register model"),
        "{error}"
    );
    assert!(error.contains("--skip-unsupported"), "{error}");
    let output = rafty_check(&["--model", "register"], &files[1..]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("etcd_002.log:4: :cas is not an operation of the register model"),
        "{stderr}"
    );
    assert!(!stdout(&output).contains("etcd_002.log: not linearizable"));
}

#[test]
fn skip_unsupported_checks_the_rest_and_the_verdict_says_so() {
    let output = rafty_check(
        &["--model", "cas-register", "--skip-unsupported"],
        &[shared("kv/c01-ok.txt")],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.contains("c01-ok.txt: linearizable, for the ops checked (cas-register; 0 ops"),
        "{text}"
    );
    assert!(
        text.contains("not checked: 58 ops of functions the cas-register model does not have"),
        "{text}"
    );
    let output = rafty_check(
        &["--model", "cas-register", "--skip-unsupported", "--json"],
        &[shared("kv/c01-ok.txt")],
    );
    let lines = json_lines(&output);
    assert_eq!(lines[0]["unsupported"], 58);
    assert_eq!(lines[0]["partial"], serde_json::Value::Bool(true));
}

#[test]
fn the_model_is_inferred_and_printed() {
    let files = [
        shared("etcd/etcd_002.log"),
        shared("kv/c01-ok.txt"),
        vendored("independent/register-ok.edn"),
    ];
    let output = rafty_check(&["--json"], &files);
    assert_eq!(output.status.code(), Some(0));
    let lines = json_lines(&output);
    assert_eq!(lines[0]["model"], "cas-register");
    assert_eq!(lines[0]["model_inferred_from"], ":cas at line 4");
    assert_eq!(lines[0]["partial"], serde_json::Value::Bool(false));
    assert_eq!(lines[1]["model"], "kv");
    assert_eq!(lines[2]["independent"], serde_json::Value::Bool(true));
    assert!(lines[2]["model"].as_str().unwrap().ends_with("register"));
    let output = rafty_check(&[], &files[..1]);
    let text = stdout(&output);
    assert!(
        text.contains("etcd_002.log: linearizable (cas-register, inferred from :cas at line 4;"),
        "{text}"
    );
}

/// The first `bytes` of Porcupine's etcd_000.log, cut mid-line.
fn cut_etcd_log(name: &str, bytes: usize) -> PathBuf {
    let text = std::fs::read_to_string(shared("etcd/etcd_000.log")).unwrap();
    assert_ne!(text.as_bytes()[bytes - 1], b'\n');
    scratch(name, &text[..bytes])
}

#[test]
fn a_log_cut_mid_line_is_an_error_naming_the_line() {
    // `head -c 3000 etcd_000.log`: was "linearizable".
    let cut = cut_etcd_log("etcd-cut.log", 3000);
    let output = rafty_check(&["--json"], &[cut]);
    assert_eq!(output.status.code(), Some(2));
    let lines = json_lines(&output);
    let error = lines[0]["error"].as_str().unwrap();
    assert!(
        error.contains("etcd-cut.log:79: the last line has no newline"),
        "{error}"
    );
}

#[test]
fn skip_unreadable_skips_and_counts_the_lines() {
    let cut = cut_etcd_log("etcd-cut-skip.log", 3000);
    let output = rafty_check(&["--skip-unreadable"], &[cut]);
    let text = stdout(&output);
    assert!(
        text.contains(", for the ops checked (cas-register"),
        "{text}"
    );
    assert!(
        text.contains("not checked: 1 unreadable line (--skip-unreadable, the first"),
        "{text}"
    );
    assert!(
        text.contains("etcd-cut-skip.log:79: the last line"),
        "{text}"
    );
}

#[test]
fn a_line_of_no_logger_in_a_jepsen_log_is_an_error_naming_it() {
    let file = scratch(
        "garbage.log",
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
         garbage here\n\
         INFO  jepsen.util - 0\t:ok\t:read\tnil\n",
    );
    let output = rafty_check(&[], &[file]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("garbage.log:2: neither a jepsen.util op line nor another logger's line"),
        "{stderr}"
    );
}

const RUN_HISTORY: &str = "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":1,\"value\":3}\n\
                           {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":1,\"value\":3}\n";

const RUN_RESULTS: &str =
    "{\n  \"test\": \"t\",\n  \"seed\": 7,\n  \"valid\": true,\n  \"checks\": {}\n}\n";

fn run_folder(name: &str, with_history: bool) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), RUN_RESULTS).unwrap();
    if with_history {
        std::fs::write(dir.join("history.jsonl"), RUN_HISTORY).unwrap();
    }
    dir
}

#[test]
fn a_run_folder_or_its_results_json_checks_the_runs_history_saying_so() {
    let run = run_folder("run-with-history", true);
    let output = rafty_check(&["--json"], &[run.clone(), run.join("results.json")]);
    assert_eq!(output.status.code(), Some(0));
    let lines = json_lines(&output);
    assert_eq!(lines[0]["valid"], serde_json::Value::Bool(true));
    assert_eq!(lines[0]["model"], "kv");
    assert!(
        lines[0]["note"]
            .as_str()
            .unwrap()
            .starts_with("a run folder")
    );
    assert!(
        lines[1]["history"]
            .as_str()
            .unwrap()
            .ends_with("run-with-history/history.jsonl")
    );
    assert!(
        lines[1]["note"]
            .as_str()
            .unwrap()
            .starts_with("a run's results, not a history")
    );
}

#[test]
fn a_results_json_without_a_history_is_refused_naming_it() {
    let run = run_folder("run-without-history", false);
    let output = rafty_check(&[], &[run.join("results.json")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "run-without-history/results.json: a run's results (results.json), not a history"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass the run folder or its history.jsonl"),
        "{stderr}"
    );
}

/// A generated JSON-lines kv history is checked streamed from disk (issue 19): the planted key
/// is reported, the model inferred from the first keyed op, and `--json` carries the time and
/// the memory used; the same file without the violation is linearizable.
#[test]
fn a_json_lines_history_is_streamed_and_the_planted_key_reported() {
    use rafty_checkers::export::write_jsonl;
    use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};
    let shape = KvShape {
        operations: 20_000,
        keys: 50,
        processes: 10,
        ..KvShape::default()
    };
    let mut history = kv_history(&shape);
    let valid = Path::new(env!("CARGO_TARGET_TMPDIR")).join("streamed-valid.jsonl");
    write_jsonl(&history, std::fs::File::create(&valid).unwrap()).unwrap();
    let (_, key) = plant_violation(&mut history).expect("a read to plant in");
    let planted = Path::new(env!("CARGO_TARGET_TMPDIR")).join("streamed-planted.jsonl");
    write_jsonl(&history, std::fs::File::create(&planted).unwrap()).unwrap();
    let output = rafty_check(&["--json"], &[valid, planted]);
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output);
    assert_eq!(lines[0]["valid"], serde_json::json!(true), "{}", lines[0]);
    assert_eq!(lines[0]["partitions"], serde_json::json!(50));
    assert_eq!(lines[0]["model"], serde_json::json!("kv"));
    assert!(
        lines[0]["model_inferred_from"]
            .as_str()
            .unwrap()
            .ends_with("with a key at line 1"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["valid"], serde_json::json!(false), "{}", lines[1]);
    assert_eq!(
        lines[1]["counterexample"]["partition"],
        serde_json::to_value(&key).unwrap()
    );
    for line in &lines {
        assert!(line["millis"].as_f64().is_some(), "{line}");
        assert!(line["peak_memory_kib"].as_u64().is_some(), "{line}");
    }
}

/// A `jepsen.independent` cas-register history as Jepsen writes `history.edn` (one op map a
/// line), of at least `bytes`: sequential writes and reads on 100 keys, with, when `plant`,
/// a last read of key 5 returning a value never written.
fn large_independent_edn(bytes: usize, plant: bool) -> PathBuf {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes + 4096);
    let mut index = 0;
    let mut op = |text: &mut String, process: usize, kind: &str, f: &str, value: String| {
        let _ = writeln!(
            text,
            "{{:process {process}, :type :{kind}, :f :{f}, :value {value}, :time {index}, \
             :index {index}}}"
        );
        index += 1;
    };
    op(&mut text, 0, "invoke", "cas", "[0 [1 2]]".to_owned());
    op(&mut text, 0, "fail", "cas", "[0 [1 2]]".to_owned());
    let mut i = 0;
    while text.len() < bytes {
        let (process, key) = (i % 10, i % 100);
        op(
            &mut text,
            process,
            "invoke",
            "write",
            format!("[{key} {i}]"),
        );
        op(&mut text, process, "ok", "write", format!("[{key} {i}]"));
        op(&mut text, process, "invoke", "read", format!("[{key} nil]"));
        op(&mut text, process, "ok", "read", format!("[{key} {i}]"));
        i += 1;
    }
    if plant {
        op(&mut text, 3, "invoke", "read", "[5 nil]".to_owned());
        op(&mut text, 3, "ok", "read", "[5 -1]".to_owned());
    }
    let name = format!("large-independent-{plant}.edn");
    scratch(&name, &text)
}

#[test]
fn a_large_edn_history_is_streamed_from_disk_with_the_same_verdict() {
    // Issue 19: large files are checked without holding their text. Over 32 MiB an EDN file
    // is streamed; its model and independence are decided on its first mebibyte.
    let valid = large_independent_edn(33 << 20, false);
    let planted = large_independent_edn(33 << 20, true);
    let small = vendored("independent/cas-register-bad.edn");
    let output = rafty_check(&["--json"], &[valid, planted, small]);
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output);
    for line in &lines[..2] {
        assert_eq!(line["streamed"], true, "{line}");
        assert_eq!(line["independent"], true, "{line}");
        assert_eq!(line["model"], "cas-register", "{line}");
        assert_eq!(line["format"], "edn", "{line}");
        assert_eq!(
            line["partitions"].as_u64().map(|p| p > 0),
            Some(true),
            "{line}"
        );
    }
    assert_eq!(lines[0]["valid"], true, "{}", lines[0]);
    assert_eq!(lines[0]["partitions"], 100, "{}", lines[0]);
    assert_eq!(lines[1]["valid"], false, "{}", lines[1]);
    assert_eq!(lines[1]["counterexample"]["partition"], 5, "{}", lines[1]);
    // A small file is read whole, as before.
    assert_eq!(lines[2]["streamed"], false, "{}", lines[2]);
    assert_eq!(lines[2]["valid"], false, "{}", lines[2]);
}

/// `rafty-check` is `rafty check` in a small binary: the same output and exit code.
#[test]
fn rafty_check_binary_answers_as_rafty_check_does() {
    let files = [shared("etcd/etcd_002.log"), shared("etcd/etcd_000.log")];
    let whole = rafty_check(&["--model", "cas-register", "--json"], &files);
    let small = Command::new(env!("CARGO_BIN_EXE_rafty-check"))
        .args(["--model", "cas-register", "--json"])
        .args(&files)
        .output()
        .expect("rafty-check runs");
    assert_eq!(small.status.code(), Some(1));
    assert_eq!(small.status.code(), whole.status.code());
    let verdicts = |output: &Output| -> Vec<(String, serde_json::Value)> {
        stdout(output)
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
                (
                    value["file"].as_str().unwrap().to_string(),
                    value["valid"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&small), verdicts(&whole));
    assert_eq!(verdicts(&small).len(), 2);
}
