//! A read/write register.

use crate::model::Convention;
use crate::model::command::Kind;
use crate::model::register_model::register_model;

/// A single register with `read` and `write`; it starts as `nil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// How the history's ops are read.
    pub convention: Convention,
}

impl Register {
    /// A register model under `convention`.
    pub fn new(convention: Convention) -> Register {
        Register { convention }
    }
}

fn known(f: &str) -> Option<Kind> {
    match f {
        "read" => Some(Kind::Read),
        "write" => Some(Kind::Write),
        _ => None,
    }
}

register_model!(Register, "register", known);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OpType;
    use crate::model::Translated;
    use crate::model::command::{Command, Response};
    use crate::model::tests::{calls, int, invoke, ok};
    use crate::value::Value;

    #[test]
    fn knows_read_and_write_only() {
        let model = Register::new(Convention::Native);
        let translated = calls(
            &model,
            &[
                invoke(0, "write", int(1)),
                ok(0, "write", int(1)),
                invoke(0, "cas", Value::List(vec![int(1), int(2)])),
                ok(0, "cas", Value::List(vec![int(1), int(2)])),
                invoke(0, "read", Value::Nil),
                ok(0, "read", int(1)),
            ],
        );
        assert_eq!(
            translated,
            vec![
                Translated::Call {
                    input: Command::Write(int(1)),
                    output: Some(Response::Done)
                },
                Translated::Skip,
                Translated::Call {
                    input: Command::Read,
                    output: Some(Response::Value(int(1)))
                },
            ]
        );
    }

    #[test]
    fn a_nil_read_is_unconstrained_under_knossos_and_empty_otherwise() {
        let history = [invoke(0, "read", Value::Nil), ok(0, "read", Value::Nil)];
        let knossos = calls(&Register::new(Convention::Knossos), &history);
        assert_eq!(knossos, vec![Translated::Skip]);
        let porcupine = calls(&Register::new(Convention::Porcupine), &history);
        assert_eq!(
            porcupine,
            vec![Translated::Call {
                input: Command::Read,
                output: Some(Response::Value(Value::Nil)),
            }]
        );
    }

    #[test]
    fn an_indeterminate_write_has_no_output() {
        let model = Register::new(Convention::Knossos);
        let translated = calls(
            &model,
            &[
                invoke(0, "write", int(1)),
                crate::model::tests::complete(
                    0,
                    OpType::Info,
                    "write",
                    Value::Keyword("timed-out".into()),
                ),
                invoke(1, "write", int(2)),
            ],
        );
        assert_eq!(
            translated,
            vec![
                Translated::Call {
                    input: Command::Write(int(1)),
                    output: None
                },
                Translated::Call {
                    input: Command::Write(int(2)),
                    output: None
                },
            ]
        );
    }
}
