//! Wraps a node's `Log` to report what the node made durable (hard states, appends,
//! truncations) to the protocol checks: what any implementation's `Log` sees, read at the trait
//! boundary, so the checks work whatever node runs.

use rafty::{Entry, HardState, Log, LogError, LogIndex, Membership, NodeId, Payload, Term};

use crate::checks::invariants::Observation;

use super::observe::Observations;

/// A node's log, reporting every write that returned (the `Log` contract: durable on return).
pub struct ObservedLog {
    node: NodeId,
    inner: Box<dyn Log>,
    observations: Observations,
}

impl ObservedLog {
    /// Wrap `inner`, just opened by `node`, and report what it holds.
    pub fn open(
        node: NodeId,
        inner: Box<dyn Log>,
        observations: Observations,
    ) -> Result<Self, LogError> {
        let (first_index, last_index) = (inner.first_index(), inner.last_index());
        let compacted = match first_index.checked_sub(1).filter(|&index| index > 0) {
            Some(index) => (index, inner.term(index)?.unwrap_or(0)),
            None => (0, 0),
        };
        let mut terms = Vec::new();
        for index in first_index.max(1)..=last_index {
            // A log that cannot say the term of an entry it claims is the node's to refuse
            // (`StartError::LogContract`): stop reading, report what was read.
            match inner.term(index)? {
                Some(term) => terms.push(term),
                None => break,
            }
        }
        let end = first_index.max(1) + terms.len() as LogIndex;
        let configurations = configurations_held(inner.as_ref(), first_index.max(1), end);
        observations.observe(
            node,
            Observation::LogOpened {
                hard_state: inner.hard_state(),
                compacted,
                first_index,
                terms,
                configurations,
            },
        );
        Ok(ObservedLog {
            node,
            inner,
            observations,
        })
    }
}

impl Log for ObservedLog {
    fn hard_state(&self) -> HardState {
        self.inner.hard_state()
    }

    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.inner.save_hard_state(state)?;
        let saved = Observation::HardStateSaved { state };
        self.observations.observe(self.node, saved);
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.inner.append(entries)?;
        if let Some(first) = entries.first() {
            let terms: Vec<Term> = entries.iter().map(|entry| entry.term).collect();
            let appended = Observation::Appended {
                first: first.index,
                terms,
                configurations: configurations_in(entries),
            };
            self.observations.observe(self.node, appended);
        }
        Ok(())
    }

    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.observations
            .observe(self.node, Observation::Truncating { from });
        self.inner.truncate(from)?;
        self.observations
            .observe(self.node, Observation::Truncated { from });
        Ok(())
    }

    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.inner.entries(low, high)
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
        self.inner.compact(index, term)?;
        let compacted = Observation::Compacted { index, term };
        self.observations.observe(self.node, compacted);
        Ok(())
    }
}

/// The configuration entries among `entries`: index and configuration.
fn configurations_in(entries: &[Entry]) -> Vec<(LogIndex, Membership)> {
    entries
        .iter()
        .filter_map(|entry| match &entry.payload {
            Payload::Membership(membership) => Some((entry.index, membership.clone())),
            _ => None,
        })
        .collect()
}

/// How many entries an opening log is read at a time, looking for configuration entries.
const OPEN_READ_CHUNK: LogIndex = 1024;

/// The configuration entries a just-opened log holds in `low..high`, read a chunk at a time
/// (a log that cannot read them is the node's to refuse: what was read is reported).
fn configurations_held(
    log: &dyn Log,
    low: LogIndex,
    high: LogIndex,
) -> Vec<(LogIndex, Membership)> {
    let mut found = Vec::new();
    let mut from = low;
    while from < high {
        let to = (from + OPEN_READ_CHUNK).min(high);
        let Ok(entries) = log.entries(from, to) else {
            break;
        };
        found.extend(configurations_in(&entries));
        from = to;
    }
    found
}
