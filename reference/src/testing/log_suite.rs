//! The conformance suite for [`Log`] implementations.
//!
//! Give it a [`LogFactory`] that creates fresh durable state and opens (and reopens) a log on
//! it; [`run`] checks every rule of the [`Log`] contract, reopening the log after every write
//! to check that what returned `Ok` was kept. Every case starts on fresh state and uses only
//! the public [`Log`] API, so the suite works for any storage.
//!
//! What it cannot do is crash a log in the middle of a write: a generic store has no switch
//! for that. So `batch_is_all_or_nothing` checks only the part of that rule a refused or an
//! accepted batch shows; the rule itself (an append interrupted by a crash leaves all of its
//! batch or none) is checked by [`crash_suite`](crate::testing::crash_suite)'s
//! `batch_is_all_or_nothing_after_a_crash`, for logs written against the
//! [`FileSystem`](crate::file_log::fs::FileSystem) abstraction.
//!
//! The compaction cases ([`COMPACTION_CASES`]) check [`Log::compact`] (Raft §7): the first
//! index moves, the term at the boundary stays answerable, appends follow, truncation below
//! the first index is refused, a conflicting term discards the whole log, an old index is a
//! no-op, and all of it survives a reopen. (The crash half, a compaction cut at every disk
//! operation, is the crash suite's `compaction_survives_a_crash`.)

use std::path::Path;

use crate::file_log::fs::FileSystem;
use crate::log::{Log, LogError};
use crate::testing::SuiteReport;

mod cases;
pub(crate) mod check;
mod compaction;

/// Opens a user's [`Log`] on durable state, and reopens it on the same state as a restarted
/// process would.
pub trait LogFactory {
    /// The log under test.
    type Log: Log;
    /// What identifies one durable state: a directory, a database handle, a shared buffer.
    /// Dropping it may delete the state.
    type Store;

    /// New, empty durable state (a fresh directory, say). Called once per case.
    fn create(&mut self) -> Result<Self::Store, LogError>;

    /// Open a log on `store`. The suite drops the previous log on `store` before reopening,
    /// and expects to find everything that earlier logs wrote and had acknowledged with `Ok`.
    fn open(&mut self, store: &Self::Store) -> Result<Self::Log, LogError>;

    /// For the power-loss suites (the [`crash_suite`](crate::testing::crash_suite) and the
    /// chaos run's `power` and `power-mid-write` faults): open this log on the simulated disk
    /// `fs`, keeping its files under `dir`, as [`LogFactory::open`] would on a real disk.
    /// Called for a fresh disk and again on the same disk after every simulated power cut.
    ///
    /// `None` (the default) says the log does not do its I/O through
    /// [`FileSystem`](crate::file_log::fs::FileSystem): the power-loss suites then cannot
    /// reach it, and a missing fsync goes unseen (the process-crash suite, which needs only
    /// [`LogFactory::store_in_directory`], still runs). A log on `std::fs` files can move to
    /// `FileSystem` with [`FileCursor`](crate::file_log::fs::FileCursor) in place of
    /// `std::fs::File`.
    fn open_on_file_system<FS: FileSystem + Clone + Sync>(
        &mut self,
        fs: FS,
        dir: &Path,
    ) -> Option<Result<Box<dyn Log>, LogError>> {
        let _ = (fs, dir);
        None
    }

    /// For the process-crash suite
    /// ([`process_crash_suite`](crate::testing::process_crash_suite)): the durable state kept
    /// in the directory `dir` (which exists; empty the first time, afterwards holding what an
    /// earlier process left there, killed with `kill -9`). The suite opens it in a child
    /// process, so everything the log needs must be under `dir`.
    ///
    /// `None` (the default): the store is not a directory (an in-memory buffer, say), and the
    /// process-crash suite reports itself unsupported.
    fn store_in_directory(&mut self, dir: &Path) -> Option<Result<Self::Store, LogError>> {
        let _ = dir;
        None
    }
}

