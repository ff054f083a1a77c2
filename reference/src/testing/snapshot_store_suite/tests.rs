//! FileSnapshotStore passes the suite (on real files and on a CrashFs disk); stores that
//! break each rule are caught by name.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use super::*;
use crate::file_snapshot::FileSnapshotStore;
use crate::snapshot::{SnapshotChunks, SnapshotMeta, SnapshotWriter};
use crate::testing::CrashFs;
use crate::types::{LogIndex, Term};

struct Files;

impl SnapshotStoreFactory for Files {
    type Store = FileSnapshotStore;
    type Disk = TempDir;
    fn create(&mut self) -> Result<TempDir, SnapshotError> {
        Ok(tempfile::tempdir()?)
    }
    fn open(&mut self, dir: &TempDir) -> Result<FileSnapshotStore, SnapshotError> {
        FileSnapshotStore::open(dir.path())
    }
}

struct OnCrashFs;

impl SnapshotStoreFactory for OnCrashFs {
    type Store = FileSnapshotStore<CrashFs>;
    type Disk = CrashFs;
    fn create(&mut self) -> Result<CrashFs, SnapshotError> {
        Ok(CrashFs::new(7))
    }
    fn open(&mut self, disk: &CrashFs) -> Result<Self::Store, SnapshotError> {
        FileSnapshotStore::open_with(disk.clone(), Path::new("/data/snapshots"))
    }
}

#[test]
fn file_snapshot_store_passes_every_case() {
    let report = run(&mut Files);
    report.assert_all_passed();
    let names: Vec<_> = report.cases.iter().map(|case| case.name).collect();
    assert_eq!(names, case_names());
}

#[test]
fn file_snapshot_store_passes_on_a_crash_fs_disk() {
    run(&mut OnCrashFs).assert_all_passed();
}

/// What is wrong with a [`Broken`] store.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Defect {
    None,
    /// It accepts a snapshot through any index.
    AcceptsOlder,
    /// Its "disk" is forgotten on reopen.
    ForgetsOnReopen,
    /// Each write replaces the current snapshot at once, before `finish`.
    PublishesBeforeFinish,
    /// `open` ignores `expected`.
    ReadsAnySnapshot,
    /// An opened snapshot reads the current one, and so fails once replaced (the store of
    /// the soak's finding 3).
    DropsReplacedSnapshot,
    /// `finish` computes no checksum.
    NoChecksum,
}

type Current = Arc<Mutex<Option<(SnapshotMeta, Vec<u8>)>>>;

/// An in-memory store with one deliberate defect.
struct Broken {
    current: Current,
    defect: Defect,
}

struct BrokenWriter {
    current: Current,
    defect: Defect,
    index: LogIndex,
    term: Term,
    bytes: Vec<u8>,
}

impl BrokenWriter {
    fn meta(&self) -> SnapshotMeta {
        SnapshotMeta {
            last_included_index: self.index,
            last_included_term: self.term,
            size_bytes: self.bytes.len() as u64,
            checksum: match self.defect {
                Defect::NoChecksum => 0,
                _ => crc32c::crc32c(&self.bytes),
            },
        }
    }
}

impl SnapshotWriter for BrokenWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.bytes.extend_from_slice(bytes);
        if self.defect == Defect::PublishesBeforeFinish {
            *self.current.lock().unwrap() = Some((self.meta(), self.bytes.clone()));
        }
        Ok(())
    }
    fn written(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn finish(self: Box<Self>) -> Result<SnapshotMeta, SnapshotError> {
        let meta = self.meta();
        let mut current = self.current.lock().unwrap();
        if let Some((old, _)) = current
            .as_ref()
            .filter(|_| self.defect != Defect::AcceptsOlder)
        {
            if old.last_included_index >= meta.last_included_index
                && (self.defect != Defect::PublishesBeforeFinish || *old != meta)
            {
                return Err(SnapshotError::Contract("not newer".into()));
            }
        }
        *current = Some((meta, self.bytes.clone()));
        Ok(meta)
    }
}

