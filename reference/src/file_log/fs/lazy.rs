//! [`LazyFs`]: a [`FileSystem`] that keeps every file write not yet synced in the process's
//! memory and puts it on the disk only at [`FsFile::sync`] (then syncs), so that killing the
//! process (SIGKILL) loses exactly the unsynced writes a power cut loses. Jepsen's lazyfs idea
//! without FUSE: an unprivileged process cannot drop another's page cache, but it can keep its
//! own writes out of it.
//!
//! What it models, and what it does not: file *contents* (writes and length changes) are
//! lazy, per path, seen by every handle and by [`FileSystem::read`] of this process as a page
//! cache would show them; *directory* operations (create, rename, remove) reach the disk at
//! once, as on a filesystem that journals its metadata in order. A create truncates at once;
//! a rename or removal carries the path's unsynced writes along or drops them.
//!
//! A sync writes the path's changes into the operating system's files, then fsyncs: a process
//! killed between the two would leave them to the kernel's page cache, which keeps them. So
//! each open file's length at its last sync is kept in [`SyncedLengths`]
//! ([`LazyFs::synced_lengths`]), where a power cut's signal handler can cut the file back to
//! it: a cut during a sync then loses the batch being synced, as a real one may.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{FileSystem, FsFile, StdFs};

mod synced;

pub use synced::{SYNCED_LENGTH_SLOTS, SyncedLengths};

/// A write or length change not yet synced.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// Each path's unsynced changes, in the order they were made.
type PendingByPath = BTreeMap<PathBuf, Vec<Pending>>;

/// The unsynced changes, and the bytes they write: a count kept current at every change,
/// under the lock, for readers that cannot take it (a signal handler); a change leaves the
/// count once its sync has returned. And each open file's synced length, with the slots each
/// path's open files hold.
#[derive(Debug, Default)]
struct Shared {
    changes: Mutex<PendingByPath>,
    bytes: Arc<AtomicU64>,
    synced: Arc<SyncedLengths>,
    slots: Mutex<BTreeMap<usize, PathBuf>>,
}

impl Shared {
    /// `changes` joined the pending ones (or came back to them).
    fn added(&self, changes: &[Pending]) {
        self.bytes
            .fetch_add(bytes(changes.iter()), Ordering::Relaxed);
    }

    /// `changes`, if any, left the pending ones (synced, or dropped with their file).
    fn removed(&self, changes: Option<&Vec<Pending>>) {
        if let Some(changes) = changes {
            self.bytes
                .fetch_sub(bytes(changes.iter()), Ordering::Relaxed);
        }
    }

    /// Every open file of `path` is `length` bytes long on the disk, durably.
    fn synced(&self, path: &Path, length: u64) {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        for (&slot, _) in slots.iter().filter(|(_, of)| *of == path) {
            self.synced.set(slot, length);
        }
    }
}

/// A filesystem whose unsynced writes live in this process's memory until synced (see the
/// module's doc). Clones share the pending writes.
#[derive(Clone, Debug, Default)]
pub struct LazyFs<F: FileSystem = StdFs> {
    inner: F,
    pending: Arc<Shared>,
}

impl<F: FileSystem> LazyFs<F> {
    /// Lazy over `inner`.
    pub fn new(inner: F) -> LazyFs<F> {
        LazyFs {
            inner,
            pending: Arc::default(),
        }
    }

    /// How many bytes of writes wait for a sync, over every path.
    pub fn pending_bytes(&self) -> u64 {
        bytes(lock(&self.pending).values().flatten())
    }

    /// The bytes of writes waiting for a sync, as a counter kept current at every change and
    /// readable without a lock: from a signal handler, which must not lock (`rafty node
    /// --lazy-fs` says what its power cut lost from one).
    pub fn unsynced_bytes(&self) -> Arc<AtomicU64> {
        self.pending.bytes.clone()
    }

    /// Each open file's descriptor and length at its last sync, readable without a lock or an
    /// allocation: a power cut's signal handler cuts each file back to it, so that a cut
    /// between a sync's writes and its fsync loses the batch (see the module's doc). Only
    /// files whose [`FsFile::raw_fd`] is known are there.
    pub fn synced_lengths(&self) -> Arc<SyncedLengths> {
        self.pending.synced.clone()
    }
}

/// The bytes written by `changes`.
fn bytes<'a>(changes: impl Iterator<Item = &'a Pending>) -> u64 {
    changes
        .map(|change| match change {
            Pending::Write { data, .. } => data.len() as u64,
            Pending::SetLen(_) => 0,
        })
        .sum()
}

fn lock(shared: &Shared) -> MutexGuard<'_, PendingByPath> {
    shared.changes.lock().unwrap_or_else(|p| p.into_inner())
}

/// The length of a file of `base` bytes on the disk once `changes` are applied.
fn length(base: u64, changes: &[Pending]) -> u64 {
    changes.iter().fold(base, |len, change| match change {
        Pending::Write { offset, data } => len.max(offset + data.len() as u64),
        Pending::SetLen(new) => *new,
    })
}

