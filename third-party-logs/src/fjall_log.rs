//! A [`Log`](rafty::Log) on fjall, an LSM tree: entries in one keyspace under their index
//! (big-endian, so keys sort as indices), the hard state and the compaction base in another;
//! every write is one write batch, persisted with `PersistMode::SyncAll` before it returns
//! (or, planted, with no persist at all: the batch waits in fjall's journal buffer).

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rafty::{LogError, LogIndex};

use crate::kv_log::{Bugs, Change, KvLog, Loaded, Store};

/// How the fjall log is built: the planted bugs it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FjallOptions {
    /// Mistakes of the log itself.
    pub bugs: Bugs,
    /// Commit batches without persisting them (`durability(None)`): they wait in a buffer of
    /// the process.
    pub durability_none: bool,
}

/// A fjall database as a [`Store`].
pub struct FjallStore {
    db: Database,
    entries: Keyspace,
    meta: Keyspace,
    durability: Option<PersistMode>,
}

fn io_error(error: impl std::fmt::Display) -> LogError {
    LogError::Io(std::io::Error::other(format!("fjall: {error}")))
}

fn key(index: LogIndex) -> [u8; 8] {
    index.to_be_bytes()
}

impl Store for FjallStore {
    fn load(&self) -> Result<Loaded, LogError> {
        let mut entries = Vec::new();
        for guard in self.entries.iter() {
            let (index, bytes) = guard.into_inner().map_err(io_error)?;
            let index: [u8; 8] = index.as_ref().try_into().map_err(|_| LogError::Corrupted {
                location: "fjall keyspace `entries`".to_owned(),
                reason: format!("a key of {} bytes, not 8", index.len()),
            })?;
            entries.push((u64::from_be_bytes(index), bytes.to_vec()));
        }
        let get = |name: &str| -> Result<Option<Vec<u8>>, LogError> {
            let value = self.meta.get(name).map_err(io_error)?;
            Ok(value.map(|bytes| bytes.to_vec()))
        };
        Ok(Loaded {
            entries,
            hard_state: get("hard_state")?,
            base: get("base")?,
        })
    }

    fn commit(&mut self, change: Change) -> Result<(), LogError> {
        let mut batch = self.db.batch().durability(self.durability);
        let mut doomed = Vec::new();
        if let Some(from) = change.remove_from {
            doomed.extend(self.entries.range(key(from)..).map(|guard| guard.key()));
        }
        if let Some(through) = change.remove_through {
            doomed.extend(self.entries.range(..=key(through)).map(|guard| guard.key()));
        }
        for doomed_key in doomed {
            batch.remove(&self.entries, doomed_key.map_err(io_error)?);
        }
        for (index, bytes) in change.put {
            batch.insert(&self.entries, key(index), bytes);
        }
        if let Some(bytes) = change.hard_state {
            batch.insert(&self.meta, "hard_state", bytes);
        }
        if let Some(bytes) = change.base {
            batch.insert(&self.meta, "base", bytes);
        }
        batch.commit().map_err(io_error)
    }
}

/// The log in `dir`.
pub fn open(dir: &Path, options: FjallOptions) -> Result<KvLog<FjallStore>, LogError> {
    let db = Database::builder(dir)
        .worker_threads(1)
        .open()
        .map_err(io_error)?;
    let entries = db
        .keyspace("entries", KeyspaceCreateOptions::default)
        .map_err(io_error)?;
    let meta = db
        .keyspace("meta", KeyspaceCreateOptions::default)
        .map_err(io_error)?;
    let durability = if options.durability_none {
        None
    } else {
        Some(PersistMode::SyncAll)
    };
    let store = FjallStore {
        db,
        entries,
        meta,
        durability,
    };
    KvLog::open(store, options.bugs)
}
