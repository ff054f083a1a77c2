//! The linearizability checker: Wing & Gong's search with Lowe's memoization, one partition
//! per independent key, partitions raced in parallel (the first proved illegal ends the check,
//! deterministically), a time limit that yields `Unknown`.

mod entries;
mod memo;
pub(crate) mod race;
pub(crate) mod report;
mod result;
pub(crate) mod search;
mod set;

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use result::{CheckResult, Counterexample, LinearizedStep, OpSummary, Verdict};

use crate::error::HistoryError;
use crate::history::{History, Operation};
use crate::model::{Model, Translated};
use crate::value::Value;
pub(crate) use memo::mix;
use race::Outcome;
use search::{Call, Stop};

/// A memo limit that holds one search under about 1 GiB: a memoized configuration of a
/// key-value or register search takes about 230 bytes with its state (measured on c50-bad's
/// key 0: 4,620,928 KB at 20,000,000 configurations), so 4,000,000 take about 0.9 GiB. What
/// `rafty check` and a run's check use unless told otherwise.
pub const DEFAULT_MEMO_LIMIT: usize = 4_000_000;

/// How to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Give up after this long, with the verdict [`Verdict::Unknown`]. `None`: no limit.
    pub time_limit: Option<Duration>,
    /// Skip operations of functions the model does not have ([`Model::knows`]) and count
    /// them in [`CheckResult::unsupported`], instead of refusing the history with
    /// [`HistoryError::Unsupported`] naming the first. The verdict then covers only the rest.
    pub skip_unsupported: bool,
    /// Give up, with the verdict [`Verdict::Unknown`] and the reason, once the live searches
    /// together hold more than this many memoized configurations (checked between rounds of
    /// the race, so the searches may pass it by at most a round's steps, and the outcome is
    /// the same every run). What bounds the checker's memory; `None`: no limit.
    pub memo_limit: Option<usize>,
}

/// The calls of one partition.
struct Partition<'h, I, O> {
    key: Option<&'h Value>,
    calls: Vec<Call<I, O>>,
}

/// The partitions of a history, and how many operations were left out.
struct Partitioned<'h, I, O> {
    partitions: Vec<Partition<'h, I, O>>,
    /// Failed or unconstraining operations.
    skipped: usize,
    /// Operations of functions the model does not have.
    unsupported: usize,
}

