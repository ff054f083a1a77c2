//! The model behind [`CrashFs`](super::CrashFs): inodes and directories, each with a durable
//! state, a live state (what the running process sees) and the pending operations between them.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An inode number.
pub type InodeId = u64;

/// A change to a file's content not yet made durable.
#[derive(Clone, Debug)]
pub enum FileOp {
    /// `data` written at `offset`.
    Write { offset: u64, data: Vec<u8> },
    /// The file cut or zero-extended to this length.
    SetLen(u64),
}

impl Op<Vec<u8>> for FileOp {
    fn apply(&self, content: &mut Vec<u8>) {
        match self {
            FileOp::Write { offset, data } => write_into(content, *offset, data),
            FileOp::SetLen(len) => content.resize(*len as usize, 0),
        }
    }
}

/// Write `data` at `offset` of `content`, zero-filling any gap.
pub fn write_into(content: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = offset as usize;
    let end = start + data.len();
    if content.len() < end {
        content.resize(end, 0);
    }
    content[start..end].copy_from_slice(data);
}

/// An operation that changes a `T` (a file's content, a directory's entries).
pub trait Op<T> {
    /// Make the change to `target`.
    fn apply(&self, target: &mut T);
}

/// A durable state, a live state (what the running process sees) and the operations made to
/// the live one since the last sync: what [`Inode`] and [`Dir`] share.
#[derive(Clone, Debug)]
pub struct Staged<T, O> {
    pub durable: T,
    pub live: T,
    pub pending: Vec<O>,
}

impl<T: Default, O> Default for Staged<T, O> {
    fn default() -> Self {
        Staged {
            durable: T::default(),
            live: T::default(),
            pending: Vec::new(),
        }
    }
}

impl<T: Clone, O: Op<T>> Staged<T, O> {
    /// Apply `op` to the live state and remember it until the next sync.
    pub fn change(&mut self, op: O) {
        op.apply(&mut self.live);
        self.pending.push(op);
    }

    pub fn sync(&mut self) {
        self.durable.clone_from(&self.live);
        self.pending.clear();
    }

    /// With `torn`, make a random prefix of the pending operations durable; returns how many
    /// (0 without `torn`).
    fn keep_random_prefix(&mut self, torn: bool, rng: &mut ChaCha8Rng) -> usize {
        if !torn || self.pending.is_empty() {
            return 0;
        }
        let kept = rng.random_range(0..=self.pending.len());
        for op in &self.pending[..kept] {
            op.apply(&mut self.durable);
        }
        kept
    }

    /// After a power loss: the live state is the durable one, nothing is pending.
    fn restart_from_durable(&mut self) {
        self.live.clone_from(&self.durable);
        self.pending.clear();
    }
}

/// A file's content: durable, live, and the writes in between.
pub type Inode = Staged<Vec<u8>, FileOp>;

impl Inode {
    /// What survives a power loss: the durable content, plus (with `torn`) a random prefix of
    /// the pending writes, the last one possibly cut short.
    fn crash(&mut self, torn: bool, rng: &mut ChaCha8Rng) {
        let kept = self.keep_random_prefix(torn, rng);
        if torn && let Some(FileOp::Write { offset, data }) = self.pending.get(kept) {
            let cut = rng.random_range(0..data.len().max(1));
            write_into(&mut self.durable, *offset, &data[..cut.min(data.len())]);
        }
        self.restart_from_durable();
    }
}

/// What a directory entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    File(InodeId),
    Dir,
}

/// A change to a directory not yet made durable.
#[derive(Clone, Debug)]
pub enum DirOp {
    Link(String, Node),
    Unlink(String),
    /// A rename within one directory: atomic, replacing `to`.
    Rename {
        from: String,
        to: String,
    },
}

impl Op<BTreeMap<String, Node>> for DirOp {
    fn apply(&self, entries: &mut BTreeMap<String, Node>) {
        match self {
            DirOp::Link(name, node) => {
                entries.insert(name.clone(), *node);
            }
            DirOp::Unlink(name) => {
                entries.remove(name);
            }
            DirOp::Rename { from, to } => {
                if let Some(node) = entries.remove(from) {
                    entries.insert(to.clone(), node);
                }
            }
        }
    }
}

/// A directory's entries: durable, live, and the changes in between.
pub type Dir = Staged<BTreeMap<String, Node>, DirOp>;

impl Dir {
    /// What survives a power loss: the durable entries, plus (with `torn`) a random prefix of
    /// the pending changes.
    fn crash(&mut self, torn: bool, rng: &mut ChaCha8Rng) {
        self.keep_random_prefix(torn, rng);
        self.restart_from_durable();
    }
}

/// Which operations fail with an injected error.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub at: BTreeSet<u64>,
    pub from: Option<u64>,
}

