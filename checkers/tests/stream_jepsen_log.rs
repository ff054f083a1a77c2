//! The old `jepsen.util` log format streamed ([`rafty_checkers::stream`] with
//! [`Format::JepsenLog`]): the same verdict as reading the file whole on every one of
//! Porcupine's etcd logs, the same on a log made of twenty of them, and the same errors (a line
//! that is neither an op nor another logger's, a last line cut mid-line) naming the same line.

use std::path::{Path, PathBuf};

use rafty_checkers::import::{self, Format, ReadOptions};
use rafty_checkers::stream::{NoProgress, StreamOptions};
use rafty_checkers::{CheckOptions, CheckResult, HistoryError, ModelKind, Verdict};

fn etcd_logs() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine/etcd");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the vendored etcd logs")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

fn stream(path: &Path, buckets: Option<usize>) -> Result<CheckResult, HistoryError> {
    let options = StreamOptions {
        read: ReadOptions::default(),
        format: Format::JepsenLog,
        buckets,
        independent: false,
    };
    ModelKind::CasRegister
        .check_file(
            Format::JepsenLog.default_convention(),
            path,
            &CheckOptions::default(),
            &options,
            &NoProgress,
        )
        .map(|streamed| streamed.result)
}

fn whole(path: &Path) -> Result<CheckResult, HistoryError> {
    let imported = import::read_file(path, Some(Format::JepsenLog))?;
    ModelKind::CasRegister.check(
        Format::JepsenLog.default_convention(),
        &imported.history,
        &CheckOptions::default(),
    )
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("scratch file written");
    path
}

#[test]
fn every_etcd_log_streams_to_the_whole_reads_verdict() {
    let files = etcd_logs();
    assert!(files.len() >= 100, "{} logs", files.len());
    let mut illegal = 0;
    for file in &files {
        let expected = whole(file).expect("checkable whole");
        let streamed = stream(file, None).expect("checkable streamed");
        let name = file.display();
        assert_eq!(streamed.valid, expected.valid, "{name}");
        assert_eq!(streamed.operations, expected.operations, "{name}");
        if expected.valid == Verdict::NotLinearizable {
            illegal += 1;
        }
    }
    // Porcupine's etcd logs hold both verdicts, so agreement is not all one answer.
    assert!(illegal > 0 && illegal < files.len(), "{illegal} illegal");
}

#[test]
fn a_log_with_other_loggers_lines_and_nemesis_ops_streams_as_read_whole() {
    let text = "INFO  jepsen.core - Worker 3 starting\n\
                \n\
                INFO  jepsen.util - 3\t:invoke\t:write\t1\n\
                INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
                INFO  jepsen.util - 3\t:ok\t:write\t1\n\
                INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 4\t:ok\t:read\t2\n";
    let path = scratch("stale.log", text);
    let expected = whole(&path).expect("checkable whole");
    assert_eq!(expected.valid, Verdict::NotLinearizable);
    for buckets in [None, Some(3)] {
        let streamed = stream(&path, buckets).expect("checkable streamed");
        assert_eq!(streamed.valid, expected.valid, "buckets {buckets:?}");
        assert_eq!(streamed.operations, expected.operations);
    }
}

#[test]
fn bad_lines_are_refused_naming_the_line_whole_or_streamed() {
    let cases = [
        (
            "garbage.log",
            "INFO  jepsen.util - 3\t:invoke\t:write\t1\nthis is not a log line\n",
        ),
        (
            "cut.log",
            "INFO  jepsen.util - 3\t:invoke\t:write\t1\nINFO  jepsen.util - 3\t:ok\t:write\t4",
        ),
        (
            "type.log",
            "INFO  jepsen.util - 3\t:invoke\t:write\t1\nINFO  jepsen.util - 3\t:done\t:write\t1\n",
        ),
    ];
    for (name, text) in cases {
        let path = scratch(name, text);
        let streamed = stream(&path, None)
            .expect_err("refused streamed")
            .to_string();
        let whole = whole(&path).expect_err("refused whole").to_string();
        assert_eq!(streamed, whole, "{name}");
        assert!(streamed.contains(":2:"), "{name}: {streamed}");
    }
}

#[test]
fn a_log_of_twenty_logs_streams_to_the_whole_reads_verdict() {
    // Twenty of Porcupine's linearizable logs one after another, each with its own client
    // processes (offset by 1,000 a file): one register's history of over a thousand ops.
    let mut text = String::new();
    let legal = etcd_logs()
        .into_iter()
        .filter(|file| whole(file).expect("checkable").valid == Verdict::Linearizable);
    for (written, file) in legal.take(20).enumerate() {
        let log = std::fs::read_to_string(&file).expect("readable");
        text.push_str(&renumber(&log, written as u64 * 1000));
    }
    let path = scratch("twenty.log", &text);
    let expected = whole(&path).expect("checkable whole");
    let streamed = stream(&path, Some(4)).expect("checkable streamed");
    assert_eq!(expected.valid, streamed.valid);
    assert_eq!(expected.operations, streamed.operations);
    assert!(expected.operations > 1000, "{} ops", expected.operations);
}

/// A log's client processes renumbered from `offset`.
fn renumber(log: &str, offset: u64) -> String {
    log.lines()
        .map(|line| match line.split_once("jepsen.util - ") {
            Some((head, rest)) => match rest.split_once(char::is_whitespace) {
                Some((process, tail)) if process.parse::<u64>().is_ok() => {
                    let process: u64 = process.parse().unwrap();
                    format!("{head}jepsen.util - {} {tail}\n", process + offset)
                }
                _ => format!("{line}\n"),
            },
            None => format!("{line}\n"),
        })
        .collect()
}
