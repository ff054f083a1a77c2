//! `CrashFs`: an in-memory [`FileSystem`] that loses power on demand, for testing durable logs.
//!
//! It keeps two views of every file and directory: what the running process sees, and what
//! is **durable**. A write reaches the durable view only through [`FsFile::sync`] on its file;
//! a creation, removal or rename only through [`FileSystem::sync_dir`] on its directory.
//! [`CrashFs::crash`] is a power loss: everything not durable is gone, and every file handle
//! opened before it is dead (its calls fail), as the process that held it would be.
//!
//! Faults, all deterministic for a given seed:
//! * **torn writes** ([`CrashFs::set_torn_writes`]): a crash keeps a random prefix of each
//!   file's (and directory's) pending changes, the last kept write possibly cut short;
//! * **I/O errors** on chosen operations ([`CrashFs::fail_operation`],
//!   [`CrashFs::fail_from`]): every call on the file system or a file counts as one
//!   operation, numbered from 0 ([`CrashFs::operation_count`]); a failed operation changes
//!   nothing;
//! * **corruption** ([`CrashFs::flip_bit`], [`CrashFs::corrupt_random_bit`]): a stored bit
//!   flipped in both views, as a bad sector would.
//!
//! Clones share the same disk, so a test keeps one to crash the disk under a log that owns
//! another. Maps are ordered and randomness is seeded, so a run is reproducible.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;

use crate::file_log::fs::{FileSystem, FsFile};

mod state;

use state::{DirOp, FileOp, InodeId, Node, State, split};

/// The largest file a [`CrashFs`] holds: writes or lengths past it fail, so that a bad offset
/// is an error, never a huge allocation.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

fn check_size(end: Option<u64>, path: &Path) -> io::Result<()> {
    match end {
        Some(end) if end <= MAX_FILE_BYTES => Ok(()),
        _ => Err(io::Error::other(format!(
            "{} would pass the {MAX_FILE_BYTES}-byte limit of a simulated file",
            path.display()
        ))),
    }
}

/// An in-memory file system with power loss, torn writes, I/O errors and corruption. See the
/// [module documentation](self).
#[derive(Clone)]
pub struct CrashFs {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for CrashFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("CrashFs")
            .field("operations", &state.operations)
            .field("crashes", &state.crashes)
            .field("torn_writes", &state.torn_writes)
            .finish_non_exhaustive()
    }
}

impl CrashFs {
    /// An empty disk whose random choices (torn writes, random corruption) follow `seed`.
    pub fn new(seed: u64) -> CrashFs {
        CrashFs {
            state: Arc::new(Mutex::new(State::new(seed))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation completes under the lock before any call that could panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a crash keeps a random prefix of unsynced changes (`true`) or drops them all
    /// (`false`, the default).
    pub fn set_torn_writes(&self, torn: bool) {
        self.lock().torn_writes = torn;
    }

    /// Power loss: drop every change not made durable (see [`CrashFs::set_torn_writes`]) and
    /// kill every open file handle. Injected faults stay until [`CrashFs::clear_faults`].
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// How many crashes this disk has seen.
    pub fn crash_count(&self) -> u64 {
        self.lock().crashes
    }

    /// How many operations have been attempted so far; the next one has this number.
    pub fn operation_count(&self) -> u64 {
        self.lock().operations
    }

    /// Make operation number `operation` fail once with an I/O error.
    pub fn fail_operation(&self, operation: u64) {
        self.lock().faults.at.insert(operation);
    }

    /// Make operation number `operation` and every later one fail: the disk is gone.
    pub fn fail_from(&self, operation: u64) {
        self.lock().faults.from = Some(operation);
    }

    /// Remove every injected I/O error.
    pub fn clear_faults(&self) {
        self.lock().faults = Default::default();
    }

    /// Flip bit `bit` (0-7) of the byte at `offset` of the file at `path`, durably.
    pub fn flip_bit(&self, path: &Path, offset: u64, bit: u8) -> io::Result<()> {
        let mut state = self.lock();
        let inode = state.file(path)?;
        let inode = state.inode_mut(inode);
        let len = inode.live.len().min(inode.durable.len()) as u64;
        if offset >= len || bit > 7 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot flip bit {bit} at offset {offset} of {} ({len} stored bytes)",
                    path.display()
                ),
            ));
        }
        inode.live[offset as usize] ^= 1 << bit;
        inode.durable[offset as usize] ^= 1 << bit;
        Ok(())
    }

    /// Flip a random stored bit of the file at `path`; returns its offset and bit, or `None`
    /// for an empty file.
    pub fn corrupt_random_bit(&self, path: &Path) -> io::Result<Option<(u64, u8)>> {
        let (offset, bit) = {
            let mut state = self.lock();
            let inode = state.file(path)?;
            let inode = state.inode_mut(inode);
            let len = inode.live.len().min(inode.durable.len()) as u64;
            if len == 0 {
                return Ok(None);
            }
            (
                state.rng.random_range(0..len),
                state.rng.random_range(0..8u8),
            )
        };
        self.flip_bit(path, offset, bit)?;
        Ok(Some((offset, bit)))
    }

    /// Every file (live view), sorted by path.
    pub fn files(&self) -> Vec<PathBuf> {
        let state = self.lock();
        let mut files = Vec::new();
        for (dir_path, dir) in &state.dirs {
            for (name, node) in &dir.live {
                if let Node::File(_) = node {
                    files.push(dir_path.join(name));
                }
            }
        }
        files.sort();
        files
    }

    /// The content of the file at `path` as the running process sees it.
    pub fn contents(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.lock();
        let inode = state.file(path)?;
        Ok(state.inode_mut(inode).live.clone())
    }

    /// The content of the file at `path` that would survive a crash without torn writes
    /// (`NotFound` if its directory entry is not durable).
    pub fn durable_contents(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.lock();
        let (parent, name) = split(path)?;
        let node = state
            .dir(&parent)
            .and_then(|dir| dir.durable.get(&name).copied());
        match node {
            Some(Node::File(inode)) => Ok(state.inode_mut(inode).durable.clone()),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no durable file {}", path.display()),
            )),
        }
    }

    /// Store `bytes` as the whole, durable content of the file at `path`, creating it and its
    /// directories durably; counts no operation and ignores injected faults. For planting
    /// files (fuzzing recovery, say).
    pub fn put_durable(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        let (parent, name) = split(path)?;
        state.create_dir_all(&parent)?;
        let inode = match state.file(path) {
            Ok(inode) => inode,
            Err(_) => {
                let inode = state.new_inode();
                state
                    .dir_mut(&parent)?
                    .change(DirOp::Link(name, Node::File(inode)));
                inode
            }
        };
        let file = state.inode_mut(inode);
        file.live = bytes.to_vec();
        file.sync();
        let paths: Vec<PathBuf> = state.dirs.keys().cloned().collect();
        for dir in paths {
            state.dir_mut(&dir)?.sync();
        }
        Ok(())
    }
}

