//! The cases of the log suite; each starts on fresh durable state.

use super::LogFactory;
use super::check::*;
use crate::log::Log;
use crate::types::{Entry, HardState, LogIndex, Payload};

const NO_HARD_STATE: HardState = HardState {
    current_term: 0,
    voted_for: None,
};

/// A new log is empty, with the index-0 sentinel, before and after a reopen.
pub fn empty_log<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, log) = fresh(factory)?;
    expect_eq("entries(1, 1)", call("entries", log.entries(1, 1))?, vec![])?;
    expect_state_across_reopen(factory, &store, log, &[], NO_HARD_STATE)?;
    Ok(())
}

/// One batch appended reads back whole, in parts, and after a reopen.
pub fn append_and_read_back<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let batch = entries_from(1, &[1, 1, 2, 2, 3]);
    call("append 1..=5", log.append(&batch))?;
    expect_eq(
        "entries(2, 4)",
        call("entries", log.entries(2, 4))?,
        batch[1..3].to_vec(),
    )?;
    expect_eq(
        "entries(5, 6)",
        call("entries", log.entries(5, 6))?,
        batch[4..].to_vec(),
    )?;
    expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    Ok(())
}

/// Batches appended one after another make one contiguous log.
pub fn append_in_several_batches<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let all = entries_from(1, &[1, 1, 1, 2, 3, 3, 3]);
    for batch in [&all[0..1], &all[1..3], &all[3..7]] {
        call("append", log.append(batch))?;
    }
    expect_state_across_reopen(factory, &store, log, &all, NO_HARD_STATE)?;
    Ok(())
}

/// A batch is all-or-nothing, as far as a log with no simulated disk can show it: a batch
/// refused for an entry out of place anywhere in it stores none of it, and an accepted batch is
/// there whole, before and after a reopen. The crash half of the rule (an append cut at any
/// disk operation leaves all of its batch or none) needs a disk that can fail mid-batch: it is
/// the crash suite's `batch_is_all_or_nothing_after_a_crash`.
pub fn batch_is_all_or_nothing<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let first = entries_from(1, &[1, 1]);
    call("append 1..=2", log.append(&first))?;
    for position in 0..5 {
        let mut bad = entries_from(3, &[2; 5]);
        bad[position].index += 7;
        let what = format!("append 3..=7 with its entry {position} out of place");
        expect_contract_error(&what, log.append(&bad))?;
        log = expect_state_across_reopen(factory, &store, log, &first, NO_HARD_STATE)
            .map_err(|message| format!("after a refused `{what}`: {message}"))?;
    }
    let whole = entries_from(3, &[2; 5]);
    call("append 3..=7", log.append(&whole))?;
    let mut all = first;
    all.extend(whole);
    expect_state_across_reopen(factory, &store, log, &all, NO_HARD_STATE)?;
    Ok(())
}

/// An empty batch changes nothing, on an empty log and on a full one.
pub fn empty_append_is_a_no_op<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    call("append []", log.append(&[]))?;
    expect_state(&log, &[], NO_HARD_STATE)?;
    let batch = entries_from(1, &[1, 2]);
    call("append 1..=2", log.append(&batch))?;
    call("append []", log.append(&[]))?;
    expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    Ok(())
}

/// Every empty range, the first and last single entries, and the whole log.
pub fn range_boundaries<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (_store, mut log) = fresh(factory)?;
    let batch = entries_from(1, &[1, 2, 3]);
    call("append 1..=3", log.append(&batch))?;
    for index in 1..=4 {
        let read = call("entries", log.entries(index, index))?;
        expect_eq(&format!("entries({index}, {index})"), read, vec![])?;
    }
    expect_eq(
        "entries(1, 2)",
        call("entries", log.entries(1, 2))?,
        batch[..1].to_vec(),
    )?;
    expect_eq(
        "entries(3, 4)",
        call("entries", log.entries(3, 4))?,
        batch[2..].to_vec(),
    )?;
    expect_eq("entries(1, 4)", call("entries", log.entries(1, 4))?, batch)?;
    Ok(())
}

/// `term` at 0, the first, the last, one past the last, and far past the end.
pub fn term_at_boundaries<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (_store, mut log) = fresh(factory)?;
    expect_eq(
        "term(u64::MAX) on an empty log",
        call("term", log.term(LogIndex::MAX))?,
        None,
    )?;
    call("append 1..=3", log.append(&entries_from(1, &[2, 2, 5])))?;
    for (index, want) in [
        (0, Some(0)),
        (1, Some(2)),
        (3, Some(5)),
        (4, None),
        (LogIndex::MAX, None),
    ] {
        expect_eq(
            &format!("term({index})"),
            call("term", log.term(index))?,
            want,
        )?;
    }
    Ok(())
}

