//! The streaming check ([`rafty_checkers::stream`]) against the in-memory one: on every
//! vendored Porcupine history, written as JSON lines, the same result (verdict, key,
//! counterexample, steps) when the file is one bucket, and the same verdict when its keys are
//! spread over many; bad input refused naming the same line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rafty_checkers::export::write_jsonl;
use rafty_checkers::import::{self, ReadOptions};
use rafty_checkers::stream::{NoProgress, StreamOptions};
use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};
use rafty_checkers::{CheckOptions, Convention, History, ModelKind, Verdict};

fn porcupine_files() -> Vec<(PathBuf, ModelKind)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine");
    let mut files = Vec::new();
    for (folder, model) in [("kv", ModelKind::Kv), ("etcd", ModelKind::CasRegister)] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
            .expect("vendored histories")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("txt" | "log")
                )
            })
            .collect();
        entries.sort();
        files.extend(entries.into_iter().map(|path| (path, model)));
    }
    files
}

fn write(history: &History, path: &Path) {
    write_jsonl(history, std::fs::File::create(path).expect("scratch")).expect("written");
}

fn stream(
    model: ModelKind,
    convention: Convention,
    path: &Path,
    buckets: Option<usize>,
) -> rafty_checkers::CheckResult {
    let stream = StreamOptions {
        read: ReadOptions::default(),
        buckets,
        ..StreamOptions::default()
    };
    model
        .check_file(
            convention,
            path,
            &CheckOptions::default(),
            &stream,
            &NoProgress,
        )
        .expect("checkable")
        .result
}

#[test]
fn one_bucket_gives_the_in_memory_result_on_every_porcupine_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = porcupine_files();
    assert!(files.len() > 100, "{} files", files.len());
    for (file, model) in files {
        let imported = import::read_file(&file, None).expect("readable");
        let convention = imported.format.default_convention();
        let expected = model
            .check(convention, &imported.history, &CheckOptions::default())
            .expect("checkable");
        let path = dir.path().join("history.jsonl");
        write(&imported.history, &path);
        let streamed = stream(model, convention, &path, None);
        let name = file.display();
        assert_eq!(streamed.valid, expected.valid, "{name}");
        assert_eq!(streamed.steps, expected.steps, "{name}");
        assert_eq!(streamed.operations, expected.operations, "{name}");
        assert_eq!(streamed.skipped, expected.skipped, "{name}");
        // Lines differ (the JSON file has one op a line), the rest is the same.
        let strip = |result: &rafty_checkers::CheckResult| {
            result.counterexample.as_ref().map(|c| {
                (
                    c.partition.clone(),
                    c.operation.description.clone(),
                    c.operation.invoke_position,
                    c.state.clone(),
                    c.linearized.len(),
                    c.concurrent.len(),
                )
            })
        };
        assert_eq!(strip(&streamed), strip(&expected), "{name}");
        // Spread over buckets, the verdict stays.
        let spread = stream(model, convention, &path, Some(7));
        assert_eq!(spread.valid, expected.valid, "{name}, 7 buckets");
    }
}

