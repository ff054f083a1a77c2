//! [`SyncHookFs`]: a [`FileSystem`] over another whose files call a hook at every sync that
//! carries a write (a write or length change since the file's last sync), after what the sync
//! writes has reached the file and before its fsync. Under a
//! [`LazyFs`](rafty::file_log::fs::LazyFs), whose sync writes a batch into the file and then
//! fsyncs, the hook runs exactly where a power cut loses the batch: `rafty node
//! --power-cut-at-sync N` cuts its own power there ([`cut_at_sync`]), so that a test lands a
//! cut inside a sync instead of hoping for one.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rafty::file_log::fs::{FileSystem, FsFile, StdFs};

use super::node::POWER_CUT_SIGNAL;

/// What a [`SyncHookFs`] calls at each sync that carries a write, before the fsync.
pub type SyncHook = Arc<dyn Fn() + Send + Sync>;

/// `inner`, whose files call a hook before each fsync that carries a write (see the module's
/// doc).
#[derive(Clone)]
pub struct SyncHookFs<F: FileSystem = StdFs> {
    inner: F,
    hook: SyncHook,
}

impl<F: FileSystem> SyncHookFs<F> {
    /// `inner`'s files, calling `hook` before each fsync that carries a write.
    pub fn new(inner: F, hook: SyncHook) -> SyncHookFs<F> {
        SyncHookFs { inner, hook }
    }
}

/// A hook that raises the power cut's signal at its `sync`th call (from 1: the `sync`th sync
/// that carries a write), and does nothing at the others; `None`, a hook that never does.
pub fn cut_at_sync(sync: Option<u64>) -> SyncHook {
    let Some(sync) = sync else {
        return Arc::new(|| {});
    };
    let calls = AtomicU64::new(0);
    Arc::new(move || {
        if calls.fetch_add(1, Ordering::Relaxed) + 1 == sync {
            // The power cut's handler runs on this thread, inside this call, and exits.
            let _ = nix::sys::signal::raise(POWER_CUT_SIGNAL);
        }
    })
}

impl<F: FileSystem + std::fmt::Debug> std::fmt::Debug for SyncHookFs<F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SyncHookFs")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// An open file of a [`SyncHookFs`].
pub struct SyncHookFile<F: FileSystem> {
    inner: F::File,
    hook: SyncHook,
    /// Written to (or its length changed) since its last sync.
    written: bool,
}

impl<F: FileSystem> SyncHookFs<F> {
    fn file(&self, inner: F::File) -> SyncHookFile<F> {
        SyncHookFile {
            inner,
            hook: self.hook.clone(),
            written: false,
        }
    }
}

impl<F: FileSystem> FileSystem for SyncHookFs<F> {
    type File = SyncHookFile<F>;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(path)
    }

    fn open(&self, path: &Path) -> io::Result<Self::File> {
        Ok(self.file(self.inner.open(path)?))
    }

    fn create(&self, path: &Path) -> io::Result<Self::File> {
        Ok(self.file(self.inner.create(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
}

impl<F: FileSystem> FsFile for SyncHookFile<F> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.written = true;
        self.inner.write_at(offset, data)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.written = true;
        self.inner.set_len(len)
    }

    /// The hook if the sync carries a write, then the fsync.
    fn sync(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.written) {
            (self.hook)();
        }
        self.inner.sync()
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.raw_fd()
    }
}
