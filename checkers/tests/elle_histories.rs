//! The transactional checker on hand-built histories, one per anomaly class and a valid
//! near miss for each (`histories/elle/expected.tsv`), and on Elle's own published
//! histories with their published verdicts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rafty_checkers::elle::{self, ConsistencyModel, ElleOptions, ElleResult, TxnModel};
use rafty_checkers::import::{self, Format};

fn data(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories")
        .join(folder)
}

fn check_file(path: &Path, model: TxnModel) -> ElleResult {
    let imported = import::read_file(path, None).unwrap();
    elle::check(model, &imported.history, &ElleOptions::default()).unwrap()
}

fn types(result: &ElleResult) -> BTreeSet<String> {
    result
        .anomaly_types
        .iter()
        .map(|kind| kind.name().to_owned())
        .collect()
}

#[test]
fn every_hand_built_history_has_its_expected_anomalies_and_verdict() {
    let folder = data("elle");
    let expected = std::fs::read_to_string(folder.join("expected.tsv")).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in expected.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, model, anomalies, verdict, what] = fields[..] else {
            panic!("expected.tsv: a line of five fields, not {line:?}");
        };
        let model: TxnModel = model.parse().unwrap();
        let result = check_file(&folder.join(file), model);
        let want: BTreeSet<String> = anomalies
            .split(',')
            .filter(|name| *name != "-")
            .map(str::to_owned)
            .collect();
        let valid = verdict == "valid";
        if types(&result) != want || result.valid != valid {
            failures.push(format!(
                "{file} ({what}): expected {want:?} and {verdict}, got {:?} and {}\n{}",
                types(&result),
                result.describe(),
                result
                    .anomalies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<String>()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 38, "only {checked} histories checked");
}

#[test]
fn a_write_skew_is_explained_edge_by_edge() {
    let result = check_file(&data("elle").join("g2-item.jsonl"), TxnModel::ListAppend);
    let anomaly = &result.anomalies[0];
    assert_eq!(anomaly.cycle.len(), 2);
    for step in &anomaly.cycle {
        assert_eq!(step.kind.name(), "rw");
        assert!(
            step.why.contains("without 1") && step.why.contains("appended 1"),
            "{}",
            step.why
        );
    }
    assert_eq!(
        result.describe(),
        "not strict-serializable: G2-item (ruling out repeatable-read, serializable, \
         strict-serializable)"
    );
}

#[test]
fn a_stale_read_is_serializable_but_not_strict_serializable() {
    let path = data("elle").join("g-single-realtime.jsonl");
    let imported = import::read_file(&path, None).unwrap();
    let serializable = ElleOptions {
        target: ConsistencyModel::Serializable,
        ..ElleOptions::default()
    };
    let result = elle::check(TxnModel::ListAppend, &imported.history, &serializable).unwrap();
    assert!(result.valid, "{}", result.describe());
    assert_eq!(result.not, vec![ConsistencyModel::StrictSerializable]);
    let why = &result.anomalies[0].cycle;
    assert!(
        why.iter()
            .any(|step| step.why.contains("completed (line 2) before"))
    );
}

/// Elle's `intermediate-sequential-extension-test`: this history has a G2-item and nothing
/// worse, so it rules out repeatable read but not snapshot isolation.
#[test]
fn elle_si_without_g_single_is_g2_item_only() {
    let result = check_file(
        &data("elle-published").join("si-without-g-single.edn"),
        TxnModel::ListAppend,
    );
    assert_eq!(types(&result), BTreeSet::from(["G2-item".to_owned()]));
    assert!(result.not.contains(&ConsistencyModel::RepeatableRead));
    assert!(!result.not.contains(&ConsistencyModel::SnapshotIsolation));
}

/// Elle's `huge-scc-test`: one enormous strongly connected component; Elle reports it as
/// not strong-snapshot-isolation (so not strict serializable) through a G2-item-realtime
/// cycle, and rules out no weaker model.
#[test]
fn elle_huge_scc_is_not_strict_serializable() {
    let result = check_file(
        &data("elle-published").join("huge-scc.edn"),
        TxnModel::ListAppend,
    );
    assert!(!result.valid, "{}", result.describe());
    assert_eq!(
        result.not,
        vec![ConsistencyModel::StrictSerializable],
        "{}",
        result.describe()
    );
    assert!(result.cyclic_components >= 1);
}

#[test]
fn bad_micro_operations_are_errors_naming_the_line() {
    let text = "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1]]}\n\
                {\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"push\",\"x\",1]]}\n";
    let history = import::parse_str("bad.jsonl", text, Format::Jsonl).unwrap();
    let error = elle::check(TxnModel::ListAppend, &history, &ElleOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "bad.jsonl:2: micro-operation 1 ([\"push\" \"x\" 1]): unknown function \"push\"; \
         expected :append or :r (list-append)"
    );
    let twice = "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1],[\"append\",\"x\",1]]}\n";
    let history = import::parse_str("twice.jsonl", twice, Format::Jsonl).unwrap();
    let error = elle::check(TxnModel::ListAppend, &history, &ElleOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("twice.jsonl:1: 1 is appended to key \"x\" twice"),
        "{error}"
    );
}
