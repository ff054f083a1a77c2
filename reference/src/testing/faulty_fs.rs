//! `FaultyFs`: any [`FileSystem`] with disk faults switched on and off from outside, for a
//! nemesis that breaks one node's disk at a chosen moment (the harness wraps turmoil's
//! simulated disk in it; tests may wrap [`StdFs`](crate::file_log::fs::StdFs) or
//! [`CrashFs`](super::CrashFs)).
//!
//! The switches live in a [`DiskFaults`] handle, cheap to clone and shared with the file
//! system and every file opened through it:
//! * [`DiskFaults::fail_next`]: the next `n` operations fail with an I/O error (`EIO`), and
//!   change nothing;
//! * [`DiskFaults::set_dead`]: every operation fails until revived;
//! * [`DiskFaults::corrupt_next_read`]: the next read returns its data with one bit flipped,
//!   silently, as a bad sector or a misdirected read would;
//! * [`DiskFaults::freeze_after`]: the next `n` operations run, then the disk freezes: every
//!   operation fails (`EIO`) and changes nothing until cleared. The moment the power went out,
//!   as the software sees it, so that a power cut can land *inside* a sequence of disk
//!   operations (between a write and its fsync, a rename and the directory sync...): the
//!   caller then drops what was unsynced (`CrashFs::crash`, turmoil's `Sim::crash`).
//!   [`DiskFaults::freeze_trail`] names the operations that ran and the one refused.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::file_log::fs::{FileSystem, FsFile};

/// The fault switches of one [`FaultyFs`]. Clones share them.
#[derive(Clone, Debug, Default)]
pub struct DiskFaults {
    state: Arc<Mutex<Switches>>,
}

#[derive(Debug, Default)]
struct Switches {
    fail_next: u64,
    dead: bool,
    corrupt_next_read: bool,
    operations: u64,
    injected: u64,
    freeze: Option<Freeze>,
}

/// An armed [`DiskFaults::freeze_after`].
#[derive(Debug, Default)]
struct Freeze {
    /// Operations still allowed before the disk freezes.
    remaining: u64,
    /// Whether an operation has been refused: the disk is frozen.
    tripped: bool,
    /// The last operations since arming, the refused one last (bounded).
    trail: std::collections::VecDeque<String>,
}

/// How many operations a freeze's trail keeps (the last ones).
const FREEZE_TRAIL_LENGTH: usize = 16;

impl DiskFaults {
    /// No fault switched on.
    pub fn new() -> DiskFaults {
        DiskFaults::default()
    }

    fn lock(&self) -> MutexGuard<'_, Switches> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Make the next `count` operations fail with an I/O error.
    pub fn fail_next(&self, count: u64) {
        self.lock().fail_next = count;
    }

    /// Make every operation fail (`true`: the disk is gone) or work again (`false`).
    pub fn set_dead(&self, dead: bool) {
        self.lock().dead = dead;
    }

    /// Flip one bit of what the next successful read returns.
    pub fn corrupt_next_read(&self) {
        self.lock().corrupt_next_read = true;
    }

    /// Let the next `count` operations run, then freeze the disk: every later operation fails
    /// with an I/O error and changes nothing, until [`DiskFaults::clear`]. Replaces an earlier
    /// freeze.
    pub fn freeze_after(&self, count: u64) {
        self.lock().freeze = Some(Freeze {
            remaining: count,
            ..Freeze::default()
        });
    }

    /// Whether a freeze armed by [`DiskFaults::freeze_after`] has tripped: an operation was
    /// refused, and the disk is frozen.
    pub fn is_frozen(&self) -> bool {
        self.lock()
            .freeze
            .as_ref()
            .is_some_and(|freeze| freeze.tripped)
    }

    /// The operations since [`DiskFaults::freeze_after`] (the last 16), as `what path`, the
    /// refused one last as `refused: what path`; empty with no freeze armed.
    pub fn freeze_trail(&self) -> Vec<String> {
        let switches = self.lock();
        let trail = switches.freeze.as_ref().map(|freeze| &freeze.trail);
        trail.into_iter().flatten().cloned().collect()
    }

    /// Switch every fault off (a freeze included).
    pub fn clear(&self) {
        let mut switches = self.lock();
        switches.fail_next = 0;
        switches.dead = false;
        switches.corrupt_next_read = false;
        switches.freeze = None;
    }

