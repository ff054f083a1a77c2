//! The power-loss suite for [`SnapshotStore`] implementations written against
//! [`FileSystem`](crate::file_log::fs::FileSystem): a snapshot write cut at every disk
//! operation leaves the old snapshot or the new one, whole; a finished one survives.

use crate::snapshot::{SnapshotError, SnapshotMeta, SnapshotStore};
use crate::testing::snapshot_store_suite::cases::{read_snapshot, snapshot_bytes, write_snapshot};
use crate::testing::{CrashFs, SuiteReport};
use crate::types::LogIndex;

/// Opens the store under test on a disk: once for a fresh disk, again after every crash.
type OpenStore<'a, S> = dyn FnMut(&CrashFs) -> Result<S, SnapshotError> + 'a;

/// What a case gets: the store opener and a seed for its disks.
pub struct StoreContext<'a, S> {
    open: &'a mut OpenStore<'a, S>,
    seed: u64,
}

impl<S: SnapshotStore> StoreContext<'_, S> {
    fn disk(&self, torn: bool, salt: u64) -> CrashFs {
        let fs = CrashFs::new(self.seed.wrapping_mul(1_000_003) ^ salt);
        fs.set_torn_writes(torn);
        fs
    }

    fn open(&mut self, fs: &CrashFs, when: &str) -> Result<S, String> {
        (self.open)(fs).map_err(|error| format!("open {when} failed: {error}"))
    }

    fn crash_and_reopen(&mut self, fs: &CrashFs, store: Option<S>) -> Result<S, String> {
        drop(store);
        fs.crash();
        fs.clear_faults();
        self.open(fs, "after a crash")
    }
}

/// The snapshots the cases write: the old one through 10, the new one through 20.
const OLD: (LogIndex, usize) = (10, 3000);
const NEW: (LogIndex, usize) = (20, 5000);
const CHUNK: usize = 1000;

/// `Err` unless `store`'s latest snapshot is one of `allowed` (by index; `None`: no
/// snapshot) and reads back whole: the bytes written for it, matching its checksum.
fn check_latest(store: &impl SnapshotStore, allowed: &[Option<LogIndex>]) -> Result<(), String> {
    let latest = store
        .latest()
        .map_err(|error| format!("latest failed: {error}"))?;
    let index = latest.map(|meta| meta.last_included_index);
    if !allowed.contains(&index) {
        return Err(format!(
            "the latest snapshot is through {index:?}; allowed: {allowed:?}"
        ));
    }
    let Some(meta) = latest else {
        return Ok(());
    };
    let length = if meta.last_included_index == OLD.0 {
        OLD.1
    } else {
        NEW.1
    };
    let want = snapshot_bytes(meta.last_included_index, length);
    let read = read_snapshot(store, &meta, 777)?;
    if read != want || crc32c::crc32c(&read) != meta.checksum {
        return Err(format!(
            "the snapshot through {} reads back {} bytes (checksum {:#010x}, meta says \
             {:#010x}), not the {} written",
            meta.last_included_index,
            read.len(),
            crc32c::crc32c(&read),
            meta.checksum,
            want.len()
        ));
    }
    Ok(())
}

fn write(
    store: &mut impl SnapshotStore,
    (index, length): (LogIndex, usize),
) -> Result<SnapshotMeta, SnapshotError> {
    write_snapshot(store, index, 2, &snapshot_bytes(index, length), CHUNK)
}

/// Whether the old snapshot is written first, and whether a handle reads it (opened before
/// the new one's write, dropped after it: the store keeps it aside meanwhile).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Old {
    None,
    Written,
    Read,
}

/// On a fresh disk: the old snapshot (unless `Old::None`), then the new one with `fault`
/// armed from its first operation on. Returns the disk, the store and whether the new one's
/// write returned `Ok`.
fn write_new<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
    fs: &CrashFs,
    old: impl Into<Old>,
    fault: Fault,
) -> Result<(S, bool), String> {
    let old = old.into();
    let mut store = context.open(fs, "on a fresh disk")?;
    let mut reading = None;
    if old != Old::None {
        let meta =
            write(&mut store, OLD).map_err(|error| format!("the old snapshot failed: {error}"))?;
        if old == Old::Read {
            let mut chunks = store
                .open(&meta)
                .map_err(|error| format!("open of the old snapshot failed: {error}"))?;
            chunks
                .read_chunk(0, CHUNK)
                .map_err(|error| format!("a read of the old snapshot failed: {error}"))?;
            reading = Some(chunks);
        }
    }
    let start = fs.operation_count();
    match fault {
        Fault::None => {}
        Fault::PowerLossAt(after) => fs.fail_from(start + after),
        Fault::ErrorAt(after) => fs.fail_operation(start + after),
    }
    let finished = write(&mut store, NEW).is_ok();
    drop(reading);
    Ok((store, finished))
}

