//! The cases of the crash suite; each runs on fresh [`CrashFs`] disks.

use super::Context;
use super::model::{
    Model, Op, Stopped, batch, check_allowed, read_state, run_script, script, sized_entry,
};
use crate::log::Log;
use crate::testing::CrashFs;
use crate::testing::log_suite::check::call;
use crate::types::HardState;

/// A fault injected into a run.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The power goes at this operation: it and every later one fail, then the disk crashes.
    PowerLossAt(u64),
    /// This one operation fails with an I/O error; the disk crashes after the run.
    ErrorAt(u64),
}

/// Both crash modes: unsynced changes dropped, then torn.
const MODES: [bool; 2] = [false, true];

fn mode(torn: bool) -> &'static str {
    if torn {
        "torn writes"
    } else {
        "no torn writes"
    }
}

/// The disk's operation count after the open and after each op of `ops`, on a fault-free run.
fn checkpoints<L: Log>(context: &mut Context<'_, L>, ops: &[Op]) -> Result<Vec<u64>, String> {
    let fs = context.disk(false, 0);
    let mut log = context.open(&fs, "on a fresh disk")?;
    let mut counts = vec![fs.operation_count()];
    for op in ops {
        call(&format!("{op} (no fault injected)"), op.apply_to(&mut log))?;
        counts.push(fs.operation_count());
    }
    let touched_the_disk = counts.iter().any(|&count| count > 0);
    for (op, pair) in ops.iter().zip(counts.windows(2)) {
        if pair[0] == pair[1] {
            return Err(no_disk_operation(op, touched_the_disk));
        }
    }
    Ok(counts)
}

/// Why `op` returning `Ok` without one disk operation is a failure, and what to look at:
/// the log never used the disk it was opened on (`touched_the_disk` false), or it keeps the
/// write in memory (a cache, a buffer, durability switched off).
fn no_disk_operation(op: &Op, touched_the_disk: bool) -> String {
    if touched_the_disk {
        format!(
            "`{op}` returned Ok without a single operation on the disk (no write, no sync), \
             so a power cut right after it loses what it acknowledged. Likely cause: the \
             write is held in memory: a write cache or buffer, or durability switched off \
             (redb's Durability::None, a skipped fsync). A write is durable when the call \
             returns Ok: write it and sync it (file and directory) before returning"
        )
    } else {
        format!(
            "`{op}` returned Ok, and neither it nor the open made any operation on the \
             simulated disk the log was opened on. Likely cause: the log does its I/O \
             elsewhere (std::fs, its own file handles) instead of through the FileSystem \
             it was given, so this suite cannot cut its power; the process-crash suite tests \
             it without a FileSystem"
        )
    }
}

/// Open a fresh disk with `fault` armed, make the writes of `ops` until one fails, crash,
/// reopen and check the state is one the contract allows. Returns the disk, the reopened log
/// and its state.
fn run_with_fault<L: Log>(
    context: &mut Context<'_, L>,
    torn: bool,
    ops: &[Op],
    fault: Fault,
) -> Result<(CrashFs, L, Model), String> {
    let label = format!("{fault:?} ({})", mode(torn));
    let fs = context.disk(torn, 1 + fault_number(fault));
    match fault {
        Fault::PowerLossAt(operation) => fs.fail_from(operation),
        Fault::ErrorAt(operation) => fs.fail_operation(operation),
    }
    let (log, stopped) = match (context.open)(&fs) {
        Ok(mut log) => {
            let stopped = run_script(&mut log, Model::default(), ops);
            (Some(log), stopped)
        }
        Err(error) => (None, stopped_before_open(error.to_string())),
    };
    let log = context
        .crash_and_reopen(&fs, log)
        .map_err(|error| format!("{label}: {error}"))?;
    let got = read_state(&log).map_err(|error| format!("{label}, after reopen: {error}"))?;
    check_allowed(&got, &stopped).map_err(|error| match &stopped.error {
        Some(cause) => format!("{label}: {error} (the write failed with: {cause})"),
        None => format!("{label}: {error}"),
    })?;
    Ok((fs, log, got))
}

fn fault_number(fault: Fault) -> u64 {
    match fault {
        Fault::PowerLossAt(operation) => operation,
        Fault::ErrorAt(operation) => operation + (1 << 32),
    }
}

