//! [`FsyncDefect`]: a [`FileSystem`] that mishandles fsync on purpose, to check that a test
//! catches a log acknowledging writes that are not durable.

use std::io;
use std::path::Path;

use crate::file_log::fs::{FileSystem, FsFile};

/// What goes wrong with fsync on a [`FsyncDefect`] disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// `sync` and `sync_dir` return `Ok` and do nothing: the log acknowledges before fsync.
    SkipsFsync,
    /// A failed `sync` or `sync_dir` is reported as `Ok` (the "fsyncgate" bug).
    SwallowsFsyncErrors,
}

/// `FS` seen through a [`Defect`]; everything but the syncs is passed through.
#[derive(Clone, Copy, Debug)]
pub struct FsyncDefect<FS>(pub FS, pub Defect);

/// A file of a [`FsyncDefect`] file system.
#[derive(Debug)]
pub struct FsyncDefectFile<F>(F, Defect);

impl Defect {
    fn sync(self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        match self {
            Defect::SkipsFsync => Ok(()),
            Defect::SwallowsFsyncErrors => sync().or(Ok(())),
        }
    }
}

impl<FS: FileSystem> FileSystem for FsyncDefect<FS> {
    type File = FsyncDefectFile<FS::File>;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.0.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.0.list(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0.read(path)
    }
    fn open(&self, path: &Path) -> io::Result<Self::File> {
        Ok(FsyncDefectFile(self.0.open(path)?, self.1))
    }
    fn create(&self, path: &Path) -> io::Result<Self::File> {
        Ok(FsyncDefectFile(self.0.create(path)?, self.1))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.0.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.1.sync(|| self.0.sync_dir(dir))
    }
}

impl<F: FsFile> FsFile for FsyncDefectFile<F> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_at(offset, data)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&mut self) -> io::Result<()> {
        let defect = self.1;
        defect.sync(|| self.0.sync())
    }
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.0.raw_fd()
    }
}
