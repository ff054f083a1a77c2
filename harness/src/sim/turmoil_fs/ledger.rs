//! A ledger of what one node's simulated disk holds unsynced, so that a power cut can say
//! what it found pending and, at the next boot, what of it survived (lost, torn, kept) and
//! what the log's recovery then cut or removed.
//!
//! [`LedgerFs`] sits between the log and [`TurmoilFs`] and mirrors turmoil's durability
//! model: a file's writes and length changes are pending until that file is synced, a
//! directory's entries (created, renamed, removed files) until that directory is synced. It
//! observes and never changes what the disk does. [`Ledger::power_cut`] takes what is pending
//! (turmoil drops it, tearing writes at block boundaries); [`Ledger::measure_after_cut`], at
//! the next boot, looks at what survived of each write; while [`Ledger::recovering`] the
//! mutations the log makes while it opens (cutting a torn tail, removing a half-created
//! segment) are noted.
//!
//! Every method that touches files must run inside the node's host, like [`TurmoilFs`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rafty::file_log::fs::{FileSystem, FsFile};
use turmoil::fs::shim::std::fs as sim;

use super::{TurmoilFile, TurmoilFs};

/// One node's ledger; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Unsynced writes, oldest first.
    writes: Vec<PendingWrite>,
    /// Files whose length changed, unsynced.
    lengths: Vec<PathBuf>,
    /// Unsynced directory changes: the directory and what changed in it.
    entries: Vec<(PathBuf, String)>,
    /// What the last power cut found pending, until measured at the next boot.
    cut: Option<PowerCut>,
    /// Whether the log is opening (its changes are recovery's).
    recovering: bool,
    /// What recovery changed on the disk, in order.
    recovery: Vec<String>,
}

/// A write not yet synced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingWrite {
    /// The file.
    pub path: PathBuf,
    /// Where in it.
    pub offset: u64,
    /// How many bytes.
    pub bytes: u64,
}

/// What a power cut found unsynced on a node's disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PowerCut {
    /// Unsynced writes, oldest first.
    pub writes: Vec<PendingWrite>,
    /// Unsynced length changes (truncations).
    pub lengths: usize,
    /// Unsynced directory changes (files created, renamed, removed).
    pub entries: Vec<String>,
}

impl PowerCut {
    /// Whether anything was pending.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.lengths == 0 && self.entries.is_empty()
    }
}

impl fmt::Display for PowerCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes: u64 = self.writes.iter().map(|write| write.bytes).sum();
        write!(
            f,
            "{} unsynced writes ({bytes} bytes), {} unsynced length changes, {} unsynced \
             directory changes",
            self.writes.len(),
            self.lengths,
            self.entries.len()
        )?;
        if !self.entries.is_empty() {
            write!(f, " ({})", self.entries.join(", "))?;
        }
        Ok(())
    }
}

/// The last component of `path`, for short notes.
fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