#[test]
fn many_buckets_give_the_same_verdict_and_a_planted_key() {
    let shape = KvShape {
        operations: 50_000,
        keys: 200,
        processes: 16,
        ..KvShape::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.jsonl");
    let mut history = kv_history(&shape);
    write(&history, &path);
    for buckets in [1, 3, 64] {
        let result = stream(ModelKind::Kv, Convention::Native, &path, Some(buckets));
        assert_eq!(result.valid, Verdict::Linearizable, "{buckets} buckets");
        assert_eq!(result.partitions, 200, "{buckets} buckets");
    }
    let (_, key) = plant_violation(&mut history).expect("a read to plant in");
    write(&history, &path);
    for buckets in [1, 3, 64] {
        let first = stream(ModelKind::Kv, Convention::Native, &path, Some(buckets));
        assert_eq!(first.valid, Verdict::NotLinearizable, "{buckets} buckets");
        let reported = first
            .counterexample
            .as_ref()
            .and_then(|c| c.partition.clone());
        assert_eq!(reported, Some(key.clone()), "{buckets} buckets");
        // The same every run.
        let again = stream(ModelKind::Kv, Convention::Native, &path, Some(buckets));
        assert_eq!(again, first, "{buckets} buckets");
    }
}

fn lines_error(text: &str, model: ModelKind, skip_unsupported: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(&path, text).unwrap();
    let options = CheckOptions {
        skip_unsupported,
        ..CheckOptions::default()
    };
    let error = model
        .check_file(
            Convention::Native,
            &path,
            &options,
            &StreamOptions::default(),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    error.replace(&path.display().to_string(), "h.jsonl")
}

const READ: &str = r#"{"index":0,"process":0,"type":"invoke","f":"read","key":1}"#;

#[test]
fn bad_input_is_refused_naming_its_line() {
    let twice = format!("{READ}\n{READ}\n");
    assert_eq!(
        lines_error(&twice, ModelKind::Kv, false),
        "h.jsonl:2: process 0 invokes :read while its invocation at line 1 has not completed"
    );
    let orphan = r#"{"index":0,"process":3,"type":"ok","f":"read","key":1,"value":1}"#;
    assert_eq!(
        lines_error(&format!("\n{orphan}\n"), ModelKind::Kv, false),
        "h.jsonl:2: process 3 completes :read (ok) without an open invocation"
    );
    let garbage = format!("{READ}\nnot json\n");
    assert!(
        lines_error(&garbage, ModelKind::Kv, false).starts_with("h.jsonl:2: invalid op:"),
        "{}",
        lines_error(&garbage, ModelKind::Kv, false)
    );
    let bad_cas = r#"{"index":0,"process":0,"type":"invoke","f":"cas","key":1,"value":5}"#;
    assert_eq!(
        lines_error(
            &format!("{READ}\n{bad_cas}\n").replacen("\"process\":0", "\"process\":9", 1),
            ModelKind::Kv,
            false
        ),
        "h.jsonl:2: :cas value must be [expected new], found 5"
    );
    let txn = r#"{"index":0,"process":0,"type":"invoke","f":"txn","key":1}"#;
    let error = lines_error(&format!("{txn}\n"), ModelKind::Kv, false);
    assert!(
        error.starts_with("h.jsonl:1: :txn is not an operation of the kv model"),
        "{error}"
    );
}

#[test]
fn a_long_single_key_history_is_bounded_by_the_memory_budget() {
    let shape = KvShape {
        operations: 20_000,
        keys: 1,
        processes: 16,
        ..KvShape::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-key.jsonl");
    write(&kv_history(&shape), &path);
    let options = CheckOptions {
        memory_budget: Some(1 << 20),
        time_limit: Some(Duration::from_secs(600)),
        ..CheckOptions::default()
    };
    let result = ModelKind::Kv
        .check_file(
            Convention::Native,
            &path,
            &options,
            &StreamOptions::default(),
            &NoProgress,
        )
        .expect("checkable")
        .result;
    assert_eq!(result.valid, Verdict::Unknown);
    let reason = result.reason.expect("a reason");
    // The one key holds every operation checked (15,951 of the 20,000: failed ones are not).
    assert_eq!(result.operations, 15_951);
    assert!(
        reason.starts_with("key 0: 15,951 operations, memory budget of 1 MB reached after "),
        "{reason}"
    );
}

#[test]
fn keys_that_do_not_fit_the_budget_together_are_checked_one_after_another() {
    // Four keys of about 4,000 checked operations: each is reserved 2.5 MB (640 bytes a call)
    // and its search holds about 1.5 MB, so a 3 MB budget admits one at a time; the four at
    // once pass it (unknown, "key 2: 4,045 operations, memory budget of 3 MB reached").
    let shape = KvShape {
        operations: 20_000,
        keys: 4,
        processes: 16,
        ..KvShape::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("four-keys.jsonl");
    write(&kv_history(&shape), &path);
    let check = |memory_budget| {
        let options = CheckOptions {
            memory_budget,
            time_limit: Some(Duration::from_secs(600)),
            ..CheckOptions::default()
        };
        ModelKind::Kv
            .check_file(
                Convention::Native,
                &path,
                &options,
                &StreamOptions::default(),
                &NoProgress,
            )
            .expect("checkable")
            .result
    };
    let unbounded = check(None);
    let budgeted = check(Some(3 << 20));
    assert_eq!(unbounded.valid, Verdict::Linearizable);
    assert_eq!(
        budgeted, unbounded,
        "the same verdict and steps, one key at a time"
    );
}
