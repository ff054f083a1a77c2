//! rafty's [`FileSystem`] on turmoil's simulated filesystem (the `unstable-fs` shim), so that a
//! node in the simulation keeps a real [`rafty::FileLog`] on its host's disk.
//!
//! Turmoil gives every host its own disk. Writes and directory changes stay pending until
//! `sync_data` (file) or `sync_dir` (directory); [`turmoil::Sim::crash`] drops what is
//! pending (a power loss: optionally torn at [`turmoil::FsConfig::block_size`] blocks) and
//! [`turmoil::Sim::bounce`] restarts the host's software, which reopens its log and recovers.
//! A kill without power loss is `bounce` alone: the disk keeps pending writes, as an OS page
//! cache would.
//!
//! Every call must run inside the simulation, on the host whose disk it uses (turmoil finds
//! the disk from the current host); outside, turmoil panics.
//!
//! [`FileLogFactory`] plugs a [`FileLog`] per node into the cluster (`rafty test --log file`),
//! through a [`FaultyFs`] whose [`DiskFaults`] the nemesis holds (I/O errors, a dead disk,
//! corrupted reads), and rots a bit of a record for the `corrupt` nemesis ([`bit_rot`]: on the
//! disk, while the host is off, found by the log when the node starts; restored later);
//! [`FileLogFactory::acknowledging_before_fsync`] is the deliberately broken log the chaos
//! suite must catch (`--variant acknowledge-before-fsync`).
//!
//! For the `power-mid-write` nemesis the factory arms a power cut *inside* a disk operation
//! ([`NodeLogs::arm_power_cut`]: the node's [`DiskFaults::freeze_after`] a number of
//! operations drawn from the seed; the node gets `EIO` and fail-stops, acknowledging nothing
//! of the interrupted write; the nemesis then cuts the power, which drops what was unsynced,
//! torn). Every node's disk keeps a [`ledger`] of what is unsynced, so each power cut notes in
//! the node's log what it found pending (and, for an armed cut, the operations that ran and
//! the one refused), and the next boot notes what of each pending write survived (lost, torn,
//! kept whole) and what the log's recovery cut or removed.
//!
//! Torn writes need the simulation's disks to be built with a block size
//! (`turmoil::Builder::fs().block_size(..)`); the runner sets [`TORN_WRITE_BLOCK_BYTES`].

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rafty::file_log::fs::{FileSystem, FsFile};
use rafty::node::SnapshotStoreFactory;
use rafty::testing::{Defect, DiskFaults, FaultyFs, FsyncDefect};
use rafty::{FileLog, FileLogOptions, FileSnapshotStore, Log, LogError, NodeId, SnapshotStore};
use turmoil::fs::shim::std::fs as sim;

use super::factories::NodeLogs;

pub mod bit_rot;
pub mod ledger;

use bit_rot::Flip;
use ledger::Ledger;
pub use ledger::LedgerFs;

use super::factories::ArmedCut;

/// Where a node keeps its log on its host's disk.
pub const LOG_DIR: &str = "/rafty/log";

/// On power loss, each unsynced write survives as a random prefix of whole blocks of this
/// size (a torn write), as a disk that writes blocks in order, each atomically, would leave it.
/// Far finer than a real disk's 512-byte sectors, on purpose: the simulation's records are
/// some 30 bytes and its batches rarely pass 512, so at 512 no append would ever tear and the
/// log's recovery of a cut-off record or batch would never run.
pub const TORN_WRITE_BLOCK_BYTES: u64 = 8;

/// The segment size of the logs the harness runs: small, so that runs also exercise segment
/// rollover and removal (a 10 s run writes some 8 KiB of records per node, so at 64 KiB no
/// segment ever rolled, and no power cut could land inside a roll).
pub const SIM_SEGMENT_BYTES: u64 = 4 << 10;

/// The current turmoil host's disk.
#[derive(Clone, Copy, Debug, Default)]
pub struct TurmoilFs;

/// An open file on a turmoil host's disk.
#[derive(Debug)]
pub struct TurmoilFile(sim::File);

/// `Err` unless the caller runs on a simulated host: the disk of a host that is gone (a log
/// dropped after its host crashed or the simulation ended, whose destructor writes) refuses
/// every operation, as a killed process writes nothing either.
fn on_a_host() -> io::Result<()> {
    if turmoil::sim_elapsed().is_some() {
        Ok(())
    } else {
        Err(io::Error::other(
            "the simulated disk was used outside its host (after a crash or the end of the \
             simulation): refused",
        ))
    }
}

