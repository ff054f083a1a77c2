//! FileLog compaction (Raft §7): segments removed whole, the base kept across reopens, the
//! discard-all case, truncation and appends after it, and an interrupted compaction finished.

use tempfile::TempDir;

use super::super::*;
use crate::types::Payload;

fn open(dir: &TempDir) -> Result<FileLog, LogError> {
    FileLog::open_with(
        StdFs,
        dir.path(),
        FileLogOptions {
            segment_size_bytes: 4096,
        },
    )
}

fn entry(index: LogIndex, term: Term) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8; 100]),
    }
}

fn batch(first: LogIndex, count: u64, term: Term) -> Vec<Entry> {
    (first..first + count)
        .map(|index| entry(index, term))
        .collect()
}

fn segment_exists(dir: &TempDir, first_index: LogIndex) -> bool {
    dir.path().join(segment::file_name(first_index)).exists()
}

/// Entries 1..=90 in three batches of 30, term 1: three segments of 4 KiB, starting at 1,
/// 31 and 61.
fn three_segments(dir: &TempDir) -> FileLog {
    let mut log = open(dir).unwrap();
    for first in [1, 31, 61] {
        log.append(&batch(first, 30, 1)).unwrap();
    }
    assert_eq!(log.segment_count(), 3);
    log
}

fn expect_compacted_through(log: &FileLog, index: LogIndex, term: Term, last: LogIndex) {
    assert_eq!(log.first_index(), index + 1);
    assert_eq!(log.last_index(), last);
    assert_eq!(log.term(index).unwrap(), Some(term));
    assert_eq!(log.term(0).unwrap(), Some(0));
    assert!(matches!(
        log.entries(index, last + 1),
        Err(LogError::Contract(_))
    ));
}

#[test]
fn compaction_removes_whole_segments_and_keeps_a_partly_covered_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 1).unwrap();
    expect_compacted_through(&log, 45, 1, 90);
    assert_eq!(log.segment_count(), 2);
    assert!(!segment_exists(&dir, 1));
    assert!(segment_exists(&dir, 31) && segment_exists(&dir, 61));
    assert_eq!(log.entries(46, 91).unwrap(), batch(46, 45, 1));
    drop(log);
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 1, 90);
    assert_eq!(log.entries(46, 91).unwrap(), batch(46, 45, 1));
    assert_eq!(log.term(44).unwrap(), None);
}

#[test]
fn compaction_at_a_segment_end_removes_it_and_appends_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(60, 1).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.compact(90, 1).unwrap();
    assert_eq!(log.segment_count(), 0);
    expect_compacted_through(&log, 90, 1, 90);
    log.append(&batch(91, 2, 2)).unwrap();
    assert!(segment_exists(&dir, 91));
    drop(log);
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 90, 1, 92);
    assert_eq!(log.entries(91, 93).unwrap(), batch(91, 2, 2));
}

/// §7: "If the existing log entry has the same index and term as the snapshot's last included
/// entry, retain log entries following it [...]. Otherwise, discard the entire log."
#[test]
fn compaction_with_a_conflicting_term_discards_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 7).unwrap();
    expect_compacted_through(&log, 45, 7, 45);
    assert_eq!(log.segment_count(), 0);
    log.append(&batch(46, 3, 7)).unwrap();
    assert!(segment_exists(&dir, 46));
    drop(log);
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 7, 48);
    assert_eq!(log.entries(46, 49).unwrap(), batch(46, 3, 7));
}

#[test]
fn compaction_past_the_end_discards_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(100, 3).unwrap();
    expect_compacted_through(&log, 100, 3, 100);
    drop(log);
    expect_compacted_through(&open(&dir).unwrap(), 100, 3, 100);
}

#[test]
fn compaction_at_or_below_the_base_is_a_no_op_and_a_new_term_there_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 1).unwrap();
    log.compact(45, 1).unwrap();
    log.compact(10, 5).unwrap();
    expect_compacted_through(&log, 45, 1, 90);
    assert!(matches!(log.compact(45, 2), Err(LogError::Contract(_))));
    expect_compacted_through(&log, 45, 1, 90);
}

#[test]
fn truncation_after_compaction_is_allowed_at_the_first_index_and_refused_below() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 1).unwrap();
    for below in [0, 1, 45] {
        assert!(
            matches!(log.truncate(below), Err(LogError::Contract(_))),
            "truncate({below})"
        );
    }
    log.truncate(46).unwrap();
    expect_compacted_through(&log, 45, 1, 45);
    log.append(&batch(46, 4, 2)).unwrap();
    drop(log);
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 1, 49);
    assert_eq!(log.entries(46, 50).unwrap(), batch(46, 4, 2));
}

/// The base falls inside a batch: truncating at the first index leaves the first part of
/// that batch open on disk, so it must be sealed, or the next append would follow an open
/// batch and the log would not reopen.
#[test]
fn truncating_at_the_first_index_inside_a_batch_seals_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 10, 1)).unwrap();
    log.compact(5, 1).unwrap();
    log.truncate(6).unwrap();
    expect_compacted_through(&log, 5, 1, 5);
    log.append(&batch(6, 3, 2)).unwrap();
    drop(log);
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 5, 1, 8);
    assert_eq!(log.entries(6, 9).unwrap(), batch(6, 3, 2));
}

#[test]
fn a_compaction_interrupted_before_its_segments_went_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(three_segments(&dir));
    // What a crash right after the base file was written leaves.
    base::save(&StdFs, dir.path(), Base { index: 45, term: 1 }).unwrap();
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 1, 90);
    assert!(!segment_exists(&dir, 1));
    assert_eq!(log.entries(46, 91).unwrap(), batch(46, 45, 1));
}

#[test]
fn an_interrupted_discarding_compaction_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(three_segments(&dir));
    // A crash after the base and the removal of the newest segment.
    base::save(&StdFs, dir.path(), Base { index: 45, term: 7 }).unwrap();
    std::fs::remove_file(dir.path().join(segment::file_name(61))).unwrap();
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 7, 45);
    assert_eq!(log.segment_count(), 0);
    assert!(!segment_exists(&dir, 1) && !segment_exists(&dir, 31));
}

#[test]
fn a_gap_after_the_base_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 1).unwrap();
    drop(log);
    std::fs::remove_file(dir.path().join(segment::file_name(31))).unwrap();
    match open(&dir) {
        Err(LogError::Corrupted { location, reason }) => {
            assert!(location.ends_with(&segment::file_name(61)), "{location}");
            assert!(
                reason.contains("compacted only through index 45"),
                "{reason}"
            );
            assert!(reason.contains("entries 46..61 are missing"), "{reason}");
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|l| l.last_index())
        ),
    }
}

#[test]
fn a_corrupted_base_file_is_refused_and_a_leftover_temp_file_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = three_segments(&dir);
    log.compact(45, 1).unwrap();
    drop(log);
    std::fs::write(dir.path().join(base::TEMP_FILE_NAME), b"half").unwrap();
    let log = open(&dir).unwrap();
    expect_compacted_through(&log, 45, 1, 90);
    assert!(!dir.path().join(base::TEMP_FILE_NAME).exists());
    drop(log);
    let path = dir.path().join(base::FILE_NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[7] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    match open(&dir) {
        Err(LogError::Corrupted { location, reason }) => {
            assert_eq!(location, path.display().to_string());
            assert_eq!(reason, "checksum mismatch");
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|l| l.last_index())
        ),
    }
}
