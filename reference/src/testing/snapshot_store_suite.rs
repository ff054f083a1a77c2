//! The conformance suite for [`SnapshotStore`] implementations.
//!
//! Give it a [`SnapshotStoreFactory`] that creates fresh durable state and opens (and
//! reopens) a store on it; [`run`] checks the [`SnapshotStore`] contract (Raft §7): a
//! finished snapshot is the latest, with the right metadata and checksum, and reads back
//! byte for byte in chunks of any size; an older or equal snapshot is refused; a newer one
//! replaces it and opening the old is refused, but a handle opened on the old before reads
//! it on to its end; a writer abandoned before `finish` (as a crash would) leaves the old
//! snapshot; everything finished survives a reopen.
//!
//! A reopen here is a process restart with the disk intact; the power-loss half (a snapshot
//! write cut at every disk operation, torn writes) is
//! [`crash_suite::run_snapshot_store`](crate::testing::crash_suite::run_snapshot_store), for
//! stores written against [`FileSystem`](crate::file_log::fs::FileSystem).
//!
//! ```
//! use rafty::testing::snapshot_store_suite::{self, SnapshotStoreFactory};
//! use rafty::{FileSnapshotStore, SnapshotError};
//! use tempfile::TempDir;
//!
//! struct Files;
//! impl SnapshotStoreFactory for Files {
//!     type Store = FileSnapshotStore;
//!     type Disk = TempDir;
//!     fn create(&mut self) -> Result<TempDir, SnapshotError> {
//!         Ok(tempfile::tempdir()?)
//!     }
//!     fn open(&mut self, dir: &TempDir) -> Result<FileSnapshotStore, SnapshotError> {
//!         FileSnapshotStore::open(dir.path())
//!     }
//! }
//!
//! snapshot_store_suite::run(&mut Files).assert_all_passed();
//! ```

use crate::snapshot::{SnapshotError, SnapshotStore};
use crate::testing::SuiteReport;

pub(crate) mod cases;

/// Opens a user's [`SnapshotStore`] on durable state, and reopens it on the same state as a
/// restarted process would.
pub trait SnapshotStoreFactory {
    /// The store under test.
    type Store: SnapshotStore;
    /// What identifies one durable state: a directory, a bucket prefix, a shared buffer.
    type Disk;

    /// New, empty durable state. Called once per case.
    fn create(&mut self) -> Result<Self::Disk, SnapshotError>;

    /// Open a store on `disk`. The suite drops the previous store on `disk` before
    /// reopening (a writer of it may be leaked with `mem::forget`, standing for a crash
    /// mid-write), and expects every snapshot finished with `Ok` to be there.
    fn open(&mut self, disk: &Self::Disk) -> Result<Self::Store, SnapshotError>;
}

/// A case of the suite: its name and its body.
type Case<F> = (&'static str, fn(&mut F) -> Result<(), String>);

fn all_cases<F: SnapshotStoreFactory>() -> Vec<Case<F>> {
    vec![
        ("a_new_store_is_empty", cases::a_new_store_is_empty),
        ("latest_after_finish", cases::latest_after_finish),
        ("read_chunk_round_trip", cases::read_chunk_round_trip),
        (
            "older_or_equal_snapshot_is_refused",
            cases::older_or_equal_snapshot_is_refused,
        ),
        (
            "newer_snapshot_replaces_the_old",
            cases::newer_snapshot_replaces_the_old,
        ),
        (
            "crash_before_finish_keeps_the_old_snapshot",
            cases::crash_before_finish_keeps_the_old_snapshot,
        ),
        (
            "reopen_keeps_the_snapshot",
            cases::reopen_keeps_the_snapshot,
        ),
        (
            "an_opened_snapshot_survives_a_replacement",
            cases::an_opened_snapshot_survives_a_replacement,
        ),
    ]
}

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<cases::Unused>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against stores from `factory` and report each by name. Panics inside the
/// store are caught and reported as failures of their case.
pub fn run<F: SnapshotStoreFactory>(factory: &mut F) -> SuiteReport {
    let mut report = SuiteReport::new("snapshot_store_suite");
    for (name, case) in all_cases::<F>() {
        report.run_case(name, || case(factory));
    }
    report
}

/// Run the suite and panic, listing every failed case, unless all passed. For use in tests.
pub fn assert_conforms<F: SnapshotStoreFactory>(factory: &mut F) {
    run(factory).assert_all_passed();
}

#[cfg(test)]
mod tests;
