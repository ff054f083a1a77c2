//! The log suite's compaction cases ([`Log::compact`], Raft §7); each starts on fresh state.

use super::LogFactory;
use super::check::*;
use crate::log::Log;
use crate::types::{Entry, HardState, LogIndex};

const NO_HARD_STATE: HardState = HardState {
    current_term: 0,
    voted_for: None,
};

/// Fresh state, a log open on it, and the entries it holds.
type Filled<F> = (<F as LogFactory>::Store, <F as LogFactory>::Log, Vec<Entry>);

/// Entries 1..=10 with terms 1,1,1,2,2,2,2,3,3,3 in three batches, as a leader's log grows.
fn ten_entries<F: LogFactory>(factory: &mut F) -> Result<Filled<F>, String> {
    let (store, mut log) = fresh(factory)?;
    let all = entries_from(1, &[1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    for batch in [&all[0..3], &all[3..7], &all[7..10]] {
        call("append", log.append(batch))?;
    }
    Ok((store, log, all))
}

/// The entries of `all` (from index 1) after `index`.
fn after(all: &[Entry], index: LogIndex) -> &[Entry] {
    &all[index as usize..]
}

/// §7: compacting through an entry the log holds (with its term) moves the first index past
/// it and keeps every later entry; reads below the first index are refused.
pub fn compaction_moves_the_first_index<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (_store, mut log, all) = ten_entries(factory)?;
    call("compact(5, 2)", log.compact(5, 2))?;
    expect_compacted_state(&log, (5, 2), after(&all, 5), NO_HARD_STATE)?;
    call("compact(7, 2)", log.compact(7, 2))?;
    expect_compacted_state(&log, (7, 2), after(&all, 7), NO_HARD_STATE)?;
    expect_contract_error("entries(6, 8) below the first index", log.entries(6, 8))
}

/// §7 / Figure 13: the term of the last compacted entry stays answerable (the consistency check
/// of the next AppendEntries needs it), also when the compaction covers the whole log.
pub fn term_at_the_compaction_boundary<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log, _all) = ten_entries(factory)?;
    call("compact(3, 1)", log.compact(3, 1))?;
    expect_eq("term(3)", call("term", log.term(3))?, Some(1))?;
    expect_eq("term(4)", call("term", log.term(4))?, Some(2))?;
    call("compact(10, 3)", log.compact(10, 3))?;
    expect_compacted_state(&log, (10, 3), &[], NO_HARD_STATE)?;
    expect_eq("term(11)", call("term", log.term(11))?, None)?;
    expect_compacted_state_across_reopen(factory, &store, log, (10, 3), &[], NO_HARD_STATE)?;
    Ok(())
}

/// Appends continue after a compaction, at `last_index() + 1`, also when it emptied the log.
pub fn append_after_compaction<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log, all) = ten_entries(factory)?;
    call("compact(4, 2)", log.compact(4, 2))?;
    let more = entries_from(11, &[4, 4]);
    call("append 11..=12", log.append(&more))?;
    let mut model = after(&all, 4).to_vec();
    model.extend(more);
    let mut log =
        expect_compacted_state_across_reopen(factory, &store, log, (4, 2), &model, NO_HARD_STATE)?;
    call("compact(12, 4)", log.compact(12, 4))?;
    expect_contract_error("append index 14 (a gap)", log.append(&[entry(14, 4)]))?;
    let next = entries_from(13, &[5]);
    call("append 13", log.append(&next))?;
    expect_compacted_state_across_reopen(factory, &store, log, (12, 4), &next, NO_HARD_STATE)?;
    Ok(())
}

/// After a compaction, truncating at the first index is allowed (it empties the log) and
/// truncating below it is a contract error that removes nothing.
pub fn truncate_below_the_first_index_is_refused<F: LogFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (store, mut log, all) = ten_entries(factory)?;
    call("compact(5, 2)", log.compact(5, 2))?;
    for from in [1, 4, 5] {
        expect_contract_error(&format!("truncate({from})"), log.truncate(from))?;
    }
    let mut log = expect_compacted_state_across_reopen(
        factory,
        &store,
        log,
        (5, 2),
        after(&all, 5),
        NO_HARD_STATE,
    )?;
    call("truncate(8)", log.truncate(8))?;
    let mut log = expect_compacted_state_across_reopen(
        factory,
        &store,
        log,
        (5, 2),
        &all[5..7],
        NO_HARD_STATE,
    )?;
    call("truncate(6), the first index", log.truncate(6))?;
    let mut log =
        expect_compacted_state_across_reopen(factory, &store, log, (5, 2), &[], NO_HARD_STATE)?;
    let new = entries_from(6, &[4, 4]);
    call("append 6..=7", log.append(&new))?;
    expect_compacted_state_across_reopen(factory, &store, log, (5, 2), &new, NO_HARD_STATE)?;
    Ok(())
}

/// §7: "If the existing log entry has the same index and term as the snapshot's last included
/// entry, retain log entries following it; otherwise discard the entire log." A compaction
/// through an entry of another term, or past the end, leaves an empty log ending at its index.
pub fn compaction_with_a_conflicting_term_discards_everything<F: LogFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (store, mut log, _all) = ten_entries(factory)?;
    call("compact(6, 5), entry 6 has term 2", log.compact(6, 5))?;
    let mut log =
        expect_compacted_state_across_reopen(factory, &store, log, (6, 5), &[], NO_HARD_STATE)?;
    let next = entries_from(7, &[5, 5]);
    call("append 7..=8", log.append(&next))?;
    let mut log =
        expect_compacted_state_across_reopen(factory, &store, log, (6, 5), &next, NO_HARD_STATE)?;
    call("compact(20, 6), past the end", log.compact(20, 6))?;
    expect_compacted_state_across_reopen(factory, &store, log, (20, 6), &[], NO_HARD_STATE)?;
    Ok(())
}

/// A compaction through an index already compacted changes nothing.
pub fn compaction_below_the_first_index_is_a_no_op<F: LogFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (store, mut log, all) = ten_entries(factory)?;
    call("compact(6, 2)", log.compact(6, 2))?;
    for (index, term) in [(3, 1), (1, 1), (0, 0)] {
        call(
            &format!("compact({index}, {term})"),
            log.compact(index, term),
        )?;
        expect_compacted_state(&log, (6, 2), after(&all, 6), NO_HARD_STATE)
            .map_err(|message| format!("after compact({index}, {term}): {message}"))?;
    }
    expect_compacted_state_across_reopen(
        factory,
        &store,
        log,
        (6, 2),
        after(&all, 6),
        NO_HARD_STATE,
    )?;
    Ok(())
}

/// A compaction is durable: the first index, the term at the boundary, the entries after it
/// and the hard state are all there after a reopen, and after more writes and reopens.
pub fn reopen_keeps_the_compaction<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log, all) = ten_entries(factory)?;
    let state = HardState {
        current_term: 3,
        voted_for: Some(1),
    };
    call("save_hard_state", log.save_hard_state(state))?;
    call("compact(8, 3)", log.compact(8, 3))?;
    let log =
        expect_compacted_state_across_reopen(factory, &store, log, (8, 3), after(&all, 8), state)?;
    let mut log = reopen(factory, &store, log)?;
    let tail: Vec<Entry> = entries_from(11, &[3; 5]);
    call("append 11..=15", log.append(&tail))?;
    call("compact(13, 3)", log.compact(13, 3))?;
    expect_compacted_state_across_reopen(factory, &store, log, (13, 3), &tail[3..], state)?;
    Ok(())
}
