//! EDN histories streamed ([`rafty_checkers::stream`] with an EDN format): the same result as
//! reading the file whole, on vendored files and on a large generated history dressed in every
//! shape Jepsen's EDN takes between forms (comments, `#_` discards, tags on their own line,
//! character literals and strings holding brackets), cut into many batches and pieces; and
//! malformed files refused naming the same line as the whole read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rafty_checkers::export::op_to_edn;
use rafty_checkers::import::{self, Format, ReadOptions};
use rafty_checkers::stream::{NoProgress, StreamOptions};
use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};
use rafty_checkers::{
    CheckOptions, CheckResult, Convention, History, HistoryError, Independent, ModelKind, Verdict,
};

fn vendored(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories")
        .join(relative)
}

fn stream(
    model: ModelKind,
    path: &Path,
    format: Format,
    independent: bool,
) -> Result<CheckResult, HistoryError> {
    let options = StreamOptions {
        read: ReadOptions::default(),
        format,
        independent,
        ..StreamOptions::default()
    };
    model
        .check_file(
            format.default_convention(),
            path,
            &CheckOptions::default(),
            &options,
            &NoProgress,
        )
        .map(|streamed| streamed.result)
}

/// The whole read's result: the file read, unwrapped when independent, and checked.
fn whole(model: ModelKind, path: &Path) -> (CheckResult, Format, bool) {
    let imported = import::read_file(path, None).expect("readable");
    let format = imported.format;
    let (history, independent) = Independent::Auto.apply(imported.history).expect("unwraps");
    let options = CheckOptions::default();
    let convention = format.default_convention();
    let result = if independent {
        model.check_per_key(convention, &history, &options)
    } else {
        model.check(convention, &history, &options)
    }
    .expect("checkable");
    (result, format, independent)
}

fn assert_same(streamed: &CheckResult, expected: &CheckResult, name: &str) {
    assert_eq!(streamed.valid, expected.valid, "{name}");
    assert_eq!(streamed.operations, expected.operations, "{name}");
    assert_eq!(streamed.skipped, expected.skipped, "{name}");
    // An illegal history stops at the first key proved illegal: the partitions drawn by
    // then depend on how the keys were laid out.
    if expected.valid == Verdict::Linearizable {
        assert_eq!(streamed.partitions, expected.partitions, "{name}");
    }
}

#[test]
fn vendored_edn_files_stream_to_the_whole_reads_result() {
    let mut files = vec![
        ("independent/register-ok.edn", ModelKind::Register),
        ("independent/cas-register-bad.edn", ModelKind::CasRegister),
        ("independent/register-strings-ok.txt", ModelKind::Register),
    ];
    let kv: Vec<String> = std::fs::read_dir(vendored("porcupine/kv"))
        .expect("vendored kv histories")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .map(|path| {
            format!(
                "porcupine/kv/{}",
                path.file_name().unwrap().to_str().unwrap()
            )
        })
        .collect();
    assert!(kv.len() >= 4, "{kv:?}");
    files.extend(kv.iter().map(|name| (name.as_str(), ModelKind::Kv)));
    let mut invalid = 0;
    for (name, model) in files {
        let path = vendored(name);
        let (expected, format, independent) = whole(model, &path);
        assert_ne!(format, Format::Jsonl, "{name}");
        let streamed = stream(model, &path, format, independent).expect("streams");
        assert_same(&streamed, &expected, name);
        // One bucket: the same search, step for step.
        assert_eq!(streamed.steps, expected.steps, "{name}");
        invalid += usize::from(expected.valid == Verdict::NotLinearizable);
    }
    assert!(
        invalid >= 2,
        "the files include illegal histories: {invalid}"
    );
}

