//! Builds the counterexample of an illegal partition: the stuck operation, what was concurrent
//! with it, and the longest linearizable prefix with the state after each step.

use crate::history::Operation;
use crate::linearizability::result::{Counterexample, LinearizedStep, OpSummary};
use crate::linearizability::search::Call;
use crate::model::Model;
use crate::value::Value;

/// The counterexample of partition `key` (its calls `calls`): `stuck` could not be linearized
/// after `linearized`. `operation_of` gives a call's paired operation and the line of its
/// invocation.
pub(crate) fn counterexample<'h, M: Model>(
    model: &M,
    key: Option<&Value>,
    calls: &[Call<M::Input, M::Output>],
    stuck: usize,
    linearized: &[usize],
    operation_of: impl Fn(&Call<M::Input, M::Output>) -> (Operation<'h>, usize),
) -> Counterexample {
    let summary = |index: usize| summarize(model, &calls[index], &operation_of);
    let mut state = model.init();
    let mut steps = Vec::with_capacity(linearized.len());
    for &index in linearized {
        let call = &calls[index];
        state = model
            .step(&state, &call.input, call.output.as_ref())
            .expect("a linearized prefix replays: models are deterministic");
        steps.push(LinearizedStep {
            operation: summary(index),
            state: model.describe_state(&state),
        });
    }
    let failed = &calls[stuck];
    let concurrent = (0..calls.len())
        .filter(|&i| i != stuck && overlaps(&calls[i], failed))
        .map(summary)
        .collect();
    Counterexample {
        partition: key.cloned(),
        initial_state: model.describe_state(&model.init()),
        operation: summary(stuck),
        state: model.describe_state(&state),
        concurrent,
        linearized: steps,
    }
}

/// Whether two calls' intervals overlap (an indeterminate call's interval never ends).
fn overlaps<I, O>(a: &Call<I, O>, b: &Call<I, O>) -> bool {
    let before = |x: &Call<I, O>, y: &Call<I, O>| x.ret.is_some_and(|ret| ret < y.call);
    !before(a, b) && !before(b, a)
}

fn summarize<'h, M: Model>(
    model: &M,
    call: &Call<M::Input, M::Output>,
    operation_of: &impl Fn(&Call<M::Input, M::Output>) -> (Operation<'h>, usize),
) -> OpSummary {
    let (operation, line) = operation_of(call);
    OpSummary {
        process: operation.process().clone(),
        f: operation.f().clone(),
        key: operation.key().cloned(),
        outcome: operation.outcome(),
        description: model.describe_operation(&call.input, call.output.as_ref()),
        invoke_index: operation.invoke.index,
        completion_index: operation.completion.map(|op| op.index),
        invoke_position: operation.invoke_position,
        completion_position: operation.completion_position,
        line,
    }
}
