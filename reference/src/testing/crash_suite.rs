//! The power-loss suite for [`Log`] implementations written against
//! [`FileSystem`](crate::file_log::fs::FileSystem).
//!
//! Give it a function that opens your log on a [`CrashFs`] (a fresh disk per case, the same
//! disk again after each crash). Each case makes writes, cuts the power (with and without
//! torn writes), reopens, and checks the log against the [`Log`] contract:
//!
//! * a write acknowledged with `Ok` survives every later crash;
//! * a write interrupted by the crash (it returned `Err`, or never returned) left the log in a
//!   state the contract allows: the old hard state or the new, the old log plus *all or none*
//!   of the interrupted batch (never a part of it), a prefix of the old log at least as long as
//!   an interrupted truncation asked; never a gap, garbage, or a failure to reopen;
//! * I/O errors are reported, never swallowed; a flipped bit is detected, never served.
//!
//! `batch_is_all_or_nothing_after_a_crash` is the case for the rule that an `append` is
//! all-or-nothing: it cuts a batch of several entries at every disk operation of its append,
//! by a process crash (the log dropped and reopened, unsynced writes kept) and by a power loss
//! (unsynced writes dropped, and torn in several ways). The rule needs a disk that can fail
//! mid-batch, so it lives here, not in the generic
//! [`log_suite`](crate::testing::log_suite), whose `batch_is_all_or_nothing` checks only what a
//! log without a simulated disk allows. The other cases check the rule too, wherever an
//! append is interrupted.
//!
//! `compaction_survives_a_crash` cuts [`Log::compact`] (Raft §7) at every disk operation
//! (keeping a suffix, at the end of the log, with a conflicting term, past the end), and the
//! recovery after it too: the log opens to the old log or the compacted one, whole.
//!
//! Every crash point is deterministic (operation numbers on a seeded [`CrashFs`]), so a
//! failure names the operation to reproduce it with.
//!
//! ```
//! use std::path::Path;
//! use rafty::testing::crash_suite;
//! use rafty::{FileLog, FileLogOptions};
//!
//! crash_suite::run(|fs| FileLog::open_with(fs.clone(), Path::new("/log"), FileLogOptions::default()))
//!     .assert_all_passed();
//! ```

use std::path::Path;

use crate::log::{Log, LogError};
use crate::testing::log_suite::LogFactory;
use crate::testing::{CrashFs, SuiteReport};

mod cases;
mod compaction;
mod model;
mod snapshot_store;

/// Opens the log under test on a disk: called once for a fresh disk and again after every
/// crash, on the same disk.
pub type Open<'a, L> = dyn FnMut(&CrashFs) -> Result<L, LogError> + 'a;

/// What a case gets: the log opener and a seed for its disks.
pub struct Context<'a, L> {
    open: &'a mut Open<'a, L>,
    seed: u64,
}

impl<L: Log> Context<'_, L> {
    /// A fresh, empty disk; `torn` sets torn writes on crash. The same `salt` gives the same
    /// random choices, so a run can be repeated exactly.
    fn disk(&self, torn: bool, salt: u64) -> CrashFs {
        let fs = CrashFs::new(self.seed.wrapping_mul(1_000_003) ^ salt);
        fs.set_torn_writes(torn);
        fs
    }

    /// Open the log on `fs`.
    fn open(&mut self, fs: &CrashFs, when: &str) -> Result<L, String> {
        (self.open)(fs).map_err(|error| format!("open {when} failed: {error}"))
    }

    /// Drop `log`, cut the power, clear injected faults and open the log again.
    fn crash_and_reopen(&mut self, fs: &CrashFs, log: Option<L>) -> Result<L, String> {
        drop(log);
        fs.crash();
        fs.clear_faults();
        self.open(fs, "after a crash")
    }
}

/// A case of the suite: its name and its body.
type Case<L> = (&'static str, fn(&mut Context<'_, L>) -> Result<(), String>);

