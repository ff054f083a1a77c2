//! A smoke test only: nothing here is timed or asserts on speed.

use std::path::PathBuf;
use std::time::Duration;

use super::options::{InProcessLog, SnapshotPolicy, parse_clients};
use super::{BenchOptions, Mode, run};

fn tiny_options() -> BenchOptions {
    BenchOptions {
        reads: None,
        mode: Mode::InProcess,
        clients: vec![1],
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(200),
        rounds: 1,
        payload_bytes: 0,
        data_dir: PathBuf::from("."),
        memory_log: false,
        log: InProcessLog::Memory,
        json: true,
        snapshots: true,
        catch_up: None,
        snapshot_policy: None,
        lifo_slot: true,
        node_workers: 0,
    }
}

#[test]
fn an_in_process_run_commits_and_reports_json() {
    let report = run(&tiny_options()).expect("the benchmark runs");
    assert_eq!(report.results.len(), 1);
    assert!(report.results[0].rounds[0].ops > 0, "{report:?}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert_eq!(json["mode"], "in-process");
    let result = &json["results"][0];
    assert_eq!(result["clients"], 1);
    for field in ["min", "median", "max"] {
        assert!(result["ops_per_sec"][field].is_number(), "{result}");
    }
    for field in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(result["latency"][field].is_number(), "{result}");
        assert!(result["commit_latency"][field].is_number(), "{result}");
    }
    // The leader timed the commit of the entries proposed in the window.
    assert!(
        result["commit_latency"]["count"].as_u64() > Some(0),
        "{result}"
    );
    assert!(report.to_table().contains("commit latency"));
    assert!(report.to_table().contains("clients"));
}

/// Reads that skip the log (ReadIndex here) append nothing: the report shows no commit or
/// append latency for them (rows of zero entries) and no ratio to an fsync they never pay,
/// while log reads, which are commands, keep theirs.
#[test]
fn reads_that_skip_the_log_report_no_commit_latency() {
    let mut options = tiny_options();
    options.reads = Some(rafty::ReadConsistency::Linearizable);
    let report = run(&options).expect("the benchmark runs");
    assert!(report.results[0].rounds[0].ops > 0, "{report:?}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert!(json["results"][0]["commit_latency"].is_null(), "{json}");
    assert!(json["results"][0]["rounds"][0]["commit_latency"].is_null());
    assert!(json["commit_p50_over_bound_at_1_client"].is_null());
    assert!(!report.to_table().contains("commit latency"));

    options.reads = Some(rafty::ReadConsistency::Log);
    let report = run(&options).expect("the benchmark runs");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert!(
        json["results"][0]["commit_latency"]["count"].as_u64() > Some(0),
        "{json}"
    );
    assert!(report.to_table().contains("commit latency"));
}

#[test]
fn bad_options_name_the_flag() {
    let mut options = tiny_options();
    options.rounds = 0;
    assert!(run(&options).unwrap_err().to_string().contains("--rounds"));
    let mut options = tiny_options();
    options.duration = Duration::ZERO;
    assert!(
        run(&options)
            .unwrap_err()
            .to_string()
            .contains("--duration")
    );
    let mut options = tiny_options();
    options.catch_up = Some(0);
    assert!(
        options
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--catch-up")
    );
    options.catch_up = Some(10);
    options.mode = Mode::Real;
    let error = options.validate().unwrap_err().to_string();
    assert!(
        error.contains("--catch-up") && error.contains("--mode real"),
        "{error}"
    );
    let mut options = tiny_options();
    options.snapshot_policy = Some(SnapshotPolicy {
        every_entries: 0,
        keep_entries: 10,
    });
    let error = options.validate().unwrap_err().to_string();
    assert!(error.contains("--snapshot-every"), "{error}");
    options.snapshot_policy = Some(SnapshotPolicy {
        every_entries: 5000,
        keep_entries: 1000,
    });
    options.snapshots = false;
    let error = options.validate().unwrap_err().to_string();
    assert!(error.contains("--snapshots off"), "{error}");
    let error = parse_clients("1,x,4").unwrap_err();
    assert!(error.contains("'x'"), "{error}");
    assert!(parse_clients("0").is_err());
    assert_eq!(parse_clients("1, 16,64").unwrap(), vec![1, 16, 64]);
}

/// `--log file`: the in-process nodes keep FileLogs under `--data-dir`; a write still
/// commits (and is applied: `run_round`'s own check), and the report says which log ran.
#[test]
fn an_in_process_run_on_file_logs_commits_and_says_so() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut options = tiny_options();
    options.log = InProcessLog::File;
    options.data_dir = dir.path().to_path_buf();
    let report = run(&options).expect("the benchmark runs on file logs");
    assert!(report.results[0].rounds[0].ops > 0, "{report:?}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert_eq!(json["log"], "file");
    assert!(
        report.to_table().contains("file logs"),
        "{}",
        report.to_table()
    );
    // The round's nodes left nothing behind in the data directory.
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(left, 0, "the nodes' temporary directory was removed");
}

#[test]
fn log_file_is_refused_outside_in_process_rounds_with_the_flag_named() {
    let mut options = tiny_options();
    options.log = InProcessLog::File;
    options.mode = Mode::Real;
    let error = options.validate().unwrap_err().to_string();
    assert!(error.contains("--log file"), "{error}");
    let mut options = tiny_options();
    options.log = InProcessLog::File;
    options.data_dir = PathBuf::from("/nonexistent/rafty-bench");
    let error = options.validate().unwrap_err().to_string();
    assert!(error.contains("--data-dir"), "{error}");
    assert_eq!(
        super::options::parse_log("disk").unwrap_err(),
        "unknown log 'disk' (use memory or file)"
    );
}
