//! The suite against rafty's own logs: `FileLog` passes; a log that acknowledges appends it
//! still holds in memory, and one that keeps nothing on disk, are caught with the cause named.
//! Each test is its own child (the suite reruns it with `RAFTY_PROCESS_CRASH_DIR` set).

use std::path::{Path, PathBuf};

use super::*;
use crate::file_log::FileLog;
use crate::log::{Log, LogError};
use crate::memory::{MemoryLog, MemoryStorage};
use crate::testing::Outcome;
use crate::types::{Entry, HardState, LogIndex, Term};

fn this_test() -> ChildCommand {
    let name = std::thread::current().name().map(str::to_owned);
    ChildCommand::this_test(&name.expect("libtest names each test's thread")).unwrap()
}

/// `FileLog`s in the directory; `buffered` makes them hold each append in memory until the
/// next write (acknowledging before writing).
struct Files {
    buffered: bool,
}

impl LogFactory for Files {
    type Log = Buffering;
    type Store = PathBuf;
    fn create(&mut self) -> Result<PathBuf, LogError> {
        unreachable!("the process-crash suite opens stores in directories only")
    }
    fn open(&mut self, dir: &PathBuf) -> Result<Buffering, LogError> {
        let log = FileLog::open(dir)?;
        Ok(Buffering {
            log,
            held: Vec::new(),
            buffered: self.buffered,
        })
    }
    fn store_in_directory(&mut self, dir: &Path) -> Option<Result<PathBuf, LogError>> {
        Some(Ok(dir.to_path_buf()))
    }
}

/// A `FileLog` that, when `buffered`, acknowledges an append before writing it (it writes the
/// held entries at the next write): the bug the suite is for.
struct Buffering {
    log: FileLog,
    held: Vec<Entry>,
    buffered: bool,
}

impl Buffering {
    fn flush(&mut self) -> Result<(), LogError> {
        let held = std::mem::take(&mut self.held);
        self.log.append(&held)
    }
}

impl Log for Buffering {
    fn hard_state(&self) -> HardState {
        self.log.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.flush()?;
        self.log.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.flush()?;
        if self.buffered {
            self.held = entries.to_vec();
            Ok(())
        } else {
            self.log.append(entries)
        }
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.flush()?;
        self.log.truncate(from)
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        let mut all = self.log.entries(low, high.min(self.log.last_index() + 1))?;
        all.extend(
            self.held
                .iter()
                .filter(|e| e.index >= low && e.index < high)
                .cloned(),
        );
        Ok(all)
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        match self.held.iter().find(|entry| entry.index == index) {
            Some(entry) => Ok(Some(entry.term)),
            None => self.log.term(index),
        }
    }
    fn first_index(&self) -> LogIndex {
        self.log.first_index()
    }
    fn last_index(&self) -> LogIndex {
        self.held
            .last()
            .map_or(self.log.last_index(), |entry| entry.index)
    }
    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.flush()?;
        self.log.compact(index, term)
    }
}

/// `MemoryLog`s on a fresh storage each time a process opens the directory: nothing reaches
/// the disk.
struct MemoryOnly;

impl LogFactory for MemoryOnly {
    type Log = MemoryLog;
    type Store = MemoryStorage;
    fn create(&mut self) -> Result<MemoryStorage, LogError> {
        Ok(MemoryStorage::new())
    }
    fn open(&mut self, store: &MemoryStorage) -> Result<MemoryLog, LogError> {
        Ok(MemoryLog::open(store))
    }
    fn store_in_directory(&mut self, _dir: &Path) -> Option<Result<MemoryStorage, LogError>> {
        Some(Ok(MemoryStorage::new()))
    }
}

fn failure(report: &SuiteReport, case: &str) -> String {
    let found = report.cases.iter().find(|c| c.name == case).unwrap();
    match &found.outcome {
        Outcome::Failed(message) => message.clone(),
        other => panic!("{case}: expected a failure, got {other:?}\n{report}"),
    }
}

#[test]
fn file_log_survives_kill_9() {
    let mut factory = Files { buffered: false };
    serve_if_child(&mut factory);
    run(&mut factory, 5, &this_test()).assert_all_passed();
}

#[test]
fn an_append_acknowledged_before_it_is_written_is_caught() {
    let mut factory = Files { buffered: true };
    serve_if_child(&mut factory);
    let report = run(&mut factory, 5, &this_test());
    let message = failure(&report, "acknowledged_writes_survive_kill_9");
    assert!(message.contains("are gone after kill -9"), "{message}");
    assert!(
        message.contains("returned Ok before the entries left the process"),
        "{message}"
    );
    assert!(message.contains("operations that led to it"), "{message}");
}

#[test]
fn a_log_that_keeps_its_data_in_memory_is_caught() {
    let mut factory = MemoryOnly;
    serve_if_child(&mut factory);
    let report = run(&mut factory, 9, &this_test());
    for case in case_names() {
        let message = failure(&report, case);
        assert!(message.contains("only in memory"), "{message}");
    }
}

#[test]
fn a_factory_without_a_directory_is_reported_unsupported() {
    struct NoDirectory;
    impl LogFactory for NoDirectory {
        type Log = MemoryLog;
        type Store = MemoryStorage;
        fn create(&mut self) -> Result<MemoryStorage, LogError> {
            Ok(MemoryStorage::new())
        }
        fn open(&mut self, store: &MemoryStorage) -> Result<MemoryLog, LogError> {
            Ok(MemoryLog::open(store))
        }
    }
    let report = run(&mut NoDirectory, 1, &this_test());
    assert_eq!(report.unsupported().len(), case_names().len(), "{report}");
    assert!(
        report.all_passed(),
        "unsupported is not a failure: {report}"
    );
}
