//! The core's in-memory mirror of the log: every entry from index 1, as the `Log` holds them
//! once the driver has executed the core's storage actions.

use crate::types::{Entry, LogIndex, Term};

/// The entries of the replicated log, indices contiguous from 1, terms non-decreasing.
#[derive(Clone, Debug, Default)]
pub(super) struct RaftLog {
    entries: Vec<Entry>,
}

impl RaftLog {
    /// A mirror of `entries`, which must start at index 1 and be contiguous with
    /// non-decreasing terms (what a `Log` that never compacted returns).
    pub(super) fn new(entries: Vec<Entry>) -> RaftLog {
        let mut log = RaftLog::default();
        log.append(&entries);
        log
    }

    pub(super) fn last_index(&self) -> LogIndex {
        self.entries.len() as LogIndex
    }

    pub(super) fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |entry| entry.term)
    }

    /// The term at `index`: `Some(0)` for the sentinel index 0, `None` past the end. Total:
    /// `index` may come from a peer, up to `u64::MAX`, on any platform.
    pub(super) fn term(&self, index: LogIndex) -> Option<Term> {
        match index {
            0 => Some(0),
            _ => {
                let position = usize::try_from(index - 1).ok()?;
                self.entries.get(position).map(|entry| entry.term)
            }
        }
    }

    /// Every entry, from index 1.
    pub(super) fn all(&self) -> &[Entry] {
        &self.entries
    }

    /// The entries with indices in `low..=high`; `low >= 1`, `high <= last_index()`.
    pub(super) fn range(&self, low: LogIndex, high: LogIndex) -> &[Entry] {
        if high < low {
            return &[];
        }
        &self.entries[Self::position(low)..=Self::position(high)]
    }

    /// Entries from `from` on, at most `max_entries` of them and at most `max_bytes` payload
    /// bytes, but at least one entry when `from <= last_index()`.
    pub(super) fn batch(&self, from: LogIndex, max_entries: usize, max_bytes: usize) -> Vec<Entry> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        for entry in self
            .entries
            .iter()
            .skip(Self::position(from))
            .take(max_entries)
        {
            bytes += entry.payload.len_bytes();
            if !batch.is_empty() && bytes > max_bytes {
                break;
            }
            batch.push(entry.clone());
        }
        batch
    }

    /// Append entries that continue the log: contiguous, the first at `last_index() + 1`.
    pub(super) fn append(&mut self, entries: &[Entry]) {
        for entry in entries {
            assert_eq!(
                entry.index,
                self.last_index() + 1,
                "log entries must be contiguous"
            );
            assert!(
                entry.term >= self.last_term(),
                "log terms must not decrease: entry {entry:?} after term {}",
                self.last_term()
            );
            self.entries.push(entry.clone());
        }
    }

    /// Remove every entry with index `>= from`.
    pub(super) fn truncate(&mut self, from: LogIndex) {
        assert!(from >= 1, "cannot truncate the sentinel index 0");
        self.entries.truncate(Self::position(from));
    }

    /// The first index of the run of entries sharing the term of the entry at `index`
    /// (which must exist).
    pub(super) fn first_index_of_term_at(&self, index: LogIndex) -> LogIndex {
        let term = self.term(index).expect("index within the log");
        self.entries.partition_point(|entry| entry.term < term) as LogIndex + 1
    }

    /// The last index holding an entry of `term`, if any.
    pub(super) fn last_index_of_term(&self, term: Term) -> Option<LogIndex> {
        let end = self.entries.partition_point(|entry| entry.term <= term);
        (end > 0 && self.entries[end - 1].term == term).then_some(end as LogIndex)
    }

    fn position(index: LogIndex) -> usize {
        usize::try_from(index - 1).expect("log index fits in memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn log_with_terms(terms: &[Term]) -> RaftLog {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(position, &term)| Entry {
                term,
                index: position as LogIndex + 1,
                payload: Payload::Command(vec![0; 10]),
            })
            .collect();
        RaftLog::new(entries)
    }

    #[test]
    fn term_of_sentinel_is_zero_and_past_the_end_is_none() {
        let log = log_with_terms(&[1, 1, 2]);
        assert_eq!(log.term(0), Some(0));
        assert_eq!(log.term(3), Some(2));
        assert_eq!(log.term(4), None);
    }

    #[test]
    fn term_runs_are_found_from_either_end() {
        let log = log_with_terms(&[1, 1, 2, 2, 2, 4]);
        assert_eq!(log.first_index_of_term_at(4), 3);
        assert_eq!(log.first_index_of_term_at(2), 1);
        assert_eq!(log.last_index_of_term(2), Some(5));
        assert_eq!(log.last_index_of_term(3), None);
        assert_eq!(log.last_index_of_term(4), Some(6));
    }

    #[test]
    fn batch_honours_entry_and_byte_limits_but_sends_at_least_one() {
        let log = log_with_terms(&[1, 1, 1, 1, 1]);
        assert_eq!(log.batch(2, 2, 1000).len(), 2);
        assert_eq!(log.batch(1, 10, 25).len(), 2);
        assert_eq!(log.batch(1, 10, 1).len(), 1);
        assert_eq!(log.batch(6, 10, 1000).len(), 0);
    }

    #[test]
    #[should_panic(expected = "contiguous")]
    fn append_with_a_gap_panics() {
        let mut log = log_with_terms(&[1]);
        log.append(&[Entry {
            term: 1,
            index: 3,
            payload: Payload::Noop,
        }]);
    }
}
