//! Reading a [`FileSnapshotStore`](super::FileSnapshotStore)'s snapshots through handles that
//! outlive a replacement: each stored snapshot counts the handles open on it, `finish` renames
//! a replaced one that has handles aside (`snapshot.<n>.old`) instead of letting the rename
//! over `snapshot` take it, and the last handle to go removes it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Shared, aside_name, format, io_at, lock};
use crate::file_log::fs::{FileSystem, FsFile};
use crate::snapshot::{SnapshotChunks, SnapshotError, SnapshotMeta};

/// A finished snapshot: its metadata, where its file is now and an open handle on it.
pub(super) struct Stored<FS: FileSystem> {
    pub(super) meta: SnapshotMeta,
    path: PathBuf,
    file: FS::File,
    /// One clone per open [`FileSnapshotChunks`]: more than one count means it is read.
    readers: Arc<()>,
}

impl<FS: FileSystem> Stored<FS> {
    pub(super) fn new(meta: SnapshotMeta, path: PathBuf, file: FS::File) -> Self {
        Stored {
            meta,
            path,
            file,
            readers: Arc::new(()),
        }
    }

    fn is_read(&self) -> bool {
        Arc::strong_count(&self.readers) > 1
    }
}

impl<FS: FileSystem> Shared<FS> {
    /// Before `finish` renames a new snapshot over `snapshot`: if handles read the current
    /// one, rename it aside and reopen it there, so they read on. An error leaves the store
    /// unsure of its files (the caller fails it).
    pub(super) fn move_current_aside(&mut self) -> std::io::Result<()> {
        let Some(path) = self
            .current
            .as_ref()
            .filter(|c| c.is_read())
            .map(|c| c.path.clone())
        else {
            return Ok(());
        };
        let aside = self.dir.join(aside_name(self.next_temp));
        self.next_temp += 1;
        self.fs.rename(&path, &aside)?;
        let current = self.current.take().expect("checked above");
        drop(current.file);
        let file = self.fs.open(&aside)?;
        self.replaced.push(Stored {
            path: aside,
            file,
            ..current
        });
        Ok(())
    }

    /// Remove the replaced snapshots no handle reads any more (a failure leaves the file for
    /// the next open to remove).
    fn sweep_replaced(&mut self) {
        let (done, kept) = std::mem::take(&mut self.replaced)
            .into_iter()
            .partition(|stored| !stored.is_read());
        self.replaced = kept;
        for stored in done {
            drop(stored.file);
            if let Err(error) = self.fs.remove(&stored.path) {
                tracing::warn!(path = %stored.path.display(), %error,
                    "could not remove a replaced snapshot");
            }
        }
    }
}

/// A handle on one snapshot of a [`FileSnapshotStore`](super::FileSnapshotStore).
pub(super) struct FileSnapshotChunks<FS: FileSystem> {
    shared: Arc<Mutex<Shared<FS>>>,
    meta: SnapshotMeta,
    /// This handle's count on the snapshot (`None` only while dropping).
    reader: Option<Arc<()>>,
    /// How far a sequential read got (the next offset) and the CRC32C of what it read, to
    /// check the whole against the metadata at the end.
    read_check: Option<(u64, u32)>,
}

impl<FS: FileSystem> FileSnapshotChunks<FS> {
    pub(super) fn new(shared: Arc<Mutex<Shared<FS>>>, stored: &Stored<FS>) -> Self {
        FileSnapshotChunks {
            shared,
            meta: stored.meta,
            reader: Some(stored.readers.clone()),
            read_check: None,
        }
    }

    /// Follow a sequential read: when it reaches the end, the CRC32C of everything read must
    /// be the one the metadata holds, or the data changed on disk since it was written (bit
    /// rot): [`SnapshotError::Corrupted`].
    fn check_read(&mut self, offset: u64, chunk: &[u8], path: &Path) -> Result<(), SnapshotError> {
        let crc = match self.read_check {
            _ if offset == 0 => 0,
            Some((next, crc)) if next == offset => crc,
            _ => {
                self.read_check = None; // not sequential: nothing to check
                return Ok(());
            }
        };
        let crc = crc32c::crc32c_append(crc, chunk);
        let end = offset + chunk.len() as u64;
        self.read_check = Some((end, crc));
        if end == self.meta.size_bytes && crc != self.meta.checksum {
            self.read_check = None;
            let reason = format!(
                "the data read back has checksum {crc:#010x}, the snapshot's is {:#010x}: it \
                 changed on disk after it was written",
                self.meta.checksum
            );
            return Err(super::corrupted(path, format::HEADER_BYTES as u64, reason));
        }
        Ok(())
    }
}

impl<FS: FileSystem> SnapshotChunks for FileSnapshotChunks<FS> {
    fn meta(&self) -> SnapshotMeta {
        self.meta
    }

    fn read_chunk(&mut self, offset: u64, max_len: usize) -> Result<Vec<u8>, SnapshotError> {
        if offset > self.meta.size_bytes {
            return Err(SnapshotError::Contract(format!(
                "read_chunk: offset {offset} is past the end of the snapshot ({} bytes)",
                self.meta.size_bytes
            )));
        }
        let reader = self.reader.as_ref().expect("set until dropped");
        let shared_handle = self.shared.clone();
        let shared = lock(&shared_handle);
        shared.check_healthy()?;
        let Some(stored) = shared
            .current
            .iter()
            .chain(&shared.replaced)
            .find(|stored| Arc::ptr_eq(&stored.readers, reader))
        else {
            // Only a failed rename aside loses it, and that fails the store.
            return Err(SnapshotError::Io(std::io::Error::other(format!(
                "the snapshot through index {} is no longer kept",
                self.meta.last_included_index
            ))));
        };
        let length = (self.meta.size_bytes - offset).min(max_len as u64);
        let mut chunk = vec![0; length as usize];
        let at = format::HEADER_BYTES as u64 + offset;
        io_at("read", &stored.path, stored.file.read_at(at, &mut chunk))?;
        let path = stored.path.clone();
        drop(shared);
        self.check_read(offset, &chunk, &path)?;
        Ok(chunk)
    }
}

impl<FS: FileSystem> Drop for FileSnapshotChunks<FS> {
    fn drop(&mut self) {
        self.reader = None;
        lock(&self.shared).sweep_replaced();
    }
}
