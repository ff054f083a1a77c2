//! Helpers the cases share: building entries, comparing a log with a model, reopening.

use std::fmt::Debug;

use super::LogFactory;
use crate::log::{Log, LogError};
use crate::types::{Entry, HardState, LogIndex, Payload, Term};

/// A command entry whose payload names its index and term.
pub fn entry(index: LogIndex, term: Term) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(format!("{index}@{term}").into_bytes()),
    }
}

/// Entries `first..first + terms.len()` with the given terms.
pub fn entries_from(first: LogIndex, terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &term)| entry(first + i as LogIndex, term))
        .collect()
}

/// `Err` naming `what` unless `got == want`.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

/// Turn a log error into a case failure naming the call.
pub fn call<T>(what: &str, result: Result<T, LogError>) -> Result<T, String> {
    result.map_err(|error| format!("{what} failed: {error}"))
}

/// `Err` unless `result` is a [`LogError::Contract`].
pub fn expect_contract_error<T: Debug>(
    what: &str,
    result: Result<T, LogError>,
) -> Result<(), String> {
    match result {
        Err(LogError::Contract(_)) => Ok(()),
        other => Err(format!("{what}: expected a contract error, got {other:?}")),
    }
}

/// Fresh state and a log open on it.
pub fn fresh<F: LogFactory>(factory: &mut F) -> Result<(F::Store, F::Log), String> {
    let store = call("create", factory.create())?;
    let log = call("open (fresh)", factory.open(&store))?;
    Ok((store, log))
}

/// Drop `log` and open a new one on `store`, as a restarted process would.
pub fn reopen<F: LogFactory>(
    factory: &mut F,
    store: &F::Store,
    log: F::Log,
) -> Result<F::Log, String> {
    drop(log);
    call("reopen", factory.open(store))
}

/// Check everything the log says against the model: its entries and its hard state.
pub fn expect_state(
    log: &impl Log,
    entries: &[Entry],
    hard_state: HardState,
) -> Result<(), String> {
    expect_compacted_state(log, (0, 0), entries, hard_state)
}

/// [`expect_state`] for a log compacted through `base` (index and term; `(0, 0)` for none):
/// `entries` start at `base.0 + 1`, `term(base.0)` is `base.1`, and a read from below the
/// first index is refused.
pub fn expect_compacted_state(
    log: &impl Log,
    base: (LogIndex, Term),
    entries: &[Entry],
    hard_state: HardState,
) -> Result<(), String> {
    let first = base.0 + 1;
    let last = base.0 + entries.len() as LogIndex;
    expect_eq("first_index", log.first_index(), first)?;
    expect_eq("last_index", log.last_index(), last)?;
    if base.0 > 0 {
        expect_eq(
            &format!("term({}), the compacted index", base.0),
            call("term", log.term(base.0))?,
            Some(base.1),
        )?;
        expect_contract_error(
            &format!("entries({}, {}) below the first index", base.0, last + 1),
            log.entries(base.0, last + 1),
        )?;
    }
    let stored = call(
        &format!("entries({first}, {})", last + 1),
        log.entries(first, last + 1),
    )?;
    if stored != entries {
        let first_difference = stored.iter().zip(entries).position(|(a, b)| a != b);
        return Err(format!(
            "entries differ: expected {} entries, got {}; first difference at position {:?}",
            entries.len(),
            stored.len(),
            first_difference
        ));
    }
    for entry in entries {
        expect_eq(
            &format!("term({})", entry.index),
            call("term", log.term(entry.index))?,
            Some(entry.term),
        )?;
    }
    expect_eq(
        &format!("term({})", last + 1),
        call("term", log.term(last + 1))?,
        None,
    )?;
    expect_eq("term(0)", call("term", log.term(0))?, Some(0))?;
    expect_eq("hard_state", log.hard_state(), hard_state)
}

/// [`expect_state`] now, and again after a reopen; returns the reopened log.
pub fn expect_state_across_reopen<F: LogFactory>(
    factory: &mut F,
    store: &F::Store,
    log: F::Log,
    entries: &[Entry],
    hard_state: HardState,
) -> Result<F::Log, String> {
    expect_compacted_state_across_reopen(factory, store, log, (0, 0), entries, hard_state)
}

/// [`expect_compacted_state`] now, and again after a reopen; returns the reopened log.
pub fn expect_compacted_state_across_reopen<F: LogFactory>(
    factory: &mut F,
    store: &F::Store,
    log: F::Log,
    base: (LogIndex, Term),
    entries: &[Entry],
    hard_state: HardState,
) -> Result<F::Log, String> {
    expect_compacted_state(&log, base, entries, hard_state)?;
    let log = reopen(factory, store, log)?;
    expect_compacted_state(&log, base, entries, hard_state).map_err(|message| {
        format!(
            "after the log was dropped and reopened on the same store: {message}. The log \
             held the expected state before the reopen and not after it. Likely cause: what \
             a call acknowledged (an append, a truncation, a hard state) stayed in memory (a \
             cache or buffer written later, or never) instead of reaching the store before \
             the call returned Ok, or open does not read back exactly what the store holds"
        )
    })?;
    Ok(log)
}
