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
pub(crate) use memo::{FastHasher, mix};
use race::Outcome;
use search::{Call, Stop};

/// The memory budget of a check's searches unless told otherwise (what `rafty check` and a
/// run's check use): 1 GiB, held by the live searches together (their calls, lists, memos and
/// stacks). A search that rarely backtracks holds about 600 bytes per operation of its key, so
/// a key of up to about 1.7 million operations fits alone; keys that do not fit beside each
/// other are checked one after another.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// How to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Give up after this long, with the verdict [`Verdict::Unknown`]. `None`: no limit.
    pub time_limit: Option<Duration>,
    /// Skip operations of functions the model does not have ([`Model::knows`]) and count
    /// them in [`CheckResult::unsupported`], instead of refusing the history with
    /// [`HistoryError::Unsupported`] naming the first. The verdict then covers only the rest.
    pub skip_unsupported: bool,
    /// The most bytes the live searches may hold together (their calls, lists, memos and
    /// stacks; see [`DEFAULT_MEMORY_BUDGET`]). Partitions wait to be searched until there is
    /// room for them, and once the live searches hold more than this (checked between rounds
    /// of the race, so they may pass it by at most a round's growth, and the outcome is the
    /// same every run) the check gives up with the verdict [`Verdict::Unknown`] and the reason,
    /// naming the key, its operations, the budget and the configurations memoized. What
    /// bounds the checker's memory; `None`: no budget.
    pub memory_budget: Option<usize>,
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
            calls,
            memoized,
            bytes,
        } => {
            result.valid = Verdict::Unknown;
            let budget = options.memory_budget.unwrap_or_default();
            let key = key_of(&partition)
                .map(|key| format!("key {key}"))
                .unwrap_or_else(|| "the history".to_owned());
            result.reason = Some(format!(
                "{key}: {} operations, memory budget of {} MB reached after {} configurations \
                 (its search held {} MB)",
                grouped(calls),
                grouped(budget >> 20),
                grouped(memoized),
                grouped(bytes >> 20),
            ));
        }
        Outcome::Failed(error) => return Err(error),
    }
    Ok(())
}

/// `n` with its thousands separated by commas (`648,579`).
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
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
