//! `FileSnapshotStore`: a durable [`SnapshotStore`] in one directory, for production.
//!
//! * The current snapshot is the file `snapshot`: a 40-byte header (format version, the
//!   [`SnapshotMeta`], a CRC32C of the data and one of the header; see `format.rs`), then
//!   the data.
//! * [`SnapshotStore::begin`] creates a temporary file `snapshot.<n>.tmp`; chunks are written
//!   to it as they arrive (nothing is buffered whole) while their CRC32C is computed;
//!   [`SnapshotWriter::finish`] writes the header, fsyncs the file, renames it over
//!   `snapshot` (which replaces, and so removes, the old snapshot atomically) and fsyncs the
//!   directory. A crash before the rename leaves the old snapshot; after it, the new one;
//!   either whole. A writer dropped without `finish` removes its temporary file.
//! * Only a snapshot covering a higher index than the current one is accepted, at `begin` and
//!   again at `finish` (another writer may have finished meanwhile); anything else is a
//!   [`SnapshotError::Contract`].
//! * [`FileSnapshotStore::open_with`] recovers: leftover temporary files (a crash before
//!   `finish` returned) are removed; the current snapshot is checked whole (header, size and
//!   data checksum), and a torn or damaged one is refused with [`SnapshotError::Corrupted`]
//!   naming the file and offset, never dropped silently: the log may already be compacted
//!   behind it, so it is the only copy of those entries.
//! * [`SnapshotStore::open`] hands out a handle on the current file and refuses another
//!   snapshot than the caller expects. The whole snapshot is checked at open; a sequential
//!   read through one handle (from offset 0, each chunk where the last ended) is checked
//!   again: the chunk that reaches the end is refused with [`SnapshotError::Corrupted`] if
//!   the CRC32C of everything read is not [`SnapshotMeta::checksum`] (damage after open).
//!   Earlier chunks have been handed out by then, so a consumer restores only once the last
//!   chunk is `Ok`.
//! * A replaced snapshot stays readable through the handles opened on it: if any is open
//!   when `finish` installs a newer one, `snapshot` is first renamed to `snapshot.<n>.old`
//!   (reopened there, since a [`FileSystem`] need not keep a handle on a file whose path was
//!   replaced), and that file is removed when its last handle is dropped. A crash between the
//!   two renames leaves no `snapshot` but its `.old`: [`FileSnapshotStore::open_with`] renames
//!   the newest `.old` back (it was the current snapshot), and removes every other `.old`.
//!
//! After an I/O error in `finish` the store refuses every later call (fail-stop); reopen it.
//! Written against [`FileSystem`], so the crash-testing disk and the simulation's disk work.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::file_log::fs::{FileSystem, FsFile, StdFs};
use crate::snapshot::{SnapshotChunks, SnapshotError, SnapshotMeta, SnapshotStore, SnapshotWriter};
use crate::types::{LogIndex, Term};

mod chunks;
mod format;
mod writer;

use chunks::{FileSnapshotChunks, Stored};

use writer::FileSnapshotWriter;

/// The current snapshot's file name in the store's directory.
pub const FILE_NAME: &str = "snapshot";
/// How data is read back for checking: at most this many bytes at a time.
const READ_BYTES: u64 = 1 << 20;

/// A durable [`SnapshotStore`] in one directory. See the [module documentation](self).
pub struct FileSnapshotStore<FS: FileSystem = StdFs> {
    shared: Arc<Mutex<Shared<FS>>>,
}

/// What the store and its writers share.
struct Shared<FS: FileSystem> {
    fs: FS,
    dir: PathBuf,
    /// The current snapshot and its open file.
    current: Option<Stored<FS>>,
    /// Replaced snapshots renamed aside while handles read them (`snapshot.<n>.old`).
    replaced: Vec<Stored<FS>>,
    /// The number in the next temporary file's name.
    next_temp: u64,
    /// Set by an I/O error that leaves the store's view of its files uncertain.
    failed: Option<String>,
}