impl FileSystem for CrashFs {
    type File = CrashFile;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.begin("create_dir_all", dir)?;
        state.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut state = self.lock();
        state.begin("list", dir)?;
        let entries = &state.dir_mut(dir)?.live;
        Ok(entries
            .iter()
            .filter(|(_, node)| matches!(node, Node::File(_)))
            .map(|(name, _)| name.clone())
            .collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.lock();
        state.begin("read", path)?;
        let inode = state.file(path)?;
        Ok(state.inode_mut(inode).live.clone())
    }

    fn open(&self, path: &Path) -> io::Result<CrashFile> {
        let mut state = self.lock();
        state.begin("open", path)?;
        let inode = state.file(path)?;
        Ok(self.handle(&state, inode, path))
    }

    fn create(&self, path: &Path) -> io::Result<CrashFile> {
        let mut state = self.lock();
        state.begin("create", path)?;
        let (parent, name) = split(path)?;
        state.dir_mut(&parent)?;
        let inode = match state.lookup(path) {
            Ok(Node::File(inode)) => {
                state.inode_mut(inode).change(FileOp::SetLen(0));
                inode
            }
            Ok(Node::Dir) => return Err(state.file(path).expect_err("a directory")),
            Err(_) => {
                let inode = state.new_inode();
                state
                    .dir_mut(&parent)?
                    .change(DirOp::Link(name, Node::File(inode)));
                inode
            }
        };
        Ok(self.handle(&state, inode, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.begin("rename", from)?;
        let inode = state.file(from)?;
        let (from_dir, from_name) = split(from)?;
        let (to_dir, to_name) = split(to)?;
        state.dir_mut(&to_dir)?;
        if from_dir == to_dir {
            let rename = DirOp::Rename {
                from: from_name,
                to: to_name,
            };
            state.dir_mut(&from_dir)?.change(rename);
        } else {
            state.dir_mut(&from_dir)?.change(DirOp::Unlink(from_name));
            let link = DirOp::Link(to_name, Node::File(inode));
            state.dir_mut(&to_dir)?.change(link);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.begin("remove", path)?;
        state.file(path)?;
        let (parent, name) = split(path)?;
        state.dir_mut(&parent)?.change(DirOp::Unlink(name));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        state.begin("sync_dir", dir)?;
        state.dir_mut(dir)?.sync();
        Ok(())
    }
}

impl CrashFs {
    fn handle(&self, state: &State, inode: InodeId, path: &Path) -> CrashFile {
        CrashFile {
            state: self.state.clone(),
            inode,
            generation: state.generation,
            path: path.to_path_buf(),
        }
    }
}

/// An open file of a [`CrashFs`]. Dead after a crash: every call then fails.
pub struct CrashFile {
    state: Arc<Mutex<State>>,
    inode: InodeId,
    generation: u64,
    path: PathBuf,
}

impl CrashFile {
    /// Lock the disk, count the operation and check the handle survived every crash.
    fn begin(&self, what: &str) -> io::Result<MutexGuard<'_, State>> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.begin(what, &self.path)?;
        if state.generation != self.generation {
            return Err(io::Error::other(format!(
                "{what} {}: file handle opened before a crash",
                self.path.display()
            )));
        }
        Ok(state)
    }
}

impl FsFile for CrashFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut state = self.begin("read_at")?;
        let content = &state.inode_mut(self.inode).live;
        let end = offset.checked_add(buf.len() as u64);
        match end.filter(|&end| end <= content.len() as u64) {
            Some(end) => {
                buf.copy_from_slice(&content[offset as usize..end as usize]);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {} bytes at {offset} past the end of {} ({} bytes)",
                    buf.len(),
                    self.path.display(),
                    content.len()
                ),
            )),
        }
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.begin("write_at")?;
        check_size(offset.checked_add(data.len() as u64), &self.path)?;
        let op = FileOp::Write {
            offset,
            data: data.to_vec(),
        };
        state.inode_mut(self.inode).change(op);
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut state = self.begin("set_len")?;
        check_size(Some(len), &self.path)?;
        state.inode_mut(self.inode).change(FileOp::SetLen(len));
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.begin("sync")?;
        state.inode_mut(self.inode).sync();
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let mut state = self.begin("len")?;
        Ok(state.inode_mut(self.inode).live.len() as u64)
    }
}

#[cfg(test)]
mod tests;
