//! The crash suite's compaction case: [`Log::compact`] (Raft §7) cut at every disk operation.

use super::Context;
use super::model::{Model, Op, batch, run_script};
use crate::log::Log;
use crate::testing::CrashFs;
use crate::testing::log_suite::check::{call, expect_eq};
use crate::types::{Entry, HardState, LogIndex, Term};

/// What a possibly compacted log holds, read through the public API.
#[derive(Clone, Debug, PartialEq, Eq)]
struct View {
    first_index: LogIndex,
    /// `term(first_index - 1)`.
    base_term: Option<Term>,
    /// Entries `first_index..=last_index`.
    entries: Vec<Entry>,
    hard_state: HardState,
}

impl View {
    fn describe(&self) -> String {
        let terms: Vec<Term> = self.entries.iter().map(|entry| entry.term).collect();
        format!(
            "first index {} (term before it {:?}), entries with terms {terms:?}",
            self.first_index, self.base_term
        )
    }
}

fn read_view(log: &impl Log) -> Result<View, String> {
    let (first, last) = (log.first_index(), log.last_index());
    if last + 1 < first {
        return Err(format!(
            "last_index {last} is below first_index {first} - 1"
        ));
    }
    let entries = call(
        &format!("entries({first}, {})", last + 1),
        log.entries(first, last + 1),
    )?;
    for (position, entry) in entries.iter().enumerate() {
        let index = first + position as LogIndex;
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
    Ok(View {
        first_index: first,
        base_term: call("term", log.term(first - 1))?,
        entries,
        hard_state: log.hard_state(),
    })
}

/// The log before the compaction: entries 1..=8 over three batches, and a hard state.
fn setup() -> Vec<Op> {
    vec![
        Op::Save(HardState {
            current_term: 2,
            voted_for: Some(1),
        }),
        Op::Append(batch(1, &[1, 1, 1])),
        Op::Append(batch(4, &[1, 2, 2])),
        Op::Append(batch(7, &[2, 2])),
    ]
}

/// The view after `compact(index, term)` of the log `before` (§7: keep the suffix if the
/// entry at `index` has `term`, else discard everything).
fn compacted(before: &Model, index: LogIndex, term: Term) -> View {
    let held = before
        .entries
        .get(index as usize - 1)
        .map(|entry| entry.term);
    let entries = if held == Some(term) {
        before.entries[index as usize..].to_vec()
    } else {
        Vec::new()
    };
    View {
        first_index: index + 1,
        base_term: Some(term),
        entries,
        hard_state: before.hard_state,
    }
}

fn uncompacted(before: &Model) -> View {
    View {
        first_index: 1,
        base_term: Some(0),
        entries: before.entries.clone(),
        hard_state: before.hard_state,
    }
}

/// Open a log on a fresh disk, make the setup writes, arm `fault` (if any) from the current
/// operation on, compact; returns the disk, the log and whether `compact` returned `Ok`.
fn compact_on_fresh_disk<L: Log>(
    context: &mut Context<'_, L>,
    torn: bool,
    salt: u64,
    (index, term): (LogIndex, Term),
    fail_after: Option<u64>,
) -> Result<(CrashFs, L, Model, Option<String>), String> {
    let fs = context.disk(torn, salt);
    let mut log = context.open(&fs, "on a fresh disk")?;
    let stopped = run_script(&mut log, Model::default(), &setup());
    if let Some(error) = stopped.error {
        return Err(format!(
            "the setup writes failed with no fault injected: {error}"
        ));
    }
    if let Some(after) = fail_after {
        fs.fail_from(fs.operation_count() + after);
    }
    let outcome = log
        .compact(index, term)
        .err()
        .map(|error| error.to_string());
    Ok((fs, log, stopped.acknowledged, outcome))
}

/// After a crash in `compact(index, term)`: the log holds the old log or the compacted one,
/// whole (the compacted one if `compact` returned `Ok`), and takes writes that survive the
/// next crash.
fn check_after_crash<L: Log>(
    context: &mut Context<'_, L>,
    fs: &CrashFs,
    log: L,
    before: &Model,
    (index, term): (LogIndex, Term),
    acknowledged: bool,
    label: &str,
) -> Result<(), String> {
    let new = compacted(before, index, term);
    let mut log = context.crash_and_reopen(fs, Some(log))?;
    let got = read_view(&log).map_err(|error| format!("{label}, after reopen: {error}"))?;
    let allowed = got == new || (!acknowledged && got == uncompacted(before));
    if !allowed {
        return Err(format!(
            "{label}: after the crash the log holds {}; allowed: {}{}",
            got.describe(),
            new.describe(),
            if acknowledged {
                " (compact returned Ok)".to_string()
            } else {
                format!(", or the log before: {}", uncompacted(before).describe())
            }
        ));
    }
    let next_index = got.first_index + got.entries.len() as LogIndex;
    let next = batch(next_index, &[9]);
    call(
        &format!("{label}: append after recovery"),
        log.append(&next),
    )?;
    let log = context.crash_and_reopen(fs, Some(log))?;
    let mut want = got;
    want.entries.extend(next);
    let again = read_view(&log)?;
    expect_eq(
        &format!("{label}: an append after recovery, then a crash"),
        again,
        want,
    )
}

/// The compactions the case interrupts: keeping a suffix inside a batch, at the end of the
/// log, with a conflicting term (everything discarded), and past the end.
const COMPACTIONS: [(LogIndex, Term); 4] = [(5, 2), (8, 2), (5, 9), (12, 3)];

/// §7: a compaction cut by a power loss at every one of its disk operations (unsynced writes
/// dropped, or torn) leaves the old log or the compacted one, whole: never a log missing
/// entries after the compacted index, nor one whose term at the boundary is unknown, nor one
/// that fails to open. An acknowledged compaction survives the crash. A second power cut at
/// every operation of the recovery that finishes an interrupted compaction changes nothing of
/// that. The log takes writes afterwards.
pub fn compaction_survives_a_crash<L: Log>(context: &mut Context<'_, L>) -> Result<(), String> {
    for (number, compaction) in COMPACTIONS.into_iter().enumerate() {
        let salt = 20 << 40 | (number as u64) << 32;
        let operations = {
            let (fs, log, before, error) =
                compact_on_fresh_disk(context, false, salt, compaction, None)?;
            if let Some(error) = error {
                return Err(format!(
                    "compact{compaction:?} failed with no fault injected: {error}"
                ));
            }
            let label = format!("compact{compaction:?} acknowledged");
            let count = fs.operation_count();
            check_after_crash(context, &fs, log, &before, compaction, true, &label)?;
            count
        };
        for torn in [false, true] {
            for after in 0..operations {
                let (fs, log, before, error) =
                    compact_on_fresh_disk(context, torn, salt | after, compaction, Some(after))?;
                let label = format!(
                    "compact{compaction:?} cut at its operation {after} (torn writes: {torn})"
                );
                check_after_crash(
                    context,
                    &fs,
                    log,
                    &before,
                    compaction,
                    error.is_none(),
                    &label,
                )?;
            }
        }
        crash_during_recovery(context, compaction, salt)?;
    }
    Ok(())
}

/// The power cut at every operation of `compact`, then again at every operation of the
/// recovery that follows.
fn crash_during_recovery<L: Log>(
    context: &mut Context<'_, L>,
    compaction: (LogIndex, Term),
    salt: u64,
) -> Result<(), String> {
    let mut after = 0;
    loop {
        let (fs, log, before, error) = compact_on_fresh_disk(
            context,
            false,
            salt | 1 << 31 | after,
            compaction,
            Some(after),
        )?;
        if error.is_none() {
            return Ok(()); // past the compaction's last operation
        }
        drop(log);
        fs.crash();
        fs.clear_faults();
        let start = fs.operation_count();
        drop(context.open(&fs, "to count the recovery's operations")?);
        let recovery = fs.operation_count() - start;
        for during in 0..recovery {
            let (fs, log, before2, _) = compact_on_fresh_disk(
                context,
                false,
                salt | 1 << 31 | after,
                compaction,
                Some(after),
            )?;
            debug_assert_eq!(before, before2);
            drop(log);
            fs.crash();
            fs.clear_faults();
            fs.fail_from(fs.operation_count() + during);
            let half = (context.open)(&fs).ok();
            let label = format!(
                "compact{compaction:?} cut at its operation {after}, recovery cut at its \
                 operation {during}"
            );
            let log = half_or_reopen(context, &fs, half)?;
            check_after_crash(context, &fs, log, &before, compaction, false, &label)?;
        }
        after += 1;
    }
}

/// The log an interrupted recovery opened, or (if it failed) one opened after clearing the
/// faults; [`check_after_crash`] crashes it and reopens anyway.
fn half_or_reopen<L: Log>(
    context: &mut Context<'_, L>,
    fs: &CrashFs,
    half: Option<L>,
) -> Result<L, String> {
    match half {
        Some(log) => Ok(log),
        None => {
            fs.crash();
            fs.clear_faults();
            context.open(fs, "after a crash during recovery")
        }
    }
}