impl<FS: FileSystem> Shared<FS> {
    fn check_healthy(&self) -> Result<(), SnapshotError> {
        match &self.failed {
            Some(reason) => Err(SnapshotError::Io(io::Error::other(format!(
                "snapshot store stopped after an earlier I/O error ({reason}); reopen it"
            )))),
            None => Ok(()),
        }
    }

    /// Refuse a snapshot through `index` unless it is newer than the current one.
    fn check_newer(&self, index: LogIndex, what: &str) -> Result<(), SnapshotError> {
        match &self.current {
            Some(Stored { meta, .. }) if meta.last_included_index >= index => {
                Err(SnapshotError::Contract(format!(
                    "{what}: a snapshot through index {index} is not newer than the current \
                     one, through index {} (term {})",
                    meta.last_included_index, meta.last_included_term
                )))
            }
            _ => Ok(()),
        }
    }
}

fn lock<FS: FileSystem>(shared: &Mutex<Shared<FS>>) -> MutexGuard<'_, Shared<FS>> {
    // Every change to `Shared` is complete before any call that could panic.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io_at<T>(what: &str, path: &Path, result: io::Result<T>) -> Result<T, SnapshotError> {
    result.map_err(|error| {
        SnapshotError::Io(io::Error::new(
            error.kind(),
            format!("{what} {}: {error}", path.display()),
        ))
    })
}

fn corrupted(path: &Path, offset: u64, reason: String) -> SnapshotError {
    SnapshotError::Corrupted {
        location: format!("{} at offset {offset}", path.display()),
        reason,
    }
}

/// Whether `name` is a temporary file of a snapshot being written.
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix("snapshot.")
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some()
}

/// The number of a replaced snapshot renamed aside (`snapshot.<n>.old`), if `name` is one.
fn aside_number(name: &str) -> Option<u64> {
    name.strip_prefix("snapshot.")
        .and_then(|rest| rest.strip_suffix(".old"))
        .and_then(|number| number.parse().ok())
}

/// The name a replaced snapshot is renamed to while handles read it.
fn aside_name(number: u64) -> String {
    format!("snapshot.{number}.old")
}

impl FileSnapshotStore<StdFs> {
    /// Open (or create) the store in `dir` on the real filesystem.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        FileSnapshotStore::open_with(StdFs, dir.as_ref())
    }
}

