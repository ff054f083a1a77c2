//! A [`Log`] over any key-value store that can load everything and commit one atomic change:
//! entries under their index, the hard state and the compaction base under their names. Reads
//! are served from a copy in memory loaded at open; every write commits to the store first.

use rafty::{Entry, HardState, Log, LogError, LogIndex, Term};

/// What a store holds, as [`Store::load`] reads it.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Each entry's index and encoded bytes, in index order.
    pub entries: Vec<(LogIndex, Vec<u8>)>,
    /// The encoded hard state, if one was saved.
    pub hard_state: Option<Vec<u8>>,
    /// The encoded compaction base, if the log was compacted.
    pub base: Option<Vec<u8>>,
}

/// One atomic change of a store.
#[derive(Debug, Default)]
pub struct Change {
    /// Entries to write, by index.
    pub put: Vec<(LogIndex, Vec<u8>)>,
    /// Remove every entry with index at least this.
    pub remove_from: Option<LogIndex>,
    /// Remove every entry with index at most this.
    pub remove_through: Option<LogIndex>,
    /// The hard state to write.
    pub hard_state: Option<Vec<u8>>,
    /// The compaction base to write.
    pub base: Option<Vec<u8>>,
}

/// Storage under a [`KvLog`].
pub trait Store: Send + 'static {
    /// Everything stored.
    fn load(&self) -> Result<Loaded, LogError>;
    /// Apply `change` atomically; durable when this returns `Ok`.
    fn commit(&mut self, change: Change) -> Result<(), LogError>;
}

/// Mistakes users make, planted on purpose for the tests that show the suites catch them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// `truncate` forgets the entries in memory but never removes them from the store.
    pub truncation_does_not_remove: bool,
    /// `save_hard_state` returns at once and writes the hard state with the next write.
    pub hard_state_written_late: bool,
}

/// A [`Log`] on a [`Store`].
pub struct KvLog<S> {
    store: S,
    bugs: Bugs,
    /// The entries held, from `base.0 + 1`.
    entries: Vec<Entry>,
    /// The compaction base: the index and term of the last entry discarded.
    base: (LogIndex, Term),
    hard_state: HardState,
    /// A hard state not yet written (only with [`Bugs::hard_state_written_late`]).
    late_hard_state: Option<HardState>,
}

/// `value` in postcard, behind the CRC32C of those bytes (4 bytes, little-endian): redb and
/// fjall do not check every byte they serve, so a flipped bit is caught here.
fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let body = postcard::to_allocvec(value).expect("entries, hard states and pairs always encode");
    let mut bytes = crc32c::crc32c(&body).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    bytes
}

/// The value [`encode`] wrote, if its checksum holds; `what` names it for the error.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: String) -> Result<T, LogError> {
    let Some((sum, body)) = bytes.split_first_chunk::<4>() else {
        return Err(corrupted(what, format!("{} bytes, too short", bytes.len())));
    };
    if u32::from_le_bytes(*sum) != crc32c::crc32c(body) {
        return Err(corrupted(what, "checksum mismatch"));
    }
    postcard::from_bytes(body).map_err(|error| corrupted(what, error))
}

fn corrupted(location: String, reason: impl ToString) -> LogError {
    LogError::Corrupted {
        location,
        reason: reason.to_string(),
    }
}

impl<S: Store> KvLog<S> {
    /// Open the log on `store`, with `bugs` planted.
    pub fn open(store: S, bugs: Bugs) -> Result<Self, LogError> {
        let loaded = store.load()?;
        let hard_state = match &loaded.hard_state {
            Some(bytes) => decode(bytes, "the hard state".to_owned())?,
            None => HardState::default(),
        };
        let base: (LogIndex, Term) = match &loaded.base {
            Some(bytes) => decode(bytes, "the compaction base".to_owned())?,
            None => (0, 0),
        };
        let mut entries = Vec::with_capacity(loaded.entries.len());
        for (index, bytes) in &loaded.entries {
            let entry: Entry = decode(bytes, format!("entry {index}"))?;
            let due = base.0 + 1 + entries.len() as LogIndex;
            if entry.index != *index || *index != due {
                return Err(corrupted(
                    format!("entry {index}"),
                    format!("holds index {} where {due} was due", entry.index),
                ));
            }
            entries.push(entry);
        }
        Ok(KvLog {
            store,
            bugs,
            entries,
            base,
            hard_state,
            late_hard_state: None,
        })
    }

