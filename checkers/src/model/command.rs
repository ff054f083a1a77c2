//! The calls shared by the register, cas-register and key-value models (their state is one
//! [`Value`], `nil` meaning absent), how ops become calls, and how calls step.

use crate::history::{Operation, Outcome};
use crate::import::edn::abbreviate;
use crate::model::{Convention, Translated};
use crate::value::Value;

/// A call on a single value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// Read the value (`read`, `get`).
    Read,
    /// Replace the value (`write`, `put`).
    Write(Value),
    /// Compare and set: if the value is the first, make it the second.
    Cas(Value, Value),
    /// Append: concatenate a string, or push onto a list.
    Append(Value),
    /// Remove the value (back to `nil`).
    Delete,
}

/// What a call was observed to return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// A read returned this value.
    Value(Value),
    /// The call completed.
    Done,
    /// A `cas` executed and found a value other than the expected one (Porcupine's reading of
    /// a failed `cas`).
    CasFailed,
}

/// The kinds of command, to say which functions a model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Write,
    Cas,
    Append,
    Delete,
}

/// Makes the call of an operation under `convention`; `known` maps the model's function names
/// to command kinds (unknown functions are skipped). `empty` is what an empty read returns
/// under Porcupine's convention.
pub(crate) fn translate(
    operation: &Operation<'_>,
    convention: Convention,
    known: impl Fn(&str) -> Option<Kind>,
    empty: &Value,
) -> Result<Translated<Command, Response>, String> {
    let Some(kind) = known(operation.f().as_str()) else {
        return Ok(Translated::Skip);
    };
    let argument = operation.argument();
    let command = match kind {
        Kind::Read => Command::Read,
        Kind::Write => Command::Write(argument.clone()),
        Kind::Append => Command::Append(argument.clone()),
        Kind::Delete => Command::Delete,
        Kind::Cas => match argument.as_list() {
            Some([from, to]) => Command::Cas(from.clone(), to.clone()),
            _ => {
                return Err(format!(
                    ":cas value must be [expected new], found {}",
                    abbreviate(argument)
                ));
            }
        },
    };
    let output = match (operation.outcome(), &command) {
        (Outcome::Ok, Command::Read) => {
            let read = operation.result().unwrap_or(&Value::Nil);
            match read {
                Value::Nil if convention.nil_read_is_unconstrained() => {
                    return Ok(Translated::Skip);
                }
                Value::Nil if convention == Convention::Porcupine => {
                    Some(Response::Value(empty.clone()))
                }
                _ => Some(Response::Value(read.clone())),
            }
        }
        (Outcome::Ok, _) => Some(Response::Done),
        (Outcome::Fail, Command::Cas(..)) if convention.failed_cas_observed_other_value() => {
            Some(Response::CasFailed)
        }
        // A failed op did not happen; under Porcupine's convention a failed read is
        // indeterminate, which for a read constrains nothing either.
        (Outcome::Fail, _) => return Ok(Translated::Skip),
        // An indeterminate read has no effect and constrains nothing.
        (Outcome::Info, Command::Read) => return Ok(Translated::Skip),
        (Outcome::Info, _) => None,
    };
    Ok(Translated::Call {
        input: command,
        output,
    })
}

/// The state after `command` on `state`, if `output` is legal there.
pub(crate) fn step(state: &Value, command: &Command, output: Option<&Response>) -> Option<Value> {
    match (command, output) {
        (Command::Read, Some(Response::Value(read))) => (read == state).then(|| state.clone()),
        (Command::Read, _) => Some(state.clone()),
        (Command::Write(value), _) => Some(value.clone()),
        (Command::Delete, _) => Some(Value::Nil),
        (Command::Append(value), _) => append(state, value),
        (Command::Cas(from, _), Some(Response::CasFailed)) => {
            (from != state).then(|| state.clone())
        }
        (Command::Cas(from, to), Some(_)) => (from == state).then(|| to.clone()),
        (Command::Cas(from, to), None) => Some(if from == state {
            to.clone()
        } else {
            state.clone()
        }),
    }
}

