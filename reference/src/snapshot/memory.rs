//! `MemorySnapshotStore`: the in-memory [`SnapshotStore`], the node's default, for quick
//! starts, unit tests and the simulation.
//!
//! Like [`crate::MemoryStorage`], it is a cheap shareable handle: clones share one store, so a
//! simulated restart that hands the node a clone finds the snapshot it had (every finish is
//! "durable" the moment it returns `Ok`). An opened snapshot holds an `Arc` of its bytes, so
//! it reads on after a newer one replaced it, and the bytes go with the last handle.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{SnapshotChunks, SnapshotError, SnapshotMeta, SnapshotStore, SnapshotWriter};
use crate::types::{LogIndex, Term};

/// The current snapshot: its metadata and its bytes.
#[derive(Debug)]
struct Current {
    meta: SnapshotMeta,
    data: Arc<Vec<u8>>,
}

/// A [`SnapshotStore`] in memory; clones share the same snapshot.
#[derive(Clone, Debug, Default)]
pub struct MemorySnapshotStore {
    current: Arc<Mutex<Option<Current>>>,
    /// Broken on purpose (the `install-stale-snapshot` bug as a whole node has it): accept a
    /// snapshot older than the current one.
    #[cfg(feature = "mutations")]
    accepts_older: Arc<std::sync::atomic::AtomicBool>,
}

impl MemorySnapshotStore {
    /// An empty store.
    pub fn new() -> Self {
        MemorySnapshotStore::default()
    }

    /// Break the store's contract on purpose: from now on (in every clone) accept a snapshot
    /// that covers no more than the current one, as a store without the check would. For the
    /// harness's catalogue only (`install-stale-snapshot`: the core's staleness check and the
    /// store's both missing, as in an implementation that has neither).
    #[cfg(feature = "mutations")]
    pub fn accept_older_snapshots(&self) {
        self.accepts_older
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the ordering check is on (always, unless broken on purpose).
    fn checks_order(&self) -> bool {
        #[cfg(feature = "mutations")]
        {
            !self.accepts_older.load(std::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "mutations"))]
        {
            true
        }
    }

