//! A key-value map, checked one key at a time.

use crate::history::{Function, Operation};
use crate::model::command::{self, Command, Kind, Response};
use crate::model::{Convention, Model, Translated};
use crate::value::Value;

/// A map from keys to values with `get`/`read`, `put`/`write`, `append`, `cas` and `delete`,
/// partitioned per key (every op needs a key). Values are strings or integers (`append`
/// concatenates strings, or pushes onto a list). A key starts absent (`nil`), or as the empty
/// string under Porcupine's convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValue {
    /// How the history's ops are read.
    pub convention: Convention,
}

impl KeyValue {
    /// A key-value model under `convention`.
    pub fn new(convention: Convention) -> KeyValue {
        KeyValue { convention }
    }

    fn empty(&self) -> Value {
        match self.convention {
            Convention::Porcupine => Value::String(String::new()),
            Convention::Knossos | Convention::Native => Value::Nil,
        }
    }
}

fn known(f: &str) -> Option<Kind> {
    match f {
        "get" | "read" => Some(Kind::Read),
        "put" | "write" => Some(Kind::Write),
        "cas" => Some(Kind::Cas),
        "append" => Some(Kind::Append),
        "delete" => Some(Kind::Delete),
        _ => None,
    }
}

impl Model for KeyValue {
    type State = Value;
    type Input = Command;
    type Output = Response;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Value {
        self.empty()
    }

    fn step(&self, state: &Value, input: &Command, output: Option<&Response>) -> Option<Value> {
        command::step(state, input, output)
    }

    fn knows(&self, f: &Function) -> bool {
        known(f.as_str()).is_some()
    }

    fn translate(
        &self,
        operation: &Operation<'_>,
    ) -> Result<Translated<Command, Response>, String> {
        let translated = command::translate(operation, self.convention, known, &self.empty())?;
        if translated != Translated::Skip && operation.key().is_none() {
            return Err(format!(
                ":{} on a key-value map needs a :key",
                operation.f()
            ));
        }
        Ok(translated)
    }

    fn partition<'h>(&self, operation: &Operation<'h>) -> Option<&'h Value> {
        operation.key()
    }

    fn is_read_only(&self, input: &Command, output: Option<&Response>) -> bool {
        command::is_read_only(input, output)
    }

    fn describe_operation(&self, input: &Command, output: Option<&Response>) -> String {
        command::describe(input, output)
    }

    fn describe_state(&self, state: &Value) -> String {
        state.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;
    use crate::model::tests::{calls, invoke, ok};

    #[test]
    fn partitions_by_key() {
        let history = History::from_ops([
            invoke(0, "put", Value::from("a")).with_key(Value::from("k1")),
            ok(0, "put", Value::from("a")).with_key(Value::from("k1")),
        ]);
        let operations = history.operations().unwrap();
        let model = KeyValue::new(Convention::Native);
        assert_eq!(model.partition(&operations[0]), Some(&Value::from("k1")));
    }

    #[test]
    fn a_nil_get_means_empty_string_under_porcupine() {
        let model = KeyValue::new(Convention::Porcupine);
        assert_eq!(model.init(), Value::from(""));
        let translated = calls(
            &model,
            &[
                invoke(0, "get", Value::Nil).with_key(Value::from("k")),
                ok(0, "get", Value::Nil).with_key(Value::from("k")),
            ],
        );
        assert_eq!(
            translated,
            vec![Translated::Call {
                input: Command::Read,
                output: Some(Response::Value(Value::from(""))),
            }]
        );
    }

    #[test]
    fn an_op_without_a_key_is_an_error() {
        let history = History::from_ops([invoke(0, "append", Value::from("x"))]);
        let operations = history.operations().unwrap();
        let error = KeyValue::new(Convention::Native)
            .translate(&operations[0])
            .unwrap_err();
        assert_eq!(error, ":append on a key-value map needs a :key");
    }

    #[test]
    fn unknown_functions_are_skipped() {
        let translated = calls(
            &KeyValue::new(Convention::Native),
            &[invoke(0, "txn", Value::Nil).with_key(Value::from("k"))],
        );
        assert_eq!(translated, vec![Translated::Skip]);
    }
}
