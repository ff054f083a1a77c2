//! The linearizability counterexample in words, for summary.txt and the timeline's header,
//! and the short label each operation's bar carries on the timeline.

use std::collections::BTreeMap;

use rafty_checkers::linearizability::OpSummary;
use rafty_checkers::{Counterexample, Outcome, Value};

use crate::extract::{Span, describe};

/// At most this many steps of the linearizable prefix are written out (the last ones).
pub(crate) const PREFIX_SHOWN: usize = 8;

/// A bar's label, as Porcupine writes them: `w 3`, `r 2` (the value read; `r ?` when the
/// read did not complete ok), `cas 1->4`; any other function as `f argument`, with `-> result`
/// when an ok completion returned something else than its argument.
pub(crate) fn bar_label(span: &Span) -> String {
    let ok_result = span.result.as_ref().filter(|_| span.outcome == Outcome::Ok);
    let value = |value: &Value| match value {
        Value::Nil => "nil".to_owned(),
        other => describe(other),
    };
    match (span.f.as_str(), &span.argument) {
        ("read", _) => format!("r {}", ok_result.map_or_else(|| "?".to_owned(), value)),
        ("write", argument) => format!("w {}", value(argument)),
        ("cas", Value::List(pair)) if pair.len() == 2 => {
            format!("cas {}->{}", value(&pair[0]), value(&pair[1]))
        }
        (f, argument) => {
            let mut label = f.to_owned();
            if !argument.is_nil() {
                label = format!("{label} {}", describe(argument));
            }
            match ok_result {
                Some(result) if !result.is_nil() && result != argument => {
                    format!("{label} -> {}", describe(result))
                }
                _ => label,
            }
        }
    }
}

/// One operation: `process 3: read -> 2 (ok, served by n2; history position 41, line 42)`.
pub(crate) fn describe_op(op: &OpSummary, served_by: &BTreeMap<usize, String>) -> String {
    let outcome = match op.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    };
    let completed = if op.completion_position.is_none() {
        ", never completed"
    } else {
        ""
    };
    let node = |position: usize| served_by.get(&position).map(String::as_str);
    let node = op
        .completion_position
        .and_then(node)
        .or_else(|| node(op.invoke_position))
        .map(|node| format!(", served by {node}"))
        .unwrap_or_default();
    format!(
        "process {}: {} ({outcome}{completed}{node}; history position {}, line {})",
        op.process, op.description, op.invoke_position, op.line
    )
}

/// The headline: `not linearizable (key 3): process 3: read -> 2 (...) cannot be linearized
/// in state 1`.
pub(crate) fn headline(cex: &Counterexample, served_by: &BTreeMap<usize, String>) -> String {
    let key = cex
        .partition
        .as_ref()
        .map(|k| format!(" (key {})", describe(k)))
        .unwrap_or_default();
    format!(
        "not linearizable{key}: {} cannot be linearized in state {}",
        describe_op(&cex.operation, served_by),
        cex.state
    )
}

/// The last [`PREFIX_SHOWN`] steps of the longest linearizable prefix: `(step number,
/// operation, state after)`.
pub(crate) fn prefix_tail<'c>(
    cex: &'c Counterexample,
    served_by: &BTreeMap<usize, String>,
) -> Vec<(usize, String, &'c str)> {
    let skip = cex.linearized.len().saturating_sub(PREFIX_SHOWN);
    cex.linearized
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, step)| {
            let what = describe_op(&step.operation, served_by);
            (i + 1, what, step.state.as_str())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Extract;
    use rafty_checkers::{History, Op, OpType, Process};

    /// The label of the one operation `f` invoked with `argument` and completed as `kind` with
    /// `result`.
    fn label(f: &str, argument: Value, kind: OpType, result: Value) -> String {
        let p = Process::Client(0);
        let history = History::from_ops([
            Op::new(p.clone(), OpType::Invoke, f, argument).with_time(1),
            Op::new(p, kind, f, result).with_time(2),
        ]);
        let extract = Extract::new(&history).unwrap();
        bar_label(&extract.drawn[0])
    }

    #[test]
    fn bars_are_labelled_as_porcupine_labels_them() {
        let cas = || Value::List(vec![Value::Int(1), Value::Int(4)]);
        assert_eq!(
            label("write", Value::Int(3), OpType::Ok, Value::Int(3)),
            "w 3"
        );
        assert_eq!(label("read", Value::Nil, OpType::Ok, Value::Int(2)), "r 2");
        assert_eq!(label("read", Value::Nil, OpType::Ok, Value::Nil), "r nil");
        assert_eq!(label("read", Value::Nil, OpType::Info, Value::Nil), "r ?");
        assert_eq!(label("cas", cas(), OpType::Fail, cas()), "cas 1->4");
        assert_eq!(
            label("append", Value::from("x"), OpType::Ok, Value::from("x")),
            "append x"
        );
        assert_eq!(
            label("get", Value::Nil, OpType::Ok, Value::Int(5)),
            "get -> 5"
        );
    }
}
