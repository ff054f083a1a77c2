//! The linearizability counterexample in words, for summary.txt and the timeline's header.

use rafty_checkers::linearizability::OpSummary;
use rafty_checkers::{Counterexample, Outcome};

use crate::extract::describe;

/// At most this many steps of the linearizable prefix are written out (the last ones).
pub(crate) const PREFIX_SHOWN: usize = 8;

/// One operation: `process 3: read -> 2 (ok; history position 41, line 42)`.
pub(crate) fn describe_op(op: &OpSummary) -> String {
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
    format!(
        "process {}: {} ({outcome}{completed}; history position {}, line {})",
        op.process, op.description, op.invoke_position, op.line
    )
}

/// The headline: `not linearizable (key 3): process 3: read -> 2 (...) cannot be linearized
/// in state 1`.
pub(crate) fn headline(cex: &Counterexample) -> String {
    let key = cex
        .partition
        .as_ref()
        .map(|k| format!(" (key {})", describe(k)))
        .unwrap_or_default();
    format!(
        "not linearizable{key}: {} cannot be linearized in state {}",
        describe_op(&cex.operation),
        cex.state
    )
}

/// The last [`PREFIX_SHOWN`] steps of the longest linearizable prefix: `(step number,
/// operation, state after)`.
pub(crate) fn prefix_tail(cex: &Counterexample) -> Vec<(usize, String, &str)> {
    let skip = cex.linearized.len().saturating_sub(PREFIX_SHOWN);
    cex.linearized
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, step)| (i + 1, describe_op(&step.operation), step.state.as_str()))
        .collect()
}
