//! The writer of a [`FileSnapshotStore`](super::FileSnapshotStore): data streamed into a
//! temporary file, then header, fsync, rename, fsync of the directory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{FILE_NAME, Shared, Stored, format, io_at, lock};
use crate::file_log::fs::{FileSystem, FsFile};
use crate::snapshot::{SnapshotError, SnapshotMeta, SnapshotWriter};
use crate::types::{LogIndex, Term};

/// A snapshot being written to `path`; removed on drop unless finished.
pub(super) struct FileSnapshotWriter<FS: FileSystem> {
    shared: Arc<Mutex<Shared<FS>>>,
    path: PathBuf,
    /// `None` once finished (or after a failure that removed the file).
    file: Option<FS::File>,
    last_included_index: LogIndex,
    last_included_term: Term,
    written: u64,
    /// CRC32C of the bytes written so far.
    crc: u32,
}

impl<FS: FileSystem> FileSnapshotWriter<FS> {
    pub(super) fn new(
        shared: Arc<Mutex<Shared<FS>>>,
        path: PathBuf,
        file: FS::File,
        last_included_index: LogIndex,
        last_included_term: Term,
    ) -> Self {
        FileSnapshotWriter {
            shared,
            path,
            file: Some(file),
            last_included_index,
            last_included_term,
            written: 0,
            crc: 0,
        }
    }
}

impl<FS: FileSystem> SnapshotWriter for FileSnapshotWriter<FS> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let Some(file) = self.file.as_mut() else {
            return Err(SnapshotError::Contract(
                "write: this snapshot writer already failed".into(),
            ));
        };
        let offset = format::HEADER_BYTES as u64 + self.written;
        io_at("write", &self.path, file.write_at(offset, bytes))?;
        self.written += bytes.len() as u64;
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn finish(mut self: Box<Self>) -> Result<SnapshotMeta, SnapshotError> {
        let Some(mut file) = self.file.take() else {
            return Err(SnapshotError::Contract(
                "finish: this snapshot writer already failed".into(),
            ));
        };
        let meta = SnapshotMeta {
            last_included_index: self.last_included_index,
            last_included_term: self.last_included_term,
            size_bytes: self.written,
            checksum: self.crc,
        };
        let shared_handle = self.shared.clone();
        let mut shared = lock(&shared_handle);
        shared.check_healthy()?;
        shared.check_newer(meta.last_included_index, "finish")?;
        // The file is whole and durable before its name says it is the snapshot.
        io_at(
            "write the header of",
            &self.path,
            file.write_at(0, &format::encode(&meta))
                .and_then(|()| file.sync()),
        )?;
        drop(file);
        let current = shared.dir.join(FILE_NAME);
        let dir = shared.dir.clone();
        // From the renames on, a failure leaves the store unsure which snapshot is current.
        let installed = shared
            .move_current_aside()
            .and_then(|()| shared.fs.rename(&self.path, &current))
            .and_then(|()| shared.fs.sync_dir(&dir))
            .and_then(|()| shared.fs.open(&current));
        match installed {
            Ok(file) => {
                shared.current = Some(Stored::new(meta, current, file));
                // Renamed: nothing for drop to remove.
                self.path = PathBuf::new();
                Ok(meta)
            }
            Err(error) => {
                let message = format!(
                    "install {} as {}: {error}",
                    self.path.display(),
                    current.display()
                );
                shared.failed.get_or_insert_with(|| message.clone());
                self.path = PathBuf::new();
                Err(SnapshotError::Io(std::io::Error::new(
                    error.kind(),
                    message,
                )))
            }
        }
    }
}

impl<FS: FileSystem> Drop for FileSnapshotWriter<FS> {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        // Abandoned (or its finish failed before the rename): the temporary file goes. A
        // failure here leaves it for the next open to remove.
        self.file = None;
        let shared = lock(&self.shared);
        if let Err(error) = shared.fs.remove(&self.path) {
            tracing::warn!(path = %self.path.display(), %error,
                "could not remove an unfinished snapshot");
        }
    }
}