    /// Operations attempted so far.
    pub fn operation_count(&self) -> u64 {
        self.lock().operations
    }

    /// Faults injected so far (failed operations and corrupted reads).
    pub fn injected_count(&self) -> u64 {
        self.lock().injected
    }

    /// Count one operation and fail it if a fault says so.
    fn begin(&self, what: &str, path: &Path) -> io::Result<()> {
        let mut switches = self.lock();
        switches.operations += 1;
        let frozen = switches.freeze.as_mut().is_some_and(|freeze| {
            let refused = freeze.tripped || freeze.remaining == 0;
            if !freeze.tripped {
                let mark = if refused { "refused: " } else { "" };
                if freeze.trail.len() == FREEZE_TRAIL_LENGTH {
                    freeze.trail.pop_front();
                }
                freeze
                    .trail
                    .push_back(format!("{mark}{what} {}", path.display()));
            }
            freeze.tripped |= refused;
            freeze.remaining = freeze.remaining.saturating_sub(1);
            refused
        });
        if frozen {
            switches.injected += 1;
            return Err(io::Error::other(format!(
                "injected disk fault: {what} {} failed (EIO): the disk froze (power cut)",
                path.display()
            )));
        }
        if switches.dead || switches.fail_next > 0 {
            switches.fail_next = switches.fail_next.saturating_sub(1);
            switches.injected += 1;
            return Err(io::Error::other(format!(
                "injected disk fault: {what} {} failed (EIO)",
                path.display()
            )));
        }
        Ok(())
    }

    /// Flip a bit of `data` if a corrupted read is due.
    fn after_read(&self, data: &mut [u8]) {
        let mut switches = self.lock();
        if switches.corrupt_next_read && !data.is_empty() {
            switches.corrupt_next_read = false;
            switches.injected += 1;
            let at = (switches.operations as usize).wrapping_mul(7919) % data.len();
            data[at] ^= 1 << (switches.operations % 8);
        }
    }
}

/// `FS` with the faults of a [`DiskFaults`] switched in.
#[derive(Clone, Debug)]
pub struct FaultyFs<FS> {
    inner: FS,
    faults: DiskFaults,
}

impl<FS: FileSystem> FaultyFs<FS> {
    /// Wrap `inner`; switch faults with `faults` (keep a clone).
    pub fn new(inner: FS, faults: DiskFaults) -> FaultyFs<FS> {
        FaultyFs { inner, faults }
    }

    /// The switches.
    pub fn faults(&self) -> &DiskFaults {
        &self.faults
    }
}

/// A file of a [`FaultyFs`].
#[derive(Debug)]
pub struct FaultyFile<F> {
    inner: F,
    faults: DiskFaults,
    path: std::path::PathBuf,
}