/// Fill `buf` with the bytes at `offset` of a file whose disk bytes `disk` reads (`disk_len`
/// of them) once `changes` are applied; an error if the file ends first.
fn read_through(
    disk_len: u64,
    disk: impl Fn(u64, &mut [u8]) -> io::Result<()>,
    changes: &[Pending],
    offset: u64,
    buf: &mut [u8],
) -> io::Result<()> {
    let end = offset + buf.len() as u64;
    if length(disk_len, changes) < end {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "read of {} bytes at {offset} past the file's end",
                buf.len()
            ),
        ));
    }
    buf.fill(0);
    let from_disk = disk_len.min(end).saturating_sub(offset) as usize;
    if from_disk > 0 {
        disk(offset, &mut buf[..from_disk])?;
    }
    for change in changes {
        match change {
            Pending::SetLen(len) if *len < end => {
                let cut = len.saturating_sub(offset) as usize;
                buf[cut..].fill(0);
            }
            Pending::SetLen(_) => {}
            Pending::Write { offset: at, data } => {
                let (start, stop) = ((*at).max(offset), (at + data.len() as u64).min(end));
                if start < stop {
                    let (into, from) = ((start - offset) as usize, (start - at) as usize);
                    let count = (stop - start) as usize;
                    buf[into..into + count].copy_from_slice(&data[from..from + count]);
                }
            }
        }
    }
    Ok(())
}

impl<F: FileSystem> FileSystem for LazyFs<F> {
    type File = LazyFile<F>;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let disk = self.inner.read(path)?;
        let pending = lock(&self.pending);
        let Some(changes) = pending.get(path) else {
            return Ok(disk);
        };
        let mut bytes = vec![0; length(disk.len() as u64, changes) as usize];
        let from_disk = |offset: u64, buf: &mut [u8]| {
            let start = offset as usize;
            buf.copy_from_slice(&disk[start..start + buf.len()]);
            Ok(())
        };
        read_through(disk.len() as u64, from_disk, changes, 0, &mut bytes)?;
        Ok(bytes)
    }

    fn open(&self, path: &Path) -> io::Result<LazyFile<F>> {
        let file = self.inner.open(path)?;
        Ok(self.handle(path, file))
    }

    fn create(&self, path: &Path) -> io::Result<LazyFile<F>> {
        let file = self.inner.create(path)?;
        let dropped = lock(&self.pending).remove(path);
        self.pending.removed(dropped.as_ref());
        // The truncation reached the disk at once.
        self.pending.synced(path, 0);
        Ok(self.handle(path, file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)?;
        let mut pending = lock(&self.pending);
        self.pending.removed(pending.remove(to).as_ref());
        if let Some(changes) = pending.remove(from) {
            pending.insert(to.to_owned(), changes);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)?;
        let mut pending = lock(&self.pending);
        self.pending.removed(pending.remove(path).as_ref());
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
}

impl<F: FileSystem> LazyFs<F> {
    fn handle(&self, path: &Path, file: F::File) -> LazyFile<F> {
        let shared = &self.pending;
        let slot = file
            .raw_fd()
            .and_then(|fd| Some(shared.synced.claim(fd, file.len().ok()?)))
            .flatten();
        if let Some(slot) = slot {
            let mut slots = shared.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.insert(slot, path.to_owned());
        }
        LazyFile {
            file,
            path: path.to_owned(),
            pending: self.pending.clone(),
            slot,
        }
    }
}

/// An open file of a [`LazyFs`]: its writes wait in memory for [`FsFile::sync`].
pub struct LazyFile<F: FileSystem = StdFs> {
    file: F::File,
    path: PathBuf,
    pending: Arc<Shared>,
    /// Its slot in the [`SyncedLengths`], if it has one.
    slot: Option<usize>,
}

impl<F: FileSystem> Drop for LazyFile<F> {
    /// Leave the [`SyncedLengths`] before the descriptor is closed (the fields drop after).
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut slots = (self.pending.slots.lock()).unwrap_or_else(|p| p.into_inner());
            slots.remove(&slot);
            self.pending.synced.release(slot);
        }
    }
}

impl<F: FileSystem> LazyFile<F> {
    fn push(&mut self, change: Pending) {
        let mut pending = lock(&self.pending);
        self.pending.added(std::slice::from_ref(&change));
        pending.entry(self.path.clone()).or_default().push(change);
    }
}

impl<F: FileSystem> FsFile for LazyFile<F> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let pending = lock(&self.pending);
        let changes = pending.get(&self.path).map_or(&[][..], Vec::as_slice);
        let disk = |at: u64, into: &mut [u8]| self.file.read_at(at, into);
        read_through(self.file.len()?, disk, changes, offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let data = data.to_vec();
        self.push(Pending::Write { offset, data });
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.push(Pending::SetLen(len));
        Ok(())
    }

    /// Put this path's unsynced changes on the disk, in order, and sync it. Until the sync
    /// returns they are still counted unsynced, and the files of the path keep their old
    /// synced length: a power cut in between cuts them back to it.
    fn sync(&mut self) -> io::Result<()> {
        let changes = lock(&self.pending).remove(&self.path).unwrap_or_default();
        for change in &changes {
            let applied = match change {
                Pending::Write { offset, data } => self.file.write_at(*offset, data),
                Pending::SetLen(len) => self.file.set_len(*len),
            };
            if let Err(error) = applied {
                // Not on the disk: keep them pending (before any made since), as a failed
                // fsync keeps dirty pages.
                let mut pending = lock(&self.pending);
                let newer = pending.remove(&self.path).unwrap_or_default();
                let kept = changes.into_iter().chain(newer).collect();
                pending.insert(self.path.clone(), kept);
                return Err(error);
            }
        }
        let synced = self.file.sync();
        self.pending.removed(Some(&changes));
        synced?;
        if self.slot.is_some() {
            self.pending.synced(&self.path, self.file.len()?);
        }
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let base = self.file.len()?;
        let pending = lock(&self.pending);
        Ok(length(
            base,
            pending.get(&self.path).map_or(&[][..], Vec::as_slice),
        ))
    }
}

#[cfg(test)]
mod tests;
