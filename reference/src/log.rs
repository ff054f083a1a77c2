//! The `Log` trait (Rafty's `ILog`): where a node keeps its entries and its hard state.

use crate::types::{Entry, HardState, LogIndex, Term};

/// Why a [`Log`] operation failed. A node treats any error as fatal for itself: it stops
/// (fail-stop) rather than run on with a log it cannot trust.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The underlying storage failed (disk error, permission, full disk...).
    #[error("log I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data failed its integrity check; `location` names the file and offset or record.
    #[error("log corrupted at {location}: {reason}")]
    Corrupted {
        /// Where the corruption was found.
        location: String,
        /// What was wrong.
        reason: String,
    },
    /// The caller broke the contract (a gap, a read past the end...). A bug in the caller.
    #[error("log contract violated: {0}")]
    Contract(String),
}

/// The replicated log and the hard state of one node.
///
/// # Contract
///
/// * Indices start at 1 and are contiguous from [`Log::first_index`] to [`Log::last_index`].
///   An empty log has `first_index() == 1` and `last_index() == 0`; index 0 has term 0 (the
///   sentinel), so `term(0) == Ok(Some(0))`.
/// * **Durability:** a write counts as durable when the call that made it returns `Ok`. After
///   `append`, `truncate` or `save_hard_state` returns `Ok`, the change must survive a crash
///   (process crash *and* power loss for a durable log; in-memory logs survive only what the
///   process does). A node sends no vote and no append acknowledgement before these calls
///   returned `Ok`.
/// * **A batch is all-or-nothing.** An `append` interrupted by a crash (process crash or power
///   loss, at any point, torn writes included) leaves either all of its batch or none of it
///   after recovery, never a part. An `append` that returns `Err` without a crash may likewise
///   have stored all or none of its batch; the node then stops (fail-stop), and when the log is
///   reopened the same holds: all of that batch or none of it. A batch refused with
///   [`LogError::Contract`] stores nothing.
/// * `append` takes a batch whose first index is `last_index() + 1` (a gap is a contract error)
///   and makes it durable as a whole: a durable log needs one fsync per batch, not per entry.
/// * An interrupted `truncate(from)` leaves a prefix of the old log at least `from - 1`
///   entries long; an interrupted `save_hard_state` leaves the old hard state or the new.
/// * `truncate(from)` removes every entry with index `>= from`; `from` must be in
///   `first_index()..=last_index() + 1`.
/// * Reads never see a partly written batch.
pub trait Log: Send + 'static {
    /// The persisted hard state; `HardState::default()` for a new log.
    fn hard_state(&self) -> HardState;

    /// Persist `state`, replacing the previous one atomically; durable when this returns `Ok`.
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError>;

    /// Append `entries` (contiguous, the first at `last_index() + 1`); durable when this
    /// returns `Ok`, and all-or-nothing if a crash interrupts it. An empty batch is a no-op.
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError>;

    /// Remove every entry with index `>= from`; durable when this returns `Ok`.
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError>;

    /// The entries with indices in `low..high` (half-open), in order. `low` must be at least
    /// `first_index()`, `high` at most `last_index() + 1`, and `low <= high`: any other range
    /// (`low > high` included, and `low == 0`) is a [`LogError::Contract`] naming it, never a
    /// panic or an empty answer. `low == high` within those bounds is an empty range: `Ok` with
    /// no entry. (`log_suite`'s `range_boundaries` and `bad_range_is_a_contract_error` check
    /// both.)
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError>;

    /// The term of the entry at `index`: `Some(0)` for index 0, `None` past the end.
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError>;

    /// The first index held (1 for a log that never compacted).
    fn first_index(&self) -> LogIndex;

    /// The last index held, 0 for an empty log.
    fn last_index(&self) -> LogIndex;

    /// Log compaction (Raft §7): discard every entry with index `<= index`, which a durable
    /// snapshot covers; `term` is the term of the entry at `index` (the snapshot's last
    /// included term). Afterwards `first_index() == index + 1` and `term(index) == Some(term)`
    /// stays answerable (the previous-entry check of the first AppendEntries after the
    /// snapshot needs it); terms below `index` may be `None`.
    ///
    /// * If the log holds an entry at `index` with term `term`, the entries after it are kept.
    ///   Otherwise (the log is shorter, or its entry at `index` has another term: a follower
    ///   installing a leader's snapshot, §7) every entry is discarded and afterwards
    ///   `last_index() == index`.
    /// * `index` below `first_index() - 1` (already compacted) is a no-op returning `Ok`.
    /// * Durable and crash-safe: after `Ok`, the new first index (and the term at `index`)
    ///   survives a crash; a crash part-way leaves either the old log or the compacted one,
    ///   never a log missing entries after `index` or a log whose `term(first_index() - 1)` is
    ///   unknown.
    /// * The caller compacts only behind a snapshot that is durable already.
    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError>;
}

impl<L: Log + ?Sized> Log for Box<L> {
    fn hard_state(&self) -> HardState {
        (**self).hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        (**self).save_hard_state(state)
    }
    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        (**self).append(entries)
    }
    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        (**self).truncate(from)
    }
    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        (**self).entries(low, high)
    }
    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        (**self).term(index)
    }
    fn first_index(&self) -> LogIndex {
        (**self).first_index()
    }
    fn last_index(&self) -> LogIndex {
        (**self).last_index()
    }
    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        (**self).compact(index, term)
    }
}
