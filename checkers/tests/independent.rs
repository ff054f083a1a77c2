//! `jepsen.independent` histories (`[key value]` tuples) are checked one register per key.

use std::path::{Path, PathBuf};

use rafty_checkers::import::{self, Format};
use rafty_checkers::{CheckOptions, CheckResult, Independent, ModelKind, Value, Verdict};

fn history(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories")
        .join(relative)
}

/// Reads, detects and unwraps `relative`, then checks it per key under the format's
/// convention.
fn check(relative: &str, model: ModelKind) -> Result<CheckResult, String> {
    let imported = import::read_file(&history(relative), None).map_err(|e| e.to_string())?;
    let (unwrapped, independent) = Independent::Auto
        .apply(imported.history)
        .map_err(|e| e.to_string())?;
    assert!(independent, "{relative}: detected as independent");
    model
        .check_per_key(
            imported.format.default_convention(),
            &unwrapped,
            &CheckOptions::default(),
        )
        .map_err(|e| e.to_string())
}

#[test]
fn a_linearizable_register_per_key() {
    let result = check("independent/register-ok.edn", ModelKind::Register).unwrap();
    assert_eq!(result.valid, Verdict::Linearizable);
    assert_eq!(result.partitions, 2);
}

#[test]
fn string_keys_in_edn_lines() {
    let result = check("independent/register-strings-ok.txt", ModelKind::Register).unwrap();
    assert_eq!(result.valid, Verdict::Linearizable);
    assert_eq!(result.partitions, 2);
}

#[test]
fn a_non_linearizable_key_is_caught_and_named() {
    let result = check("independent/cas-register-bad.edn", ModelKind::CasRegister).unwrap();
    assert_eq!(result.valid, Verdict::NotLinearizable);
    let counterexample = result.counterexample.expect("a counterexample");
    assert_eq!(counterexample.partition, Some(Value::Keyword("y".into())));
    assert_eq!(
        counterexample.operation.key,
        Some(Value::Keyword("y".into()))
    );
    assert_eq!(counterexample.operation.description, "read -> 3");
    assert_eq!(counterexample.operation.line, 7);
}

#[test]
fn the_same_history_read_as_one_register_would_pass() {
    // Why keys matter: ignoring them, the read of 3 follows the cas on :x.
    let imported = import::read_file(&history("independent/cas-register-bad.edn"), None).unwrap();
    let (unwrapped, _) = Independent::Auto.apply(imported.history).unwrap();
    let result = ModelKind::CasRegister
        .check(
            imported.format.default_convention(),
            &unwrapped,
            &CheckOptions::default(),
        )
        .unwrap();
    assert_eq!(result.valid, Verdict::Linearizable);
}

#[test]
fn a_plain_value_among_tuples_names_file_and_line() {
    let error = check("independent/mixed.edn", ModelKind::Register).unwrap_err();
    assert!(
        error.ends_with(
            "mixed.edn:3: :write invoke: an independent op's value must be a [key value] \
             tuple, found 4"
        ),
        "{error}"
    );
}

#[test]
fn merged_etcd_histories_get_their_expected_verdicts() {
    let folder = history("porcupine-independent");
    let table = std::fs::read_to_string(folder.join("expected.tsv")).unwrap();
    for line in table.lines().skip(1).filter(|line| !line.is_empty()) {
        let (file, expected) = line.split_once('\t').unwrap();
        let relative = format!("porcupine-independent/{file}");
        let imported = import::read_file(&history(&relative), None).unwrap();
        assert_eq!(imported.format, Format::JepsenLog);
        let result = check(&relative, ModelKind::CasRegister).unwrap();
        assert_eq!(result.partitions, 2, "{file}");
        match expected {
            "linearizable" => assert_eq!(result.valid, Verdict::Linearizable, "{file}"),
            "not-linearizable" => {
                assert_eq!(result.valid, Verdict::NotLinearizable, "{file}");
                let counterexample = result.counterexample.unwrap();
                assert_eq!(counterexample.partition, Some(Value::Int(1)), "{file}");
            }
            other => panic!("unknown verdict {other}"),
        }
    }
}
