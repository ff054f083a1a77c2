//! [`PerKey`]: any model, checked one key at a time.

use crate::history::{Function, Operation};
use crate::model::{Model, Translated};
use crate::value::Value;

/// A model checked as an independent object per key (P-compositionality), as
/// `jepsen.independent` runs one register per key: every checked op needs a key (unwrapped
/// from its `[key value]` tuple by [`unwrap_tuples`](crate::import::unwrap_tuples)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerKey<M>(pub M);

impl<M: Model> Model for PerKey<M> {
    type State = M::State;
    type Input = M::Input;
    type Output = M::Output;

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn init(&self) -> M::State {
        self.0.init()
    }

    fn step(
        &self,
        state: &M::State,
        input: &M::Input,
        output: Option<&M::Output>,
    ) -> Option<M::State> {
        self.0.step(state, input, output)
    }

    fn knows(&self, f: &Function) -> bool {
        self.0.knows(f)
    }

    fn translate(
        &self,
        operation: &Operation<'_>,
    ) -> Result<Translated<M::Input, M::Output>, String> {
        let translated = self.0.translate(operation)?;
        if matches!(translated, Translated::Call { .. }) && operation.key().is_none() {
            return Err(format!(
                ":{} of a {} checked per key needs a key",
                operation.f(),
                self.0.name()
            ));
        }
        Ok(translated)
    }

    fn partition<'h>(&self, operation: &Operation<'h>) -> Option<&'h Value> {
        operation.key()
    }

    fn is_read_only(&self, input: &M::Input, output: Option<&M::Output>) -> bool {
        self.0.is_read_only(input, output)
    }

    fn describe_operation(&self, input: &M::Input, output: Option<&M::Output>) -> String {
        self.0.describe_operation(input, output)
    }

    fn describe_state(&self, state: &M::State) -> String {
        self.0.describe_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;
    use crate::model::tests::{int, invoke, ok};
    use crate::model::{Convention, Register};

    #[test]
    fn partitions_by_key() {
        let history = History::from_ops([
            invoke(0, "write", int(5)).with_key(int(3)),
            ok(0, "write", int(5)).with_key(int(3)),
        ]);
        let operations = history.operations().unwrap();
        let model = PerKey(Register::new(Convention::Knossos));
        assert_eq!(model.partition(&operations[0]), Some(&int(3)));
        assert_eq!(model.name(), "register");
    }

    #[test]
    fn a_checked_op_without_a_key_is_an_error() {
        let history = History::from_ops([invoke(0, "write", int(5)), ok(0, "write", int(5))]);
        let operations = history.operations().unwrap();
        let error = PerKey(Register::new(Convention::Knossos))
            .translate(&operations[0])
            .unwrap_err();
        assert_eq!(error, ":write of a register checked per key needs a key");
    }
}
