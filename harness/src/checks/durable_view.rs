//! What one node has made durable, as the harness sees it through the node's `Log` (its hard
//! state and the term of each entry), kept current by [`crate::sim::observed_log::ObservedLog`].
//! The protocol checks ([`super::protocol`]) compare what a node answers with it.

use std::collections::VecDeque;

use rafty::{HardState, LogIndex, Term};

/// A point in a node's durable history, taken when a request reaches the node: whether its log
/// changed (and where it was cut) while the node handled the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    opened: u64,
    changes: u64,
    truncations: usize,
}

/// One node's durable state: its hard state, the point its log was compacted through (Raft §7)
/// and the term of every entry after it.
#[derive(Clone, Debug, Default)]
pub struct DurableView {
    hard_state: HardState,
    /// (index, term) of the last entry a snapshot covers and the log compacted away; (0, 0)
    /// before any compaction. Entries below it are committed and their terms forgotten.
    compacted: (LogIndex, Term),
    /// The index of `terms[0]`.
    first_index: LogIndex,
    terms: Vec<Term>,
    /// How many times the log was opened (a restart starts a new history).
    opened: u64,
    /// The lowest index a truncation in flight (asked, not returned) may remove from.
    truncating: Option<LogIndex>,
    /// How many appends and truncations since the log was opened.
    changes: u64,
    /// Where each of the last [`TRUNCATIONS_KEPT`] truncations since the log was opened cut
    /// it, in order.
    truncations: VecDeque<LogIndex>,
    /// How many truncations since the log was opened came before those.
    truncations_dropped: usize,
}

/// How many truncations a view remembers: a request's mark older than that many truncations
/// is no longer judged (it never is: a request is answered within a few).
pub const TRUNCATIONS_KEPT: usize = 1024;

impl DurableView {
    /// The log was (re)opened holding `hard_state` and the entries `first_index..` of `terms`;
    /// `compacted` is the (index, term) its compaction left answerable (`first_index - 1`), or
    /// (0, 0).
    pub fn open(
        &mut self,
        hard_state: HardState,
        compacted: (LogIndex, Term),
        first_index: LogIndex,
        terms: Vec<Term>,
    ) {
        *self = DurableView {
            hard_state,
            compacted,
            first_index: first_index.max(1),
            terms,
            opened: self.opened + 1,
            truncating: None,
            changes: 0,
            truncations: VecDeque::new(),
            truncations_dropped: 0,
        };
    }

    /// The node saved `hard_state`.
    pub fn save_hard_state(&mut self, hard_state: HardState) {
        self.hard_state = hard_state;
    }

    /// The node appended entries `first..` of `terms` (a log's contract: right after its last).
    pub fn append(&mut self, first: LogIndex, terms: &[Term]) {
        if self.terms.is_empty() && first > self.first_index {
            self.first_index = first;
        }
        let keep = first.saturating_sub(self.first_index) as usize;
        self.terms.truncate(keep);
        self.terms.extend_from_slice(terms);
        self.changes += 1;
    }

    /// The node asked its log to remove every entry from `from` on; until it returns, a crash
    /// may leave any prefix at least that long.
    pub fn truncating(&mut self, from: LogIndex) {
        self.truncating = Some(self.truncating.map_or(from, |other| other.min(from)));
    }

    /// How many times the log was opened.
    pub fn times_opened(&self) -> u64 {
        self.opened
    }

    /// This view of a freshly opened log, counted as the log's `before + 1`-th opening.
    pub fn reopened_after(mut self, before: u64) -> DurableView {
        self.opened = before + 1;
        self
    }

    /// What of this view's acknowledged state `reopened` (the same log opened again) no longer
    /// holds: a lower term, another vote in the same term, or the first acknowledged entry
    /// it lost or changed. Entries the reopened log compacted away (a snapshot covers them) and
    /// those a truncation in flight may have removed do not count.
    pub fn lost_in(&self, reopened: &DurableView) -> Option<String> {
        let (was, is) = (self.hard_state, reopened.hard_state);
        if is.current_term < was.current_term {
            return Some(format!(
                "term {} (it opened with term {})",
                was.current_term, is.current_term
            ));
        }
        if is.current_term == was.current_term
            && was.voted_for.is_some()
            && is.voted_for != was.voted_for
        {
            return Some(format!(
                "its vote for n{} in term {} (it opened with {:?})",
                was.voted_for.unwrap_or_default(),
                was.current_term,
                is.voted_for
            ));
        }
        let (_, last) = self.last();
        let last = match self.truncating {
            Some(from) => last.min(from.saturating_sub(1)),
            None => last,
        };
        let from = reopened.compacted_through().max(self.compacted.0) + 1;
        (from..=last).find_map(|index| {
            let term = self.term_at(index)?;
            let now = reopened.term_at(index);
            (now != Some(term)).then(|| {
                let holds = now.map_or("nothing".to_owned(), |t| format!("an entry of term {t}"));
                format!("entry {index} of term {term} (it holds {holds} there)")
            })
        })
    }