impl<FS: FileSystem> FileSnapshotStore<FS> {
    /// Open (or create) the store in `dir` on `fs`, recovering what a crash left: temporary
    /// files removed, the current snapshot checked whole.
    pub fn open_with(fs: FS, dir: &Path) -> Result<Self, SnapshotError> {
        io_at("create", dir, crate::file_log::ensure_dir(&fs, dir))?;
        let names = io_at("list", dir, fs.list(dir))?;
        let mut removed = false;
        for name in names.iter().filter(|name| is_temp_name(name)) {
            let path = dir.join(name);
            tracing::warn!(path = %path.display(), "removing a snapshot a crash left unfinished");
            io_at("remove", &path, fs.remove(&path))?;
            removed = true;
        }
        let has_current = names.iter().any(|name| name == FILE_NAME);
        let mut aside: Vec<(u64, &String)> = names
            .iter()
            .filter_map(|name| aside_number(name).map(|number| (number, name)))
            .collect();
        aside.sort();
        let mut restored = false;
        if !has_current && let Some((_, newest)) = aside.pop() {
            // A crash between renaming the current snapshot aside and renaming the new one
            // in: the one aside was current.
            let (from, to) = (dir.join(newest), dir.join(FILE_NAME));
            tracing::warn!(path = %from.display(), "restoring the snapshot a crash left aside");
            io_at("rename", &from, fs.rename(&from, &to))?;
            restored = true;
        }
        for (_, name) in aside {
            let path = dir.join(name);
            io_at("remove", &path, fs.remove(&path))?;
            removed = true;
        }
        let current = if has_current || restored {
            let path = dir.join(FILE_NAME);
            let (meta, file) = check_file(&fs, &path)?;
            Some(Stored::new(meta, path, file))
        } else {
            None
        };
        if removed || restored || current.is_some() {
            // After a process crash the rename (or the removals) may not be durable yet; the
            // node builds on what it reads here.
            io_at("sync", dir, fs.sync_dir(dir))?;
        }
        Ok(FileSnapshotStore {
            shared: Arc::new(Mutex::new(Shared {
                fs,
                dir: dir.to_path_buf(),
                current,
                replaced: Vec::new(),
                next_temp: 0,
                failed: None,
            })),
        })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> PathBuf {
        lock(&self.shared).dir.clone()
    }
}

/// Open the snapshot file at `path` and check it whole: header, size and data checksum.
fn check_file<FS: FileSystem>(
    fs: &FS,
    path: &Path,
) -> Result<(SnapshotMeta, FS::File), SnapshotError> {
    let file = io_at("open", path, fs.open(path))?;
    let short = |error: io::Error, offset: u64, what: &str| match error.kind() {
        io::ErrorKind::UnexpectedEof => corrupted(path, offset, format!("the file ends {what}")),
        _ => SnapshotError::Io(io::Error::new(
            error.kind(),
            format!("read {}: {error}", path.display()),
        )),
    };
    let mut header = [0; format::HEADER_BYTES];
    file.read_at(0, &mut header)
        .map_err(|error| short(error, 0, "inside the 40-byte header"))?;
    let meta = format::decode(&header).map_err(|reason| corrupted(path, 0, reason))?;
    let start = format::HEADER_BYTES as u64;
    let mut crc = 0;
    let mut at = 0;
    let mut buffer = Vec::new();
    while at < meta.size_bytes {
        let length = (meta.size_bytes - at).min(READ_BYTES);
        buffer.resize(length as usize, 0);
        let what = format!(
            "before the {} bytes of data its header announces",
            meta.size_bytes
        );
        file.read_at(start + at, &mut buffer)
            .map_err(|error| short(error, start + at, &what))?;
        crc = crc32c::crc32c_append(crc, &buffer);
        at += length;
    }
    match file.read_at(start + meta.size_bytes, &mut [0]) {
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(error) => return io_at("read", path, Err(error)),
        Ok(()) => {
            let reason = format!(
                "bytes after the {} bytes of data its header announces",
                meta.size_bytes
            );
            return Err(corrupted(path, start + meta.size_bytes, reason));
        }
    }
    if crc != meta.checksum {
        let reason = format!(
            "data checksum mismatch (header says {:#010x}, data has {crc:#010x})",
            meta.checksum
        );
        return Err(corrupted(path, start, reason));
    }
    Ok((meta, file))
}

impl<FS: FileSystem> SnapshotStore for FileSnapshotStore<FS> {
    fn latest(&self) -> Result<Option<SnapshotMeta>, SnapshotError> {
        let shared = lock(&self.shared);
        shared.check_healthy()?;
        Ok(shared.current.as_ref().map(|stored| stored.meta))
    }

    fn begin(
        &mut self,
        last_included_index: LogIndex,
        last_included_term: Term,
    ) -> Result<Box<dyn SnapshotWriter>, SnapshotError> {
        let mut shared = lock(&self.shared);
        shared.check_healthy()?;
        shared.check_newer(last_included_index, "begin")?;
        let path = shared
            .dir
            .join(format!("snapshot.{}.tmp", shared.next_temp));
        shared.next_temp += 1;
        let file = io_at("create", &path, shared.fs.create(&path))?;
        drop(shared);
        Ok(Box::new(FileSnapshotWriter::new(
            self.shared.clone(),
            path,
            file,
            last_included_index,
            last_included_term,
        )))
    }

    fn open(&self, expected: &SnapshotMeta) -> Result<Box<dyn SnapshotChunks>, SnapshotError> {
        let shared = lock(&self.shared);
        shared.check_healthy()?;
        let Some(stored) = shared
            .current
            .as_ref()
            .filter(|stored| stored.meta == *expected)
        else {
            return Err(SnapshotError::Contract(format!(
                "open: expected the snapshot {expected:?}, the current one is {:?}",
                shared.current.as_ref().map(|stored| stored.meta)
            )));
        };
        Ok(Box::new(FileSnapshotChunks::new(
            self.shared.clone(),
            stored,
        )))
    }
}

#[cfg(test)]
mod tests;
