//! A compare-and-set register.

use crate::model::Convention;
use crate::model::command::Kind;
use crate::model::register_model::register_model;

/// A single register with `read`, `write` and `cas` (value `[expected new]`); it starts as
/// `nil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasRegister {
    /// How the history's ops are read.
    pub convention: Convention,
}

impl CasRegister {
    /// A cas-register model under `convention`.
    pub fn new(convention: Convention) -> CasRegister {
        CasRegister { convention }
    }
}

fn known(f: &str) -> Option<Kind> {
    match f {
        "read" => Some(Kind::Read),
        "write" => Some(Kind::Write),
        "cas" => Some(Kind::Cas),
        _ => None,
    }
}

register_model!(CasRegister, "cas-register", known);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OpType;
    use crate::model::command::{Command, Response};
    use crate::model::tests::{calls, complete, int, invoke};
    use crate::model::{Model, Translated};
    use crate::value::Value;

    fn failed_cas() -> Vec<crate::history::Op> {
        let cas = Value::List(vec![int(1), int(4)]);
        vec![
            invoke(3, "cas", cas.clone()),
            complete(3, OpType::Fail, "cas", cas),
        ]
    }

    #[test]
    fn a_failed_cas_did_not_happen_under_knossos() {
        let translated = calls(&CasRegister::new(Convention::Knossos), &failed_cas());
        assert_eq!(translated, vec![Translated::Skip]);
    }

    #[test]
    fn a_failed_cas_observed_another_value_under_porcupine() {
        let translated = calls(&CasRegister::new(Convention::Porcupine), &failed_cas());
        assert_eq!(
            translated,
            vec![Translated::Call {
                input: Command::Cas(int(1), int(4)),
                output: Some(Response::CasFailed),
            }]
        );
    }

    #[test]
    fn a_failed_read_is_skipped_under_porcupine() {
        let translated = calls(
            &CasRegister::new(Convention::Porcupine),
            &[
                invoke(1, "read", Value::Nil),
                complete(1, OpType::Fail, "read", Value::Keyword("timed-out".into())),
            ],
        );
        assert_eq!(translated, vec![Translated::Skip]);
    }

    #[test]
    fn a_malformed_cas_value_is_an_error() {
        let history = crate::History::from_ops([invoke(0, "cas", int(1))]);
        let operations = history.operations().unwrap();
        let error = CasRegister::new(Convention::Knossos)
            .translate(&operations[0])
            .unwrap_err();
        assert_eq!(error, ":cas value must be [expected new], found 1");
    }
}
