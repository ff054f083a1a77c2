//! The linearizability counterexample in words, for summary.txt and the timeline's header.

use rafty_checkers::linearizability::OpSummary;
use rafty_checkers::{Counterexample, Outcome};

use crate::extract::describe;

/// At most this many steps of the linearizable prefix are written out (the last ones).
pub(crate) const PREFIX_SHOWN: usize = 8;

/// One operation: `process 3: read -> 2 (ok, served by n2; history position 41, line 42)`.
pub(crate) fn describe_op(op: &OpSummary, served_by: &[Option<String>]) -> String {
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
    let node = |position: usize| served_by.get(position)?.as_deref();
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
pub(crate) fn headline(cex: &Counterexample, served_by: &[Option<String>]) -> String {
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
    served_by: &[Option<String>],
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