impl<FS: FileSystem> FileSystem for FaultyFs<FS> {
    type File = FaultyFile<FS::File>;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.faults.begin("create_dir_all", dir)?;
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.faults.begin("list", dir)?;
        self.inner.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.faults.begin("read", path)?;
        let mut data = self.inner.read(path)?;
        self.faults.after_read(&mut data);
        Ok(data)
    }

    fn open(&self, path: &Path) -> io::Result<Self::File> {
        self.faults.begin("open", path)?;
        Ok(self.wrap(self.inner.open(path)?, path))
    }

    fn create(&self, path: &Path) -> io::Result<Self::File> {
        self.faults.begin("create", path)?;
        Ok(self.wrap(self.inner.create(path)?, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.begin("rename", from)?;
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.faults.begin("remove", path)?;
        self.inner.remove(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.faults.begin("sync_dir", dir)?;
        self.inner.sync_dir(dir)
    }
}

impl<FS: FileSystem> FaultyFs<FS> {
    fn wrap(&self, inner: FS::File, path: &Path) -> FaultyFile<FS::File> {
        FaultyFile {
            inner,
            faults: self.faults.clone(),
            path: path.to_path_buf(),
        }
    }
}

impl<F: FsFile> FsFile for FaultyFile<F> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.faults.begin("read_at", &self.path)?;
        self.inner.read_at(offset, buf)?;
        self.faults.after_read(buf);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.faults.begin("write_at", &self.path)?;
        self.inner.write_at(offset, data)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.faults.begin("set_len", &self.path)?;
        self.inner.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.faults.begin("sync", &self.path)?;
        self.inner.sync()
    }

    fn len(&self) -> io::Result<u64> {
        self.faults.begin("len", &self.path)?;
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_log::{FileLog, FileLogOptions};
    use crate::log::{Log, LogError};
    use crate::testing::CrashFs;
    use crate::types::{Entry, Payload};

    fn batch(first: u64, count: u64) -> Vec<Entry> {
        (first..first + count)
            .map(|index| Entry {
                term: 1,
                index,
                payload: Payload::Command(vec![index as u8; 40]),
            })
            .collect()
    }

    fn open(disk: &CrashFs, faults: &DiskFaults) -> Result<FileLog<FaultyFs<CrashFs>>, LogError> {
        let fs = FaultyFs::new(disk.clone(), faults.clone());
        FileLog::open_with(fs, Path::new("/log"), FileLogOptions::default())
    }

    #[test]
    fn an_io_error_fails_the_write_and_stops_the_log_until_reopened() {
        let (disk, faults) = (CrashFs::new(1), DiskFaults::new());
        let mut log = open(&disk, &faults).unwrap();
        log.append(&batch(1, 2)).unwrap();
        faults.fail_next(1);
        let error = log.append(&batch(3, 1)).unwrap_err();
        assert!(error.to_string().contains("injected disk fault"), "{error}");
        assert!(
            log.append(&batch(3, 1)).is_err(),
            "the log goes on after an I/O error"
        );
        assert_eq!(faults.injected_count(), 1);
        drop(log);
        let log = open(&disk, &faults).unwrap();
        assert_eq!(log.entries(1, 3).unwrap(), batch(1, 2));
    }

    /// A freeze lets the operations drawn run, then refuses every one and changes nothing, so
    /// a crash at that moment lands inside the append: its write is there, unsynced, and the
    /// log (which got the error) never acknowledged it; recovery cuts the batch off whole.
    #[test]
    fn a_freeze_lands_a_power_cut_between_a_write_and_its_fsync() {
        let (disk, faults) = (CrashFs::new(7), DiskFaults::new());
        let mut log = open(&disk, &faults).unwrap();
        log.append(&batch(1, 2)).unwrap();
        faults.freeze_after(1);
        assert!(!faults.is_frozen());
        let error = log.append(&batch(3, 30)).unwrap_err();
        assert!(error.to_string().contains("the disk froze"), "{error}");
        assert!(faults.is_frozen());
        let trail = faults.freeze_trail();
        assert_eq!(trail.len(), 2, "{trail:?}");
        assert!(trail[0].starts_with("write_at /log/"), "{trail:?}");
        assert!(trail[1].starts_with("refused: sync /log/"), "{trail:?}");
        assert!(open(&disk, &faults).is_err(), "a frozen disk stays frozen");
        drop(log);
        disk.crash();
        faults.clear();
        assert!(faults.freeze_trail().is_empty());
        let log = open(&disk, &faults).unwrap();
        assert_eq!(log.last_index(), 2);
        assert_eq!(log.entries(1, 3).unwrap(), batch(1, 2));
    }

    #[test]
    fn a_dead_disk_fails_everything_until_revived() {
        let (disk, faults) = (CrashFs::new(1), DiskFaults::new());
        open(&disk, &faults).unwrap().append(&batch(1, 1)).unwrap();
        faults.set_dead(true);
        assert!(matches!(open(&disk, &faults), Err(LogError::Io(_))));
        faults.set_dead(false);
        assert_eq!(open(&disk, &faults).unwrap().last_index(), 1);
    }

    #[test]
    fn a_corrupted_read_is_detected_never_served() {
        let (disk, faults) = (CrashFs::new(1), DiskFaults::new());
        let mut log = open(&disk, &faults).unwrap();
        log.append(&batch(1, 3)).unwrap();
        for _ in 0..20 {
            faults.corrupt_next_read();
            match log.entries(1, 4) {
                Err(LogError::Corrupted { .. }) => {}
                other => panic!("a corrupted read gave {other:?}"),
            }
        }
        assert_eq!(log.entries(1, 4).unwrap(), batch(1, 3));
        faults.corrupt_next_read();
        drop(log);
        assert!(matches!(
            open(&disk, &faults),
            Err(LogError::Corrupted { .. })
        ));
        faults.clear();
        assert_eq!(open(&disk, &faults).unwrap().last_index(), 3);
    }
}
