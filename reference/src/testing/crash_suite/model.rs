//! What the crash cases compare a log against: a model of its state, the writes of a script,
//! and which states the [`Log`] contract allows after a write was interrupted.

use crate::log::{Log, LogError};
use crate::testing::log_suite::check::{call, expect_eq};
use crate::types::{Entry, HardState, LogIndex, Payload, Term};

/// A write the suite makes.
#[derive(Clone, Debug)]
pub enum Op {
    /// `append` of a batch.
    Append(Vec<Entry>),
    /// `truncate(from)`.
    Truncate(LogIndex),
    /// `save_hard_state`.
    Save(HardState),
}

impl Op {
    /// Make this write on `log`.
    pub fn apply_to(&self, log: &mut impl Log) -> Result<(), LogError> {
        match self {
            Op::Append(batch) => log.append(batch),
            Op::Truncate(from) => log.truncate(*from),
            Op::Save(state) => log.save_hard_state(*state),
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Append(batch) => match (batch.first(), batch.last()) {
                (Some(first), Some(last)) => write!(f, "append {}..={}", first.index, last.index),
                _ => write!(f, "append []"),
            },
            Op::Truncate(from) => write!(f, "truncate({from})"),
            Op::Save(state) => write!(
                f,
                "save_hard_state(term {}, vote {:?})",
                state.current_term, state.voted_for
            ),
        }
    }
}

/// A command entry with a payload of `bytes` bytes that names its index and term.
pub fn sized_entry(index: LogIndex, term: Term, bytes: usize) -> Entry {
    let mut payload = format!("{index}@{term}:").into_bytes();
    payload.resize(bytes.max(payload.len()), b'.');
    Entry {
        term,
        index,
        payload: Payload::Command(payload),
    }
}

/// Entries `first..first + terms.len()` of 150 bytes each, with the given terms.
pub fn batch(first: LogIndex, terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &term)| sized_entry(first + i as LogIndex, term, 150))
        .collect()
}

fn vote(current_term: Term, voted_for: Option<u64>) -> HardState {
    HardState {
        current_term,
        voted_for,
    }
}

/// The scripted sequence of writes the crash cases interrupt: appends of one and several
/// entries, truncations within the last batch, across batches and to empty, and hard states.
pub fn script() -> Vec<Op> {
    vec![
        Op::Save(vote(1, Some(1))),
        Op::Append(batch(1, &[1, 1, 1])),
        Op::Append(batch(4, &[1])),
        Op::Save(vote(2, None)),
        Op::Truncate(3),
        Op::Append(batch(3, &[2, 2, 2, 2, 2])),
        Op::Save(vote(2, Some(2))),
        Op::Truncate(7),
        Op::Append(batch(7, &[3, 3])),
        Op::Truncate(2),
        Op::Append(batch(2, &[4])),
        Op::Truncate(1),
        Op::Append(batch(1, &[5, 5])),
    ]
}

/// What a log holds: its entries (from index 1) and its hard state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// `entries[i]` has index `i + 1`.
    pub entries: Vec<Entry>,
    /// The hard state.
    pub hard_state: HardState,
}

impl Model {
    /// The state after `op` succeeded.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Append(batch) => self.entries.extend(batch.iter().cloned()),
            Op::Truncate(from) => self.entries.truncate(*from as usize - 1),
            Op::Save(state) => self.hard_state = *state,
        }
    }

    /// A short description: the terms of the entries and the hard state.
    pub fn describe(&self) -> String {
        let terms: Vec<Term> = self.entries.iter().map(|entry| entry.term).collect();
        format!(
            "entries with terms {terms:?}, hard state (term {}, vote {:?})",
            self.hard_state.current_term, self.hard_state.voted_for
        )
    }
}

/// Everything `log` says, read through the public API and checked for consistency (the
/// terms `term` reports match the entries `entries` returns).
pub fn read_state(log: &impl Log) -> Result<Model, String> {
    expect_eq("first_index", log.first_index(), 1)?;
    let last = log.last_index();
    let entries = call(
        &format!("entries(1, {})", last + 1),
        log.entries(1, last + 1),
    )?;
    expect_eq("number of entries read", entries.len() as LogIndex, last)?;
    for (position, entry) in entries.iter().enumerate() {
        let index = position as LogIndex + 1;
        expect_eq("index of the entry read", entry.index, index)?;
        expect_eq(
            &format!("term({index})"),
            call("term", log.term(index))?,
            Some(entry.term),
        )?;
    }
    expect_eq(
        &format!("term({})", last + 1),
        call("term", log.term(last + 1))?,
        None,
    )?;
    Ok(Model {
        entries,
        hard_state: log.hard_state(),
    })
}

/// Where a script stopped: the state every acknowledged write made, and the write that failed
/// (if one did).
#[derive(Clone, Debug)]
pub struct Stopped {
    /// The state after every write that returned `Ok`.
    pub acknowledged: Model,
    /// The write that returned `Err`, after which the script stopped (a node fail-stops).
    pub interrupted: Option<Op>,
    /// The error it returned.
    pub error: Option<String>,
}