impl FileSystem for TurmoilFs {
    type File = TurmoilFile;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        on_a_host()?;
        sim::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        on_a_host()?;
        let entries = sim::read_dir(dir)?.map(|entry| {
            let entry = entry?;
            Ok((entry.file_name(), entry.file_type()?.is_file()))
        });
        rafty::file_log::fs::sorted_file_names(dir, entries)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        on_a_host()?;
        sim::read(path)
    }

    fn open(&self, path: &Path) -> io::Result<TurmoilFile> {
        on_a_host()?;
        let file = sim::OpenOptions::new().read(true).write(true).open(path)?;
        Ok(TurmoilFile(file))
    }

    fn create(&self, path: &Path) -> io::Result<TurmoilFile> {
        on_a_host()?;
        let file = sim::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(TurmoilFile(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        on_a_host()?;
        sim::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        on_a_host()?;
        sim::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        on_a_host()?;
        sim::sync_dir(dir)
    }
}

impl FsFile for TurmoilFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        on_a_host()?;
        FileExt::read_exact_at(&self.0, buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        on_a_host()?;
        FileExt::write_all_at(&self.0, data, offset)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        on_a_host()?;
        self.0.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        on_a_host()?;
        self.0.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        on_a_host()?;
        Ok(self.0.metadata()?.len())
    }
}

/// Opens a user's log on a node's simulated disk, in a directory: a
/// [`rafty::testing::LogFactory::open_on_file_system`], as [`FileLogFactory::opening`] takes it.
pub type OpenOnDisk =
    Arc<dyn Fn(FaultyFs<LedgerFs>, &Path) -> Result<Box<dyn Log>, LogError> + Send + Sync>;

/// Opens each node's [`FileLog`] (or a user's log, [`FileLogFactory::opening`]) on its own
/// host's simulated disk (call [`NodeLogs::open`] inside the node's host), with disk faults
/// per node.
pub struct FileLogFactory {
    dir: PathBuf,
    options: FileLogOptions,
    skip_fsync: bool,
    user: Option<OpenOnDisk>,
    faults: Mutex<BTreeMap<NodeId, DiskFaults>>,
    rot: Mutex<BTreeMap<NodeId, Rot>>,
    disks: Mutex<BTreeMap<NodeId, Disk>>,
}

/// One node's disk as the power faults see it: what it holds unsynced, where an armed power
/// cut stands, and what to note in the node's log.
#[derive(Debug)]
struct Disk {
    ledger: Ledger,
    cut: ArmedCut,
    notes: Vec<String>,
}

impl Default for Disk {
    fn default() -> Disk {
        Disk {
            ledger: Ledger::new(),
            cut: ArmedCut::Idle,
            notes: Vec::new(),
        }
    }
}

/// The `corrupt` nemesis's work on one node's disk, and what it did for the node's log.
#[derive(Debug, Default)]
struct Rot {
    state: RotState,
    notes: Vec<String>,
}

/// Where one node's disk is in the `corrupt` nemesis's cycle: sound, rot due, rotten, restore
/// due (then sound again).
#[derive(Debug, Default)]
enum RotState {
    /// The disk is as the log wrote it.
    #[default]
    Sound,
    /// At the next open, flip a bit drawn from this number (the host is powered off).
    Due(u64),
    /// This bit is flipped on the disk.
    Flipped(Flip),
    /// At the next open, flip this bit back first (the operator's restore).
    Restoring(Flip),
}

impl FileLogFactory {
    /// Logs in [`LOG_DIR`] with `options`.
    pub fn new(options: FileLogOptions) -> FileLogFactory {
        FileLogFactory {
            dir: PathBuf::from(LOG_DIR),
            options,
            skip_fsync: false,
            user: None,
            faults: Mutex::default(),
            rot: Mutex::default(),
            disks: Mutex::default(),
        }
    }

    /// Deliberately broken: logs whose fsyncs do nothing, so they acknowledge writes a power
    /// loss then takes away. For proving the chaos suite catches such a log; never use it
    /// otherwise.
    pub fn acknowledging_before_fsync(options: FileLogOptions) -> FileLogFactory {
        FileLogFactory {
            skip_fsync: true,
            ..FileLogFactory::new(options)
        }
    }

