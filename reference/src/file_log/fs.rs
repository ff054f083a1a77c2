//! The small filesystem interface [`FileLog`](super::FileLog) is written against: `std::fs` in
//! production ([`StdFs`]), a simulated filesystem with crashes and disk faults in tests.
//!
//! The interface is deliberately narrow: everything `FileLog` needs and nothing more, so that a
//! simulated implementation stays small and every durability step is explicit. Nothing here
//! is durable until synced: file contents by [`FsFile::sync`], directory entries (creations,
//! removals, renames) by [`FileSystem::sync_dir`].

mod cursor;
mod lazy;

pub use cursor::FileCursor;
pub use lazy::{LazyFile, LazyFs, SYNCED_LENGTH_SLOTS, SyncedLengths};

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A directory tree of files.
pub trait FileSystem: Send + 'static {
    /// An open file.
    type File: FsFile;

    /// Create `dir` and any missing parents; no error if it exists.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// The names of the regular files in `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// The whole content of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// Open the existing file at `path` for reading and writing.
    fn open(&self, path: &Path) -> io::Result<Self::File>;

    /// Create the file at `path` empty (truncating any old content), for reading and writing.
    fn create(&self, path: &Path) -> io::Result<Self::File>;

    /// Rename `from` to `to`, replacing `to` atomically if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Remove the file at `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Make the entries of `dir` (creations, removals, renames) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file, addressed by offset.
pub trait FsFile: Send + 'static {
    /// Fill `buf` from `offset`; an error if the file ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Write all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Cut (or extend with zeros) the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;

    /// Make the file's content and size durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;

    /// The file's length in bytes, as the writes so far left it (synced or not).
    fn len(&self) -> io::Result<u64>;

    /// Whether the file holds no byte.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The operating system's descriptor of the file, when it is one (`None` by default):
    /// [`LazyFs`] keeps each such file's synced length by it, so that a power cut's signal
    /// handler can cut the file back ([`SyncedLengths`]).
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}

/// The real filesystem, through `std::fs` (Unix).
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

/// The names of the regular files among a directory's `entries` (each a name and whether it is
/// a regular file), sorted, as [`FileSystem::list`] returns them. A name that is not UTF-8 is an
/// `InvalidData` error naming `dir`. For implementations of [`FileSystem`] over other disks.
pub fn sorted_file_names(
    dir: &Path,
    entries: impl IntoIterator<Item = io::Result<(std::ffi::OsString, bool)>>,
) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in entries {
        let (name, is_file) = entry?;
        if !is_file {
            continue;
        }
        let name = name.into_string().map_err(|name| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file name {name:?} in {} is not UTF-8", dir.display()),
            )
        })?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

impl FileSystem for StdFs {
    type File = File;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = std::fs::read_dir(dir)?.map(|entry| {
            let entry = entry?;
            Ok((entry.file_name(), entry.file_type()?.is_file()))
        });
        sorted_file_names(dir, entries)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn open(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }

    fn create(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

impl FsFile for File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        FileExt::write_all_at(self, data, offset)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(self))
    }
}
