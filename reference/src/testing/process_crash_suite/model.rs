//! What the log must hold: the acknowledged state, the write a kill may have cut, and the
//! check of what a reopened log holds against both, explained in plain words.

use std::fmt;

use crate::types::{Entry, HardState, LogIndex, Payload, Term};

/// A write the suite asks of the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Write {
    /// `append` of `count` entries of term `term` from index `first`.
    Append {
        first: LogIndex,
        count: u64,
        term: Term,
    },
    /// `truncate(from)`.
    Truncate { from: LogIndex },
    /// `save_hard_state`.
    HardState(HardState),
}

impl Write {
    /// The line the child reads.
    pub(super) fn command(&self) -> String {
        match self {
            Write::Append { first, count, term } => format!("append {first} {count} {term}"),
            Write::Truncate { from } => format!("truncate {from}"),
            Write::HardState(state) => match state.voted_for {
                Some(vote) => format!("hard {} {vote}", state.current_term),
                None => format!("hard {} -", state.current_term),
            },
        }
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Append { first, count, term } => write!(
                f,
                "append {first}..={} (term {term})",
                first + count.saturating_sub(1)
            ),
            Write::Truncate { from } => write!(f, "truncate({from})"),
            Write::HardState(state) => write!(
                f,
                "save_hard_state(term {}, vote {:?})",
                state.current_term, state.voted_for
            ),
        }
    }
}

/// The bytes of the entry at `index` of term `term`: each entry different, of varied sizes
/// (a few up to some 600 bytes), so a torn or mixed-up entry shows.
pub(super) fn payload(index: LogIndex, term: Term) -> Vec<u8> {
    let unit = format!("[{index}/{term}]");
    unit.repeat(1 + (index as usize * 7 + term as usize) % 60)
        .into_bytes()
}

/// The entries `write` appends.
pub(super) fn entries(first: LogIndex, count: u64, term: Term) -> Vec<Entry> {
    (first..first + count)
        .map(|index| Entry {
            term,
            index,
            payload: Payload::Command(payload(index, term)),
        })
        .collect()
}

/// What a log holds: the term of each entry from index 1, the hard state, and the indices of
/// entries whose bytes were not the ones appended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct State {
    pub(super) terms: Vec<Term>,
    pub(super) hard_state: HardState,
    pub(super) damaged: Vec<LogIndex>,
}

impl State {
    /// The state after `write` succeeded.
    pub(super) fn after(&self, write: &Write) -> State {
        let mut next = self.clone();
        match write {
            Write::Append { count, term, .. } => next
                .terms
                .extend(std::iter::repeat_n(*term, *count as usize)),
            Write::Truncate { from } => next.terms.truncate(from.saturating_sub(1) as usize),
            Write::HardState(state) => next.hard_state = *state,
        }
        next
    }

    fn describe(&self) -> String {
        format!(
            "{} entries (terms {}), hard state (term {}, vote {:?})",
            self.terms.len(),
            describe_terms(&self.terms),
            self.hard_state.current_term,
            self.hard_state.voted_for
        )
    }
}

/// `[1, 1, 2]` as `1..=2: 1, 3: 2`, shorter for long logs.
fn describe_terms(terms: &[Term]) -> String {
    if terms.is_empty() {
        return "none".to_owned();
    }
    let mut runs = Vec::new();
    let mut start = 0;
    for index in 1..=terms.len() {
        if index == terms.len() || terms[index] != terms[start] {
            let (low, high) = (start + 1, index);
            runs.push(if low == high {
                format!("{low}: {}", terms[start])
            } else {
                format!("{low}..={high}: {}", terms[start])
            });
            start = index;
        }
    }
    runs.join(", ")
}

