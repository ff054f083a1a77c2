//! The `Model` implementation shared by the single-register models: a register that starts
//! as `nil`, whose commands are the ones its `known` function accepts.

/// Implement [`crate::model::Model`] for a register model type `$model` named `$name` whose
/// function names are mapped to commands by `$known`. The type must have a `convention` field.
macro_rules! register_model {
    ($model:ty, $name:literal, $known:path) => {
        impl $crate::model::Model for $model {
            type State = $crate::value::Value;
            type Input = $crate::model::command::Command;
            type Output = $crate::model::command::Response;

            fn name(&self) -> &'static str {
                $name
            }

            fn init(&self) -> Self::State {
                $crate::value::Value::Nil
            }

            fn step(
                &self,
                state: &Self::State,
                input: &Self::Input,
                output: Option<&Self::Output>,
            ) -> Option<Self::State> {
                $crate::model::command::step(state, input, output)
            }

            fn knows(&self, f: &$crate::history::Function) -> bool {
                $known(f.as_str()).is_some()
            }

            fn translate(
                &self,
                operation: &$crate::history::Operation<'_>,
            ) -> Result<$crate::model::Translated<Self::Input, Self::Output>, String> {
                $crate::model::command::translate(
                    operation,
                    self.convention,
                    $known,
                    &$crate::value::Value::Nil,
                )
            }

            fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
                $crate::model::command::is_read_only(input, output)
            }

            fn describe_operation(
                &self,
                input: &Self::Input,
                output: Option<&Self::Output>,
            ) -> String {
                $crate::model::command::describe(input, output)
            }

            fn describe_state(&self, state: &Self::State) -> String {
                state.to_string()
            }
        }
    };
}

pub(crate) use register_model;
