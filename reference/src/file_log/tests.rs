//! FileLog against the conformance suite, and its recovery from torn tails, corruption and
//! I/O errors.

use std::fs::OpenOptions;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::TempDir;

use super::*;
use crate::testing::log_suite::{self, LogFactory};
use crate::types::Payload;

/// Opens FileLogs in fresh temporary directories.
struct Factory(FileLogOptions);

impl LogFactory for Factory {
    type Log = FileLog;
    type Store = TempDir;
    fn create(&mut self) -> Result<TempDir, LogError> {
        Ok(tempfile::tempdir()?)
    }
    fn open(&mut self, store: &TempDir) -> Result<FileLog, LogError> {
        FileLog::open_with(StdFs, store.path(), self.0.clone())
    }
}

fn small_segments() -> FileLogOptions {
    FileLogOptions {
        segment_size_bytes: 4096,
    }
}

fn entry(index: LogIndex, term: Term) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8; 100]),
    }
}

/// Entries `first..first + count`, term 1.
fn batch(first: LogIndex, count: u64) -> Vec<Entry> {
    (first..first + count)
        .map(|index| entry(index, 1))
        .collect()
}

fn open(dir: &TempDir) -> Result<FileLog, LogError> {
    FileLog::open_with(StdFs, dir.path(), small_segments())
}

fn segment_path(dir: &TempDir, first_index: LogIndex) -> PathBuf {
    dir.path().join(segment::file_name(first_index))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// The size of the record of `entry(index, 1)` (every index below 256 has the same).
fn record_size() -> u64 {
    record::encode(&entry(1, 1), 0, &mut Vec::new()).unwrap()
}

/// The offset of the `position`th record (from 0) of a segment of such records.
fn record_offset(position: u64) -> u64 {
    segment::HEADER_BYTES as u64 + position * record_size()
}

fn expect_corrupted(result: Result<FileLog, LogError>) -> (String, String) {
    match result {
        Err(LogError::Corrupted { location, reason }) => (location, reason),
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|log| log.last_index())
        ),
    }
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn passes_the_log_suite_with_default_segments() {
    log_suite::assert_conforms(&mut Factory(FileLogOptions::default()));
}

#[test]
fn passes_the_log_suite_with_small_segments() {
    log_suite::assert_conforms(&mut Factory(small_segments()));
}

#[test]
fn segments_roll_at_the_size_limit_and_a_batch_stays_in_one_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 30)).unwrap(); // ~3.7 KiB: fits the first segment
    assert_eq!(log.segment_count(), 1);
    log.append(&batch(31, 60)).unwrap(); // would pass 4 KiB: a new segment, even though larger
    assert_eq!(log.segment_count(), 2);
    assert!(file_len(&segment_path(&dir, 31)) > 4096);
    log.append(&batch(91, 1)).unwrap();
    assert_eq!(log.segment_count(), 3);
    drop(log);
    let log = open(&dir).unwrap();
    assert_eq!(log.segment_count(), 3);
    assert_eq!(log.entries(1, 92).unwrap(), batch(1, 91));
}

#[test]
fn torn_tail_is_cut_at_every_offset_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    for index in 1..=3 {
        log.append(&batch(index, 1)).unwrap();
    }
    drop(log);
    let path = segment_path(&dir, 1);
    let full = std::fs::read(&path).unwrap();
    for cut in record_offset(2) + 1..record_offset(3) {
        std::fs::write(&path, &full[..cut as usize]).unwrap();
        let mut log = open(&dir).unwrap();
        assert_eq!(log.last_index(), 2, "cut at {cut}");
        assert_eq!(
            file_len(&path),
            record_offset(2),
            "the torn tail is removed from the file"
        );
        log.append(&batch(3, 1)).unwrap();
        drop(log);
        assert_eq!(open(&dir).unwrap().entries(1, 4).unwrap(), batch(1, 3));
    }
}

