//! FileLog passes the crash suite; logs that acknowledge before fsync, or swallow a failed
//! fsync, are caught.

use std::path::Path;

use super::*;
use crate::file_log::fs::FileSystem;
use crate::file_log::{FileLog, FileLogOptions};
use crate::memory::MemoryLog;
use crate::testing::fsync_defect::{Defect, FsyncDefect};

fn options(segment_size_bytes: u64) -> FileLogOptions {
    FileLogOptions { segment_size_bytes }
}

fn file_log<FS: FileSystem>(fs: FS, segment_size_bytes: u64) -> Result<FileLog<FS>, LogError> {
    FileLog::open_with(fs, Path::new("/data/log"), options(segment_size_bytes))
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
    let report = run(|fs| file_log(FsyncDefect(fs.clone(), Defect::SkipsFsync), 400));
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
    let report = run(|fs| file_log(FsyncDefect(fs.clone(), Defect::SwallowsFsyncErrors), 400));
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