impl Ledger {
    /// Nothing pending.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wrote(&self, path: &Path, offset: u64, bytes: u64) {
        let write = PendingWrite {
            path: path.to_path_buf(),
            offset,
            bytes,
        };
        self.lock().writes.push(write);
    }

    fn set_len(&self, path: &Path, from: Option<u64>, to: u64) {
        let mut state = self.lock();
        state.lengths.push(path.to_path_buf());
        if state.recovering {
            let from = from.map_or_else(|| "?".to_owned(), |from| from.to_string());
            let note = format!("cut {} from {from} to {to} bytes", name(path));
            state.recovery.push(note);
        }
    }

    fn synced(&self, path: &Path) {
        let mut state = self.lock();
        state.writes.retain(|write| write.path != path);
        state.lengths.retain(|length| length != path);
    }

    fn changed_entry(&self, path: &Path, what: &str) {
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut state = self.lock();
        let change = format!("{what} {}", name(path));
        if state.recovering && !what.starts_with("create") {
            state.recovery.push(change.clone());
        }
        state.entries.push((dir, change));
    }

    fn synced_dir(&self, dir: &Path) {
        self.lock().entries.retain(|(parent, _)| parent != dir);
    }

    /// The power went out: take what was pending (the disk loses it, torn) and keep it for
    /// [`Ledger::measure_after_cut`].
    pub fn power_cut(&self) -> PowerCut {
        let mut state = self.lock();
        let cut = PowerCut {
            writes: std::mem::take(&mut state.writes),
            lengths: std::mem::take(&mut state.lengths).len(),
            entries: std::mem::take(&mut state.entries)
                .into_iter()
                .map(|(_, change)| change)
                .collect(),
        };
        state.cut = Some(cut.clone());
        state.recovering = false;
        state.recovery.clear();
        cut
    }

    /// At the boot after a power cut (inside the host, before the log opens): what survived
    /// of each write the cut found pending, one line each. A write that survived in part is
    /// *torn*. Measured by the file's length (the log only ever writes past a file's durable
    /// end, or a new file), so a write lost whole into a file is told apart from one kept.
    pub fn measure_after_cut(&self) -> Vec<String> {
        let Some(cut) = self.lock().cut.take() else {
            return Vec::new();
        };
        cut.writes
            .iter()
            .map(|write| {
                let length = sim::metadata(&write.path).map(|m| m.len());
                let what = format!(
                    "{} bytes at {} of {}",
                    write.bytes,
                    write.offset,
                    name(&write.path)
                );
                let survived = match length {
                    Err(_) => return format!("after the power cut: {what}: lost (no file)"),
                    Ok(length) => length.saturating_sub(write.offset).min(write.bytes),
                };
                let fate = match survived {
                    0 => "lost".to_owned(),
                    all if all == write.bytes => "kept whole".to_owned(),
                    part => format!("torn ({part} bytes survived)"),
                };
                format!("after the power cut: {what}: {fate}")
            })
            .collect()
    }

    /// Mark the log opening (`true`) or open (`false`); returns, at the end, what recovery
    /// changed on the disk (a cut tail, a removed file), one line each.
    pub fn recovering(&self, opening: bool) -> Vec<String> {
        let mut state = self.lock();
        state.recovering = opening;
        std::mem::take(&mut state.recovery)
    }
}

/// [`TurmoilFs`] keeping a [`Ledger`] of what is unsynced.
#[derive(Clone, Debug, Default)]
pub struct LedgerFs {
    ledger: Ledger,
}

impl LedgerFs {
    /// The current host's disk, noting in `ledger`.
    pub fn new(ledger: Ledger) -> LedgerFs {
        LedgerFs { ledger }
    }
}

/// A file of a [`LedgerFs`].
#[derive(Debug)]
pub struct LedgerFile {
    inner: TurmoilFile,
    path: PathBuf,
    ledger: Ledger,
}

impl FileSystem for LedgerFs {
    type File = LedgerFile;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        TurmoilFs.create_dir_all(dir)?;
        self.ledger.changed_entry(dir, "create directory");
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        TurmoilFs.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        TurmoilFs.read(path)
    }

    fn open(&self, path: &Path) -> io::Result<LedgerFile> {
        let inner = TurmoilFs.open(path)?;
        Ok(self.wrap(inner, path))
    }

    fn create(&self, path: &Path) -> io::Result<LedgerFile> {
        let inner = TurmoilFs.create(path)?;
        self.ledger.changed_entry(path, "create");
        Ok(self.wrap(inner, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        TurmoilFs.rename(from, to)?;
        self.ledger.changed_entry(from, "rename");
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        TurmoilFs.remove(path)?;
        self.ledger.changed_entry(path, "remove");
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        TurmoilFs.sync_dir(dir)?;
        self.ledger.synced_dir(dir);
        Ok(())
    }
}

impl LedgerFs {
    fn wrap(&self, inner: TurmoilFile, path: &Path) -> LedgerFile {
        LedgerFile {
            inner,
            path: path.to_path_buf(),
            ledger: self.ledger.clone(),
        }
    }
}

impl FsFile for LedgerFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.write_at(offset, data)?;
        self.ledger.wrote(&self.path, offset, data.len() as u64);
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let from = self.inner.0.metadata().map(|m| m.len()).ok();
        self.inner.set_len(len)?;
        self.ledger.set_len(&self.path, from, len);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()?;
        self.ledger.synced(&self.path);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}
