//! Races the partitions of a history against each other, so that an illegal partition is
//! reported as soon as it is proved, whatever legal partitions cost.
//!
//! Partitions enter a window of at most [`WINDOW`] live searches in the order their source
//! gives them (the in-memory check gives the cheapest first: fewest calls, then first
//! appearance; the streaming check does so within each bucket of keys, bucket after bucket).
//! The search runs in rounds: in each round every search of the window takes one more slice
//! of steps, in parallel; a search that finishes leaves the window and the next partition
//! enters. At the end of the first round in which a partition is proved illegal, the race stops
//! and reports, of the partitions proved illegal in that round, the one that took the fewest
//! steps (then the first to enter). Every search takes the same steps whatever the thread
//! timing, so the verdict, the partition reported and its counterexample are the same every
//! run; only a time limit can make a race end differently.
//!
//! With a memory budget, a partition also waits until the live searches leave room for it:
//! each is reckoned at the larger of what it holds and [`RESERVE_BYTES_PER_CALL`] per call (what
//! a search that rarely backtracks grows to), and a partition enters only if its own reserve
//! fits beside theirs, or if the window is empty. So a history of a few very long keys is
//! checked a few keys at a time rather than all at once. Admission depends on call counts and
//! bytes held, both the same every run.
//!
//! Architecture invariant: memory is bounded by the window, never by the number of partitions:
//! partitions are drawn from their source only as the window has room, a search (its calls and
//! memo) is dropped as soon as it leaves the window; with a memory budget, the live searches
//! together hold at most the budget plus one round's growth, and the race answers unknown past
//! it, naming the partition that held the most.

use rayon::prelude::*;

use crate::error::HistoryError;
use crate::linearizability::search::{Call, Search, Searched, Stop};
use crate::model::Model;

/// The most searches alive at once.
pub(crate) const WINDOW: usize = 64;
/// The steps each live search takes in the first round.
const FIRST_SLICE: u64 = 1 << 12;
/// The slice doubles each round up to this many steps.
const LAST_SLICE: u64 = 1 << 16;
/// What a search is reckoned to grow to per call, for admission under a memory budget: a
/// search that rarely backtracks memoizes about one configuration per call (about 270 bytes with
/// a key's state, counting the vectors' room to grow), and holds the call (128 bytes for the
/// key-value model), its list entries, bitset slots and a stack frame. Measured on a 24-hour
/// run's keys of 700,000 operations: 380 MB held at 369,717 configurations.
pub(crate) const RESERVE_BYTES_PER_CALL: usize = 640;

/// How a race ended; `P` is what the source gave with each partition's calls.
#[derive(Debug)]
pub(crate) enum Outcome<P, C> {
    /// Every partition has a linearization.
    Linearizable,
    /// Partition `partition` (its calls `calls`) has none; `stuck` and `linearized` are as in
    /// [`Searched::Illegal`].
    Illegal {
        partition: P,
        calls: Vec<C>,
        stuck: usize,
        linearized: Vec<usize>,
    },
    /// The time limit passed before a verdict.
    TimedOut,
    /// The live searches held more bytes than the memory budget; `partition` (of `calls`
    /// calls) held the most, `bytes`, after memoizing `memoized` configurations.
    MemoFull {
        partition: P,
        calls: usize,
        memoized: usize,
        bytes: usize,
    },
    /// The source of partitions failed (a spill file could not be read back).
    Failed(HistoryError),
}

/// A race's outcome and what it cost.
#[derive(Debug)]
pub(crate) struct Raced<P, C> {
    /// The outcome.
    pub(crate) outcome: Outcome<P, C>,
    /// Search steps taken, over every partition.
    pub(crate) steps: u64,
}

/// The race's outcome type for a model.
type ModelOutcome<M, P> = Outcome<P, Call<<M as Model>::Input, <M as Model>::Output>>;
/// A live search: its rank (ties between illegal partitions go to the lowest), what its
/// partition came with, and the search.
type Entry<'m, M, P> = (usize, P, Search<'m, M>);
/// What a source gives for a partition: its rank, what comes with it, and its calls.
pub(crate) type Drawn<M, P> = (
    usize,
    P,
    Vec<Call<<M as Model>::Input, <M as Model>::Output>>,
);

/// Below this many calls in the window, a round runs on the caller's thread.
const ON_THIS_THREAD_BELOW_CALLS: usize = 2_000;

