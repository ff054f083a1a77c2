//! The suite passes a correct log and catches broken ones, naming the broken rules.

use super::*;
use crate::memory::{MemoryLog, MemoryStorage};
use crate::testing::Outcome;
use crate::types::{Entry, HardState, LogIndex, Term};

/// What is wrong with a [`Faulty`] log.
#[derive(Clone, Copy, PartialEq)]
enum Defect {
    None,
    /// `entries` clamps bad ranges instead of refusing them.
    ClampsRanges,
    /// `truncate` returns `Ok` and does nothing.
    IgnoresTruncate,
    /// Reopening loses the hard state.
    ForgetsHardState,
}

struct Faulty {
    inner: MemoryLog,
    defect: Defect,
}

impl Log for Faulty {
    fn hard_state(&self) -> HardState {
        self.inner.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.inner.save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.inner.append(entries)
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        match self.defect {
            Defect::IgnoresTruncate => Ok(()),
            _ => self.inner.truncate(from),
        }
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        match self.defect {
            Defect::ClampsRanges => {
                let high = high.min(self.last_index() + 1);
                let low = low.max(1).min(high);
                self.inner.entries(low, high)
            }
            _ => self.inner.entries(low, high),
        }
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.inner.term(index)
    }
    fn first_index(&self) -> LogIndex {
        self.inner.first_index()
    }
    fn last_index(&self) -> LogIndex {
        self.inner.last_index()
    }
    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.inner.compact(index, term)
    }
}

struct FaultyFactory(Defect);

impl LogFactory for FaultyFactory {
    type Log = Faulty;
    type Store = MemoryStorage;
    fn create(&mut self) -> Result<MemoryStorage, LogError> {
        Ok(MemoryStorage::new())
    }
    fn open(&mut self, store: &MemoryStorage) -> Result<Faulty, LogError> {
        let mut inner = MemoryLog::open(store);
        if self.0 == Defect::ForgetsHardState {
            inner.save_hard_state(HardState::default())?;
        }
        Ok(Faulty {
            inner,
            defect: self.0,
        })
    }
}

fn failed_cases(defect: Defect) -> Vec<&'static str> {
    let report = run(&mut FaultyFactory(defect));
    assert_eq!(report.cases.len(), case_names().len());
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn memory_log_passes_every_case() {
    let report = run(&mut FaultyFactory(Defect::None));
    report.assert_all_passed();
    let names: Vec<_> = report.cases.iter().map(|case| case.name).collect();
    assert_eq!(names, case_names());
    assert!(names.len() >= 17);
}

#[test]
fn clamped_ranges_are_caught() {
    assert_eq!(
        failed_cases(Defect::ClampsRanges),
        ["bad_range_is_a_contract_error"]
    );
}

#[test]
fn ignored_truncation_is_caught() {
    assert_eq!(
        failed_cases(Defect::IgnoresTruncate),
        [
            "hard_state_and_entries_are_independent",
            "truncate_at_the_boundaries",
            "truncate_at_a_batch_boundary",
            "truncate_then_append",
            "reopen_after_every_operation",
            "many_entries",
            "bad_truncate_is_a_contract_error",
        ]
    );
}

#[test]
fn forgotten_hard_state_is_caught_with_a_message() {
    let report = run(&mut FaultyFactory(Defect::ForgetsHardState));
    let case = report
        .cases
        .iter()
        .find(|c| c.name == "hard_state_round_trip")
        .unwrap();
    match &case.outcome {
        Outcome::Failed(message) => {
            assert!(
                message.contains("hard_state after reopen: expected"),
                "{message}"
            )
        }
        Outcome::Passed => panic!("a log that forgets its hard state passed"),
    }
}