/// Check `found` (the reopened log) against `acknowledged` (everything that returned `Ok`)
/// and `cut` (the write in flight at the kill, if any). `Ok` holds the new acknowledged state.
pub(super) fn check(
    acknowledged: &State,
    cut: Option<&Write>,
    found: &State,
) -> Result<State, String> {
    if let Some(index) = found.damaged.first() {
        return Err(format!(
            "entry {index} came back with other bytes than were appended (found {}). Likely \
             cause: a torn or mixed-up write served as whole; check each record with a \
             checksum and cut a torn tail at recovery",
            found.describe()
        ));
    }
    let mut allowed = vec![acknowledged.clone()];
    match cut {
        Some(write @ Write::Truncate { from }) => {
            // A prefix of the old log, at least as long as the truncation asked.
            let keep = from.saturating_sub(1) as usize;
            for len in keep..acknowledged.terms.len() {
                let mut state = acknowledged.clone();
                state.terms.truncate(len);
                allowed.push(state);
            }
            let _ = write;
        }
        Some(write) => allowed.push(acknowledged.after(write)),
        None => {}
    }
    if let Some(state) = allowed.iter().find(|state| *state == found) {
        return Ok(state.clone());
    }
    Err(explain(acknowledged, cut, found))
}

/// Why `found` is not allowed, in plain words: what was expected, what came, the likely cause.
fn explain(acknowledged: &State, cut: Option<&Write>, found: &State) -> String {
    let expected = match cut {
        None => format!("expected exactly {}", acknowledged.describe()),
        Some(write) => format!(
            "expected {} before `{write}`, which the kill cut, or that write's whole effect",
            acknowledged.describe()
        ),
    };
    let head = format!("{expected}; found {}.", found.describe());
    let acked = &acknowledged.terms;
    let got = &found.terms;
    let common = acked
        .iter()
        .zip(got)
        .take_while(|(want, have)| want == have)
        .count();
    let cut_batch = match cut {
        Some(Write::Append { count, .. }) => Some(*count as usize),
        _ => None,
    };
    let partial_batch = cut_batch.filter(|&count| {
        got.len() > acked.len() && got.len() < acked.len() + count && common == acked.len()
    });
    let cause = if let Some(count) = partial_batch {
        format!(
            "the append cut by the kill left {} of its {count} entries: a batch must be \
             all-or-nothing. Write it in one atomic step (one transaction, one write batch) or \
             make recovery drop an unfinished batch",
            got.len() - acked.len()
        )
    } else if got.len() < acked.len() && common == got.len() {
        match cut {
            Some(Write::Truncate { from }) => format!(
                "`truncate({from})`, cut by the kill, removed more than it was asked: \
                 entries {}..={} are gone. Remove only from `from` on",
                got.len() + 1,
                (*from).max(1) - 1
            ),
            _ => format!(
                "acknowledged entries {}..={} are gone after kill -9. Likely cause: append \
                 returned Ok before the entries left the process: they sat in a buffer or a \
                 cache (a BufWriter not flushed, a write-back cache, durability switched off, \
                 such as redb's Durability::None or a fjall batch committed without persist), \
                 or the log keeps them only in memory. Write them (and fsync) before append returns",
                got.len() + 1,
                acked.len()
            ),
        }
    } else if got.len() > acked.len() && common == acked.len() {
        format!(
            "entries {}..={} are back although a truncation removing them had returned Ok. \
             Likely cause: truncate returned before the removal was written (it only hid them \
             in memory, or left them in a file that recovery reads again). Remove them on \
             disk, and sync, before truncate returns",
            acked.len() + 1,
            got.len()
        )
    } else if common < acked.len().min(got.len()) {
        format!(
            "entry {} has term {} where {} was acknowledged: an old entry came back over a \
             newer one. Likely cause: a truncation followed by an append was not written in \
             order, or recovery reads a stale file",
            common + 1,
            got[common],
            acked[common]
        )
    } else if found.hard_state != acknowledged.hard_state {
        "the hard state is not the one last saved with Ok. Likely cause: save_hard_state \
         returned before the state was written (kept only in memory, or written after the \
         reply); \
         write it (by temp file, fsync, rename, fsync of the directory) before returning"
            .to_owned()
    } else {
        "the state matches no outcome the contract allows".to_owned()
    };
    let mut letters = cause.chars();
    let cause: String = match letters.next() {
        Some(first) => first.to_uppercase().chain(letters).collect(),
        None => cause,
    };
    format!("{head} {cause}")
}