fn stopped_before_open(error: String) -> Stopped {
    Stopped {
        acknowledged: Model::default(),
        interrupted: None,
        error: Some(error),
    }
}

/// A recovered log takes new writes, and they survive the next crash too.
fn check_writable<L: Log>(
    context: &mut Context<'_, L>,
    fs: &CrashFs,
    mut log: L,
    mut model: Model,
) -> Result<(), String> {
    let next = batch(model.entries.len() as u64 + 1, &[99]);
    let state = HardState {
        current_term: 99,
        voted_for: Some(9),
    };
    call("append after recovery", log.append(&next))?;
    call("save_hard_state after recovery", log.save_hard_state(state))?;
    model.apply(&Op::Append(next));
    model.apply(&Op::Save(state));
    let log = context.crash_and_reopen(fs, Some(log))?;
    let got = read_state(&log)?;
    check_allowed(&got, &acknowledged(model))
        .map_err(|error| format!("writes made after recovery: {error}"))
}

fn acknowledged(model: Model) -> Stopped {
    Stopped {
        acknowledged: model,
        interrupted: None,
        error: None,
    }
}

/// Make `steps` in order, crashing after each whose flag is set; after each crash the log
/// must hold exactly what was acknowledged.
fn writes_with_crashes<L: Log>(
    context: &mut Context<'_, L>,
    steps: &[(Op, bool)],
) -> Result<(), String> {
    for torn in MODES {
        let fs = context.disk(torn, 0);
        let mut log = context.open(&fs, "on a fresh disk")?;
        let mut model = Model::default();
        for (op, crash_after) in steps {
            call(&op.to_string(), op.apply_to(&mut log))?;
            model.apply(op);
            if *crash_after {
                log = context.crash_and_reopen(&fs, Some(log))?;
                let got = read_state(&log)?;
                check_allowed(&got, &acknowledged(model.clone()))
                    .map_err(|error| format!("{op} then a crash ({}): {error}", mode(torn)))?;
            }
        }
    }
    Ok(())
}

/// Cut the power at every operation of the last op of `ops`, in both crash modes.
fn interrupt_last<L: Log>(context: &mut Context<'_, L>, ops: &[Op]) -> Result<(), String> {
    let counts = checkpoints(context, ops)?;
    let (start, end) = (counts[counts.len() - 2], counts[counts.len() - 1]);
    for torn in MODES {
        for operation in start..end {
            let (fs, log, got) = run_with_fault(context, torn, ops, Fault::PowerLossAt(operation))?;
            check_writable(context, &fs, log, got)?;
        }
    }
    Ok(())
}

/// Every write of the script, acknowledged, survives a crash right after it.
pub fn acknowledged_writes_survive_a_crash<L: Log>(
    context: &mut Context<'_, L>,
) -> Result<(), String> {
    let steps: Vec<(Op, bool)> = script().into_iter().map(|op| (op, true)).collect();
    writes_with_crashes(context, &steps)
}

/// How the machine goes down in [`batch_is_all_or_nothing_after_a_crash`].
#[derive(Clone, Copy, Debug)]
enum Crash {
    /// The process dies and the machine stays up: every write the log made is kept, synced
    /// or not (the disk is not crashed, only the log dropped and reopened).
    Process,
    /// The power goes: unsynced changes are lost.
    PowerLoss,
    /// The power goes and unsynced changes are torn: a random prefix of them is kept, the
    /// last kept write cut short. Each salt makes other random choices.
    TornPowerLoss(u64),
}

/// How many torn power losses per crash point: each keeps a different random part.
const TORN_SALTS: u64 = 8;

fn crashes() -> impl Iterator<Item = Crash> {
    [Crash::Process, Crash::PowerLoss]
        .into_iter()
        .chain((0..TORN_SALTS).map(Crash::TornPowerLoss))
}

