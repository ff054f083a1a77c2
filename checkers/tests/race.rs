//! The partitions of a history race: the first proved illegal ends the check, without the
//! others finished, and the partition and counterexample reported are the same every run,
//! whatever the number of threads.

use std::path::Path;

use rafty_checkers::import::{self, Format};
use rafty_checkers::{CheckOptions, CheckResult, Convention, History, ModelKind, Value, Verdict};

fn c50(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/porcupine/kv")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn check(text: &str) -> CheckResult {
    let history: History =
        import::parse_str("history.txt", text, Format::EdnLines).expect("readable history");
    ModelKind::Kv
        .check(Convention::Porcupine, &history, &CheckOptions::default())
        .expect("checkable history")
}

/// Porcupine's 50-client history (ten legal keys, each 100,000 steps or so) and a key of its
/// own whose read returns a value never written.
fn legal_keys_and_one_illegal_key() -> (String, String) {
    let legal = c50("c50-ok.txt");
    let illegal = "\
{:process 100, :type :invoke, :f :put, :key \"bad\", :value \"x\"}
{:process 100, :type :ok, :f :put, :key \"bad\", :value \"x\"}
{:process 100, :type :invoke, :f :get, :key \"bad\", :value nil}
{:process 100, :type :ok, :f :get, :key \"bad\", :value \"y\"}
";
    (legal.clone(), legal + illegal)
}

#[test]
fn an_illegal_key_is_reported_without_finishing_the_expensive_legal_ones() {
    let (legal, with_illegal) = legal_keys_and_one_illegal_key();
    let legal = check(&legal);
    assert_eq!(legal.valid, Verdict::Linearizable);
    assert_eq!(legal.partitions, 10);

    let result = check(&with_illegal);
    assert_eq!(result.valid, Verdict::NotLinearizable);
    let counterexample = result.counterexample.expect("a counterexample");
    assert_eq!(counterexample.partition, Some(Value::from("bad")));
    assert_eq!(counterexample.operation.description, "read -> \"y\"");
    // The legal keys took one round's slice each, not the search to the end: a tenth of
    // their steps would be one key's worth.
    eprintln!(
        "legal keys alone: {} steps; with the illegal key: {} steps",
        legal.steps, result.steps
    );
    assert!(
        result.steps * 10 < legal.steps,
        "{} steps with the illegal key, {} for the legal keys alone",
        result.steps,
        legal.steps
    );
}

#[test]
fn the_counterexample_is_the_same_whatever_the_threads() {
    // Every key of c50-bad is illegal, at costs from 11,619 steps to over 100 million alone.
    let text = c50("c50-bad.txt");
    let mut results = Vec::new();
    for threads in [1, 2, 3, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        for _ in 0..2 {
            results.push((threads, pool.install(|| check(&text))));
        }
    }
    let (_, first) = &results[0];
    assert_eq!(first.valid, Verdict::NotLinearizable);
    let counterexample = first.counterexample.as_ref().expect("a counterexample");
    // The cheapest to prove, not the first found by a thread.
    assert_eq!(counterexample.partition, Some(Value::from("3")));
    for (threads, result) in &results {
        assert_eq!(result, first, "with {threads} threads");
    }
}

#[test]
fn a_memory_budget_gives_unknown_naming_the_key_the_same_whatever_the_threads() {
    let text = c50("c50-ok.txt");
    let history = import::parse_str("c50-ok.txt", &text, Format::EdnLines).expect("readable");
    let options = CheckOptions {
        memory_budget: Some(1 << 20),
        ..CheckOptions::default()
    };
    let mut results = Vec::new();
    for threads in [1, 2, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let result = pool.install(|| {
            ModelKind::Kv
                .check(Convention::Porcupine, &history, &options)
                .expect("checkable history")
        });
        results.push(result);
    }
    let first = &results[0];
    assert_eq!(first.valid, Verdict::Unknown);
    let reason = first.reason.as_deref().expect("a reason");
    assert!(reason.starts_with("key "), "{reason}");
    assert!(
        reason.contains(" operations, memory budget of 1 MB reached after "),
        "{reason}"
    );
    for result in &results {
        assert_eq!(result, first);
    }
}