/// The whole simulated disk.
pub struct State {
    pub rng: ChaCha8Rng,
    pub torn_writes: bool,
    /// Bumped by every crash: file handles of an older generation are dead.
    pub generation: u64,
    pub operations: u64,
    pub crashes: u64,
    pub faults: Faults,
    next_inode: InodeId,
    pub inodes: BTreeMap<InodeId, Inode>,
    /// Every directory that exists (live), by path; roots (`/` and ``) exist implicitly.
    pub dirs: BTreeMap<PathBuf, Dir>,
}

/// A directory with no parent: always there, never lost.
pub fn is_root(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.parent().is_none()
}

/// The parent directory and the file name of `path`.
pub fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let name = path.file_name().and_then(|name| name.to_str());
    match (path.parent(), name) {
        (Some(parent), Some(name)) => Ok((parent.to_path_buf(), name.to_string())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file in a directory", path.display()),
        )),
    }
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what} {} does not exist", path.display()),
    )
}

impl State {
    pub fn new(seed: u64) -> State {
        State {
            rng: ChaCha8Rng::seed_from_u64(seed),
            torn_writes: false,
            generation: 0,
            operations: 0,
            crashes: 0,
            faults: Faults::default(),
            next_inode: 1,
            inodes: BTreeMap::new(),
            dirs: BTreeMap::new(),
        }
    }

    /// Count one operation; fail it if a fault is injected there.
    pub fn begin(&mut self, what: &str, path: &Path) -> io::Result<()> {
        let number = self.operations;
        self.operations += 1;
        let injected =
            self.faults.at.remove(&number) || self.faults.from.is_some_and(|from| number >= from);
        if injected {
            return Err(io::Error::other(format!(
                "injected I/O error at operation {number} ({what} {})",
                path.display()
            )));
        }
        Ok(())
    }

    /// The directory at `path`, if it exists (roots always do).
    pub fn dir_mut(&mut self, path: &Path) -> io::Result<&mut Dir> {
        if is_root(path) {
            return Ok(self.dirs.entry(path.to_path_buf()).or_default());
        }
        self.dirs
            .get_mut(path)
            .ok_or_else(|| not_found("directory", path))
    }

    pub fn dir(&self, path: &Path) -> Option<&Dir> {
        self.dirs.get(path)
    }

    /// What the live entry at `path` names, if anything.
    pub fn lookup(&self, path: &Path) -> io::Result<Node> {
        let (parent, name) = split(path)?;
        self.dir(&parent)
            .and_then(|dir| dir.live.get(&name).copied())
            .ok_or_else(|| not_found("file", path))
    }

    /// The inode of the live file at `path`.
    pub fn file(&self, path: &Path) -> io::Result<InodeId> {
        match self.lookup(path)? {
            Node::File(inode) => Ok(inode),
            Node::Dir => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            )),
        }
    }

    pub fn inode_mut(&mut self, inode: InodeId) -> &mut Inode {
        self.inodes
            .get_mut(&inode)
            .expect("a linked or open inode exists until a crash")
    }

    pub fn new_inode(&mut self) -> InodeId {
        let inode = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(inode, Inode::default());
        inode
    }

    /// Create `dir` and its missing parents (live only).
    pub fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        if is_root(dir) || self.dirs.contains_key(dir) {
            return Ok(());
        }
        let (parent, name) = split(dir)?;
        self.create_dir_all(&parent)?;
        let parent_dir = self.dir_mut(&parent)?;
        if let Some(Node::File(_)) = parent_dir.live.get(&name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a file", dir.display()),
            ));
        }
        parent_dir.change(DirOp::Link(name, Node::Dir));
        self.dirs.insert(dir.to_path_buf(), Dir::default());
        Ok(())
    }

    /// Power loss: keep what is durable (and, with torn writes, a random prefix of the rest).
    pub fn crash(&mut self) {
        let torn = self.torn_writes;
        let paths: Vec<PathBuf> = self.dirs.keys().cloned().collect();
        // Paths sort parents first, so a parent's fate is known before its children's.
        for path in paths {
            let survives = is_root(&path)
                || split(&path).is_ok_and(|(parent, name)| {
                    self.dirs
                        .get(&parent)
                        .is_some_and(|dir| dir.live.get(&name) == Some(&Node::Dir))
                });
            if survives {
                let dir = self.dirs.get_mut(&path).expect("listed above");
                dir.crash(torn, &mut self.rng);
            } else {
                self.dirs.remove(&path);
            }
        }
        let linked: BTreeSet<InodeId> = self
            .dirs
            .values()
            .flat_map(|dir| dir.live.values())
            .filter_map(|node| match node {
                Node::File(inode) => Some(*inode),
                Node::Dir => None,
            })
            .collect();
        self.inodes.retain(|inode, _| linked.contains(inode));
        for inode in self.inodes.values_mut() {
            inode.crash(torn, &mut self.rng);
        }
        self.generation += 1;
        self.crashes += 1;
    }
}