#[test]
fn an_interrupted_batch_is_cut_off_whole_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 2)).unwrap();
    log.append(&batch(3, 4)).unwrap();
    drop(log);
    let path = segment_path(&dir, 1);
    let full = std::fs::read(&path).unwrap();
    assert_eq!(full.len() as u64, record_offset(6));
    // Every cut inside the second batch, between its records or inside one, and zeros
    // where its end should be.
    let mut damaged: Vec<Vec<u8>> = (record_offset(2) + 1..record_offset(6))
        .map(|cut| full[..cut as usize].to_vec())
        .collect();
    let mut zeroed = full.clone();
    zeroed[record_offset(5) as usize..].fill(0);
    damaged.push(zeroed);
    for bytes in damaged {
        std::fs::write(&path, &bytes).unwrap();
        let mut log = open(&dir).unwrap();
        assert_eq!(log.last_index(), 2, "{} bytes", bytes.len());
        assert_eq!(file_len(&path), record_offset(2), "{} bytes", bytes.len());
        log.append(&batch(3, 4)).unwrap();
        drop(log);
        assert_eq!(open(&dir).unwrap().entries(1, 7).unwrap(), batch(1, 6));
    }
}

#[test]
fn an_open_batch_followed_by_another_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = segment_path(&dir, 1);
    let mut bytes = segment::header(1, 1).to_vec();
    record::encode(&entry(1, 1), 2, &mut bytes).unwrap(); // opens a batch of three
    record::encode(&entry(2, 1), 0, &mut bytes).unwrap(); // closes a batch: the first is open
    record::encode(&entry(3, 1), 0, &mut bytes).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let (location, reason) = expect_corrupted(open(&dir));
    assert_eq!(
        location,
        format!("{} at offset {}", path.display(), record_offset(1))
    );
    assert!(reason.contains("a batch left open"), "{reason}");
    assert_eq!(
        file_len(&path),
        bytes.len() as u64,
        "a refused log is left untouched"
    );
}

#[test]
fn a_format_1_segment_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Format 1: no segment header; records with a 12-byte header (length, its crc32c, the
    // payload's crc32c).
    let payload = postcard::to_allocvec(&entry(1, 1)).unwrap();
    let length = (payload.len() as u32).to_le_bytes();
    let mut bytes = length.to_vec();
    bytes.extend(crc32c::crc32c(&length).to_le_bytes());
    bytes.extend(crc32c::crc32c(&payload).to_le_bytes());
    bytes.extend(payload);
    let path = segment_path(&dir, 1);
    std::fs::write(&path, &bytes).unwrap();
    let (location, reason) = expect_corrupted(open(&dir));
    assert_eq!(location, format!("{} at offset 0", path.display()));
    assert!(reason.contains("format version 1"), "{reason}");
}

#[test]
fn a_segment_whose_creation_was_cut_short_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 30)).unwrap();
    drop(log);
    for torn in [&segment::header(31, 2)[..7], &[][..], &[0; 100][..]] {
        std::fs::write(segment_path(&dir, 31), torn).unwrap();
        let mut log = open(&dir).unwrap();
        assert_eq!(log.last_index(), 30);
        assert_eq!(log.segment_count(), 1);
        assert!(!segment_path(&dir, 31).exists());
        log.append(&batch(31, 30)).unwrap();
        log.truncate(31).unwrap();
    }
}

#[test]
fn zero_filled_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).unwrap().append(&batch(1, 2)).unwrap();
    let path = segment_path(&dir, 1);
    let length = file_len(&path);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(length + 5000)
        .unwrap();
    let log = open(&dir).unwrap();
    assert_eq!(log.last_index(), 2);
    assert_eq!(file_len(&path), length);
}

#[test]
fn corruption_before_the_tail_is_refused_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).unwrap().append(&batch(1, 3)).unwrap();
    let path = segment_path(&dir, 1);
    flip_byte(&path, record_offset(1) + 20); // inside the second record's payload
    let (location, reason) = expect_corrupted(open(&dir));
    assert_eq!(
        location,
        format!("{} at offset {}", path.display(), record_offset(1))
    );
    assert_eq!(reason, "record checksum mismatch");
    assert_eq!(
        file_len(&path),
        record_offset(3),
        "a refused log is left untouched"
    );
}

#[test]
fn a_damaged_last_record_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).unwrap().append(&batch(1, 2)).unwrap();
    let path = segment_path(&dir, 1);
    flip_byte(&path, file_len(&path) - 1);
    assert!(matches!(open(&dir), Err(LogError::Corrupted { .. })));
}