/// Open a fresh disk, make the writes of `ops` with every disk operation from `operation` on
/// failing (the last one it reaches is interrupted), bring the machine down as `crash` says,
/// reopen and check the state: every acknowledged write there, the interrupted batch whole or
/// not at all. Returns the disk, the reopened log and its state.
fn crash_during<L: Log>(
    context: &mut Context<'_, L>,
    ops: &[Op],
    operation: u64,
    crash: Crash,
) -> Result<(CrashFs, L, Model), String> {
    let label = format!("{crash:?} at operation {operation}");
    let fs = match crash {
        Crash::Process | Crash::PowerLoss => context.disk(false, 9 << 40 | operation),
        Crash::TornPowerLoss(salt) => context.disk(true, 10 << 40 | salt << 32 | operation),
    };
    fs.fail_from(operation);
    let mut log = context.open(&fs, "on a fresh disk")?;
    let stopped = run_script(&mut log, Model::default(), ops);
    let log = match crash {
        Crash::Process => {
            drop(log);
            fs.clear_faults();
            context.open(&fs, "after a process crash")
        }
        Crash::PowerLoss | Crash::TornPowerLoss(_) => context.crash_and_reopen(&fs, Some(log)),
    }
    .map_err(|error| format!("{label}: {error}"))?;
    let got = read_state(&log).map_err(|error| format!("{label}, after reopen: {error}"))?;
    check_allowed(&got, &stopped).map_err(|error| format!("{label}: {error}"))?;
    Ok((fs, log, got))
}

/// An append of several entries cut at every one of its disk operations, by a process crash
/// and by a power loss (unsynced writes dropped, or torn in several ways), leaves all of its
/// batch or none of it after the reopen; never only its first entries. Batches of small and of
/// large entries, so that with a small segment limit the batch starts a new file. The log
/// takes writes after.
pub fn batch_is_all_or_nothing_after_a_crash<L: Log>(
    context: &mut Context<'_, L>,
) -> Result<(), String> {
    let large: Vec<_> = (2..10).map(|index| sized_entry(index, 2, 1024)).collect();
    let scripts = [
        vec![
            Op::Append(batch(1, &[1, 1, 1])),
            Op::Append(batch(4, &[1, 2, 2, 2])),
        ],
        vec![Op::Append(batch(1, &[1])), Op::Append(large)],
    ];
    for ops in scripts {
        let counts = checkpoints(context, &ops)?;
        let (start, end) = (counts[counts.len() - 2], counts[counts.len() - 1]);
        for operation in start..end {
            for crash in crashes() {
                let (fs, log, got) = crash_during(context, &ops, operation, crash)?;
                check_writable(context, &fs, log, got)?;
            }
        }
    }
    Ok(())
}

/// Acknowledged truncations survive crashes (within a batch, across batches, to empty), and
/// an interrupted one leaves a prefix of the old log at least as long as asked.
pub fn truncation_survives_a_crash<L: Log>(context: &mut Context<'_, L>) -> Result<(), String> {
    let steps = [
        (Op::Append(batch(1, &[1, 1, 1])), false),
        (Op::Append(batch(4, &[1, 1, 1])), false),
        (Op::Truncate(4), true),
        (Op::Append(batch(4, &[2, 2])), false),
        (Op::Truncate(5), true),
        (Op::Truncate(2), true),
        (Op::Truncate(1), true),
        (Op::Append(batch(1, &[3])), true),
    ];
    writes_with_crashes(context, &steps)?;
    let ops = [
        Op::Append(batch(1, &[1, 1, 1])),
        Op::Append(batch(4, &[1, 1, 1])),
        Op::Truncate(2),
    ];
    interrupt_last(context, &ops)
}

/// Acknowledged hard states survive crashes; an interrupted save leaves the old or the new.
pub fn hard_state_survives_a_crash<L: Log>(context: &mut Context<'_, L>) -> Result<(), String> {
    let save = |current_term, voted_for| {
        Op::Save(HardState {
            current_term,
            voted_for,
        })
    };
    let steps = [
        (save(1, Some(1)), true),
        (save(2, None), true),
        (Op::Append(batch(1, &[2])), false),
        (save(2, Some(3)), true),
        (save(u64::MAX, Some(u64::MAX)), true),
    ];
    writes_with_crashes(context, &steps)?;
    let ops = [
        save(1, Some(1)),
        Op::Append(batch(1, &[1, 1])),
        save(2, Some(3)),
    ];
    interrupt_last(context, &ops)
}

/// The power cut at every single operation of a scripted sequence (open included): after
/// each reopen the log holds a state the contract allows, and takes new writes.
pub fn crash_at_every_operation_of_a_script<L: Log>(
    context: &mut Context<'_, L>,
) -> Result<(), String> {
    let ops = script();
    let counts = checkpoints(context, &ops)?;
    let end = counts[counts.len() - 1];
    for torn in MODES {
        for operation in 0..end {
            let (fs, log, got) =
                run_with_fault(context, torn, &ops, Fault::PowerLossAt(operation))?;
            check_writable(context, &fs, log, got)?;
        }
    }
    Ok(())
}

