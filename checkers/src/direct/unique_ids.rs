//! Unique ids: no two `ok` generates return the same id.

use std::collections::BTreeMap;

use crate::error::HistoryError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

use super::{Findings, line};

/// Checks the `ok` generates; returns the summary and whether the verdict is unknown (never).
pub(crate) fn check(
    history: &History,
    operations: &[Operation<'_>],
    findings: &mut Findings,
) -> Result<(String, bool), HistoryError> {
    let mut first_line: BTreeMap<&Value, usize> = BTreeMap::new();
    for operation in operations {
        if operation.outcome() != Outcome::Ok {
            continue;
        }
        let at = line(history, operation);
        let id = operation.result().unwrap_or(&Value::Nil);
        if let Some(&earlier) = first_line.get(id) {
            findings.add(at, "duplicate", || {
                format!("id {id} was generated already, at line {earlier}")
            });
        } else {
            first_line.insert(id, at);
        }
    }
    Ok((format!("{} distinct ids", first_line.len()), false))
}

#[cfg(test)]
mod tests {
    use crate::direct::test_support::history;
    use crate::direct::{DirectModel, DirectOptions, DirectVerdict, check};
    use crate::history::OpType::{Info, Invoke, Ok};
    use crate::value::Value;

    #[test]
    fn distinct_ids_are_valid_and_an_indeterminate_generate_counts_for_nothing() {
        let h = history(&[
            (0, Invoke, "generate", Value::Nil),
            (1, Invoke, "generate", Value::Nil),
            (0, Ok, "generate", Value::Int(1)),
            (1, Info, "generate", Value::Nil),
            (2, Invoke, "generate", Value::Nil),
            (2, Ok, "generate", Value::Int(3)),
        ]);
        let result = check(DirectModel::UniqueIds, &h, &DirectOptions::default()).unwrap();
        assert_eq!(result.valid, DirectVerdict::Valid);
        assert_eq!(result.summary, "2 distinct ids");
    }

    #[test]
    fn an_id_returned_twice_names_both_lines() {
        let h = history(&[
            (0, Invoke, "generate", Value::Nil),
            (0, Ok, "generate", Value::Int(4)),
            (1, Invoke, "generate", Value::Nil),
            (1, Ok, "generate", Value::Int(4)),
        ]);
        let result = check(DirectModel::UniqueIds, &h, &DirectOptions::default()).unwrap();
        assert_eq!(result.valid, DirectVerdict::Invalid);
        assert_eq!(result.findings[0].line, 4);
        assert!(result.findings[0].message.contains("at line 2"));
    }
}