    /// The node removed every entry from `from` on.
    pub fn truncate(&mut self, from: LogIndex) {
        self.truncating = None;
        let keep = from.saturating_sub(self.first_index) as usize;
        self.terms.truncate(keep);
        self.record_truncation(from);
        self.changes += 1;
    }

    fn record_truncation(&mut self, from: LogIndex) {
        if self.truncations.len() == TRUNCATIONS_KEPT {
            self.truncations.pop_front();
            self.truncations_dropped += 1;
        }
        self.truncations.push_back(from);
    }

    /// The node compacted its log through `index`, of `term` (the `Log::compact` contract):
    /// when its entry there has that term the entries after it stay, otherwise (a follower
    /// installing a leader's snapshot, §7) every entry went, which counts as a truncation.
    /// Below `index` the view forgets the terms, so it stays as small as the log.
    pub fn compact(&mut self, index: LogIndex, term: Term) {
        if index <= self.compacted.0 {
            return;
        }
        if self.term_at(index) == Some(term) {
            let drop = (index + 1).saturating_sub(self.first_index) as usize;
            self.terms.drain(..drop.min(self.terms.len()));
        } else {
            self.terms.clear();
            self.record_truncation(self.first_index.min(index + 1));
            self.changes += 1;
        }
        self.first_index = index + 1;
        self.compacted = (index, term);
    }

    /// The index the log was compacted through: every entry up to it is covered by a snapshot
    /// (committed), and only the term at it is known.
    pub fn compacted_through(&self) -> LogIndex {
        self.compacted.0
    }

