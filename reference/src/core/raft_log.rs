//! The core's in-memory mirror of the log: the entries after the last compaction, as the
//! `Log` holds them once the driver has executed the core's storage actions.

use crate::types::{Entry, LogIndex, Term};

/// The entries of the replicated log after its compacted prefix: indices contiguous from
/// `compacted.0 + 1`, terms non-decreasing from `compacted.1`.
#[derive(Clone, Debug, Default)]
pub(super) struct RaftLog {
    /// The index and term of the last entry compacted away (behind a snapshot, Raft §7),
    /// `(0, 0)` (the sentinel) before any compaction. Its term stays known: the previous-entry
    /// check of the first AppendEntries after it needs it.
    compacted: (LogIndex, Term),
    /// `entries[i]` has index `compacted.0 + 1 + i`.
    entries: Vec<Entry>,
    /// Whether [`RaftLog::append`] leaves the terms' order unchecked (the core's invariants
    /// switched off: the harness's catalogue then sees what a decreasing term does, as a
    /// third party's log without the assertion would).
    terms_unchecked: bool,
}

impl RaftLog {
    /// A mirror of `entries`, which must start right after `compacted` (index 1 for a log that
    /// never compacted, with `compacted == (0, 0)`) and be contiguous with non-decreasing
    /// terms.
    pub(super) fn new(compacted: (LogIndex, Term), entries: Vec<Entry>) -> RaftLog {
        let mut log = RaftLog {
            compacted,
            entries: Vec::new(),
            terms_unchecked: false,
        };
        log.append(&entries);
        log
    }

    /// The index and term of the last compacted entry (`(0, 0)` before any compaction).
    pub(super) fn compacted(&self) -> (LogIndex, Term) {
        self.compacted
    }

    /// The first index held: `compacted().0 + 1`.
    pub(super) fn first_index(&self) -> LogIndex {
        self.compacted.0 + 1
    }

    pub(super) fn last_index(&self) -> LogIndex {
        self.compacted.0 + self.entries.len() as LogIndex
    }

    pub(super) fn last_term(&self) -> Term {
        self.entries
            .last()
            .map_or(self.compacted.1, |entry| entry.term)
    }

