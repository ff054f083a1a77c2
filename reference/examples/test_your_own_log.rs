//! Test your own `Log` with rafty's conformance suites: copy this file.
//!
//! `MyLog` stands for your implementation. Here it only wraps rafty's `FileLog`; yours may be
//! on RocksDB, SQLite or your own files. Two suites check it:
//!
//! * `log_suite`: the whole `Log` contract (boundaries, truncation, hard state, large entries,
//!   a reopen after every write), on any storage, through a factory that opens and reopens;
//! * `crash_suite`: power loss at every single disk operation, torn writes, I/O errors and
//!   flipped bits. It needs your log written against rafty's `FileSystem` trait (`StdFs` in
//!   production), so that it can hand it a simulated disk, `CrashFs`.
//!
//! Run it: `cargo run -p rafty --example test_your_own_log`. In your crate, put the recipe
//! in a `#[test]` (`assert_all_passed` fails the test, listing each broken case).

use std::path::Path;

use rafty::file_log::fs::{FileSystem, StdFs};
use rafty::testing::crash_suite;
use rafty::testing::log_suite::{self, LogFactory};
use rafty::{Entry, FileLog, FileLogOptions, HardState, Log, LogError, LogIndex, Term};
use tempfile::TempDir;

// ---- Your log (this one delegates to FileLog) -------------------------------------------

/// A user's log.
struct MyLog<FS: FileSystem> {
    inner: FileLog<FS>,
}

impl<FS: FileSystem> MyLog<FS> {
    fn open(fs: FS, dir: &Path) -> Result<Self, LogError> {
        let inner = FileLog::open_with(fs, dir, FileLogOptions::default())?;
        Ok(MyLog { inner })
    }
}

impl<FS: FileSystem> Log for MyLog<FS> {
    fn hard_state(&self) -> HardState {
        self.inner.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.inner.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.inner.append(entries)
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.inner.truncate(from)
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.inner.entries(low, high)
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.inner.term(index)
    }
    fn first_index(&self) -> LogIndex {
        self.inner.first_index()
    }
    fn last_index(&self) -> LogIndex {
        self.inner.last_index()
    }

    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.inner.compact(index, term)
    }
}

// ---- The recipe --------------------------------------------------------------------------

/// Fresh durable state for each case (a temporary directory), and how to (re)open the log.
struct MyFactory;

impl LogFactory for MyFactory {
    type Log = MyLog<StdFs>;
    type Store = TempDir;
    fn create(&mut self) -> Result<TempDir, LogError> {
        Ok(tempfile::tempdir()?)
    }
    fn open(&mut self, dir: &TempDir) -> Result<MyLog<StdFs>, LogError> {
        MyLog::open(StdFs, dir.path())
    }
}

fn main() {
    let contract = log_suite::run(&mut MyFactory);
    let crashes = crash_suite::run(|disk| MyLog::open(disk.clone(), Path::new("/my-log")));
    print!("{contract}{crashes}");
    contract.assert_all_passed();
    crashes.assert_all_passed();
}
