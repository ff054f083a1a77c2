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
    log.append(&batch(1, 3)).unwrap();
    drop(log);
    let path = segment_path(&dir, 1);
    let full = std::fs::read(&path).unwrap();
    let record_size = full.len() as u64 / 3;
    for cut in 2 * record_size + 1..3 * record_size {
        std::fs::write(&path, &full[..cut as usize]).unwrap();
        let mut log = open(&dir).unwrap();
        assert_eq!(log.last_index(), 2, "cut at {cut}");
        assert_eq!(
            file_len(&path),
            2 * record_size,
            "the torn tail is removed from the file"
        );
        log.append(&batch(3, 1)).unwrap();
        drop(log);
        assert_eq!(open(&dir).unwrap().entries(1, 4).unwrap(), batch(1, 3));
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
    let record_size = file_len(&path) / 3;
    flip_byte(&path, record_size + 20); // inside the second record's payload
    match open(&dir) {
        Err(LogError::Corrupted { location, reason }) => {
            assert_eq!(
                location,
                format!("{} at offset {record_size}", path.display())
            );
            assert_eq!(reason, "record checksum mismatch");
        }
        other => panic!(
            "expected Corrupted, got {:?}",
            other.map(|log| log.last_index())
        ),
    }
    assert_eq!(
        file_len(&path),
        3 * record_size,
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
    flip_byte(&path, 20);
    assert!(matches!(log.entries(1, 2), Err(LogError::Corrupted { .. })));
    assert_eq!(log.entries(2, 4).unwrap(), batch(2, 2));
}

#[test]
fn truncation_across_segments_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(&dir).unwrap();
    for first in [1, 31, 61] {
        log.append(&batch(first, 30)).unwrap();
    }
    log.truncate(20).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert!(!segment_path(&dir, 31).exists() && !segment_path(&dir, 61).exists());
    drop(log);
    let mut log = open(&dir).unwrap();
    assert_eq!(log.last_index(), 19);
    let record_size = record::encode(&entry(1, 1), &mut Vec::new()).unwrap();
    assert_eq!(file_len(&segment_path(&dir, 1)), 19 * record_size);
    log.append(&[entry(20, 2)]).unwrap();
    drop(log);
    let log = open(&dir).unwrap();
    assert_eq!(log.term(20).unwrap(), Some(2));
    assert_eq!(log.term(21).unwrap(), None);
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
}

#[test]
fn an_io_error_stops_the_log_until_it_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FailingFs::default();
    let mut log = FileLog::open_with(fs.clone(), dir.path(), small_segments()).unwrap();
    log.append(&batch(1, 2)).unwrap();
    fs.fail_sync.store(true, Ordering::SeqCst);
    let error = log.append(&batch(3, 1)).unwrap_err();
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
    // The failed batch may or may not be there; what is there is a prefix of what was asked.
    let last = log.last_index();
    assert!((2..=3).contains(&last), "{last}");
    assert_eq!(log.entries(1, last + 1).unwrap(), batch(1, last));
}