/// Races the searches of the partitions `source` gives (or why it failed) under `model`, in
/// that order. `retired` is told the number of calls of each partition whose search ends (for
/// progress).
pub(crate) fn race<M: Model, P: Send>(
    model: &M,
    source: impl IntoIterator<Item = Result<Drawn<M, P>, HistoryError>>,
    stop: &Stop,
    retired: &mut dyn FnMut(usize),
) -> Raced<P, Call<M::Input, M::Output>> {
    let mut waiting = source.into_iter().peekable();
    let mut window: Vec<Entry<'_, M, P>> = Vec::with_capacity(WINDOW);
    let mut retired_steps = 0;
    let mut slice = FIRST_SLICE;
    loop {
        while window.len() < WINDOW {
            if let (Some(budget), Some(Ok((_, _, calls)))) = (stop.memory_budget, waiting.peek()) {
                let reserved: usize = window.iter().map(|(_, _, search)| reserve(search)).sum();
                if !window.is_empty() && reserved + calls.len() * RESERVE_BYTES_PER_CALL > budget {
                    break;
                }
            }
            match waiting.next() {
                None => break,
                Some(Ok((rank, partition, calls))) => {
                    window.push((rank, partition, Search::new(model, calls)));
                }
                Some(Err(failure)) => {
                    let steps =
                        retired_steps + window.iter().map(|(_, _, s)| s.steps()).sum::<u64>();
                    return Raced {
                        outcome: Outcome::Failed(failure),
                        steps,
                    };
                }
            }
        }
        if window.is_empty() {
            return Raced {
                outcome: Outcome::Linearizable,
                steps: retired_steps,
            };
        }
        let run = |(_, _, search): &mut Entry<'_, M, P>| {
            let budget = search.steps() + slice;
            search.run(budget, stop);
        };
        let calls: usize = window.iter().map(|(_, _, s)| s.calls().len()).sum();
        if window.len() == 1 || calls < ON_THIS_THREAD_BELOW_CALLS {
            // Alone, or small: on this thread, not handed to workers (starting the pool's
            // threads, or a wake-up on a loaded machine, costs more than a small history's
            // whole search). The outcome is the same either way: it depends on steps only.
            window.iter_mut().for_each(run);
        } else {
            window.par_iter_mut().for_each(run);
        }
        let steps = retired_steps
            + window
                .iter()
                .map(|(_, _, search)| search.steps())
                .sum::<u64>();
        if let Some(outcome) = settle(&mut window, stop) {
            return Raced { outcome, steps };
        }
        window.retain(|(_, _, search)| {
            let finished = search.verdict().is_some();
            if finished {
                retired_steps += search.steps();
                retired(search.calls().len());
            }
            !finished
        });
        slice = (slice * 2).min(LAST_SLICE);
    }
}

/// The outcome of the race after a round, if it is over: the illegal partition that took the
/// fewest steps (then the lowest rank), a timeout, or a full memo.
fn settle<M: Model, P>(
    window: &mut Vec<Entry<'_, M, P>>,
    stop: &Stop,
) -> Option<ModelOutcome<M, P>> {
    let winner = window
        .iter()
        .enumerate()
        .filter(|(_, (_, _, search))| matches!(search.verdict(), Some(Searched::Illegal { .. })))
        .min_by_key(|(_, (rank, _, search))| (search.steps(), *rank))
        .map(|(at, _)| at);
    if let Some(at) = winner {
        let (_, partition, search) = window.swap_remove(at);
        let (Some(Searched::Illegal { stuck, linearized }), calls) = search.into_parts() else {
            unreachable!("the winner was proved illegal");
        };
        return Some(Outcome::Illegal {
            partition,
            calls,
            stuck,
            linearized,
        });
    }
    if window
        .iter()
        .any(|(_, _, search)| search.verdict() == Some(&Searched::TimedOut))
    {
        return Some(Outcome::TimedOut);
    }
    let budget = stop.memory_budget?;
    let live = || {
        window
            .iter()
            .enumerate()
            .filter(|(_, (_, _, search))| search.verdict().is_none())
    };
    if live()
        .map(|(_, (_, _, search))| search.bytes())
        .sum::<usize>()
        <= budget
    {
        return None;
    }
    let (at, _, bytes) = live()
        .map(|(at, (rank, _, search))| (at, *rank, search.bytes()))
        .max_by_key(|&(_, rank, bytes)| (bytes, std::cmp::Reverse(rank)))?;
    let (_, partition, search) = window.swap_remove(at);
    Some(Outcome::MemoFull {
        partition,
        calls: search.calls().len(),
        memoized: search.memoized(),
        bytes,
    })
}

/// What a live search is reckoned at for admission: what it holds, or what it is expected to
/// grow to if more.
fn reserve<M: Model>(search: &Search<'_, M>) -> usize {
    search
        .bytes()
        .max(search.calls().len() * RESERVE_BYTES_PER_CALL)
}