/// Make the writes of `script` on `log` in order, stopping at the first that fails.
pub fn run_script(log: &mut impl Log, start: Model, script: &[Op]) -> Stopped {
    let mut acknowledged = start;
    for op in script {
        if let Err(error) = op.apply_to(log) {
            return Stopped {
                acknowledged,
                interrupted: Some(op.clone()),
                error: Some(error.to_string()),
            };
        }
        acknowledged.apply(op);
    }
    Stopped {
        acknowledged,
        interrupted: None,
        error: None,
    }
}

/// `Ok` if `got` is a state the contract allows after `stopped`: every acknowledged write is
/// there, and an interrupted write left the hard state old or new, all of its batch or none of
/// it, or a prefix of the old log at least as long as the truncation asked.
pub fn check_allowed(got: &Model, stopped: &Stopped) -> Result<(), String> {
    let before = &stopped.acknowledged;
    if let Some(Op::Append(batch)) = &stopped.interrupted {
        check_not_a_part_of(batch, got, stopped)?;
    }
    let allowed = match &stopped.interrupted {
        None => got == before,
        Some(Op::Save(state)) => {
            got.entries == before.entries
                && (got.hard_state == before.hard_state || got.hard_state == *state)
        }
        Some(Op::Append(batch)) => {
            let mut all = before.entries.clone();
            all.extend(batch.iter().cloned());
            got.hard_state == before.hard_state
                && (got.entries == before.entries || got.entries == all)
        }
        Some(Op::Truncate(from)) => {
            got.hard_state == before.hard_state
                && got.entries.len() + 1 >= *from as usize
                && before.entries.starts_with(&got.entries)
        }
    };
    if allowed {
        return Ok(());
    }
    Err(format!(
        "after a crash {}, the log holds {}; acknowledged before the crash: {}. {}",
        what_was_interrupted(stopped),
        got.describe(),
        before.describe(),
        likely_cause(got, stopped)
    ))
}

/// The likely cause of `got` after `stopped`, in plain words: what to look at.
fn likely_cause(got: &Model, stopped: &Stopped) -> String {
    let before = &stopped.acknowledged;
    let common = before
        .entries
        .iter()
        .zip(&got.entries)
        .take_while(|(want, have)| want == have)
        .count();
    if got == &Model::default() && !before.entries.is_empty() {
        "Likely cause: everything is gone, so the files (or the directory holding them) were \
         never made durable: a file or directory just created survives a power cut only once \
         its parent directory is synced (FileSystem::sync_dir), and each file's data once it \
         is synced (FsFile::sync)"
            .to_owned()
    } else if common < before.entries.len() && common == got.entries.len() {
        format!(
            "Likely cause: acknowledged entries {}..={} are gone, so append returned Ok before \
             its data was synced: check the fsync of the file and of its directory, and that \
             durability is not switched off or deferred",
            common + 1,
            before.entries.len()
        )
    } else if got.entries.len() > before.entries.len() && common == before.entries.len() {
        format!(
            "Likely cause: entries {}..={} came back after a truncation that returned Ok: the \
             removal was not synced before truncate returned (or recovery reads the removed \
             entries again)",
            common + 1,
            got.entries.len()
        )
    } else if got.entries != before.entries {
        format!(
            "Likely cause: entry {} differs from the one acknowledged: a write landed over \
             durable data out of order, or recovery read a stale or torn record as whole",
            common + 1
        )
    } else if got.hard_state != before.hard_state {
        "Likely cause: the hard state is not the last one saved with Ok: save_hard_state \
         returned before the state was synced (write a temporary file, sync it, rename it \
         over the old one, sync the directory)"
            .to_owned()
    } else {
        "Likely cause: the state matches no outcome the contract allows".to_owned()
    }
}

/// `Err` naming the rule if `got` is the log before the interrupted `batch` plus a part of it
/// (its first entries, not all): what the all-or-nothing rule forbids.
fn check_not_a_part_of(batch: &[Entry], got: &Model, stopped: &Stopped) -> Result<(), String> {
    let before = &stopped.acknowledged;
    let kept = got.entries.len().saturating_sub(before.entries.len());
    let a_part = kept > 0
        && kept < batch.len()
        && got.entries.starts_with(&before.entries)
        && batch.starts_with(&got.entries[before.entries.len()..]);
    if !a_part {
        return Ok(());
    }
    Err(format!(
        "after a crash {}, the log holds the first {kept} of its {} entries, but a batch is \
         all-or-nothing (the log holds {}; acknowledged before the crash: {})",
        what_was_interrupted(stopped),
        batch.len(),
        got.describe(),
        before.describe()
    ))
}

fn what_was_interrupted(stopped: &Stopped) -> String {
    match &stopped.interrupted {
        None => "with no write in flight".to_string(),
        Some(op) => format!("with `{op}` interrupted"),
    }
}
