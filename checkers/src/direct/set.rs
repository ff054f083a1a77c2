//! The set: `add` puts an element in, `read` returns every element. The last `ok` read holds
//! every add acknowledged before it was invoked (else the add was lost); no read holds an
//! element that was never added (or whose add failed), or an element twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::HistoryError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

use super::{Findings, line};

/// Checks the reads; returns the summary and whether the verdict is unknown (no `ok` read).
pub(crate) fn check(
    history: &History,
    operations: &[Operation<'_>],
    findings: &mut Findings,
) -> Result<(String, bool), HistoryError> {
    // Each element added (not failed): the position of its invocation.
    let mut attempted: BTreeMap<&Value, usize> = BTreeMap::new();
    for operation in operations {
        if operation.f().as_str() == "add" && operation.outcome() != Outcome::Fail {
            attempted
                .entry(operation.argument())
                .or_insert(operation.invoke_position);
        }
    }
    let mut last_read: Option<(&Operation<'_>, BTreeSet<&Value>)> = None;
    for operation in operations {
        if operation.f().as_str() != "read" || operation.outcome() != Outcome::Ok {
            continue;
        }
        let at = line(history, operation);
        let completed = operation.completion_position.unwrap_or(usize::MAX);
        let value = operation.result().unwrap_or(&Value::Nil);
        let Some(items) = value.as_list() else {
            return Err(history.error_at(
                completed.min(history.len().saturating_sub(1)),
                format!("a set read returns a list of elements, not {value}"),
            ));
        };
        let mut seen = BTreeSet::new();
        for item in items {
            if !seen.insert(item) {
                findings.add(at, "duplicate", || format!("element {item} read twice"));
            }
            if attempted
                .get(item)
                .is_none_or(|&invoked| invoked >= completed)
            {
                findings.add(at, "unexpected", || {
                    format!("element {item} read, but never added before the read completed")
                });
            }
        }
        let later = last_read
            .as_ref()
            .is_none_or(|(previous, _)| previous.completion_position.unwrap_or(0) < completed);
        if later {
            last_read = Some((operation, seen));
        }
    }
    let Some((last, elements)) = last_read else {
        return Ok(("no ok read".to_owned(), true));
    };
    let last_line = line(history, last);
    let mut lost = 0;
    for operation in operations {
        let acknowledged_before = operation.f().as_str() == "add"
            && operation.outcome() == Outcome::Ok
            && operation
                .completion_position
                .is_some_and(|done| done < last.invoke_position);
        if acknowledged_before && !elements.contains(operation.argument()) {
            lost += 1;
            findings.add(line(history, operation), "lost", || {
                format!(
                    "element {} was added (acknowledged here) but the final read at line \
                     {last_line} does not hold it",
                    operation.argument()
                )
            });
        }
    }
    Ok((
        format!(
            "{} elements attempted, final read of {} at line {last_line}, {lost} lost",
            attempted.len(),
            elements.len()
        ),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use crate::direct::test_support::{history, ints};
    use crate::direct::{DirectModel, DirectOptions, DirectVerdict, check};
    use crate::history::OpType::{Fail, Info, Invoke, Ok};
    use crate::value::Value;

    fn run(h: &crate::history::History) -> crate::direct::DirectResult {
        check(DirectModel::Set, h, &DirectOptions::default()).unwrap()
    }

    #[test]
    fn a_final_read_with_every_acknowledged_add_is_valid_and_an_indeterminate_add_may_be_missing() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(1)),
            (0, Ok, "add", Value::Int(1)),
            (1, Invoke, "add", Value::Int(2)),
            (1, Info, "add", Value::Int(2)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", ints(&[1])),
        ]);
        assert_eq!(run(&h).valid, DirectVerdict::Valid);
    }

    #[test]
    fn an_acknowledged_add_missing_from_the_final_read_is_lost() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(1)),
            (0, Ok, "add", Value::Int(1)),
            (0, Invoke, "add", Value::Int(2)),
            (0, Ok, "add", Value::Int(2)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", ints(&[2])),
        ]);
        let result = run(&h);
        assert_eq!(result.valid, DirectVerdict::Invalid);
        assert_eq!(
            (result.findings[0].kind, result.findings[0].line),
            ("lost", 2)
        );
    }

    #[test]
    fn an_element_never_added_or_whose_add_failed_or_read_twice_is_named() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(1)),
            (0, Fail, "add", Value::Int(1)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", ints(&[1, 5])),
        ]);
        let result = run(&h);
        let kinds: Vec<&str> = result.findings.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["unexpected", "unexpected"]);
        let h = history(&[
            (0, Invoke, "add", Value::Int(1)),
            (0, Ok, "add", Value::Int(1)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", ints(&[1, 1])),
        ]);
        assert_eq!(run(&h).findings[0].kind, "duplicate");
    }

    #[test]
    fn without_an_ok_read_the_verdict_is_unknown() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(1)),
            (0, Ok, "add", Value::Int(1)),
        ]);
        assert_eq!(run(&h).valid, DirectVerdict::Unknown);
    }
}