/// A case of the suite: its name and its body.
type Case<F> = (&'static str, fn(&mut F) -> Result<(), String>);

/// Every case, in the order they run.
fn all_cases<F: LogFactory>() -> Vec<Case<F>> {
    vec![
        ("empty_log", cases::empty_log::<F>),
        ("append_and_read_back", cases::append_and_read_back::<F>),
        (
            "append_in_several_batches",
            cases::append_in_several_batches::<F>,
        ),
        (
            "batch_is_all_or_nothing",
            cases::batch_is_all_or_nothing::<F>,
        ),
        (
            "empty_append_is_a_no_op",
            cases::empty_append_is_a_no_op::<F>,
        ),
        ("range_boundaries", cases::range_boundaries::<F>),
        ("term_at_boundaries", cases::term_at_boundaries::<F>),
        (
            "payload_kinds_round_trip",
            cases::payload_kinds_round_trip::<F>,
        ),
        ("hard_state_round_trip", cases::hard_state_round_trip::<F>),
        (
            "hard_state_and_entries_are_independent",
            cases::hard_state_and_entries_are_independent::<F>,
        ),
        (
            "truncate_at_the_boundaries",
            cases::truncate_at_the_boundaries::<F>,
        ),
        (
            "truncate_at_a_batch_boundary",
            cases::truncate_at_a_batch_boundary::<F>,
        ),
        ("truncate_then_append", cases::truncate_then_append::<F>),
        (
            "reopen_after_every_operation",
            cases::reopen_after_every_operation::<F>,
        ),
        ("large_entries", cases::large_entries::<F>),
        ("many_entries", cases::many_entries::<F>),
        (
            "gap_is_a_contract_error",
            cases::gap_is_a_contract_error::<F>,
        ),
        (
            "bad_range_is_a_contract_error",
            cases::bad_range_is_a_contract_error::<F>,
        ),
        (
            "bad_truncate_is_a_contract_error",
            cases::bad_truncate_is_a_contract_error::<F>,
        ),
        (
            "compaction_moves_the_first_index",
            compaction::compaction_moves_the_first_index::<F>,
        ),
        (
            "term_at_the_compaction_boundary",
            compaction::term_at_the_compaction_boundary::<F>,
        ),
        (
            "append_after_compaction",
            compaction::append_after_compaction::<F>,
        ),
        (
            "truncate_below_the_first_index_is_refused",
            compaction::truncate_below_the_first_index_is_refused::<F>,
        ),
        (
            "compaction_with_a_conflicting_term_discards_everything",
            compaction::compaction_with_a_conflicting_term_discards_everything::<F>,
        ),
        (
            "compaction_below_the_first_index_is_a_no_op",
            compaction::compaction_below_the_first_index_is_a_no_op::<F>,
        ),
        (
            "reopen_keeps_the_compaction",
            compaction::reopen_keeps_the_compaction::<F>,
        ),
    ]
}

/// The cases that call [`Log::compact`] (Raft §7), a part of [`case_names`]: for
/// [`run_only`] while a log's compaction is being written. [`run`] runs them too, since the
/// contract requires `compact`.
pub const COMPACTION_CASES: [&str; 7] = [
    "compaction_moves_the_first_index",
    "term_at_the_compaction_boundary",
    "append_after_compaction",
    "truncate_below_the_first_index_is_refused",
    "compaction_with_a_conflicting_term_discards_everything",
    "compaction_below_the_first_index_is_a_no_op",
    "reopen_keeps_the_compaction",
];

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    struct Unused;
    impl LogFactory for Unused {
        type Log = crate::memory::MemoryLog;
        type Store = ();
        fn create(&mut self) -> Result<(), LogError> {
            Ok(())
        }
        fn open(&mut self, _: &()) -> Result<Self::Log, LogError> {
            Ok(crate::memory::MemoryLog::new())
        }
    }
    all_cases::<Unused>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against logs from `factory` and report each by name. Panics inside the log
/// are caught and reported as failures of their case.
pub fn run<F: LogFactory>(factory: &mut F) -> SuiteReport {
    run_only(factory, |_| true)
}

/// Run the cases whose names `select` accepts (in order), as [`run`] does; the report lists
/// only those.
pub fn run_only<F: LogFactory>(
    factory: &mut F,
    mut select: impl FnMut(&str) -> bool,
) -> SuiteReport {
    let mut report = SuiteReport::new("log_suite");
    for (name, case) in all_cases::<F>() {
        if select(name) {
            report.run_case(name, || case(factory));
        }
    }
    report
}

/// Run the suite and panic, listing every failed case, unless all passed. For use in tests.
pub fn assert_conforms<F: LogFactory>(factory: &mut F) {
    run(factory).assert_all_passed();
}

#[cfg(test)]
mod tests;