/// No-ops, empty commands and binary commands come back exactly.
pub fn payload_kinds_round_trip<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let payloads = [
        Payload::Noop,
        Payload::Command(vec![]),
        Payload::Command((0..=255).collect()),
        Payload::Noop,
    ];
    let batch: Vec<Entry> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| Entry {
            term: 1,
            index: i as LogIndex + 1,
            payload,
        })
        .collect();
    call("append", log.append(&batch))?;
    expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    Ok(())
}

/// Hard state saves, overwrites (a vote cleared included) and survives reopens.
pub fn hard_state_round_trip<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let states = [
        HardState {
            current_term: 1,
            voted_for: Some(0),
        },
        HardState {
            current_term: 2,
            voted_for: None,
        },
        HardState {
            current_term: 2,
            voted_for: Some(3),
        },
        HardState {
            current_term: u64::MAX,
            voted_for: Some(u64::MAX),
        },
    ];
    for state in states {
        call("save_hard_state", log.save_hard_state(state))?;
        expect_eq("hard_state", log.hard_state(), state)?;
        log = reopen(factory, &store, log)?;
        expect_eq("hard_state after reopen", log.hard_state(), state)?;
    }
    Ok(())
}

/// Saving hard state leaves entries alone, and appending or truncating leaves hard state.
pub fn hard_state_and_entries_are_independent<F: LogFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let state = HardState {
        current_term: 4,
        voted_for: Some(2),
    };
    call("save_hard_state", log.save_hard_state(state))?;
    let batch = entries_from(1, &[1, 4]);
    call("append", log.append(&batch))?;
    let log = expect_state_across_reopen(factory, &store, log, &batch, state)?;
    let mut log = log;
    call("truncate(2)", log.truncate(2))?;
    expect_state_across_reopen(factory, &store, log, &batch[..1], state)?;
    Ok(())
}

/// Truncating one past the end removes nothing; at the end, one entry; at 1, everything.
pub fn truncate_at_the_boundaries<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let batch = entries_from(1, &[1, 1, 2, 3]);
    call("append 1..=4", log.append(&batch))?;
    call("truncate(5)", log.truncate(5))?;
    let mut log = expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    call("truncate(4)", log.truncate(4))?;
    let mut log = expect_state_across_reopen(factory, &store, log, &batch[..3], NO_HARD_STATE)?;
    call("truncate(1)", log.truncate(1))?;
    let mut log = expect_state_across_reopen(factory, &store, log, &[], NO_HARD_STATE)?;
    call("truncate(1) on an empty log", log.truncate(1))?;
    expect_state_across_reopen(factory, &store, log, &[], NO_HARD_STATE)?;
    Ok(())
}

/// Truncations exactly at the first entry of a batch, with batches of several KiB (a durable
/// log may keep each in its own file), keep everything before it, also after a reopen.
pub fn truncate_at_a_batch_boundary<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    const ENTRY_BYTES: usize = 2048;
    let sized = |index: LogIndex, term| Entry {
        term,
        index,
        payload: Payload::Command(vec![index as u8; ENTRY_BYTES]),
    };
    let (store, mut log) = fresh(factory)?;
    let mut model = Vec::new();
    for first in (1..=13).step_by(3) {
        let batch: Vec<Entry> = (first..first + 3).map(|index| sized(index, 1)).collect();
        call(
            &format!("append {first}..={}", first + 2),
            log.append(&batch),
        )?;
        model.extend(batch);
    }
    for from in [13, 7, 4] {
        call(&format!("truncate({from})"), log.truncate(from))?;
        model.truncate(from as usize - 1);
        log = expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)
            .map_err(|message| format!("after truncate({from}): {message}"))?;
    }
    let tail: Vec<Entry> = (4..7).map(|index| sized(index, 2)).collect();
    call("append 4..=6", log.append(&tail))?;
    model.extend(tail);
    expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)?;
    Ok(())
}

/// A conflicting suffix replaced by entries of a later term (§5.3): the new ones are read back
/// and the old ones are gone, also after a reopen.
pub fn truncate_then_append<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let old = entries_from(1, &[1, 1, 2, 2, 2]);
    call("append 1..=5", log.append(&old))?;
    call("truncate(3)", log.truncate(3))?;
    let new = entries_from(3, &[3, 3, 3, 3]);
    call("append 3..=6", log.append(&new))?;
    let mut model = old[..2].to_vec();
    model.extend(new);
    let mut log = expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)?;
    call("truncate(1)", log.truncate(1))?;
    let fresh_start = entries_from(1, &[4]);
    call("append 1", log.append(&fresh_start))?;
    expect_state_across_reopen(factory, &store, log, &fresh_start, NO_HARD_STATE)?;
    Ok(())
}