/// Appends to a string (concatenation) or a list (push); `nil` is empty. `None` when the
/// types do not fit, so that the call cannot be linearized there. The result is allocated
/// to its exact size: the checker's memo keeps it as it is.
fn append(state: &Value, value: &Value) -> Option<Value> {
    match (state, value) {
        (Value::Nil, Value::String(s)) => Some(Value::String(s.clone())),
        (Value::String(a), Value::String(b)) => {
            let mut joined = String::with_capacity(a.len() + b.len());
            joined.push_str(a);
            joined.push_str(b);
            Some(Value::String(joined))
        }
        (Value::Nil, other) => Some(Value::List(vec![other.clone()])),
        (Value::List(items), other) => {
            let mut longer = Vec::with_capacity(items.len() + 1);
            longer.extend_from_slice(items);
            longer.push(other.clone());
            Some(Value::List(longer))
        }
        _ => None,
    }
}

/// Whether the call never changes the state where it is legal.
pub(crate) fn is_read_only(command: &Command, output: Option<&Response>) -> bool {
    matches!(
        (command, output),
        (Command::Read, _) | (Command::Cas(..), Some(Response::CasFailed))
    )
}

/// `read -> 3`, `write 3`, `cas 1->2`, `cas 1->2 (failed)`, with `?` when indeterminate.
pub(crate) fn describe(command: &Command, output: Option<&Response>) -> String {
    let call = match command {
        Command::Read => "read".to_owned(),
        Command::Write(value) => format!("write {value}"),
        Command::Cas(from, to) => format!("cas {from}->{to}"),
        Command::Append(value) => format!("append {value}"),
        Command::Delete => "delete".to_owned(),
    };
    match output {
        Some(Response::Value(value)) => format!("{call} -> {value}"),
        Some(Response::Done) => call,
        Some(Response::CasFailed) => format!("{call} (failed)"),
        None => format!("{call} ?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    #[test]
    fn read_is_legal_only_on_the_value_read() {
        let read_3 = Response::Value(int(3));
        assert_eq!(step(&int(3), &Command::Read, Some(&read_3)), Some(int(3)));
        assert_eq!(step(&int(4), &Command::Read, Some(&read_3)), None);
        assert_eq!(step(&int(4), &Command::Read, None), Some(int(4)));
    }

    #[test]
    fn cas_swaps_only_the_expected_value() {
        let cas = Command::Cas(int(1), int(2));
        assert_eq!(step(&int(1), &cas, Some(&Response::Done)), Some(int(2)));
        assert_eq!(step(&int(3), &cas, Some(&Response::Done)), None);
        assert_eq!(
            step(&int(3), &cas, Some(&Response::CasFailed)),
            Some(int(3))
        );
        assert_eq!(step(&int(1), &cas, Some(&Response::CasFailed)), None);
        assert_eq!(step(&int(1), &cas, None), Some(int(2)));
        assert_eq!(step(&int(5), &cas, None), Some(int(5)));
    }

    #[test]
    fn append_concatenates_strings_and_pushes_onto_lists() {
        let x = Command::Append(Value::from("x"));
        assert_eq!(step(&Value::Nil, &x, None), Some(Value::from("x")));
        assert_eq!(step(&Value::from("ab"), &x, None), Some(Value::from("abx")));
        assert_eq!(
            step(&Value::Nil, &Command::Append(int(1)), None),
            Some(Value::List(vec![int(1)]))
        );
        assert_eq!(step(&int(3), &x, None), None);
    }

    #[test]
    fn write_and_delete_always_succeed() {
        assert_eq!(step(&int(1), &Command::Write(int(2)), None), Some(int(2)));
        assert_eq!(step(&int(1), &Command::Delete, None), Some(Value::Nil));
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            describe(&Command::Read, Some(&Response::Value(int(3)))),
            "read -> 3"
        );
        assert_eq!(
            describe(&Command::Cas(int(1), int(2)), Some(&Response::CasFailed)),
            "cas 1->2 (failed)"
        );
        assert_eq!(describe(&Command::Write(int(1)), None), "write 1 ?");
    }
}