    /// A user's log instead of [`FileLog`], opened by `open` on the node's disk (through the
    /// same fault switches and power-cut ledger), in [`LOG_DIR`]: every power fault reaches
    /// it. The `corrupt` nemesis knows only [`FileLog`]'s records: leave it out.
    pub fn opening(open: OpenOnDisk) -> FileLogFactory {
        FileLogFactory {
            user: Some(open),
            ..FileLogFactory::new(FileLogOptions::default())
        }
    }

    /// The same, in `dir` instead of [`LOG_DIR`].
    pub fn in_dir(self, dir: impl Into<PathBuf>) -> FileLogFactory {
        FileLogFactory {
            dir: dir.into(),
            ..self
        }
    }

    /// Node `node`'s disk fault switches (they persist across its restarts).
    pub fn faults(&self, node: NodeId) -> DiskFaults {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        faults.entry(node).or_default().clone()
    }

    fn rot(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, Rot>> {
        self.rot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` on node `node`'s disk record.
    fn disk<T>(&self, node: NodeId, f: impl FnOnce(&mut Disk) -> T) -> T {
        let mut disks = self.disks.lock().unwrap_or_else(|p| p.into_inner());
        f(disks.entry(node).or_default())
    }

    /// Open node `node`'s log on `fs` with `open`, noting first what survived the last power
    /// cut and afterwards what the log's recovery changed on the disk.
    fn open_on<FS: FileSystem, L>(
        &self,
        node: NodeId,
        fs: FS,
        open: impl FnOnce(FaultyFs<FS>, &Path) -> Result<L, LogError>,
    ) -> Result<L, LogError> {
        let ledger = self.disk(node, |disk| disk.ledger.clone());
        let survived = ledger.measure_after_cut();
        ledger.recovering(true);
        let fs = FaultyFs::new(fs, self.faults(node));
        let opened = open(fs, &self.dir);
        let recovery = ledger.recovering(false);
        self.disk(node, |disk| {
            disk.notes.extend(survived);
            let recovered = recovery.into_iter().map(|line| format!("recovery: {line}"));
            disk.notes.extend(recovered);
        });
        opened
    }

    /// Do what the `corrupt` nemesis left due on node `node`'s disk, before its log opens (on
    /// its host, at boot): rot the bit drawn, or restore the one rotten.
    fn rot_at_boot(&self, node: NodeId) -> io::Result<()> {
        let mut rot = self.rot();
        let rot = rot.entry(node).or_default();
        match std::mem::take(&mut rot.state) {
            RotState::Due(draw) => {
                let layout = bit_rot::Layout::measure()?;
                let records = bit_rot::records(&TurmoilFs, &self.dir, layout)?;
                match bit_rot::choose(&records, draw) {
                    Some(flip) => {
                        bit_rot::toggle(&TurmoilFs, &flip)?;
                        rot.notes
                            .push(format!("bit rot while powered off: flipped {flip}"));
                        rot.state = RotState::Flipped(flip);
                    }
                    None => rot.notes.push(format!(
                        "bit rot while powered off: none of the {} records is before the \
                         log's tail; nothing flipped",
                        records.len()
                    )),
                }
            }
            RotState::Restoring(flip) => {
                bit_rot::toggle(&TurmoilFs, &flip)?;
                rot.notes.push(format!("restored from a backup: {flip}"));
            }
            other => rot.state = other,
        }
        Ok(())
    }
}

impl std::fmt::Debug for FileLogFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLogFactory")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .field("skip_fsync", &self.skip_fsync)
            .field("user", &self.user.as_ref().map(|_| "a user's log"))
            .finish_non_exhaustive()
    }
}

impl NodeLogs for FileLogFactory {
    /// A [`FileSnapshotStore`] on the node's own disk, next to its log (the log's directory
    /// with `.snapshots` appended), through the same fault switches and power-cut ledger: a
    /// power cut tears its unsynced writes as it tears the log's.
    fn snapshot_store(&self, node: NodeId) -> Option<SnapshotStoreFactory> {
        let ledger = self.disk(node, |disk| disk.ledger.clone());
        let faults = self.faults(node);
        let mut dir = self.dir.clone().into_os_string();
        dir.push(".snapshots");
        let dir = PathBuf::from(dir);
        Some(Arc::new(move || {
            let fs = FaultyFs::new(LedgerFs::new(ledger.clone()), faults.clone());
            let store = FileSnapshotStore::open_with(fs, &dir)?;
            Ok(Box::new(store) as Box<dyn SnapshotStore>)
        }))
    }

    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        self.rot_at_boot(node)?;
        let fs = LedgerFs::new(self.disk(node, |disk| disk.ledger.clone()));
        let options = self.options.clone();
        Ok(if let Some(user) = &self.user {
            self.open_on(node, fs, |fs, dir| user(fs, dir))?
        } else if self.skip_fsync {
            let fs = FsyncDefect(fs, Defect::SkipsFsync);
            let open = |fs, dir: &Path| FileLog::open_with(fs, dir, options);
            Box::new(self.open_on(node, fs, open)?)
        } else {
            let open = |fs, dir: &Path| FileLog::open_with(fs, dir, options);
            Box::new(self.open_on(node, fs, open)?)
        })
    }

    /// The power went out: note what the disk held unsynced (turmoil drops it, torn) and,
    /// for a cut armed inside a disk operation, the operations that ran and the one refused.
    fn crashed(&self, node: NodeId) {
        let faults = self.faults(node);
        self.disk(node, |disk| {
            let pending = disk.ledger.power_cut();
            let armed = matches!(disk.cut, ArmedCut::Waiting | ArmedCut::Due);
            let when = match (armed, faults.is_frozen()) {
                (true, true) => "inside a disk operation",
                (true, false) => "between steps (the armed freeze never tripped)",
                (false, _) => "between steps",
            };
            disk.notes.push(format!("power cut {when}: {pending}"));
            if armed {
                let trail = faults.freeze_trail();
                disk.notes.push(format!(
                    "disk operations until the cut: {}",
                    trail.join("; ")
                ));
                disk.cut = ArmedCut::Done;
            }
        });
    }

    /// The power-mid-write nemesis: freeze the disk after `operations` more operations
    /// (`Some`), or clear the freeze (`None`).
    fn arm_power_cut(&self, node: NodeId, operations: Option<u64>) -> bool {
        let faults = self.faults(node);
        self.disk(node, |disk| match operations {
            Some(operations) => {
                faults.freeze_after(operations);
                disk.cut = ArmedCut::Waiting;
            }
            None => {
                faults.clear();
                disk.cut = ArmedCut::Idle;
            }
        });
        true
    }

    fn armed_cut(&self, node: NodeId) -> ArmedCut {
        let frozen = self.faults(node).is_frozen();
        self.disk(node, |disk| match disk.cut {
            ArmedCut::Waiting if frozen => ArmedCut::Due,
            other => other,
        })
    }

    /// The disk nemesis: a failing disk fails every operation (the node fail-stops at its
    /// next write); a working one fails none.
    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        let faults = self.faults(node);
        if failing {
            faults.set_dead(true);
        } else {
            faults.clear();
        }
        true
    }

    /// The corrupt nemesis: a bit of a record before the tail rots at the next open, or the
    /// rotten bit is restored at the next open. See [`bit_rot`].
    fn corrupt_record(&self, node: NodeId, draw: Option<u64>) -> bool {
        let mut rot = self.rot();
        let rot = rot.entry(node).or_default();
        rot.state = match (std::mem::take(&mut rot.state), draw) {
            (RotState::Sound | RotState::Due(_), Some(draw)) => RotState::Due(draw),
            // Never applied (the host did not boot in between): nothing to restore.
            (RotState::Sound | RotState::Due(_), None) => RotState::Sound,
            (RotState::Flipped(flip) | RotState::Restoring(flip), None) => {
                RotState::Restoring(flip)
            }
            // One fault at a time: the nemesis restores a rotten bit before it rots another.
            (RotState::Flipped(flip) | RotState::Restoring(flip), Some(_)) => {
                panic!("n{node}: a second bit rot while {flip} is not restored")
            }
        };
        true
    }

    fn corruption(&self, node: NodeId) -> Option<String> {
        match self.rot().get(&node).map(|rot| &rot.state) {
            Some(RotState::Flipped(flip)) => Some(flip.to_string()),
            _ => None,
        }
    }

    fn take_notes(&self, node: NodeId) -> Vec<String> {
        let mut notes = self.disk(node, |disk| std::mem::take(&mut disk.notes));
        let mut rot = self.rot();
        notes.extend(
            rot.get_mut(&node)
                .map(|rot| std::mem::take(&mut rot.notes))
                .unwrap_or_default(),
        );
        notes
    }
}

#[cfg(test)]
mod tests;
