//! A `Log` that breaks its contract (see `rafty::Log`'s documentation) is a bug in that
//! implementation, not in rafty: `Node::start` refuses it with
//! `StartError::LogContract`, naming what was wrong and at which index, instead of panicking
//! or running on a log it cannot trust.

mod cluster_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use cluster_support::SharedKv;
use rafty::node::{LogContractViolation, Node, NodeOptions, StartError};
use rafty::{
    Config, Entry, HardState, Log, LogError, LogIndex, Payload, StaticPeersProvider, Term,
};

/// A `Log` whose every answer is scripted, so each test can break one rule of the contract.
#[derive(Clone, Debug)]
struct ScriptedLog {
    hard_state: HardState,
    /// What `entries` returns, whatever range is asked.
    entries: Vec<Entry>,
    first_index: LogIndex,
    last_index: LogIndex,
    /// Answers of `term` that differ from the entries' terms.
    terms: BTreeMap<LogIndex, Option<Term>>,
}

impl ScriptedLog {
    /// A log that keeps the contract: entries `1..` with `terms`, current term the last one.
    fn with_terms(terms: &[Term]) -> ScriptedLog {
        let entries: Vec<Entry> = terms
            .iter()
            .zip(1..)
            .map(|(&term, index)| Entry {
                term,
                index,
                payload: Payload::Command(vec![index as u8]),
            })
            .collect();
        ScriptedLog {
            hard_state: HardState {
                current_term: terms.iter().copied().max().unwrap_or(0),
                voted_for: None,
            },
            last_index: entries.len() as LogIndex,
            entries,
            first_index: 1,
            terms: BTreeMap::new(),
        }
    }
}

impl Log for ScriptedLog {
    fn hard_state(&self) -> HardState {
        self.hard_state
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.hard_state = state;
        Ok(())
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.entries.extend_from_slice(entries);
        self.last_index += entries.len() as LogIndex;
        Ok(())
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.entries.retain(|entry| entry.index < from);
        self.last_index = from - 1;
        Ok(())
    }
    fn entries(&self, _low: LogIndex, _high: LogIndex) -> Result<Vec<Entry>, LogError> {
        Ok(self.entries.clone())
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        if let Some(term) = self.terms.get(&index) {
            return Ok(*term);
        }
        if index == 0 {
            return Ok(Some(0));
        }
        Ok(self
            .entries
            .iter()
            .find(|entry| entry.index == index)
            .map(|entry| entry.term))
    }
    fn first_index(&self) -> LogIndex {
        self.first_index
    }
    fn last_index(&self) -> LogIndex {
        self.last_index
    }
    fn compact(&mut self, _index: LogIndex, _term: Term) -> Result<(), LogError> {
        Err(LogError::Contract("a scripted log does not compact".into()))
    }
}

async fn start(log: ScriptedLog) -> Result<Node, StartError> {
    Node::start(
        1,
        log,
        SharedKv::default(),
        Arc::new(StaticPeersProvider::new(vec![])),
        Arc::new(Config::default()),
        NodeOptions::default(),
    )
    .await
}

/// Start `log` and return the contract violation it is refused with.
async fn violation(log: ScriptedLog) -> LogContractViolation {
    match start(log).await {
        Err(StartError::LogContract(violation)) => violation,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(node) => {
            node.stop().await;
            panic!("a log that breaks its contract was accepted")
        }
    }
}

/// The control: a log that keeps its contract starts.
#[tokio::test(start_paused = true)]
async fn a_log_that_keeps_its_contract_starts() {
    let node = start(ScriptedLog::with_terms(&[1, 1, 2]))
        .await
        .expect("a good log starts");
    assert_eq!(node.status().last_index, 3);
    node.stop().await;
}

/// Contract: `entries(1, last_index() + 1)` returns every entry. One short is refused,
/// naming the first missing index.
#[tokio::test(start_paused = true)]
async fn entries_returning_too_few_is_refused_naming_the_first_missing_index() {
    let mut log = ScriptedLog::with_terms(&[1, 1, 2]);
    log.entries.pop();
    let violation = violation(log).await;
    assert_eq!(
        violation,
        LogContractViolation::WrongEntryCount {
            index: 3,
            expected: 3,
            returned: 2
        }
    );
    assert_eq!(violation.index(), 3);
    let text = violation.to_string();
    assert!(text.contains("returned 2 entries, expected 3"), "{text}");
}

