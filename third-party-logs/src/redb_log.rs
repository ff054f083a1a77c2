//! A [`Log`](rafty::Log) on redb: entries in one table by index, the hard state and the
//! compaction base in another, every write one transaction committed with
//! `Durability::Immediate` (or, planted, `Durability::None`).
//!
//! On a real disk redb keeps one file, `log.redb`. On rafty's `FileSystem`
//! ([`open_on`]) the file is created as `log.redb.new`, initialised, synced and renamed into
//! place (then the directory synced), so a crash during creation leaves no half-made database.

use std::path::Path;

use rafty::LogError;
use rafty::file_log::fs::FileSystem;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::kv_log::{Bugs, Change, KvLog, Loaded, Store};
use crate::redb_backend::FsBackend;

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const FILE: &str = "log.redb";

/// How the redb log is built: the planted bugs it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedbOptions {
    /// Mistakes of the log itself.
    pub bugs: Bugs,
    /// Commit with `Durability::None`: redb keeps the commit in memory until a durable one.
    pub durability_none: bool,
    /// On a `FileSystem`, the backend's `sync_data` does nothing (a missing fsync).
    pub skip_fsync: bool,
}

/// A redb database as a [`Store`].
pub struct RedbStore {
    db: Database,
    durability: Durability,
}

fn io_error(error: impl std::fmt::Display) -> LogError {
    LogError::Io(std::io::Error::other(format!("redb: {error}")))
}

impl RedbStore {
    fn new(db: Database, options: RedbOptions) -> Result<RedbStore, LogError> {
        // Both tables exist from the first open on, so reads never meet a missing table.
        let txn = db.begin_write().map_err(io_error)?;
        txn.open_table(ENTRIES).map_err(io_error)?;
        txn.open_table(META).map_err(io_error)?;
        txn.commit().map_err(io_error)?;
        let durability = if options.durability_none {
            Durability::None
        } else {
            Durability::Immediate
        };
        Ok(RedbStore { db, durability })
    }
}

impl Store for RedbStore {
    fn load(&self) -> Result<Loaded, LogError> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let entries_table = txn.open_table(ENTRIES).map_err(io_error)?;
        let meta = txn.open_table(META).map_err(io_error)?;
        let mut entries = Vec::new();
        for item in entries_table.range(0..).map_err(io_error)? {
            let (index, bytes) = item.map_err(io_error)?;
            entries.push((index.value(), bytes.value().to_vec()));
        }
        let get = |name: &str| -> Result<Option<Vec<u8>>, LogError> {
            let value = meta.get(name).map_err(io_error)?;
            Ok(value.map(|bytes| bytes.value().to_vec()))
        };
        Ok(Loaded {
            entries,
            hard_state: get("hard_state")?,
            base: get("base")?,
        })
    }

    fn commit(&mut self, change: Change) -> Result<(), LogError> {
        let mut txn = self.db.begin_write().map_err(io_error)?;
        txn.set_durability(self.durability).map_err(io_error)?;
        {
            let mut entries = txn.open_table(ENTRIES).map_err(io_error)?;
            if let Some(from) = change.remove_from {
                entries.retain_in(from.., |_, _| false).map_err(io_error)?;
            }
            if let Some(through) = change.remove_through {
                entries
                    .retain_in(..=through, |_, _| false)
                    .map_err(io_error)?;
            }
            for (index, bytes) in &change.put {
                entries.insert(*index, bytes.as_slice()).map_err(io_error)?;
            }
            let mut meta = txn.open_table(META).map_err(io_error)?;
            if let Some(bytes) = &change.hard_state {
                meta.insert("hard_state", bytes.as_slice())
                    .map_err(io_error)?;
            }
            if let Some(bytes) = &change.base {
                meta.insert("base", bytes.as_slice()).map_err(io_error)?;
            }
        }
        txn.commit().map_err(io_error)
    }
}

/// `open()`, with a panic inside redb (it panics on some damaged files) turned into
/// [`LogError::Corrupted`] naming `what`: a damaged file is refused, never a crash.
fn refusing_panics<T>(
    what: &Path,
    open: impl FnOnce() -> Result<T, LogError>,
) -> Result<T, LogError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(LogError::Corrupted {
            location: what.display().to_string(),
            reason: format!("redb panicked reading it: {reason}"),
        })
    })
}

/// The log in `dir` on the real disk (redb's own file backend).
pub fn open(dir: &Path, options: RedbOptions) -> Result<KvLog<RedbStore>, LogError> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    refusing_panics(&path, || {
        let db = Database::create(&path).map_err(io_error)?;
        KvLog::open(RedbStore::new(db, options)?, options.bugs)
    })
}

/// The log in `dir` on `fs`, through [`FsBackend`].
pub fn open_on<FS: FileSystem>(
    fs: FS,
    dir: &Path,
    options: RedbOptions,
) -> Result<KvLog<RedbStore>, LogError> {
    let path = dir.join(FILE);
    let fresh = dir.join(format!("{FILE}.new"));
    fs.create_dir_all(dir)?;
    // The directory itself survives a power cut only once its parent's entries are synced.
    if let Some(parent) = dir.parent() {
        fs.sync_dir(parent)?;
    }
    let names = fs.list(dir)?;
    if names.iter().any(|name| *name == format!("{FILE}.new")) {
        fs.remove(&fresh)?;
        fs.sync_dir(dir)?;
    }
    if !names.iter().any(|name| name == FILE) {
        let file = fs.create(&fresh)?;
        let backend = FsBackend::<FS>::new(file, &fresh, options.skip_fsync);
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(io_error)?;
        RedbStore::new(db, RedbOptions::default())?;
        fs.rename(&fresh, &path)?;
        fs.sync_dir(dir)?;
    }
    let backend = FsBackend::<FS>::new(fs.open(&path)?, &path, options.skip_fsync);
    refusing_panics(&path, || {
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(io_error)?;
        KvLog::open(RedbStore::new(db, options)?, options.bugs)
    })
}