    /// A copy of the current snapshot's bytes, if any (for tests).
    pub fn latest_bytes(&self) -> Option<Vec<u8>> {
        self.lock().as_ref().map(|current| current.data.to_vec())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Current>> {
        // Nothing panics while holding the lock: a poisoned one still guards a whole value.
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refuse a snapshot that covers no more than the current one (the store's contract).
    fn check_newer(&self, current: &Option<Current>, index: LogIndex) -> Result<(), SnapshotError> {
        if !self.checks_order() {
            return Ok(());
        }
        match current {
            Some(current) if current.meta.last_included_index >= index => {
                Err(SnapshotError::Contract(format!(
                    "a snapshot through index {index} is not newer than the current one \
                     (through index {})",
                    current.meta.last_included_index
                )))
            }
            _ => Ok(()),
        }
    }
}

impl SnapshotStore for MemorySnapshotStore {
    fn latest(&self) -> Result<Option<SnapshotMeta>, SnapshotError> {
        Ok(self.lock().as_ref().map(|current| current.meta))
    }

    fn begin(
        &mut self,
        last_included_index: LogIndex,
        last_included_term: Term,
    ) -> Result<Box<dyn SnapshotWriter>, SnapshotError> {
        self.check_newer(&self.lock(), last_included_index)?;
        Ok(Box::new(MemorySnapshotWriter {
            store: self.clone(),
            last_included_index,
            last_included_term,
            data: Vec::new(),
        }))
    }

    fn open(&self, expected: &SnapshotMeta) -> Result<Box<dyn SnapshotChunks>, SnapshotError> {
        let current = self.lock();
        let Some(current) = current.as_ref().filter(|c| c.meta == *expected) else {
            return Err(SnapshotError::Contract(format!(
                "open: the snapshot {expected:?} is not the current one"
            )));
        };
        Ok(Box::new(MemorySnapshotChunks {
            meta: current.meta,
            data: current.data.clone(),
        }))
    }
}

/// A snapshot of a [`MemorySnapshotStore`] opened for reading: its own `Arc` of the bytes.
struct MemorySnapshotChunks {
    meta: SnapshotMeta,
    data: Arc<Vec<u8>>,
}

impl SnapshotChunks for MemorySnapshotChunks {
    fn meta(&self) -> SnapshotMeta {
        self.meta
    }

    fn read_chunk(&mut self, offset: u64, max_len: usize) -> Result<Vec<u8>, SnapshotError> {
        let size = self.data.len() as u64;
        if offset > size {
            return Err(SnapshotError::Contract(format!(
                "read_chunk: offset {offset} is past the snapshot's size {size}"
            )));
        }
        let start = offset as usize;
        let end = start + max_len.min(self.data.len() - start);
        Ok(self.data[start..end].to_vec())
    }
}

/// A snapshot being written into a [`MemorySnapshotStore`].
struct MemorySnapshotWriter {
    store: MemorySnapshotStore,
    last_included_index: LogIndex,
    last_included_term: Term,
    data: Vec<u8>,
}

impl SnapshotWriter for MemorySnapshotWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.data.len() as u64
    }

    fn finish(self: Box<Self>) -> Result<SnapshotMeta, SnapshotError> {
        let mut current = self.store.lock();
        // Checked again: another writer may have finished a newer snapshot meanwhile.
        self.store.check_newer(&current, self.last_included_index)?;
        let meta = SnapshotMeta {
            last_included_index: self.last_included_index,
            last_included_term: self.last_included_term,
            size_bytes: self.data.len() as u64,
            checksum: crc32c::crc32c(&self.data),
        };
        *current = Some(Current {
            meta,
            data: Arc::new(self.data),
        });
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(store: &mut MemorySnapshotStore, index: LogIndex, bytes: &[u8]) -> SnapshotMeta {
        let mut writer = store.begin(index, 2).unwrap();
        writer.write(&bytes[..1]).unwrap();
        writer.write(&bytes[1..]).unwrap();
        assert_eq!(writer.written(), bytes.len() as u64);
        writer.finish().unwrap()
    }

    #[test]
    fn a_finished_snapshot_is_the_latest_and_reads_back_in_chunks() {
        let mut store = MemorySnapshotStore::new();
        assert_eq!(store.latest().unwrap(), None);
        let meta = write(&mut store, 5, b"hello world");
        assert_eq!(meta.last_included_index, 5);
        assert_eq!(meta.size_bytes, 11);
        assert_eq!(meta.checksum, crc32c::crc32c(b"hello world"));
        assert_eq!(store.latest().unwrap(), Some(meta));
        assert_eq!(store.read_chunk(&meta, 0, 5).unwrap(), b"hello");
        assert_eq!(store.read_chunk(&meta, 6, 100).unwrap(), b"world");
        assert_eq!(store.read_chunk(&meta, 11, 100).unwrap(), b"");
        assert!(matches!(
            store.read_chunk(&meta, 12, 1),
            Err(SnapshotError::Contract(_))
        ));
    }

    #[test]
    fn an_unfinished_snapshot_changes_nothing() {
        let mut store = MemorySnapshotStore::new();
        let meta = write(&mut store, 5, b"old");
        let mut writer = store.begin(9, 3).unwrap();
        writer.write(b"new").unwrap();
        drop(writer);
        assert_eq!(store.latest().unwrap(), Some(meta));
    }

    /// The store's contract: a snapshot never moves a node's state backwards.
    #[test]
    fn older_or_equal_snapshots_are_refused() {
        let mut store = MemorySnapshotStore::new();
        let meta = write(&mut store, 5, b"five");
        assert!(matches!(store.begin(5, 2), Err(SnapshotError::Contract(_))));
        assert!(matches!(store.begin(4, 2), Err(SnapshotError::Contract(_))));
        let stale = store.begin(6, 2).unwrap();
        write(&mut store, 7, b"seven");
        assert!(matches!(stale.finish(), Err(SnapshotError::Contract(_))));
        assert_ne!(store.latest().unwrap(), Some(meta));
    }

    #[test]
    fn opening_a_replaced_snapshot_is_refused() {
        let mut store = MemorySnapshotStore::new();
        let old = write(&mut store, 5, b"five");
        write(&mut store, 6, b"six");
        assert!(matches!(store.open(&old), Err(SnapshotError::Contract(_))));
        assert!(matches!(
            store.read_chunk(&old, 0, 4),
            Err(SnapshotError::Contract(_))
        ));
    }

    /// The store's contract, for a leader's InstallSnapshot transfer (Raft §7): a snapshot
    /// opened before a newer one replaced it reads on to its end, unchanged.
    #[test]
    fn a_transfer_survives_a_replacement() {
        let mut store = MemorySnapshotStore::new();
        let old = write(&mut store, 5, b"five bytes");
        let mut chunks = store.open(&old).unwrap();
        assert_eq!(chunks.read_chunk(0, 4).unwrap(), b"five");
        let new = write(&mut store, 6, b"six");
        assert_eq!(store.latest().unwrap(), Some(new));
        assert_eq!(chunks.meta(), old);
        assert_eq!(chunks.read_chunk(4, 100).unwrap(), b" bytes");
        assert_eq!(chunks.read_chunk(10, 100).unwrap(), b"");
        assert_eq!(store.open(&new).unwrap().read_chunk(0, 9).unwrap(), b"six");
    }

    #[test]
    fn clones_share_the_store_across_a_simulated_restart() {
        let mut store = MemorySnapshotStore::new();
        let reopened = store.clone();
        let meta = write(&mut store, 3, b"abc");
        drop(store);
        assert_eq!(reopened.latest().unwrap(), Some(meta));
        assert_eq!(reopened.latest_bytes().unwrap(), b"abc");
    }
}
