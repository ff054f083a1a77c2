//! `LazyFs`: what a killed process leaves on the disk is what a power cut would.

use std::path::Path;

use super::*;
use crate::file_log::{FileLog, FileLogOptions};
use crate::log::Log;
use crate::testing::fsync_defect::{Defect, FsyncDefect};
use crate::types::{Entry, Payload};

/// The disk as another process (or the next boot) sees it: straight through `std::fs`.
fn on_disk(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[test]
fn an_unsynced_write_is_seen_by_this_process_but_never_reaches_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let fs = LazyFs::new(StdFs);
    let mut file = fs.create(&path).unwrap();
    file.write_at(0, b"hello").unwrap();
    file.write_at(3, b"p!").unwrap();
    assert_eq!(file.len().unwrap(), 5);
    let mut buf = [0; 5];
    file.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"help!");
    assert_eq!(fs.read(&path).unwrap(), b"help!");
    assert_eq!(fs.pending_bytes(), 7);
    drop((file, fs)); // the process is killed
    assert_eq!(on_disk(&path), b"", "a kill kept an unsynced write");
}

#[test]
fn a_synced_write_survives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let fs = LazyFs::new(StdFs);
    let mut file = fs.create(&path).unwrap();
    file.write_at(0, b"durable").unwrap();
    file.sync().unwrap();
    file.write_at(0, b"DUR").unwrap();
    assert_eq!(fs.read(&path).unwrap(), b"DURable");
    drop((file, fs));
    assert_eq!(on_disk(&path), b"durable");
}

#[test]
fn length_changes_wait_for_the_sync_and_reads_past_the_end_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let fs = LazyFs::new(StdFs);
    let mut file = fs.create(&path).unwrap();
    file.write_at(0, b"abcdef").unwrap();
    file.sync().unwrap();
    file.set_len(2).unwrap();
    file.write_at(4, b"z").unwrap();
    let mut buf = [9; 5];
    file.read_at(0, &mut buf).unwrap();
    assert_eq!(
        &buf, b"ab\0\0z",
        "a cut then an extension reads zeros between"
    );
    assert!(file.read_at(3, &mut [0; 3]).is_err(), "past the end");
    assert_eq!(on_disk(&path), b"abcdef");
    file.sync().unwrap();
    assert_eq!(on_disk(&path), b"ab\0\0z");
}

#[test]
fn a_rename_carries_the_unsynced_writes_and_a_removal_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let (temp, kept) = (dir.path().join("t"), dir.path().join("k"));
    let fs = LazyFs::new(StdFs);
    fs.create(&temp).unwrap().write_at(0, b"new").unwrap();
    fs.rename(&temp, &kept).unwrap();
    assert_eq!(fs.read(&kept).unwrap(), b"new");
    let mut file = fs.open(&kept).unwrap();
    file.sync().unwrap();
    assert_eq!(on_disk(&kept), b"new");
    file.write_at(0, b"old").unwrap();
    drop(file);
    fs.remove(&kept).unwrap();
    assert_eq!(fs.pending_bytes(), 0);
}

#[test]
fn the_unsynced_byte_counter_follows_every_write_sync_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let fs = LazyFs::new(StdFs);
    let counter = fs.unsynced_bytes();
    let read = || counter.load(std::sync::atomic::Ordering::Relaxed);
    let mut first = fs.create(&a).unwrap();
    first.write_at(0, b"synced").unwrap();
    assert_eq!(read(), 6);
    let mut second = fs.create(&b).unwrap();
    second.write_at(0, b"lost").unwrap();
    second.set_len(2).unwrap();
    assert_eq!(read(), 10, "a length change writes no byte");
    first.sync().unwrap();
    assert_eq!(read(), 4);
    assert_eq!(read(), fs.pending_bytes());
    drop(second);
    fs.remove(&b).unwrap();
    assert_eq!(read(), 0);
}

/// The synced lengths a power cut's handler reads, as (descriptor, length) pairs.
fn synced(fs: &LazyFs) -> Vec<(std::os::fd::RawFd, u64)> {
    let mut lengths = Vec::new();
    fs.synced_lengths()
        .for_each(|fd, length| lengths.push((fd, length)));
    lengths
}