impl From<bool> for Old {
    fn from(with_old: bool) -> Old {
        if with_old { Old::Written } else { Old::None }
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    /// The power goes at this operation of the new snapshot's write (counted from its first).
    PowerLossAt(u64),
    /// This one operation fails.
    ErrorAt(u64),
}

/// How many disk operations the new snapshot's write makes.
fn write_operations<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
    old: impl Into<Old>,
) -> Result<u64, String> {
    let fs = context.disk(false, 0);
    let (store, finished) = write_new(context, &fs, old, Fault::None)?;
    if !finished {
        return Err("the new snapshot's write failed with no fault injected".into());
    }
    drop(store);
    Ok(fs.operation_count())
}

/// After the crash: the old snapshot or the new one, whole (the new one if its write was
/// acknowledged), and the store takes a newer snapshot that survives the next crash.
fn check_recovered<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
    fs: &CrashFs,
    store: S,
    with_old: bool,
    finished: bool,
    label: &str,
) -> Result<(), String> {
    let mut store = context
        .crash_and_reopen(fs, Some(store))
        .map_err(|e| format!("{label}: {e}"))?;
    let old = with_old.then_some(OLD.0);
    let allowed: &[Option<LogIndex>] = if finished {
        &[Some(NEW.0)]
    } else {
        &[old, Some(NEW.0)]
    };
    check_latest(&store, allowed).map_err(|error| format!("{label}: {error}"))?;
    let newest = (30, 100);
    let meta = write_snapshot(
        &mut store,
        newest.0,
        3,
        &snapshot_bytes(newest.0, newest.1),
        64,
    )
    .map_err(|error| format!("{label}: a snapshot after recovery failed: {error}"))?;
    let store = context.crash_and_reopen(fs, Some(store))?;
    let latest = store.latest().map_err(|error| error.to_string())?;
    if latest != Some(meta) {
        return Err(format!(
            "{label}: a snapshot finished after recovery, then a crash: latest is {latest:?}"
        ));
    }
    Ok(())
}

/// §7 via the store's contract: a snapshot write (begin, chunks, finish) cut by a power loss
/// at every one of its disk operations, unsynced writes dropped or torn, leaves the old
/// snapshot (or none) or the new one, whole; never a torn snapshot, never a store that fails
/// to open; a finished write survives. Also with a handle reading the old snapshot through
/// the write (a leader's transfer), which a store may keep aside meanwhile.
pub fn snapshot_write_survives_a_crash<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
) -> Result<(), String> {
    for old in [Old::Written, Old::None, Old::Read] {
        let with_old = old != Old::None;
        let operations = write_operations(context, old)?;
        for torn in [false, true] {
            for after in 0..=operations {
                let salt = if old == Old::Read { 5 << 40 } else { 1 << 40 };
                let fs = context.disk(torn, salt | after);
                let (store, finished) = write_new(context, &fs, old, Fault::PowerLossAt(after))?;
                let label = format!(
                    "power cut at operation {after} of the new snapshot's write (torn writes: \
                     {torn}, an old snapshot: {old:?})"
                );
                check_recovered(context, &fs, store, with_old, finished, &label)?;
            }
        }
    }
    Ok(())
}