#[test]
fn a_torn_segment_before_the_last_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 30)).unwrap();
    log.append(&batch(31, 30)).unwrap();
    drop(log);
    let first = segment_path(&dir, 1);
    OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(file_len(&first) - 3)
        .unwrap();
    match open(&dir) {
        Err(LogError::Corrupted { location, reason }) => {
            assert!(
                location.starts_with(&first.display().to_string()),
                "{location}"
            );
            assert!(reason.contains("not the last"), "{reason}");
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|log| log.last_index())
        ),
    }
}

#[test]
fn a_missing_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    for first in [1, 31, 61] {
        log.append(&batch(first, 30)).unwrap();
    }
    drop(log);
    std::fs::remove_file(segment_path(&dir, 31)).unwrap();
    match open(&dir) {
        Err(LogError::Corrupted { reason, .. }) => {
            assert_eq!(reason, "segment starts at index 61, expected 31")
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|log| log.last_index())
        ),
    }
}

#[test]
fn corruption_after_open_is_detected_on_read_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 3)).unwrap();
    let path = segment_path(&dir, 1);
    flip_byte(&path, record_offset(0) + 20);
    assert!(matches!(log.entries(1, 2), Err(LogError::Corrupted { .. })));
    assert_eq!(log.entries(2, 4).unwrap(), batch(2, 2));
}

#[test]
fn truncation_across_segments_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    for first in (1..=81).step_by(10) {
        log.append(&batch(first, 10)).unwrap();
    }
    assert_eq!(log.segment_count(), 3);
    log.truncate(31).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert!(!segment_path(&dir, 31).exists() && !segment_path(&dir, 61).exists());
    log.truncate(21).unwrap(); // between batches: a plain cut
    assert_eq!(log.segment_count(), 1);
    drop(log);
    let mut log = open(&dir).unwrap();
    assert_eq!(log.last_index(), 20);
    assert_eq!(file_len(&segment_path(&dir, 1)), record_offset(20));
    log.append(&[entry(21, 2)]).unwrap();
    drop(log);
    let log = open(&dir).unwrap();
    assert_eq!(log.term(21).unwrap(), Some(2));
    assert_eq!(log.term(22).unwrap(), None);
}

#[test]
fn truncating_into_a_batch_seals_its_first_part_with_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    for first in [1, 31, 61] {
        log.append(&batch(first, 30)).unwrap();
    }
    log.truncate(20).unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(file_len(&segment_path(&dir, 1)), record_offset(19));
    assert_eq!(
        std::fs::read(segment_path(&dir, 20)).unwrap(),
        segment::header(20, 4),
        "the seal is an empty segment"
    );
    drop(log);
    let mut log = open(&dir).unwrap();
    assert_eq!(log.entries(1, 20).unwrap(), batch(1, 19));
    log.append(&[entry(20, 2)]).unwrap();
    log.append(&[entry(21, 2)]).unwrap();
    assert_eq!(log.segment_count(), 2, "the next batch goes into the seal");
    drop(log);
    let log = open(&dir).unwrap();
    assert_eq!(log.last_index(), 21);
    assert_eq!(log.term(20).unwrap(), Some(2));
}

#[test]
fn truncating_at_a_seal_keeps_it_and_into_a_batch_again_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 5)).unwrap();
    log.truncate(4).unwrap();
    log.append(&batch(4, 3)).unwrap();
    log.truncate(4).unwrap(); // the seal's own first entry: the seal stays, empty
    assert_eq!(log.segment_count(), 2);
    assert_eq!(
        file_len(&segment_path(&dir, 4)),
        segment::HEADER_BYTES as u64
    );
    drop(log);
    let mut log = open(&dir).unwrap();
    assert_eq!(log.entries(1, 4).unwrap(), batch(1, 3));
    log.truncate(2).unwrap(); // into the first batch again: a seal at 2 replaces the one at 4
    assert!(!segment_path(&dir, 4).exists());
    assert_eq!(log.segment_count(), 2);
    drop(log);
    let mut log = open(&dir).unwrap();
    assert_eq!(log.entries(1, 2).unwrap(), batch(1, 1));
    log.truncate(1).unwrap();
    assert_eq!(log.segment_count(), 0);
    drop(log);
    assert_eq!(open(&dir).unwrap().last_index(), 0);
}