/// Checks that `history` is linearizable with respect to `model`.
///
/// Errors are about the input (a malformed history, an op the model cannot read, or, unless
/// [`CheckOptions::skip_unsupported`], an op of a function the model does not have), and
/// name the file and line.
pub fn check<M: Model>(
    model: &M,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckResult, HistoryError> {
    let started = Instant::now();
    let operations = history.operations()?;
    let Partitioned {
        partitions,
        skipped,
        unsupported,
    } = partition(model, history, &operations, options.skip_unsupported)?;
    let checked = partitions.iter().map(|p| p.calls.len()).sum();
    let count = partitions.len();
    let stop = Stop::new(started, options);
    // Cheapest first: fewest calls, then first appearance (the rank).
    let mut drawn: Vec<_> = partitions
        .into_iter()
        .enumerate()
        .map(|(rank, partition)| (rank, partition.key, partition.calls))
        .collect();
    drawn.sort_by_key(|(rank, _, calls)| (calls.len(), *rank));
    let raced = race::race(model, drawn.into_iter().map(Ok), &stop, &mut |_| {});
    let mut result = CheckResult {
        valid: Verdict::Linearizable,
        model: model.name().to_owned(),
        operations: checked,
        skipped,
        unsupported,
        partitions: count,
        steps: raced.steps,
        reason: None,
        counterexample: None,
    };
    let counterexample = |key: Option<&Value>,
                          calls: Vec<Call<M::Input, M::Output>>,
                          stuck,
                          linearized: Vec<usize>| {
        Ok(report::counterexample(
            model,
            key,
            &calls,
            stuck,
            &linearized,
            |call| {
                let operation = operations[call.operation];
                (operation, history.location(operation.invoke_position).line)
            },
        ))
    };
    settle(
        &mut result,
        raced.outcome,
        options,
        |key| key.cloned(),
        counterexample,
    )?;
    Ok(result)
}

/// Fills `result` from the race's outcome; `key_of` names a partition's key, and
/// `counterexample` builds the counterexample of an illegal partition from what came with it,
/// its calls, the stuck call and the calls linearized before it.
pub(crate) fn settle<P, C>(
    result: &mut CheckResult,
    outcome: Outcome<P, C>,
    options: &CheckOptions,
    key_of: impl Fn(&P) -> Option<Value>,
    counterexample: impl FnOnce(P, Vec<C>, usize, Vec<usize>) -> Result<Counterexample, HistoryError>,
) -> Result<(), HistoryError> {
    match outcome {
        Outcome::Linearizable => {}
        Outcome::Illegal {
            partition,
            calls,
            stuck,
            linearized,
        } => {
            result.valid = Verdict::NotLinearizable;
            result.counterexample = Some(counterexample(partition, calls, stuck, linearized)?);
        }
        Outcome::TimedOut => {
            result.valid = Verdict::Unknown;
            let limit = options.time_limit.unwrap_or_default();
            result.reason = Some(format!("time limit of {limit:?} reached"));
        }
        Outcome::MemoFull {
            partition,
            memoized,
        } => {
            result.valid = Verdict::Unknown;
            let limit = options.memo_limit.unwrap_or_default();
            let key = key_of(&partition)
                .map(|key| format!(" of key {key}"))
                .unwrap_or_default();
            result.reason = Some(format!(
                "memo limit of {limit} configurations reached (the search{key} held {memoized})"
            ));
        }
        Outcome::Failed(error) => return Err(error),
    }
    Ok(())
}

/// Translates every operation and groups the calls by partition, in order of first
/// appearance. An operation of a function the model does not have is an error naming the
/// first, or skipped and counted when `skip_unsupported`.
fn partition<'h, M: Model>(
    model: &M,
    history: &'h History,
    operations: &[Operation<'h>],
    skip_unsupported: bool,
) -> Result<Partitioned<'h, M::Input, M::Output>, HistoryError> {
    let mut partitions: Vec<Partition<'h, M::Input, M::Output>> = Vec::new();
    let mut by_key: HashMap<Option<&'h Value>, usize> = HashMap::new();
    let mut skipped = 0;
    let mut unsupported = 0;
    let mut first_unsupported = None;
    for (index, operation) in operations.iter().enumerate() {
        if !model.knows(operation.f()) {
            unsupported += 1;
            first_unsupported.get_or_insert(operation);
            continue;
        }
        let translated = model
            .translate(operation)
            .map_err(|reason| history.error_at(operation.invoke_position, reason))?;
        let Translated::Call { input, output } = translated else {
            skipped += 1;
            continue;
        };
        let ret = match output {
            Some(_) => operation.completion_position,
            None => None,
        };
        let key = model.partition(operation);
        let slot = *by_key.entry(key).or_insert_with(|| {
            partitions.push(Partition {
                key,
                calls: Vec::new(),
            });
            partitions.len() - 1
        });
        partitions[slot].calls.push(Call {
            operation: index,
            input,
            // An output without a completion to bound it is indeterminate.
            output: output.filter(|_| ret.is_some()),
            call: operation.invoke_position,
            ret,
        });
    }
    if let Some(first) = first_unsupported.filter(|_| !skip_unsupported) {
        return Err(HistoryError::Unsupported {
            location: history.location(first.invoke_position),
            function: first.f().to_string(),
            model: model.name().to_owned(),
            count: unsupported,
        });
    }
    Ok(Partitioned {
        partitions,
        skipped,
        unsupported,
    })
}

#[cfg(test)]
mod tests;
