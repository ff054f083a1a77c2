//! Builds the counterexample of an illegal partition: the stuck operation, what was concurrent
//! with it, and the longest linearizable prefix with the state after each step.

use crate::history::{History, Operation};
use crate::linearizability::result::{Counterexample, LinearizedStep, OpSummary};
use crate::linearizability::search::Call;
use crate::model::Model;
use crate::value::Value;

pub(crate) fn counterexample<M: Model>(
    model: &M,
    history: &History,
    operations: &[Operation<'_>],
    key: Option<&Value>,
    calls: &[Call<M::Input, M::Output>],
    stuck: usize,
    linearized: &[usize],
) -> Counterexample {
    let summary = |index: usize| summarize(model, history, operations, &calls[index]);
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

fn summarize<M: Model>(
    model: &M,
    history: &History,
    operations: &[Operation<'_>],
    call: &Call<M::Input, M::Output>,
) -> OpSummary {
    let operation = &operations[call.operation];
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
        line: history.location(operation.invoke_position).line,
    }
}