/// Contract: `first_index()`..=`last_index()` is what the log holds. A `last_index()` past
/// the entries it returns is the same broken count, named at the first index it lacks.
#[tokio::test(start_paused = true)]
async fn a_last_index_past_the_entries_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1, 1]);
    log.last_index = 5;
    assert_eq!(
        violation(log).await,
        LogContractViolation::WrongEntryCount {
            index: 3,
            expected: 5,
            returned: 2
        }
    );
}

/// Contract: a last index of `u64::MAX` leaves no room for the next entry, and
/// `entries(1, last_index() + 1)` cannot even be asked.
#[tokio::test(start_paused = true)]
async fn a_last_index_of_u64_max_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1]);
    log.last_index = u64::MAX;
    assert_eq!(
        violation(log).await,
        LogContractViolation::LastIndexTooLarge { index: u64::MAX }
    );
}

/// Contract: indices are contiguous. An entry out of place is refused at its position.
#[tokio::test(start_paused = true)]
async fn an_entry_with_the_wrong_index_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1, 1, 1]);
    log.entries[1].index = 7;
    assert_eq!(
        violation(log).await,
        LogContractViolation::WrongIndex { index: 2, found: 7 }
    );
}

/// §5.3 (Log Matching: a leader appends entries of its own term, so terms never decrease
/// along a log): a term going backwards is refused at the entry that breaks it.
#[tokio::test(start_paused = true)]
async fn terms_going_backwards_are_refused() {
    let violation = violation(ScriptedLog::with_terms(&[1, 3, 2])).await;
    assert_eq!(
        violation,
        LogContractViolation::TermDecreases {
            index: 3,
            term: 2,
            previous_term: 3
        }
    );
    assert!(violation.to_string().contains("entry 3"), "{violation}");
}

/// §5.1: terms start at 1 (term 0 is the empty log's sentinel); an entry of term 0 is refused.
#[tokio::test(start_paused = true)]
async fn an_entry_of_term_zero_is_refused() {
    assert_eq!(
        violation(ScriptedLog::with_terms(&[0, 1])).await,
        LogContractViolation::ZeroTerm { index: 1 }
    );
}

/// Contract: `term(index)` is `Some` inside the log and agrees with the entry there. A `None`
/// inside the range is refused at that index.
#[tokio::test(start_paused = true)]
async fn a_term_of_none_inside_the_log_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1, 1, 2]);
    log.terms.insert(2, None);
    assert_eq!(
        violation(log).await,
        LogContractViolation::TermMismatch {
            index: 2,
            returned: None,
            term: 1
        }
    );
}

/// Contract: `term(index)` agrees with `entries`; a different term is refused at that index.
#[tokio::test(start_paused = true)]
async fn a_term_disagreeing_with_the_entry_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1, 1, 2]);
    log.terms.insert(3, Some(1));
    assert_eq!(
        violation(log).await,
        LogContractViolation::TermMismatch {
            index: 3,
            returned: Some(1),
            term: 2
        }
    );
}

/// Contract: `term(0)` is `Some(0)` (the sentinel) and `term` past the end is `None`.
#[tokio::test(start_paused = true)]
async fn a_wrong_sentinel_or_past_the_end_term_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1]);
    log.terms.insert(0, None);
    assert_eq!(
        violation(log).await,
        LogContractViolation::TermMismatch {
            index: 0,
            returned: None,
            term: 0
        }
    );
    let mut log = ScriptedLog::with_terms(&[1]);
    log.terms.insert(2, Some(1));
    assert_eq!(
        violation(log).await,
        LogContractViolation::TermPastTheEnd {
            index: 2,
            returned: 1
        }
    );
}

/// Figure 2: `currentTerm` is the latest term the node has seen, so it is at least the term of
/// every entry it holds. A hard state behind its log is refused, naming the last entry.
#[tokio::test(start_paused = true)]
async fn a_current_term_below_the_last_entry_is_refused() {
    let mut log = ScriptedLog::with_terms(&[1, 2]);
    log.hard_state.current_term = 1;
    assert_eq!(
        violation(log).await,
        LogContractViolation::TermAboveCurrentTerm {
            index: 2,
            term: 2,
            current_term: 1
        }
    );
}
