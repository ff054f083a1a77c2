//! The cases: seeded scripts of writes, with `kill -9` between writes and inside them.

use rand::Rng;

use super::model::{State, Write, check};
use super::parent::Run;
use crate::types::HardState;

/// The next write of a script on a log in state `state`: mostly appends of 1 to 5 entries of
/// the current term, sometimes a new term (saved as the hard state first) or a truncation.
fn next_write(run: &mut Run<'_>, state: &State) -> Write {
    let term = state.hard_state.current_term.max(1);
    let last = state.terms.len() as u64;
    let draw = run.rng.random_range(0..10u32);
    if draw == 0 || state.hard_state.current_term == 0 {
        let vote = run.rng.random_range(0..4u64);
        return Write::HardState(HardState {
            current_term: term + 1,
            voted_for: (vote > 0).then_some(vote),
        });
    }
    if draw == 1 && last > 0 {
        let from = run.rng.random_range(1..=last);
        return Write::Truncate { from };
    }
    // Entries never carry a term above the hard state's, nor below the last entry's.
    let term = term.max(state.terms.last().copied().unwrap_or(0));
    Write::Append {
        first: last + 1,
        count: run.rng.random_range(1..=5),
        term,
    }
}

/// Reopen the log and check it against `acknowledged` and the write `cut` by the kill.
fn reopen_and_check(
    run: &mut Run<'_>,
    acknowledged: &State,
    cut: Option<&Write>,
) -> Result<State, String> {
    run.start(cut)?;
    let found = run.dump()?;
    check(acknowledged, cut, &found).map_err(|message| run.failure(message))
}

/// The last write before a kill in each round of
/// [`acknowledged_writes_survive_kill_9`]: each kind of write is the last one acknowledged
/// before some kill, so a log that holds back any one kind (writing it only with the next
/// write) is caught whatever the seed.
fn last_write(round: usize, state: &State) -> Write {
    let term = state.hard_state.current_term.max(1);
    let last = state.terms.len() as u64;
    match round % 3 {
        0 => Write::HardState(HardState {
            current_term: term + 1,
            voted_for: Some(1),
        }),
        1 if last > 1 => Write::Truncate { from: last },
        _ => Write::Append {
            first: last + 1,
            count: 2,
            term: term.max(state.terms.last().copied().unwrap_or(0)),
        },
    }
}

/// Four processes in a row, each making 3 to 8 writes that it acknowledges (the last one a
/// hard state, a truncation or an append, in turn), then killed with `kill -9`: after each
/// kill a fresh process must find every acknowledged write.
pub(super) fn acknowledged_writes_survive_kill_9(run: &mut Run<'_>) -> Result<(), String> {
    let mut acknowledged = State::default();
    run.start(None)?;
    for round in 0..4 {
        for _ in 0..run.rng.random_range(2..=7) {
            let write = next_write(run, &acknowledged);
            run.write(&write)?;
            acknowledged = acknowledged.after(&write);
        }
        let write = last_write(round, &acknowledged);
        run.write(&write)?;
        acknowledged = acknowledged.after(&write);
        run.kill();
        acknowledged = reopen_and_check(run, &acknowledged, None)?;
    }
    Ok(())
}

/// Eight processes in a row, each making 0 to 3 acknowledged writes and then one more that is
/// killed 0 to 400 µs after it was asked for (drawn from the seed): the reopened log must
/// hold everything acknowledged plus all or none of the cut write.
pub(super) fn a_write_cut_by_kill_9_leaves_an_allowed_state(
    run: &mut Run<'_>,
) -> Result<(), String> {
    let mut acknowledged = State::default();
    let mut cut: Option<Write> = None;
    for _ in 0..8 {
        acknowledged = reopen_and_check(run, &acknowledged, cut.as_ref())?;
        for _ in 0..run.rng.random_range(0..=3) {
            let write = next_write(run, &acknowledged);
            run.write(&write)?;
            acknowledged = acknowledged.after(&write);
        }
        let write = next_write(run, &acknowledged);
        let delay_micros = [0, 0, 50, 100, 200, 400][run.rng.random_range(0..6)];
        run.write_and_kill(&write, delay_micros)?;
        cut = Some(write);
    }
    reopen_and_check(run, &acknowledged, cut.as_ref())?;
    Ok(())
}
