//! Races the partitions of a history against each other, so that an illegal partition is
//! reported as soon as it is proved, whatever legal partitions cost.
//!
//! Partitions enter a window of at most [`WINDOW`] live searches, cheapest first (fewest calls,
//! then first appearance). The search runs in rounds: in each round every search of the window
//! takes one more slice of steps, in parallel; a search that finishes leaves the window and the
//! next partition enters. At the end of the first round in which a partition is proved illegal,
//! the race stops and reports, of the partitions proved illegal in that round, the one that took
//! the fewest steps (then the first in the history). Every search takes the same steps whatever
//! the thread timing, so the verdict, the partition reported and its counterexample are the same
//! every run; only a time limit can make a race end differently.
//!
//! Architecture invariant: memory is bounded by the window, never by the number of partitions:
//! a search's memo is dropped as soon as the search leaves the window; with a memo limit, the
//! live searches' memos together hold at most the limit plus one round's steps
//! (`WINDOW * LAST_SLICE`) configurations, and the race answers unknown past it.

use rayon::prelude::*;

use crate::linearizability::search::{Call, Search, Searched, Stop};
use crate::model::Model;

/// The most searches alive at once.
pub(crate) const WINDOW: usize = 64;
/// The steps each live search takes in the first round.
const FIRST_SLICE: u64 = 1 << 12;
/// The slice doubles each round up to this many steps.
const LAST_SLICE: u64 = 1 << 16;

/// How a race ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every partition has a linearization.
    Linearizable,
    /// Partition `partition` (an index into the raced partitions) has none; `stuck` and
    /// `linearized` are as in [`Searched::Illegal`].
    Illegal {
        partition: usize,
        stuck: usize,
        linearized: Vec<usize>,
    },
    /// The time limit passed before a verdict.
    TimedOut,
    /// The live searches held more configurations than the memo limit; `partition` held the
    /// most, `memoized`.
    MemoFull { partition: usize, memoized: usize },
}

/// A race's outcome and what it cost.
#[derive(Debug)]
pub(crate) struct Raced {
    /// The outcome.
    pub(crate) outcome: Outcome,
    /// Search steps taken, over every partition.
    pub(crate) steps: u64,
}

/// Races the searches of `partitions` (each a partition's calls) under `model`.
pub(crate) fn race<M: Model>(
    model: &M,
    partitions: &[&[Call<M::Input, M::Output>]],
    stop: &Stop,
) -> Raced {
    let mut order: Vec<usize> = (0..partitions.len()).collect();
    order.sort_by_key(|&partition| (partitions[partition].len(), partition));
    let mut waiting = order.into_iter();
    let mut window: Vec<(usize, Search<'_, M>)> = Vec::with_capacity(WINDOW);
    let mut retired_steps = 0;
    let mut slice = FIRST_SLICE;
    loop {
        while window.len() < WINDOW {
            let Some(partition) = waiting.next() else {
                break;
            };
            window.push((partition, Search::new(model, partitions[partition])));
        }
        if window.is_empty() {
            return Raced {
                outcome: Outcome::Linearizable,
                steps: retired_steps,
            };
        }
        window.par_iter_mut().for_each(|(_, search)| {
            let budget = search.steps() + slice;
            search.run(budget, stop);
        });
        let steps = retired_steps + window.iter().map(|(_, search)| search.steps()).sum::<u64>();
        if let Some(outcome) = settle(&mut window, stop) {
            return Raced { outcome, steps };
        }
        window.retain(|(_, search)| {
            let finished = search.verdict().is_some();
            if finished {
                retired_steps += search.steps();
            }
            !finished
        });
        slice = (slice * 2).min(LAST_SLICE);
    }
}

/// The outcome of the race after a round, if it is over: the illegal partition that took the
/// fewest steps (then the first), a timeout, or a full memo.
fn settle<M: Model>(window: &mut Vec<(usize, Search<'_, M>)>, stop: &Stop) -> Option<Outcome> {
    let winner = window
        .iter()
        .enumerate()
        .filter(|(_, (_, search))| matches!(search.verdict(), Some(Searched::Illegal { .. })))
        .min_by_key(|(_, (partition, search))| (search.steps(), *partition))
        .map(|(at, _)| at);
    if let Some(at) = winner {
        let (partition, search) = window.swap_remove(at);
        let Some(Searched::Illegal { stuck, linearized }) = search.into_verdict() else {
            unreachable!("the winner was proved illegal");
        };
        return Some(Outcome::Illegal {
            partition,
            stuck,
            linearized,
        });
    }
    if window
        .iter()
        .any(|(_, search)| search.verdict() == Some(&Searched::TimedOut))
    {
        return Some(Outcome::TimedOut);
    }
    let limit = stop.memo_limit?;
    let live = window
        .iter()
        .filter(|(_, search)| search.verdict().is_none());
    if live
        .clone()
        .map(|(_, search)| search.memoized())
        .sum::<usize>()
        <= limit
    {
        return None;
    }
    let (partition, memoized) = live
        .map(|(partition, search)| (*partition, search.memoized()))
        .max_by_key(|&(partition, memoized)| (memoized, std::cmp::Reverse(partition)))?;
    Some(Outcome::MemoFull {
        partition,
        memoized,
    })
}
