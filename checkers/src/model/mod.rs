//! Models: what a correct sequential object does, in Porcupine's shape (initial state, step,
//! partition, descriptions), and the conventions that say how a history's ops map to calls.

mod cas_register;
mod command;
mod convention;
mod infer;
mod kind;
mod kv;
mod per_key;
mod register;
mod register_model;

use std::fmt::Debug;
use std::hash::Hash;

pub use cas_register::CasRegister;
pub use command::{Command, Response};
pub use convention::Convention;
pub use infer::Inferred;
pub use kind::ModelKind;
pub use kv::KeyValue;
pub use per_key::PerKey;
pub use register::Register;

use crate::history::{Function, Operation};
use crate::value::Value;

/// What a model makes of one paired operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated<I, O> {
    /// Not checked: an op that did not happen, or one that constrains nothing (such as an indeterminate read).
    Skip,
    /// Checked: the input, and the observed output (`None` when indeterminate: the call may
    /// take effect at any time after its invocation, or never).
    Call {
        /// The call's input.
        input: I,
        /// The observed output, or `None` when indeterminate.
        output: Option<O>,
    },
}

/// A sequential specification, checked against concurrent histories.
pub trait Model: Sync {
    /// The object's state. Hashed and compared to memoize the search.
    type State: Clone + Eq + Hash + Send + Debug;
    /// A call's input.
    type Input: Eq + Hash + Send + Sync + Debug;
    /// A call's observed output.
    type Output: Send + Sync + Debug;

    /// The model's name (as on the command line).
    fn name(&self) -> &'static str;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Applies a call to `state`: the next state if `output` is legal there (any output is
    /// legal when it is `None`, i.e. indeterminate), `None` if it is not.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether the model has the function `f`. An operation of a function it does not have
    /// is *unsupported*: the checker refuses the history, naming the first such operation,
    /// unless [`CheckOptions::skip_unsupported`](crate::CheckOptions::skip_unsupported) asks
    /// it to skip and count them. Default: every function (`translate` decides).
    fn knows(&self, f: &Function) -> bool {
        let _ = f;
        true
    }

    /// Makes a call of a paired operation, or skips it; `Err` explains input that is malformed
    /// for this model (the checker adds the file and line).
    fn translate(
        &self,
        operation: &Operation<'_>,
    ) -> Result<Translated<Self::Input, Self::Output>, String>;

    /// The independent part of the object an operation acts on (P-compositionality): calls
    /// of different partitions are checked separately. `None`: one partition for everything.
    fn partition<'h>(&self, operation: &Operation<'h>) -> Option<&'h Value> {
        let _ = operation;
        None
    }

    /// Whether the call never changes the state where it is legal (a read, a failed `cas`).
    /// The checker then linearizes it as soon as it is legal without trying other orders:
    /// a sound pruning, since moving such a call earlier keeps a linearization valid.
    /// Default: `false` (no pruning).
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// A short description of a call, for reports (`cas 1->2`, `read -> 3`).
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// A short description of a state, for reports.
    fn describe_state(&self, state: &Self::State) -> String;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::history::{History, Op, OpType, Process};

    pub(crate) fn int(i: i64) -> Value {
        Value::Int(i)
    }

    pub(crate) fn invoke(process: u64, f: &str, value: Value) -> Op {
        Op::new(Process::Client(process), OpType::Invoke, f, value)
    }

    pub(crate) fn ok(process: u64, f: &str, value: Value) -> Op {
        complete(process, OpType::Ok, f, value)
    }

    pub(crate) fn complete(process: u64, kind: OpType, f: &str, value: Value) -> Op {
        Op::new(Process::Client(process), kind, f, value)
    }

    /// The translation of each paired operation of `ops`.
    pub(crate) fn calls<M: Model>(model: &M, ops: &[Op]) -> Vec<Translated<M::Input, M::Output>> {
        let history = History::from_ops(ops.iter().cloned());
        let operations = history.operations().unwrap();
        operations
            .iter()
            .map(|operation| model.translate(operation).unwrap())
            .collect()
    }
}