/// A crash mid-write, then the power cut again at every operation of the open that recovers:
/// still the old snapshot or the new one, whole.
pub fn crash_during_recovery<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
) -> Result<(), String> {
    let operations = write_operations(context, true)?;
    for after in (0..operations).step_by(3) {
        let recovery = {
            let fs = context.disk(false, 2 << 40 | after);
            let (store, _) = write_new(context, &fs, true, Fault::PowerLossAt(after))?;
            drop(store);
            fs.crash();
            fs.clear_faults();
            let start = fs.operation_count();
            drop(context.open(&fs, "to count the recovery's operations")?);
            fs.operation_count() - start
        };
        for during in 0..recovery {
            let fs = context.disk(false, 2 << 40 | after);
            let (store, finished) = write_new(context, &fs, true, Fault::PowerLossAt(after))?;
            drop(store);
            fs.crash();
            fs.clear_faults();
            fs.fail_from(fs.operation_count() + during);
            let half = (context.open)(&fs).ok();
            drop(half);
            fs.crash();
            fs.clear_faults();
            let store = context.open(&fs, "after a crash during recovery")?;
            let label = format!("write cut at operation {after}, recovery at operation {during}");
            check_recovered(context, &fs, store, true, finished, &label)?;
        }
    }
    Ok(())
}

/// An I/O error at any single operation of a write is reported: if `finish` returned `Ok`
/// anyway, the new snapshot must survive the crash that follows.
pub fn io_errors_are_reported_not_swallowed<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
) -> Result<(), String> {
    for old in [Old::Written, Old::Read] {
        let operations = write_operations(context, old)?;
        for after in 0..operations {
            let fs = context.disk(false, 3 << 40 | after);
            let (store, finished) = write_new(context, &fs, old, Fault::ErrorAt(after))?;
            let label = format!(
                "an I/O error at operation {after} of the new snapshot's write (an old \
                 snapshot: {old:?})"
            );
            check_recovered(context, &fs, store, true, finished, &label)?;
        }
    }
    Ok(())
}

/// A bit flipped anywhere in any file the store wrote is detected (an error on open or on
/// read), never served as snapshot data.
pub fn corruption_is_detected_never_served<S: SnapshotStore>(
    context: &mut StoreContext<'_, S>,
) -> Result<(), String> {
    let files = {
        let fs = context.disk(false, 0);
        let (store, _) = write_new(context, &fs, true, Fault::None)?;
        drop(store);
        fs.files()
    };
    for file in &files {
        for flip in 0..8 {
            let fs = context.disk(false, 4 << 40 | flip);
            let (store, _) = write_new(context, &fs, true, Fault::None)?;
            drop(store);
            let Some((offset, bit)) = fs.corrupt_random_bit(file).map_err(|e| e.to_string())?
            else {
                continue;
            };
            let Ok(store) = (context.open)(&fs) else {
                continue; // detected on open
            };
            let Ok(Some(meta)) = store.latest() else {
                continue;
            };
            let Ok(read) = read_snapshot(&store, &meta, 4096) else {
                continue; // detected on read
            };
            if meta.last_included_index != NEW.0 || read != snapshot_bytes(NEW.0, NEW.1) {
                return Err(format!(
                    "bit {bit} of byte {offset} of {} flipped: the store served a snapshot \
                     through {} of {} bytes as the latest, not the one written",
                    file.display(),
                    meta.last_included_index,
                    read.len()
                ));
            }
        }
    }
    Ok(())
}

/// A case of the suite: its name and its body.
type Case<S> = (
    &'static str,
    fn(&mut StoreContext<'_, S>) -> Result<(), String>,
);

fn all_cases<S: SnapshotStore>() -> Vec<Case<S>> {
    vec![
        (
            "snapshot_write_survives_a_crash",
            snapshot_write_survives_a_crash,
        ),
        ("crash_during_recovery", crash_during_recovery),
        (
            "io_errors_are_reported_not_swallowed",
            io_errors_are_reported_not_swallowed,
        ),
        (
            "corruption_is_detected_never_served",
            corruption_is_detected_never_served,
        ),
    ]
}

/// The names of the cases [`run_snapshot_store`](super::run_snapshot_store) runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<crate::file_snapshot::FileSnapshotStore>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against stores `open` opens on disks seeded from `seed`.
pub fn run_seeded<S: SnapshotStore>(
    seed: u64,
    mut open: impl FnMut(&CrashFs) -> Result<S, SnapshotError>,
) -> SuiteReport {
    let mut report = SuiteReport::new("snapshot_store_crash_suite");
    for (number, (name, case)) in all_cases::<S>().into_iter().enumerate() {
        let mut context = StoreContext {
            open: &mut open,
            seed: seed.wrapping_mul(31).wrapping_add(number as u64),
        };
        report.run_case(name, || case(&mut context));
    }
    report
}