/// A crash while recovering from a torn write (the power cut at every operation of the
/// reopen) still recovers to an allowed state.
pub fn crash_during_recovery<L: Log>(context: &mut Context<'_, L>) -> Result<(), String> {
    let ops = [
        Op::Append(batch(1, &[1, 1])),
        Op::Append(batch(3, &[1, 1, 1])),
    ];
    let counts = checkpoints(context, &ops)?;
    for write in counts[1]..counts[2] {
        let salt = 7 << 40 | write;
        let reopen_operations = {
            let fs = context.disk(true, salt);
            interrupted_run(context, &fs, &ops, write)?;
            let before = fs.operation_count();
            drop(context.crash_and_reopen(&fs, None)?);
            fs.operation_count() - before
        };
        for during in 0..reopen_operations {
            let fs = context.disk(true, salt);
            let stopped = interrupted_run(context, &fs, &ops, write)?;
            fs.crash();
            fs.fail_from(fs.operation_count() + during);
            let log = (context.open)(&fs).ok();
            let log = context.crash_and_reopen(&fs, log)?;
            let got = read_state(&log)?;
            check_allowed(&got, &stopped).map_err(|error| {
                format!("power cut at operation {write}, then at operation {during} of the recovery: {error}")
            })?;
            check_writable(context, &fs, log, got)?;
        }
    }
    Ok(())
}

/// Run `ops` on `fs` with the power cut at `operation`; the log is dropped, the disk not yet
/// crashed.
fn interrupted_run<L: Log>(
    context: &mut Context<'_, L>,
    fs: &CrashFs,
    ops: &[Op],
    operation: u64,
) -> Result<Stopped, String> {
    fs.fail_from(operation);
    let mut log = context.open(fs, "on a fresh disk")?;
    let stopped = run_script(&mut log, Model::default(), ops);
    drop(log);
    fs.clear_faults();
    Ok(stopped)
}

/// An I/O error at any single operation is reported by the write that met it: a write that
/// returned `Ok` despite a failed write or sync would be lost in the crash that follows.
pub fn io_errors_are_reported_not_swallowed<L: Log>(
    context: &mut Context<'_, L>,
) -> Result<(), String> {
    let ops = script();
    let counts = checkpoints(context, &ops)?;
    for operation in 0..counts[counts.len() - 1] {
        run_with_fault(context, false, &ops, Fault::ErrorAt(operation))?;
    }
    Ok(())
}

/// A bit flipped anywhere in any file the log wrote is detected (an error on open or on
/// read), never served as data.
pub fn corruption_is_detected_never_served<L: Log>(
    context: &mut Context<'_, L>,
) -> Result<(), String> {
    const FLIPS_PER_FILE: u64 = 6;
    let ops = script();
    let (files, model) = {
        let fs = context.disk(false, 0);
        let mut log = context.open(&fs, "on a fresh disk")?;
        let stopped = run_script(&mut log, Model::default(), &ops);
        if let (Some(op), Some(error)) = (stopped.interrupted, stopped.error) {
            return Err(format!("{op} failed with no fault injected: {error}"));
        }
        (fs.files(), stopped.acknowledged)
    };
    for file in &files {
        for flip in 0..FLIPS_PER_FILE {
            let fs = context.disk(false, flip);
            let mut log = context.open(&fs, "on a fresh disk")?;
            run_script(&mut log, Model::default(), &ops);
            drop(log);
            let Some((offset, bit)) = fs.corrupt_random_bit(file).map_err(|e| e.to_string())?
            else {
                continue;
            };
            let Ok(log) = (context.open)(&fs) else {
                continue; // detected on open
            };
            let Ok(got) = read_state(&log) else {
                continue; // detected on read
            };
            if got != model {
                return Err(format!(
                    "bit {bit} of byte {offset} of {} flipped: the log served {} instead of {} \
                     (the difference may be in the entries' bytes). Likely cause: the log \
                     serves damaged data unchecked; keep a checksum with each record (and \
                     each index or header) and refuse a record that fails it with \
                     LogError::Corrupted",
                    file.display(),
                    got.describe(),
                    model.describe()
                ));
            }
        }
    }
    Ok(())
}
