//! FileLog passes the crash suite; logs that acknowledge before fsync, swallow a failed
//! fsync, or keep a part of an interrupted batch, are caught.

use std::path::Path;

use super::*;
use crate::file_log::fs::FileSystem;
use crate::file_log::{FileLog, FileLogOptions};
use crate::memory::MemoryLog;
use crate::testing::fsync_defect::{Defect, FsyncDefect};
use crate::types::{Entry, HardState, LogIndex, Term};

fn options(segment_size_bytes: u64) -> FileLogOptions {
    FileLogOptions { segment_size_bytes }
}

fn file_log<FS: FileSystem>(fs: FS, segment_size_bytes: u64) -> Result<FileLog<FS>, LogError> {
    FileLog::open_with(fs, Path::new("/data/log"), options(segment_size_bytes))
}

fn failed(report: &SuiteReport) -> Vec<&'static str> {
    assert_eq!(report.cases.len(), case_names().len());
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn file_log_passes_with_default_segments() {
    let report = run(|fs| file_log(fs.clone(), 64 << 20));
    report.assert_all_passed();
    assert_eq!(
        report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
        case_names()
    );
}

#[test]
fn file_log_passes_with_tiny_segments_and_other_seeds() {
    for seed in [1, 2] {
        run_seeded(seed, |fs| file_log(fs.clone(), 400)).assert_all_passed();
    }
}

#[test]
fn a_log_that_acknowledges_before_fsync_is_caught() {
    let report = run(|fs| file_log(FsyncDefect(fs.clone(), Defect::SkipsFsync), 400));
    let failures = failed(&report);
    for case in [
        "acknowledged_writes_survive_a_crash",
        "truncation_survives_a_crash",
        "hard_state_survives_a_crash",
        "crash_at_every_operation_of_a_script",
    ] {
        assert!(failures.contains(&case), "{case} passed:\n{report}");
    }
}

#[test]
fn a_log_that_swallows_fsync_errors_is_caught() {
    let report = run(|fs| file_log(FsyncDefect(fs.clone(), Defect::SwallowsFsyncErrors), 400));
    let failures = failed(&report);
    for case in [
        "batch_is_all_or_nothing_after_a_crash",
        "crash_at_every_operation_of_a_script",
        "io_errors_are_reported_not_swallowed",
    ] {
        assert!(failures.contains(&case), "{case} passed:\n{report}");
    }
    assert!(
        !failures.contains(&"acknowledged_writes_survive_a_crash"),
        "with no fault a swallowing log keeps its writes:\n{report}"
    );
}

#[test]
fn a_log_that_ignores_the_disk_is_caught() {
    let report = run(|_fs| Ok(MemoryLog::new()));
    let failures = failed(&report);
    // Only the corruption case passes: there is no file to corrupt.
    assert_eq!(failures.len(), case_names().len() - 1, "{report}");
    let message = report.cases[1].to_string();
    assert!(
        message.contains("neither it nor the open made any operation on the simulated disk"),
        "{message}"
    );
}

#[test]
fn file_log_passes_with_a_batch_that_crosses_the_segment_limit() {
    // The first batches fit a 2 KiB segment; the batch of large entries passes the limit, so
    // it starts a new segment: created, written and synced, then the directory synced.
    run(|fs| file_log(fs.clone(), 2048)).assert_all_passed();
}

/// A `Log` that appends a batch one entry at a time, each its own durable append: a crash
/// during a batch can leave its first entries, as FileLog did before batches had an end
/// marker. Every acknowledged write is durable, so only the all-or-nothing rule catches it.
struct EntryByEntry<L>(L);

impl<L: Log> Log for EntryByEntry<L> {
    fn hard_state(&self) -> HardState {
        self.0.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.0.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        entries
            .iter()
            .try_for_each(|entry| self.0.append(std::slice::from_ref(entry)))
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.0.truncate(from)
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.0.entries(low, high)
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.0.term(index)
    }
    fn first_index(&self) -> LogIndex {
        self.0.first_index()
    }
    fn last_index(&self) -> LogIndex {
        self.0.last_index()
    }

    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.0.compact(index, term)
    }
}

#[test]
fn a_log_that_keeps_a_part_of_an_interrupted_batch_is_caught() {
    for segment_size_bytes in [64 << 20, 400] {
        let report = run(|fs| file_log(fs.clone(), segment_size_bytes).map(EntryByEntry));
        let failures = failed(&report);
        assert!(
            failures.contains(&"batch_is_all_or_nothing_after_a_crash"),
            "{report}"
        );
        let case = report
            .cases
            .iter()
            .find(|case| case.name == "batch_is_all_or_nothing_after_a_crash")
            .unwrap()
            .to_string();
        assert!(case.contains("but a batch is all-or-nothing"), "{case}");
        for passing in [
            "acknowledged_writes_survive_a_crash",
            "hard_state_survives_a_crash",
        ] {
            assert!(!failures.contains(&passing), "{passing} failed:\n{report}");
        }
    }
}