impl SnapshotStore for Broken {
    fn latest(&self) -> Result<Option<SnapshotMeta>, SnapshotError> {
        Ok(self.current.lock().unwrap().as_ref().map(|(meta, _)| *meta))
    }
    fn begin(
        &mut self,
        last_included_index: LogIndex,
        last_included_term: Term,
    ) -> Result<Box<dyn SnapshotWriter>, SnapshotError> {
        Ok(Box::new(BrokenWriter {
            current: self.current.clone(),
            defect: self.defect,
            index: last_included_index,
            term: last_included_term,
            bytes: Vec::new(),
        }))
    }
    fn open(&self, expected: &SnapshotMeta) -> Result<Box<dyn SnapshotChunks>, SnapshotError> {
        let current = self.current.lock().unwrap();
        let Some((meta, bytes)) = current.as_ref() else {
            return Err(SnapshotError::Contract("no snapshot".into()));
        };
        if meta != expected && self.defect != Defect::ReadsAnySnapshot {
            return Err(SnapshotError::Contract("another snapshot".into()));
        }
        Ok(Box::new(BrokenChunks {
            meta: *meta,
            bytes: bytes.clone(),
            current: (self.defect == Defect::DropsReplacedSnapshot).then(|| self.current.clone()),
        }))
    }
}

/// A [`Broken`] store's opened snapshot: its own copy of the bytes, or, with
/// `DropsReplacedSnapshot`, the store's current one.
struct BrokenChunks {
    meta: SnapshotMeta,
    bytes: Vec<u8>,
    current: Option<Current>,
}

impl SnapshotChunks for BrokenChunks {
    fn meta(&self) -> SnapshotMeta {
        self.meta
    }
    fn read_chunk(&mut self, offset: u64, max_len: usize) -> Result<Vec<u8>, SnapshotError> {
        if let Some(current) = &self.current {
            match current.lock().unwrap().as_ref() {
                Some((meta, _)) if *meta == self.meta => {}
                _ => return Err(SnapshotError::Contract("replaced".into())),
            }
        }
        let start = (offset as usize).min(self.bytes.len());
        let end = start.saturating_add(max_len).min(self.bytes.len());
        Ok(self.bytes[start..end].to_vec())
    }
}

struct BrokenFactory(Defect);

impl SnapshotStoreFactory for BrokenFactory {
    type Store = Broken;
    type Disk = Current;
    fn create(&mut self) -> Result<Current, SnapshotError> {
        Ok(Current::default())
    }
    fn open(&mut self, disk: &Current) -> Result<Broken, SnapshotError> {
        if self.0 == Defect::ForgetsOnReopen {
            *disk.lock().unwrap() = None;
        }
        Ok(Broken {
            current: disk.clone(),
            defect: self.0,
        })
    }
}

fn failed_cases(defect: Defect) -> Vec<&'static str> {
    let report = run(&mut BrokenFactory(defect));
    assert_eq!(report.cases.len(), case_names().len());
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn the_test_double_without_a_defect_passes() {
    assert_eq!(failed_cases(Defect::None), Vec::<&str>::new());
}

#[test]
fn accepting_an_older_snapshot_is_caught() {
    assert_eq!(
        failed_cases(Defect::AcceptsOlder),
        ["older_or_equal_snapshot_is_refused"]
    );
}

#[test]
fn forgetting_on_reopen_is_caught() {
    assert_eq!(
        failed_cases(Defect::ForgetsOnReopen),
        [
            "older_or_equal_snapshot_is_refused",
            "newer_snapshot_replaces_the_old",
            "crash_before_finish_keeps_the_old_snapshot",
            "reopen_keeps_the_snapshot",
            "an_opened_snapshot_survives_a_replacement",
        ]
    );
}

#[test]
fn publishing_before_finish_is_caught() {
    let failures = failed_cases(Defect::PublishesBeforeFinish);
    assert!(
        failures.contains(&"crash_before_finish_keeps_the_old_snapshot"),
        "{failures:?}"
    );
}

#[test]
fn reading_a_replaced_snapshot_is_caught() {
    assert_eq!(
        failed_cases(Defect::ReadsAnySnapshot),
        [
            "newer_snapshot_replaces_the_old",
            "an_opened_snapshot_survives_a_replacement"
        ]
    );
}

#[test]
fn a_missing_checksum_is_caught() {
    assert_eq!(failed_cases(Defect::NoChecksum), ["latest_after_finish"]);
}

/// The soak's finding 3: a store whose opened snapshot stops reading once a newer one
/// replaced it restarts every leader's transfer that outlasts the time between snapshots.
#[test]
fn dropping_a_replaced_snapshot_under_a_reader_is_caught() {
    assert_eq!(
        failed_cases(Defect::DropsReplacedSnapshot),
        ["an_opened_snapshot_survives_a_replacement"]
    );
}