#[test]
fn a_truncation_interrupted_after_its_seal_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    log.append(&batch(1, 5)).unwrap();
    drop(log);
    // What a crash after the seal was made and before the cut leaves.
    std::fs::write(segment_path(&dir, 3), segment::header(3, 2)).unwrap();
    let mut log = open(&dir).unwrap();
    assert_eq!(log.last_index(), 2);
    assert_eq!(file_len(&segment_path(&dir, 1)), record_offset(2));
    log.append(&batch(3, 2)).unwrap();
    drop(log);
    assert_eq!(open(&dir).unwrap().entries(1, 5).unwrap(), batch(1, 4));
}

#[test]
fn hard_state_survives_and_a_leftover_temp_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let state = HardState {
        current_term: 5,
        voted_for: Some(3),
    };
    open(&dir).unwrap().save_hard_state(state).unwrap();
    std::fs::write(dir.path().join(hard_state::TEMP_FILE_NAME), b"half-written").unwrap();
    let log = open(&dir).unwrap();
    assert_eq!(log.hard_state(), state);
    assert!(!dir.path().join(hard_state::TEMP_FILE_NAME).exists());
}

#[test]
fn corrupted_hard_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir)
        .unwrap()
        .save_hard_state(HardState {
            current_term: 5,
            voted_for: None,
        })
        .unwrap();
    let path = dir.path().join(hard_state::FILE_NAME);
    flip_byte(&path, 6);
    match open(&dir) {
        Err(LogError::Corrupted { location, reason }) => {
            assert_eq!(location, path.display().to_string());
            assert_eq!(reason, "checksum mismatch");
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|log| log.last_index())
        ),
    }
}

#[test]
fn open_creates_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let mut log = FileLog::open(&nested).unwrap();
    log.append(&batch(1, 1)).unwrap();
    assert_eq!(log.dir(), nested);
    assert_eq!(FileLog::open(&nested).unwrap().last_index(), 1);
}

/// `StdFs` whose file syncs fail while `fail_sync` is set.
#[derive(Clone, Default)]
struct FailingFs {
    fail_sync: Arc<AtomicBool>,
}

struct FailingFile {
    file: std::fs::File,
    fail_sync: Arc<AtomicBool>,
}

impl FileSystem for FailingFs {
    type File = FailingFile;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdFs.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        StdFs.list(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        StdFs.read(path)
    }
    fn open(&self, path: &Path) -> io::Result<FailingFile> {
        Ok(FailingFile {
            file: StdFs.open(path)?,
            fail_sync: self.fail_sync.clone(),
        })
    }
    fn create(&self, path: &Path) -> io::Result<FailingFile> {
        Ok(FailingFile {
            file: StdFs.create(path)?,
            fail_sync: self.fail_sync.clone(),
        })
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        StdFs.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.sync_dir(dir)
    }
}

impl FsFile for FailingFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_at(offset, data)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        FsFile::set_len(&mut self.file, len)
    }
    fn sync(&mut self) -> io::Result<()> {
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.file.sync()
    }
    fn len(&self) -> io::Result<u64> {
        FsFile::len(&self.file)
    }
}

#[test]
fn an_io_error_stops_the_log_until_it_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FailingFs::default();
    let mut log = FileLog::open_with(fs.clone(), dir.path(), small_segments()).unwrap();
    log.append(&batch(1, 2)).unwrap();
    fs.fail_sync.store(true, Ordering::SeqCst);
    let error = log.append(&batch(3, 2)).unwrap_err();
    assert!(
        error.to_string().contains("injected fsync failure"),
        "{error}"
    );
    fs.fail_sync.store(false, Ordering::SeqCst);
    for result in [
        log.append(&batch(3, 1)),
        log.truncate(2),
        log.entries(1, 2).map(|_| ()),
    ] {
        let error = result.unwrap_err();
        assert!(
            error.to_string().contains("reopen it to recover"),
            "{error}"
        );
    }
    drop(log);
    let log = FileLog::open_with(fs, dir.path(), small_segments()).unwrap();
    // The failed batch is there whole or not at all.
    let last = log.last_index();
    assert!([2, 4].contains(&last), "{last}");
    assert_eq!(log.entries(1, last + 1).unwrap(), batch(1, last));
}