/// What is wrong with a [`BadCompaction`] log.
#[derive(Clone, Copy, PartialEq)]
enum CompactionDefect {
    /// `compact` returns `Ok` and changes nothing on disk.
    Forgets,
    /// On a conflicting term it first truncates the whole log (durably), then compacts: the
    /// entries go before the base that stands for them is durable.
    DiscardsBeforeTheBase,
}

struct BadCompaction<L>(L, CompactionDefect);

impl<L: Log> Log for BadCompaction<L> {
    fn hard_state(&self) -> HardState {
        self.0.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.0.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.0.append(entries)
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.0.truncate(from)
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.0.entries(low, high)
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.0.term(index)
    }
    fn first_index(&self) -> LogIndex {
        self.0.first_index()
    }
    fn last_index(&self) -> LogIndex {
        self.0.last_index()
    }
    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        match self.1 {
            CompactionDefect::Forgets => Ok(()),
            CompactionDefect::DiscardsBeforeTheBase => {
                if index >= self.0.first_index() && self.0.term(index)? != Some(term) {
                    let first = self.0.first_index();
                    self.0.truncate(first)?;
                }
                self.0.compact(index, term)
            }
        }
    }
}

fn compaction_case(report: &SuiteReport) -> String {
    report
        .cases
        .iter()
        .find(|case| case.name == "compaction_survives_a_crash")
        .unwrap()
        .to_string()
}

#[test]
fn a_log_that_forgets_an_acknowledged_compaction_is_caught() {
    let report = run(|fs| {
        file_log(fs.clone(), 400).map(|log| BadCompaction(log, CompactionDefect::Forgets))
    });
    assert_eq!(failed(&report), ["compaction_survives_a_crash"], "{report}");
    let case = compaction_case(&report);
    assert!(case.contains("(compact returned Ok)"), "{case}");
}

#[test]
fn a_log_that_discards_entries_before_its_base_is_durable_is_caught() {
    let report = run(|fs| {
        file_log(fs.clone(), 400)
            .map(|log| BadCompaction(log, CompactionDefect::DiscardsBeforeTheBase))
    });
    assert_eq!(failed(&report), ["compaction_survives_a_crash"], "{report}");
    let case = compaction_case(&report);
    assert!(
        case.contains("compact(5, 9) cut at its operation"),
        "{case}"
    );
}

#[test]
fn a_log_that_skips_fsync_loses_an_acknowledged_compaction() {
    let report = run(|fs| file_log(FsyncDefect(fs.clone(), Defect::SkipsFsync), 400));
    assert!(
        failed(&report).contains(&"compaction_survives_a_crash"),
        "{report}"
    );
}

fn snapshot_store(
    fs: &CrashFs,
) -> Result<crate::file_snapshot::FileSnapshotStore<CrashFs>, crate::SnapshotError> {
    crate::file_snapshot::FileSnapshotStore::open_with(fs.clone(), Path::new("/data/snapshots"))
}

/// Sixteen seeds: a power cut that keeps only the first of `finish`'s two renames (the
/// replaced snapshot renamed aside while a handle reads it, the new one not yet in) comes up
/// 15 times over them, never at seeds 0 and 1 alone; without `open`'s restore this fails.
#[test]
fn file_snapshot_store_passes_the_power_loss_cases() {
    for seed in 0..16 {
        let report = run_snapshot_store_seeded(seed, snapshot_store);
        report.assert_all_passed();
        assert_eq!(
            report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
            snapshot_store_case_names()
        );
    }
}

#[test]
fn a_snapshot_store_that_skips_fsync_is_caught() {
    let report = run_snapshot_store(|fs| {
        crate::file_snapshot::FileSnapshotStore::open_with(
            FsyncDefect(fs.clone(), Defect::SkipsFsync),
            Path::new("/data/snapshots"),
        )
    });
    let failures: Vec<_> = report.failures().iter().map(|case| case.name).collect();
    assert!(
        failures.contains(&"snapshot_write_survives_a_crash"),
        "{report}"
    );
}