    fn first(&self) -> LogIndex {
        self.base.0 + 1
    }

    fn last(&self) -> LogIndex {
        self.base.0 + self.entries.len() as LogIndex
    }

    /// Commit `change`, with any hard state held back (the planted bug) riding along.
    fn commit(&mut self, mut change: Change) -> Result<(), LogError> {
        if let Some(late) = self.late_hard_state.take() {
            change.hard_state.get_or_insert_with(|| encode(&late));
        }
        self.store.commit(change)
    }
}

impl<S: Store> Log for KvLog<S> {
    fn hard_state(&self) -> HardState {
        self.hard_state
    }

    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        if self.bugs.hard_state_written_late {
            self.late_hard_state = Some(state);
        } else {
            self.commit(Change {
                hard_state: Some(encode(&state)),
                ..Change::default()
            })?;
        }
        self.hard_state = state;
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        if entries.is_empty() {
            return Ok(());
        }
        for (offset, entry) in entries.iter().enumerate() {
            let due = self.last() + 1 + offset as LogIndex;
            if entry.index != due {
                return Err(LogError::Contract(format!(
                    "append: entry {} where {due} was due (a gap or a repeat)",
                    entry.index
                )));
            }
        }
        let put = entries.iter().map(|e| (e.index, encode(e))).collect();
        self.commit(Change {
            put,
            ..Change::default()
        })?;
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        if from < self.first() || from > self.last() + 1 {
            return Err(LogError::Contract(format!(
                "truncate({from}) outside {}..={}",
                self.first(),
                self.last() + 1
            )));
        }
        if !self.bugs.truncation_does_not_remove {
            self.commit(Change {
                remove_from: Some(from),
                ..Change::default()
            })?;
        }
        self.entries.truncate((from - self.first()) as usize);
        Ok(())
    }

    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        if low < self.first() || high > self.last() + 1 || low > high {
            return Err(LogError::Contract(format!(
                "entries({low}, {high}) outside {}..={}",
                self.first(),
                self.last() + 1
            )));
        }
        let start = (low - self.first()) as usize;
        let end = (high - self.first()) as usize;
        Ok(self.entries[start..end].to_vec())
    }

    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        Ok(if index == 0 {
            Some(0)
        } else if index == self.base.0 {
            Some(self.base.1)
        } else if index < self.first() || index > self.last() {
            None
        } else {
            Some(self.entries[(index - self.first()) as usize].term)
        })
    }

    fn first_index(&self) -> LogIndex {
        self.first()
    }

    fn last_index(&self) -> LogIndex {
        self.last()
    }

    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        if index < self.base.0 {
            return Ok(());
        }
        if index > 0 && term == 0 {
            return Err(LogError::Contract(format!(
                "compact({index}, 0): only index 0 has term 0"
            )));
        }
        let keeps_suffix = self.term(index)? == Some(term) && index <= self.last();
        let change = if keeps_suffix {
            Change {
                remove_through: Some(index),
                base: Some(encode(&(index, term))),
                ..Change::default()
            }
        } else {
            Change {
                remove_from: Some(0),
                base: Some(encode(&(index, term))),
                ..Change::default()
            }
        };
        self.commit(change)?;
        if keeps_suffix {
            self.entries.drain(..(index - self.base.0) as usize);
        } else {
            self.entries.clear();
        }
        self.base = (index, term);
        Ok(())
    }
}