/// A scripted mix of writes, with a reopen and a full comparison after each.
pub fn reopen_after_every_operation<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    enum Op {
        Append(Vec<Entry>),
        Truncate(LogIndex),
        Save(HardState),
    }
    let script = [
        Op::Save(HardState {
            current_term: 1,
            voted_for: Some(1),
        }),
        Op::Append(entries_from(1, &[1, 1, 1])),
        Op::Append(entries_from(4, &[1])),
        Op::Save(HardState {
            current_term: 2,
            voted_for: None,
        }),
        Op::Truncate(3),
        Op::Append(entries_from(3, &[2, 2])),
        Op::Truncate(5),
        Op::Save(HardState {
            current_term: 3,
            voted_for: Some(2),
        }),
        Op::Truncate(1),
        Op::Append(entries_from(1, &[3])),
    ];
    let (store, mut log) = fresh(factory)?;
    let (mut entries, mut state): (Vec<Entry>, HardState) = (vec![], NO_HARD_STATE);
    for (step, op) in script.into_iter().enumerate() {
        match op {
            Op::Append(batch) => {
                call(&format!("step {step}: append"), log.append(&batch))?;
                entries.extend(batch);
            }
            Op::Truncate(from) => {
                call(
                    &format!("step {step}: truncate({from})"),
                    log.truncate(from),
                )?;
                entries.truncate(from as usize - 1);
            }
            Op::Save(new) => {
                call(
                    &format!("step {step}: save_hard_state"),
                    log.save_hard_state(new),
                )?;
                state = new;
            }
        }
        log = expect_state_across_reopen(factory, &store, log, &entries, state)
            .map_err(|message| format!("step {step}: {message}"))?;
    }
    Ok(())
}

/// Entries of several MiB, in one batch and alone, survive a reopen byte for byte.
pub fn large_entries<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    const MIB: usize = 1 << 20;
    let (store, mut log) = fresh(factory)?;
    let big = |index: LogIndex, size: usize| Entry {
        term: 1,
        index,
        payload: Payload::Command((0..size).map(|i| (i * 31 + index as usize) as u8).collect()),
    };
    let batch = vec![big(1, 3 * MIB), entry(2, 1), big(3, MIB)];
    call("append a batch of large entries", log.append(&batch))?;
    let alone = big(4, 5 * MIB);
    call(
        "append one 5 MiB entry",
        log.append(std::slice::from_ref(&alone)),
    )?;
    let mut model = batch;
    model.push(alone);
    expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)?;
    Ok(())
}

/// Thousands of entries in many batches, then a truncation in the middle, survive reopens.
pub fn many_entries<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let mut model = Vec::new();
    for batch_number in 0..40 {
        let first = model.len() as LogIndex + 1;
        let batch = entries_from(first, &[1 + batch_number / 10; 100]);
        call(&format!("append batch {batch_number}"), log.append(&batch))?;
        model.extend(batch);
    }
    let mut log = expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)?;
    call("truncate(1234)", log.truncate(1234))?;
    model.truncate(1233);
    let tail = entries_from(1234, &[9; 10]);
    call("append 1234..", log.append(&tail))?;
    model.extend(tail);
    expect_state_across_reopen(factory, &store, log, &model, NO_HARD_STATE)?;
    Ok(())
}

/// Batches that do not start at `last_index() + 1` or skip an index are refused, and nothing
/// of them is stored.
pub fn gap_is_a_contract_error<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    expect_contract_error("append index 0 to an empty log", log.append(&[entry(0, 1)]))?;
    expect_contract_error("append index 2 to an empty log", log.append(&[entry(2, 1)]))?;
    let batch = entries_from(1, &[1, 1]);
    call("append 1..=2", log.append(&batch))?;
    expect_contract_error("append index 4 after 2", log.append(&[entry(4, 1)]))?;
    expect_contract_error("append index 2 again", log.append(&[entry(2, 2)]))?;
    expect_contract_error("append 3 then 5", log.append(&[entry(3, 1), entry(5, 1)]))?;
    expect_contract_error("append 3 then 3", log.append(&[entry(3, 1), entry(3, 1)]))?;
    expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    Ok(())
}

/// Reads below the first index, past the end, or with low above high are refused.
pub fn bad_range_is_a_contract_error<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (_store, mut log) = fresh(factory)?;
    expect_contract_error("entries(1, 2) on an empty log", log.entries(1, 2))?;
    call("append 1..=3", log.append(&entries_from(1, &[1, 1, 1])))?;
    for (low, high) in [
        (0, 1),
        (0, 0),
        (3, 2),
        (1, 5),
        (5, 5),
        (2, LogIndex::MAX),
        (LogIndex::MAX, 1),
    ] {
        expect_contract_error(&format!("entries({low}, {high})"), log.entries(low, high))?;
    }
    Ok(())
}

/// Truncating at 0 or past `last_index() + 1` is refused and removes nothing.
pub fn bad_truncate_is_a_contract_error<F: LogFactory>(factory: &mut F) -> Result<(), String> {
    let (store, mut log) = fresh(factory)?;
    let batch = entries_from(1, &[1, 1, 1]);
    call("append 1..=3", log.append(&batch))?;
    for from in [0, 5, LogIndex::MAX] {
        expect_contract_error(&format!("truncate({from})"), log.truncate(from))?;
    }
    expect_state_across_reopen(factory, &store, log, &batch, NO_HARD_STATE)?;
    Ok(())
}