/// A node's sequence, snapshot then compaction (§7: compact only behind a durable snapshot),
/// with the log and the snapshot store on one disk, cut by a power loss at every disk
/// operation: both open, the store holds the old snapshot or the new one whole, and every
/// entry is in the log or covered by the snapshot (nothing committed is lost).
#[test]
fn a_snapshot_then_a_compaction_lose_nothing_at_any_power_cut() {
    use super::model::batch;
    use crate::snapshot::SnapshotStore;
    let entries = [
        batch(1, &[1, 1, 1]),
        batch(4, &[1, 2, 2]),
        batch(7, &[2, 2]),
    ]
    .concat();
    let snapshot = |index: LogIndex| vec![index as u8; 300 + index as usize];
    let take = |log: &mut FileLog<CrashFs>,
                store: &mut crate::file_snapshot::FileSnapshotStore<CrashFs>,
                index: LogIndex|
     -> Result<(), String> {
        let term = log.term(index).map_err(|e| e.to_string())?.unwrap();
        let mut writer = store.begin(index, term).map_err(|e| e.to_string())?;
        writer.write(&snapshot(index)).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        log.compact(index, term).map_err(|e| e.to_string())
    };
    let setup = |fs: &CrashFs| {
        let mut log = file_log(fs.clone(), 400).unwrap();
        let mut store = snapshot_store(fs).unwrap();
        for chunk in entries.chunks(3) {
            log.append(chunk).unwrap();
        }
        take(&mut log, &mut store, 3).unwrap();
        (log, store)
    };
    let operations = {
        let fs = CrashFs::new(5);
        let (mut log, mut store) = setup(&fs);
        let start = fs.operation_count();
        take(&mut log, &mut store, 6).unwrap();
        fs.operation_count() - start
    };
    assert!(operations > 5, "{operations}");
    for torn in [false, true] {
        for after in 0..=operations {
            let fs = CrashFs::new(after);
            fs.set_torn_writes(torn);
            let (mut log, mut store) = setup(&fs);
            fs.fail_from(fs.operation_count() + after);
            let finished = take(&mut log, &mut store, 6).is_ok();
            drop((log, store));
            fs.crash();
            fs.clear_faults();
            let label = format!("power cut at operation {after} (torn writes: {torn})");
            let log = file_log(fs.clone(), 400).unwrap_or_else(|e| panic!("{label}: log: {e}"));
            let store = snapshot_store(&fs).unwrap_or_else(|e| panic!("{label}: store: {e}"));
            let meta = store.latest().unwrap().expect("a snapshot");
            let index = meta.last_included_index;
            assert!(
                index == 3 || index == 6,
                "{label}: snapshot through {index}"
            );
            assert!(
                !finished || index == 6,
                "{label}: a finished snapshot was lost"
            );
            let data = store.read_chunk(&meta, 0, 4096).unwrap();
            assert_eq!(data, snapshot(index), "{label}");
            let first = log.first_index();
            assert!(
                first - 1 <= index,
                "{label}: the log starts at {first}, the snapshot covers only up to {index}"
            );
            assert_eq!(log.last_index(), 8, "{label}");
            assert_eq!(
                log.entries(first, 9).unwrap(),
                entries[first as usize - 1..].to_vec(),
                "{label}"
            );
        }
    }
}

/// Opens a `FileLog` on the disk (so the open writes), but keeps appended entries in memory:
/// an append acknowledged without touching the disk, as redb with `Durability::None` does.
struct AppendsInMemory {
    log: FileLog<CrashFs>,
    held: Vec<Entry>,
}

impl Log for AppendsInMemory {
    fn hard_state(&self) -> HardState {
        self.log.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.log.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.held.extend_from_slice(entries);
        Ok(())
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.held.retain(|entry| entry.index < from);
        Ok(())
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        let range = low..high;
        Ok(self
            .held
            .iter()
            .filter(|e| range.contains(&e.index))
            .cloned()
            .collect())
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        if index == 0 {
            return Ok(Some(0));
        }
        Ok(self.held.iter().find(|e| e.index == index).map(|e| e.term))
    }
    fn first_index(&self) -> LogIndex {
        1
    }
    fn last_index(&self) -> LogIndex {
        self.held.last().map_or(0, |entry| entry.index)
    }
    fn compact(&mut self, _index: LogIndex, _term: Term) -> Result<(), LogError> {
        Ok(())
    }
}

#[test]
fn an_append_kept_in_memory_is_named_as_such() {
    let report = run(|fs| {
        let log = FileLog::open_with(fs.clone(), Path::new("/log"), FileLogOptions::default())?;
        Ok(AppendsInMemory {
            log,
            held: Vec::new(),
        })
    });
    let case = |name: &str| {
        let found = report.cases.iter().find(|case| case.name == name);
        found.expect("the case ran").to_string()
    };
    let lost = case("acknowledged_writes_survive_a_crash");
    assert!(
        lost.contains("append returned Ok before its data was synced"),
        "{lost}"
    );
    let script = case("crash_at_every_operation_of_a_script");
    assert!(
        script.contains("returned Ok without a single operation on the disk"),
        "{script}"
    );
    assert!(script.contains("Durability::None"), "{script}");
}