/// `history` as an EDN vector over many lines, with something between forms every few ops.
fn dressed_edn(history: &History) -> String {
    let mut out = String::from("; a Jepsen history\n[\n");
    for (i, op) in history.ops.iter().enumerate() {
        let map = op_to_edn(op);
        match i % 7 {
            0 if i % 97 == 0 => {
                let _ = writeln!(out, "; a comment with ] and }} and \" in it\n{map}");
            }
            1 if i % 101 == 1 => {
                let _ = writeln!(out, "#_ {{:junk \"]\"}}\n{map}");
            }
            // A discard on its own line, its form on the next: a newline cut falls between.
            2 if i % 103 == 2 => {
                let _ = writeln!(out, "#_\n{{:junk [1 2 \\]]}}\n{map}");
            }
            // A tagged literal, its tag on its own line.
            3 if i % 107 == 3 => {
                let _ = writeln!(out, "#jepsen.history.Op\n{map}");
            }
            // Extra fields: a character literal and a string holding brackets.
            4 => {
                let trimmed = map.trim_end_matches('}');
                let _ = writeln!(out, "{trimmed}, :note \\], :text \"a ] \\\" ( b\"}}");
            }
            // Two on a line.
            5 => {
                let _ = write!(out, "{map} ");
            }
            _ => {
                let _ = writeln!(out, "{map}");
            }
        }
    }
    out.push_str("]\n; the end\n");
    out
}

#[test]
fn a_large_dressed_edn_history_streams_in_many_batches_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    for plant in [false, true] {
        let mut history = kv_history(&KvShape {
            operations: 40_000,
            keys: 200,
            processes: 16,
            indeterminate_per_mille: 10,
            seed: 7,
        });
        if plant {
            plant_violation(&mut history).expect("a read to corrupt");
        }
        let text = dressed_edn(&history);
        assert!(
            text.len() > 4 << 20,
            "{} bytes: several batches",
            text.len()
        );
        let path = dir.path().join("history.edn");
        std::fs::write(&path, &text).unwrap();
        // The dressing changes nothing the whole read sees.
        let (expected, format, independent) = whole(ModelKind::Kv, &path);
        assert_eq!((format, independent), (Format::Edn, false));
        let direct = ModelKind::Kv
            .check(Convention::Knossos, &history, &CheckOptions::default())
            .unwrap();
        assert_same(&expected, &direct, "whole read against the history itself");
        let streamed = stream(ModelKind::Kv, &path, Format::Edn, false).expect("streams");
        assert_same(&streamed, &expected, &format!("planted {plant}"));
        let verdict = if plant {
            Verdict::NotLinearizable
        } else {
            Verdict::Linearizable
        };
        assert_eq!(streamed.valid, verdict);
    }
}

/// The error of the whole read and of the stream, for the same file.
fn errors(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    std::fs::write(&path, text).unwrap();
    let whole = import::read_file(&path, Some(Format::Edn))
        .map(|_| "read".to_owned())
        .unwrap_or_else(|error| error.to_string());
    let streamed = stream(ModelKind::Kv, &path, Format::Edn, false)
        .map(|_| "streamed".to_owned())
        .unwrap_or_else(|error| error.to_string());
    (whole, streamed)
}

#[test]
fn malformed_edn_is_refused_naming_the_same_line_as_the_whole_read() {
    let op = |i: usize, kind: &str| {
        format!("{{:index {i}, :process 0, :type :{kind}, :f :read, :key 1, :value nil}}\n")
    };
    // Far enough in to be in a later batch than the first.
    let mut long = String::from("[\n");
    for i in 0..30_000 {
        long.push_str(&op(i, if i % 2 == 0 { "invoke" } else { "ok" }));
    }
    let cases = [
        (
            format!("{long}{{:process 0, :f :read}}\n]\n"),
            "op has no :type",
        ),
        (long.clone(), "missing ']'"),
        (
            format!("{long}]\n{}", op(9, "invoke")),
            "after the history's closing",
        ),
        (format!("{long}7\n]\n"), "expected an op map"),
        (
            format!("{long}{{:process 0, :type :invoke\n"),
            "end of input",
        ),
    ];
    for (text, reason) in cases {
        let (whole, streamed) = errors(&text);
        assert!(whole.contains(reason), "{whole}");
        assert_eq!(streamed, whole);
        assert!(
            whole.contains(":30002:") || whole.contains(":30003:"),
            "{whole}"
        );
    }
}

#[test]
fn an_empty_or_comment_only_edn_file_is_an_empty_valid_history() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "; nothing\n", "[]\n", "( )"] {
        let path = dir.path().join("h.edn");
        std::fs::write(&path, text).unwrap();
        let result = stream(ModelKind::Kv, &path, Format::Edn, false).expect("empty");
        assert_eq!(result.valid, Verdict::Linearizable, "{text:?}");
        assert_eq!(result.operations, 0, "{text:?}");
    }
}