    /// The term at `index`: `Some(0)` for the sentinel index 0, the compacted term at the
    /// compacted index, `None` before it (compacted away) and past the end. Total: `index`
    /// may come from a peer, up to `u64::MAX`, on any platform.
    pub(super) fn term(&self, index: LogIndex) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        if index == self.compacted.0 {
            return Some(self.compacted.1);
        }
        let position = usize::try_from(index.checked_sub(self.first_index())?).ok()?;
        self.entries.get(position).map(|entry| entry.term)
    }

    /// Every entry held, from `first_index()`.
    pub(super) fn all(&self) -> &[Entry] {
        &self.entries
    }

    /// The entries with indices in `low..=high`; `low >= first_index()`, `high <= last_index()`.
    pub(super) fn range(&self, low: LogIndex, high: LogIndex) -> &[Entry] {
        if high < low {
            return &[];
        }
        &self.entries[self.position(low)..=self.position(high)]
    }

    /// Entries from `from` (at least `first_index()`) on, at most `max_entries` of them and at
    /// most `max_bytes` payload bytes, but at least one entry when `from <= last_index()`.
    pub(super) fn batch(&self, from: LogIndex, max_entries: usize, max_bytes: usize) -> Vec<Entry> {
        let start = self.position(from).min(self.entries.len());
        let candidates = &self.entries[start..];
        let candidates = &candidates[..candidates.len().min(max_entries)];
        // Measure first, then copy once into a vector of the right size (pushing one by one
        // regrew it five or six times for a batch of 64).
        let mut bytes = 0;
        let count = candidates
            .iter()
            .enumerate()
            .take_while(|(taken, entry)| {
                bytes += entry.payload.len_bytes();
                *taken == 0 || bytes <= max_bytes
            })
            .count();
        candidates[..count].to_vec()
    }

    /// Check that appended terms never decrease (the default), or not: the core's invariant
    /// switch ([`super::Core::set_check_invariants`]) sets it.
    pub(super) fn check_terms(&mut self, enabled: bool) {
        self.terms_unchecked = !enabled;
    }

    /// Append entries that continue the log: contiguous, the first at `last_index() + 1`,
    /// terms never decreasing (asserted unless [`RaftLog::check_terms`] switched it off).
    pub(super) fn append(&mut self, entries: &[Entry]) {
        self.entries.reserve(entries.len());
        for entry in entries {
            assert_eq!(
                entry.index,
                self.last_index() + 1,
                "log entries must be contiguous"
            );
            assert!(
                self.terms_unchecked || entry.term >= self.last_term(),
                "log terms must not decrease: entry {entry:?} after term {}",
                self.last_term()
            );
            self.entries.push(entry.clone());
        }
    }

    /// Remove every entry with index `>= from`, which must be after the compacted index.
    pub(super) fn truncate(&mut self, from: LogIndex) {
        assert!(
            from > self.compacted.0,
            "cannot truncate at {from}: entries up to {} are compacted",
            self.compacted.0
        );
        let keep = self.position(from).min(self.entries.len());
        self.entries.truncate(keep);
    }

    /// Compaction (§7), as `Log::compact` does it: forget every entry up to `index`; keep
    /// the entries after it if the log holds `index` with `term`, else discard them all
    /// (the log then ends at `index`). A compaction behind the compacted index does nothing.
    pub(super) fn compact(&mut self, index: LogIndex, term: Term) {
        if index < self.compacted.0 {
            return;
        }
        // In place: the vector keeps its capacity (bounded by the snapshot policy), so the
        // entries appended after a compaction do not regrow it from nothing, copying and
        // faulting in fresh pages on every doubling.
        if self.term(index) == Some(term) {
            let position = self.position(index + 1);
            self.entries.drain(..position);
        } else {
            self.entries.clear();
        }
        self.compacted = (index, term);
    }

    /// The first index of the run of entries sharing the term of the entry at `index`
    /// (which must be held or be the compacted index); never before the compacted index.
    pub(super) fn first_index_of_term_at(&self, index: LogIndex) -> LogIndex {
        let term = self.term(index).expect("index within the log");
        let held = self.entries.partition_point(|entry| entry.term < term) as LogIndex;
        if held == 0 && self.compacted.1 == term && self.compacted.0 > 0 {
            return self.compacted.0;
        }
        self.first_index() + held
    }

    /// The last index holding an entry of `term`, if any is known (held or compacted index).
    pub(super) fn last_index_of_term(&self, term: Term) -> Option<LogIndex> {
        let end = self.entries.partition_point(|entry| entry.term <= term);
        if end > 0 && self.entries[end - 1].term == term {
            return Some(self.compacted.0 + end as LogIndex);
        }
        (end == 0 && self.compacted.1 == term && self.compacted.0 > 0).then_some(self.compacted.0)
    }

    fn position(&self, index: LogIndex) -> usize {
        usize::try_from(index - self.first_index()).expect("log index fits in memory")
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
        RaftLog::new((0, 0), entries)
    }

    /// §7: after compaction the mirror holds only the suffix, and the compacted index keeps
    /// its term for the previous-entry check.
    #[test]
    fn compaction_keeps_the_suffix_and_the_compacted_term() {
        let mut log = log_with_terms(&[1, 1, 2, 2, 3]);
        log.compact(3, 2);
        assert_eq!((log.first_index(), log.last_index()), (4, 5));
        assert_eq!(log.term(3), Some(2));
        assert_eq!(log.term(2), None);
        assert_eq!(log.range(4, 5).len(), 2);
        assert_eq!(log.batch(4, 10, 1000)[0].index, 4);
        assert_eq!(log.first_index_of_term_at(4), 3);
        assert_eq!(log.last_index_of_term(2), Some(4));
        assert_eq!(log.last_index_of_term(1), None);
        log.compact(1, 1);
        assert_eq!(log.first_index(), 4, "compacting behind does nothing");
    }

    /// Figure 13 step 7: a snapshot whose last entry the log lacks discards the whole log.
    #[test]
    fn compaction_at_a_conflicting_entry_discards_the_log() {
        let mut log = log_with_terms(&[1, 1, 2]);
        log.compact(2, 3);
        assert_eq!(
            (log.first_index(), log.last_index(), log.last_term()),
            (3, 2, 3)
        );
        let mut short = log_with_terms(&[1]);
        short.compact(9, 4);
        assert_eq!((short.last_index(), short.last_term()), (9, 4));
        assert_eq!(short.last_index_of_term(4), Some(9));
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

    /// §5.3's fast backtracking after a compaction (§7): a follower's conflict hint, the first
    /// index of the conflicting term's run, reaches back to the compacted index when that
    /// entry (its term is kept) is of the same term, and never to an index of another term.
    #[test]
    fn term_runs_reach_the_compacted_index_only_when_it_shares_their_term() {
        let mut log = log_with_terms(&[1, 1, 2, 2, 2, 2, 3]);
        log.compact(4, 2);
        assert_eq!(log.first_index(), 5);
        assert_eq!(log.first_index_of_term_at(6), 4);
        assert_eq!(log.first_index_of_term_at(4), 4);
        assert_eq!(log.first_index_of_term_at(7), 7);
        let mut log = log_with_terms(&[1, 1, 2, 2]);
        log.compact(2, 1);
        assert_eq!(log.first_index_of_term_at(4), 3);
    }

    /// §5.3's fast backtracking at the leader after a compaction (§7): told that a follower
    /// conflicts with term 2, a leader that holds no entry of term 2 any more but whose
    /// compacted index is of term 2 knows that index is the last of the term, and resumes
    /// after it; a term the compacted index is not of, or the empty log's sentinel, gives
    /// nothing (the leader then takes the follower's own hint).
    #[test]
    fn the_last_index_of_a_term_can_be_the_compacted_index() {
        let mut log = log_with_terms(&[1, 2, 2, 2, 3, 3]);
        log.compact(4, 2);
        assert_eq!(log.first_index(), 5);
        assert_eq!(log.last_index_of_term(2), Some(4));
        assert_eq!(log.last_index_of_term(3), Some(6));
        assert_eq!(log.last_index_of_term(1), None);
        log.compact(6, 3);
        assert_eq!(log.last_index(), 6);
        assert_eq!(
            log.last_index_of_term(3),
            Some(6),
            "nothing held, all compacted"
        );
        assert_eq!(log.last_index_of_term(2), None);
        let empty = RaftLog::new((0, 0), Vec::new());
        assert_eq!(
            empty.last_index_of_term(0),
            None,
            "the sentinel is no entry"
        );
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

    /// §5.3's log shape: terms never decrease along a log; appending a lower term is a bug.
    #[test]
    #[should_panic(expected = "terms must not decrease")]
    fn append_of_a_lower_term_panics() {
        let mut log = log_with_terms(&[1, 2]);
        log.append(&[Entry {
            term: 1,
            index: 3,
            payload: Payload::Noop,
        }]);
    }

    /// With the invariants switched off (the bug catalogue's runs), a lower term is appended
    /// as given, for the harness's checks to judge.
    #[test]
    fn append_of_a_lower_term_is_kept_when_terms_are_unchecked() {
        let mut log = log_with_terms(&[1, 2]);
        log.check_terms(false);
        log.append(&[Entry {
            term: 1,
            index: 3,
            payload: Payload::Noop,
        }]);
        assert_eq!((log.last_index(), log.last_term()), (3, 1));
    }
}
