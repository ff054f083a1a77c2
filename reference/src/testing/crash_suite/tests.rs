//! FileLog passes the crash suite; logs that acknowledge before fsync, or swallow a failed
//! fsync, are caught.

use std::io;
use std::path::Path;

use super::*;
use crate::file_log::fs::{FileSystem, FsFile};
use crate::file_log::{FileLog, FileLogOptions};
use crate::memory::MemoryLog;
use crate::testing::crash_fs::CrashFile;

fn options(segment_size_bytes: u64) -> FileLogOptions {
    FileLogOptions { segment_size_bytes }
}

fn file_log<FS: FileSystem>(fs: FS, segment_size_bytes: u64) -> Result<FileLog<FS>, LogError> {
    FileLog::open_with(fs, Path::new("/data/log"), options(segment_size_bytes))
}

/// What goes wrong on a [`Broken`] disk.
#[derive(Clone, Copy)]
enum Defect {
    /// `sync` and `sync_dir` return `Ok` and do nothing: the log acknowledges before fsync.
    SkipsFsync,
    /// A failed `sync` is reported as `Ok` (the "fsyncgate" bug).
    SwallowsFsyncErrors,
}

/// A [`CrashFs`] seen through a defect.
#[derive(Clone)]
struct Broken(CrashFs, Defect);

struct BrokenFile(CrashFile, Defect);

impl FileSystem for Broken {
    type File = BrokenFile;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.0.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.0.list(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0.read(path)
    }
    fn open(&self, path: &Path) -> io::Result<BrokenFile> {
        Ok(BrokenFile(self.0.open(path)?, self.1))
    }
    fn create(&self, path: &Path) -> io::Result<BrokenFile> {
        Ok(BrokenFile(self.0.create(path)?, self.1))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.0.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match self.1 {
            Defect::SkipsFsync => Ok(()),
            Defect::SwallowsFsyncErrors => self.0.sync_dir(dir).or(Ok(())),
        }
    }
}

impl FsFile for BrokenFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_at(offset, data)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&mut self) -> io::Result<()> {
        match self.1 {
            Defect::SkipsFsync => Ok(()),
            Defect::SwallowsFsyncErrors => self.0.sync().or(Ok(())),
        }
    }
}

fn failed(report: &SuiteReport) -> Vec<&'static str> {
    assert_eq!(report.cases.len(), case_names().len());
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn file_log_passes_with_default_segments() {
    let report = run(|fs| file_log(fs.clone(), 64 << 20));
    report.assert_all_passed();
    assert_eq!(
        report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
        case_names()
    );
}

#[test]
fn file_log_passes_with_tiny_segments_and_other_seeds() {
    for seed in [1, 2] {
        run_seeded(seed, |fs| file_log(fs.clone(), 400)).assert_all_passed();
    }
}

#[test]
fn a_log_that_acknowledges_before_fsync_is_caught() {
    let report = run(|fs| file_log(Broken(fs.clone(), Defect::SkipsFsync), 400));
    let failures = failed(&report);
    for case in [
        "acknowledged_writes_survive_a_crash",
        "truncation_survives_a_crash",
        "hard_state_survives_a_crash",
        "crash_at_every_operation_of_a_script",
    ] {
        assert!(failures.contains(&case), "{case} passed:\n{report}");
    }
}

#[test]
fn a_log_that_swallows_fsync_errors_is_caught() {
    let report = run(|fs| file_log(Broken(fs.clone(), Defect::SwallowsFsyncErrors), 400));
    let failures = failed(&report);
    for case in [
        "interrupted_batch_leaves_a_prefix_of_it",
        "crash_at_every_operation_of_a_script",
        "io_errors_are_reported_not_swallowed",
    ] {
        assert!(failures.contains(&case), "{case} passed:\n{report}");
    }
    assert!(
        !failures.contains(&"acknowledged_writes_survive_a_crash"),
        "with no fault a swallowing log keeps its writes:\n{report}"
    );
}

#[test]
fn a_log_that_ignores_the_disk_is_caught() {
    let report = run(|_fs| Ok(MemoryLog::new()));
    let failures = failed(&report);
    // Only the corruption case passes: there is no file to corrupt.
    assert_eq!(failures.len(), case_names().len() - 1, "{report}");
    let message = report.cases[1].to_string();
    assert!(
        message.contains("made no operation on the disk"),
        "{message}"
    );
}