#[test]
fn each_open_file_has_its_synced_length_which_moves_only_when_a_sync_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"old").unwrap();
    let fs = LazyFs::new(StdFs);
    let mut file = fs.open(&path).unwrap();
    let opened = synced(&fs);
    assert_eq!(opened.len(), 1, "a std file has a descriptor: {opened:?}");
    let fd = opened[0].0;
    assert_eq!(opened, vec![(fd, 3)], "opened: its length on the disk");
    file.write_at(3, b"-synced").unwrap();
    assert_eq!(synced(&fs), vec![(fd, 3)], "a write is not synced");
    file.sync().unwrap();
    assert_eq!(synced(&fs), vec![(fd, 10)]);
    let other = fs.open(&path).unwrap();
    let other_fd = (synced(&fs).into_iter())
        .map(|(descriptor, _)| descriptor)
        .find(|descriptor| *descriptor != fd)
        .expect("the second handle has its own slot");
    file.write_at(10, b"!").unwrap();
    file.sync().unwrap();
    // Descriptors are the OS's lowest free ones (other tests close theirs concurrently), so
    // the second handle's may be lower than the first's: compare both sides sorted.
    let mut both = synced(&fs);
    both.sort_unstable();
    let mut expected = vec![(fd, 11), (other_fd, 11)];
    expected.sort_unstable();
    assert_eq!(both, expected, "one sync, every handle");
    drop(file);
    assert_eq!(synced(&fs), vec![(other_fd, 11)], "a closed file leaves");
    drop(fs.create(&path).unwrap());
    assert_eq!(
        synced(&fs),
        vec![(other_fd, 0)],
        "a create truncates at once"
    );
    assert_eq!(fs.synced_lengths().untracked(), 0);
    drop(other);
    assert_eq!(synced(&fs), vec![], "no file open");
}

fn entries(first: u64, count: u64) -> Vec<Entry> {
    (first..first + count)
        .map(|index| Entry {
            term: 1,
            index,
            payload: Payload::Command(vec![index as u8; 40]),
        })
        .collect()
}

/// `FileLog` syncs each batch before `append` returns: over `LazyFs`, what it acknowledged
/// is on the disk when the process dies.
#[test]
fn file_log_acknowledged_entries_survive_a_kill_of_a_lazy_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FileLog::open_with(LazyFs::new(StdFs), dir.path(), FileLogOptions::default())
        .expect("opens");
    log.append(&entries(1, 10)).unwrap();
    drop(log);
    let reopened = FileLog::open(dir.path()).expect("reopens");
    assert_eq!(reopened.last_index(), 10);
}

/// A log that acknowledges before fsync loses its acknowledged entries to a kill over
/// `LazyFs`, as to a power cut, where over `std::fs` the page cache would have kept them.
#[test]
fn a_log_acknowledging_before_fsync_loses_entries_to_a_kill_of_a_lazy_process() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FsyncDefect(LazyFs::new(StdFs), Defect::SkipsFsync);
    let mut log = FileLog::open_with(fs, dir.path(), FileLogOptions::default()).expect("opens");
    log.append(&entries(1, 10)).unwrap();
    drop(log);
    // The files exist (directory operations are not lazy) but hold nothing synced: the log
    // reopens empty, or refuses what it finds; either way the acknowledged entries are gone.
    if let Ok(reopened) = FileLog::open(dir.path()) {
        assert_eq!(reopened.last_index(), 0, "the unsynced entries are gone");
    }

    let dir = tempfile::tempdir().unwrap();
    let fs = FsyncDefect(StdFs, Defect::SkipsFsync);
    let mut log = FileLog::open_with(fs, dir.path(), FileLogOptions::default()).expect("opens");
    log.append(&entries(1, 10)).unwrap();
    drop(log);
    let reopened = FileLog::open(dir.path()).expect("reopens");
    assert_eq!(reopened.last_index(), 10, "std::fs's page cache kept them");
}