    /// The durable hard state.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// The term of the entry at `index`, if the log holds it.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.compacted.0 && index > 0 {
            return Some(self.compacted.1);
        }
        let offset = index.checked_sub(self.first_index)?;
        self.terms.get(usize::try_from(offset).ok()?).copied()
    }

    /// The last entry's (term, index): the compaction point's for a log holding nothing after
    /// it; (0, 0) for an empty log.
    pub fn last(&self) -> (Term, LogIndex) {
        match self.terms.last() {
            Some(&term) => (term, self.first_index + self.terms.len() as u64 - 1),
            None => (self.compacted.1, self.compacted.0),
        }
    }

    /// Where the log stands now.
    pub fn mark(&self) -> Mark {
        Mark {
            opened: self.opened,
            changes: self.changes,
            truncations: self.truncations_dropped + self.truncations.len(),
        }
    }

    /// Whether the log is exactly as at `mark` (same incarnation, no append or truncation).
    pub fn unchanged_since(&self, mark: Mark) -> bool {
        self.mark() == mark
    }

    /// Whether, since `mark`, the log stayed open and was never cut at or below `index`
    /// (false, as for any change not known, when more truncations came since than are kept).
    pub fn kept_through_since(&self, index: LogIndex, mark: Mark) -> bool {
        let Some(since) = mark.truncations.checked_sub(self.truncations_dropped) else {
            return false;
        };
        mark.opened == self.opened
            && self
                .truncations
                .iter()
                .skip(since)
                .all(|&from| from > index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_truncations_keep_the_terms_by_index() {
        let mut view = DurableView::default();
        view.open(HardState::default(), (0, 0), 1, Vec::new());
        view.append(1, &[1, 1, 2]);
        assert_eq!((view.term_at(3), view.last()), (Some(2), (2, 3)));
        let mark = view.mark();
        view.truncate(3);
        view.append(3, &[3]);
        assert_eq!(view.term_at(3), Some(3));
        assert!(!view.unchanged_since(mark));
        assert!(view.kept_through_since(2, mark));
        assert!(!view.kept_through_since(3, mark));
        assert_eq!(view.term_at(4), None);
        assert_eq!(view.term_at(0), None);
    }

    /// Memory: a log truncated over and over in one incarnation is remembered for its last
    /// [`TRUNCATIONS_KEPT`] cuts; a mark older than those is no longer judged, a recent one is.
    #[test]
    fn only_the_last_truncations_are_kept_and_older_marks_are_not_judged() {
        let mut view = DurableView::default();
        view.open(HardState::default(), (0, 0), 1, vec![1; 10]);
        let old = view.mark();
        for _ in 0..5 * TRUNCATIONS_KEPT {
            view.truncate(10);
            view.append(10, &[1]);
        }
        assert_eq!(view.truncations.len(), TRUNCATIONS_KEPT);
        assert!(!view.kept_through_since(1, old), "too old to tell");
        let recent = view.mark();
        assert!(view.kept_through_since(10, recent));
        view.truncate(10);
        assert!(view.kept_through_since(9, recent));
        assert!(!view.kept_through_since(10, recent));
    }

    #[test]
    fn a_reopened_log_invalidates_every_mark() {
        let mut view = DurableView::default();
        view.open(HardState::default(), (0, 0), 1, vec![1]);
        let mark = view.mark();
        view.open(HardState::default(), (0, 0), 1, vec![1]);
        assert!(!view.unchanged_since(mark));
        assert!(!view.kept_through_since(0, mark));
    }

    /// Raft §7: a compaction that keeps the suffix keeps the terms after it and answers the
    /// term at its index; one past the log (a follower installing a snapshot) empties it and
    /// counts as a truncation.
    #[test]
    fn compaction_keeps_the_suffix_or_replaces_the_log() {
        let mut view = DurableView::default();
        view.open(HardState::default(), (0, 0), 1, vec![1, 1, 2, 2]);
        let mark = view.mark();
        view.compact(2, 1);
        assert_eq!(
            (view.term_at(2), view.term_at(3), view.term_at(1)),
            (Some(1), Some(2), None)
        );
        assert_eq!((view.last(), view.compacted_through()), ((2, 4), 2));
        assert!(view.unchanged_since(mark));
        view.compact(1, 1);
        assert_eq!(view.compacted_through(), 2);
        view.compact(10, 3);
        assert_eq!(
            (view.last(), view.term_at(3), view.term_at(10)),
            ((3, 10), None, Some(3))
        );
        assert!(!view.kept_through_since(3, mark));
        view.append(11, &[3]);
        assert_eq!(view.last(), (3, 11));
        let mut reopened = DurableView::default();
        reopened.open(HardState::default(), (10, 3), 11, vec![3]);
        assert_eq!((reopened.term_at(10), reopened.last()), (Some(3), (3, 11)));
    }

    /// §5.1, Figure 2: what a log acknowledged survives its reopening; what a truncation or
    /// compaction in flight may have removed is not counted as lost.
    #[test]
    fn a_reopened_log_keeps_what_it_acknowledged() {
        let state = |term, vote| HardState {
            current_term: term,
            voted_for: vote,
        };
        let mut before = DurableView::default();
        before.open(state(0, None), (0, 0), 1, Vec::new());
        before.save_hard_state(state(3, Some(2)));
        before.append(1, &[1, 2, 3]);
        let reopen = |hard, compacted, first, terms: &[Term]| {
            let mut view = DurableView::default();
            view.open(hard, compacted, first, terms.to_vec());
            view
        };
        assert_eq!(
            before.lost_in(&reopen(state(3, Some(2)), (0, 0), 1, &[1, 2, 3])),
            None
        );
        assert_eq!(
            before.lost_in(&reopen(state(4, None), (2, 2), 3, &[3, 4])),
            None
        );
        let lost = |view: &DurableView| before.lost_in(view).unwrap_or_default();
        assert!(lost(&reopen(state(0, None), (0, 0), 1, &[1, 2, 3])).starts_with("term 3"));
        assert!(lost(&reopen(state(3, None), (0, 0), 1, &[1, 2, 3])).starts_with("its vote"));
        assert_eq!(
            lost(&reopen(state(3, Some(2)), (0, 0), 1, &[1, 2])),
            "entry 3 of term 3 (it holds nothing there)"
        );
        assert_eq!(
            lost(&reopen(state(3, Some(2)), (0, 0), 1, &[1, 1, 3])),
            "entry 2 of term 2 (it holds an entry of term 1 there)"
        );
        before.truncating(3);
        assert_eq!(
            before.lost_in(&reopen(state(3, Some(2)), (0, 0), 1, &[1, 2])),
            None
        );
    }
}
