//! redb's `StorageBackend` on rafty's [`FileSystem`]: the redb log on a simulated disk, so the
//! power-loss suite can cut it at every disk operation.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rafty::file_log::fs::{FileSystem, FsFile};
use redb::{BackendError, StorageBackend};

/// One file of a [`FileSystem`] as redb's storage. `skip_fsync` plants the missing-fsync bug:
/// `sync_data` does nothing.
pub struct FsBackend<FS: FileSystem> {
    file: Mutex<FS::File>,
    path: PathBuf,
    skip_fsync: bool,
}

impl<FS: FileSystem> std::fmt::Debug for FsBackend<FS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FsBackend({})", self.path.display())
    }
}

impl<FS: FileSystem> FsBackend<FS> {
    /// The file `file` (at `path`, for messages).
    pub fn new(file: FS::File, path: &Path, skip_fsync: bool) -> Self {
        FsBackend {
            file: Mutex::new(file),
            path: path.to_path_buf(),
            skip_fsync,
        }
    }

    fn file(&self) -> std::sync::MutexGuard<'_, FS::File> {
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn backend(error: io::Error) -> BackendError {
    BackendError::Io(error)
}

impl<FS: FileSystem> StorageBackend for FsBackend<FS> {
    fn len(&self) -> Result<u64, BackendError> {
        self.file().len().map_err(backend)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
        self.file().read_at(offset, out).map_err(backend)
    }

    fn set_len(&self, len: u64) -> Result<(), BackendError> {
        self.file().set_len(len).map_err(backend)
    }

    fn sync_data(&self) -> Result<(), BackendError> {
        if self.skip_fsync {
            return Ok(());
        }
        self.file().sync().map_err(backend)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        self.file().write_at(offset, data).map_err(backend)
    }
}