fn all_cases<L: Log>() -> Vec<Case<L>> {
    vec![
        (
            "acknowledged_writes_survive_a_crash",
            cases::acknowledged_writes_survive_a_crash,
        ),
        (
            "batch_is_all_or_nothing_after_a_crash",
            cases::batch_is_all_or_nothing_after_a_crash,
        ),
        (
            "truncation_survives_a_crash",
            cases::truncation_survives_a_crash,
        ),
        (
            "hard_state_survives_a_crash",
            cases::hard_state_survives_a_crash,
        ),
        (
            "crash_at_every_operation_of_a_script",
            cases::crash_at_every_operation_of_a_script,
        ),
        ("crash_during_recovery", cases::crash_during_recovery),
        (
            "io_errors_are_reported_not_swallowed",
            cases::io_errors_are_reported_not_swallowed,
        ),
        (
            "corruption_is_detected_never_served",
            cases::corruption_is_detected_never_served,
        ),
        (
            "compaction_survives_a_crash",
            compaction::compaction_survives_a_crash,
        ),
    ]
}

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<crate::memory::MemoryLog>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case with disks seeded from 0; see [`run_seeded`].
pub fn run<L: Log>(open: impl FnMut(&CrashFs) -> Result<L, LogError>) -> SuiteReport {
    run_seeded(0, open)
}

/// Run every case against logs that `open` opens on [`CrashFs`] disks seeded from `seed`,
/// and report each by name. Panics inside the log are caught and reported as failures.
pub fn run_seeded<L: Log>(
    seed: u64,
    mut open: impl FnMut(&CrashFs) -> Result<L, LogError>,
) -> SuiteReport {
    let mut report = SuiteReport::new("crash_suite");
    for (number, (name, case)) in all_cases::<L>().into_iter().enumerate() {
        let mut context = Context {
            open: &mut open,
            seed: seed.wrapping_mul(31).wrapping_add(number as u64),
        };
        report.run_case(name, || case(&mut context));
    }
    report
}

/// Run every case, with disks seeded from `seed`, on the logs `factory` opens on each
/// simulated disk ([`LogFactory::open_on_file_system`], in the directory `/log`). `None` when
/// the factory has no such method: its log does not do its I/O through
/// [`FileSystem`](crate::file_log::fs::FileSystem), and no power cut can reach it.
pub fn run_factory<F: LogFactory>(factory: &mut F, seed: u64) -> Option<SuiteReport> {
    let dir = Path::new("/log");
    let probe = CrashFs::new(seed);
    match factory.open_on_file_system(probe, dir) {
        None => return None,
        Some(log) => drop(log),
    }
    Some(run_seeded(seed, |fs: &CrashFs| {
        factory
            .open_on_file_system(fs.clone(), dir)
            .unwrap_or_else(|| {
                Err(LogError::Contract(
                    "LogFactory::open_on_file_system returned None after it had opened a log"
                        .to_owned(),
                ))
            })
    }))
}

/// Run the power-loss cases for a [`SnapshotStore`](crate::SnapshotStore) written against
/// [`FileSystem`](crate::file_log::fs::FileSystem), with disks seeded from 0: `open` opens
/// the store on a fresh [`CrashFs`], and again after every crash. A snapshot write (begin,
/// chunks, finish) is cut at every disk operation (torn writes or not), the recovery after it
/// too, single I/O errors are injected and bits flipped: the store must open to the old
/// snapshot or the new one, whole (the new one once `finish` returned `Ok`), and never serve
/// damaged data.
///
/// ```
/// use std::path::Path;
/// use rafty::testing::crash_suite;
/// use rafty::FileSnapshotStore;
///
/// let open = |fs: &rafty::testing::CrashFs| {
///     FileSnapshotStore::open_with(fs.clone(), Path::new("/snapshots"))
/// };
/// crash_suite::run_snapshot_store(open).assert_all_passed();
/// ```
pub fn run_snapshot_store<S: crate::SnapshotStore>(
    open: impl FnMut(&CrashFs) -> Result<S, crate::SnapshotError>,
) -> SuiteReport {
    snapshot_store::run_seeded(0, open)
}

/// [`run_snapshot_store`] with disks seeded from `seed`.
pub fn run_snapshot_store_seeded<S: crate::SnapshotStore>(
    seed: u64,
    open: impl FnMut(&CrashFs) -> Result<S, crate::SnapshotError>,
) -> SuiteReport {
    snapshot_store::run_seeded(seed, open)
}

/// The names of the cases [`run_snapshot_store`] runs, in order.
pub fn snapshot_store_case_names() -> Vec<&'static str> {
    snapshot_store::case_names()
}

/// Run the suite and panic, listing every failed case, unless all passed. For use in tests.
pub fn assert_conforms<L: Log>(open: impl FnMut(&CrashFs) -> Result<L, LogError>) {
    run(open).assert_all_passed();
}

#[cfg(test)]
mod tests;
