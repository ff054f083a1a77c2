//! Every shared reference history gets the verdict its `expected.tsv` gives.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rafty_checkers::import::{self, Format};
use rafty_checkers::{CheckOptions, ModelKind, Verdict};

fn histories() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine")
}

fn expected(folder: &Path) -> Vec<(String, Verdict)> {
    let table = std::fs::read_to_string(folder.join("expected.tsv")).expect("expected.tsv");
    table
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (file, verdict) = line.split_once('\t').expect("two columns");
            let verdict = match verdict.trim() {
                "linearizable" => Verdict::Linearizable,
                "not-linearizable" => Verdict::NotLinearizable,
                other => panic!("unknown verdict {other}"),
            };
            (file.to_owned(), verdict)
        })
        .collect()
}

fn check_folder(folder: &str, model: ModelKind, format: Format) {
    let folder = histories().join(folder);
    let cases = expected(&folder);
    assert!(!cases.is_empty());
    for (file, verdict) in cases {
        let path = folder.join(&file);
        let imported = import::read_file(&path, None).expect("readable history");
        if !imported.history.is_empty() {
            // An empty file (Porcupine's etcd_095) is an empty history in any format.
            assert_eq!(imported.format, format, "{file}: detected format");
        }
        let started = Instant::now();
        let result = model
            .check(
                format.default_convention(),
                &imported.history,
                &CheckOptions::default(),
            )
            .expect("checkable history");
        eprintln!(
            "{file}: {} in {:?}",
            result.valid.describe(),
            started.elapsed()
        );
        assert_eq!(result.valid, verdict, "{file}");
        if verdict == Verdict::NotLinearizable {
            assert!(result.counterexample.is_some(), "{file}: counterexample");
        }
    }
}

#[test]
fn etcd_histories_get_their_expected_verdicts() {
    check_folder("etcd", ModelKind::CasRegister, Format::JepsenLog);
}

#[test]
fn kv_histories_get_their_expected_verdicts() {
    check_folder("kv", ModelKind::Kv, Format::EdnLines);
}
