//! The counter: `add n` and `read`. Each `ok` read lies between the sum of the adds certainly
//! applied when it was invoked (acknowledged before) and the sum of those possibly applied
//! when it completed (invoked before, not failed); a negative add widens the lower bound.

use crate::error::HistoryError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

use super::{Findings, line};

/// The prefix sums of the adds' positive and negative parts, by a position.
struct Sums {
    /// `(position, positive part, negative part)`, sorted by position, summed from the start.
    prefix: Vec<(usize, i64, i64)>,
}

impl Sums {
    fn new(mut points: Vec<(usize, i64)>) -> Sums {
        points.sort_unstable();
        let (mut positive, mut negative) = (0i64, 0i64);
        let prefix = points
            .into_iter()
            .map(|(position, delta)| {
                if delta >= 0 {
                    positive = positive.saturating_add(delta);
                } else {
                    negative = negative.saturating_add(delta);
                }
                (position, positive, negative)
            })
            .collect();
        Sums { prefix }
    }

    /// The sums over the adds at positions before `position`.
    fn before(&self, position: usize) -> (i64, i64) {
        let count = self.prefix.partition_point(|&(at, _, _)| at < position);
        count
            .checked_sub(1)
            .map_or((0, 0), |last| (self.prefix[last].1, self.prefix[last].2))
    }
}

/// Checks the reads; returns the summary and whether the verdict is unknown (never).
pub(crate) fn check(
    history: &History,
    operations: &[Operation<'_>],
    findings: &mut Findings,
) -> Result<(String, bool), HistoryError> {
    let mut certain = Vec::new();
    let mut possible = Vec::new();
    for operation in operations {
        if operation.f().as_str() != "add" || operation.outcome() == Outcome::Fail {
            continue;
        }
        let Some(delta) = operation.argument().as_int() else {
            return Err(history.error_at(
                operation.invoke_position,
                format!("a counter adds an integer, not {}", operation.argument()),
            ));
        };
        possible.push((operation.invoke_position, delta));
        if let (Outcome::Ok, Some(done)) = (operation.outcome(), operation.completion_position) {
            certain.push((done, delta));
        }
    }
    let (certain, possible) = (Sums::new(certain), Sums::new(possible));
    let mut reads = 0;
    for operation in operations {
        if operation.f().as_str() != "read" || operation.outcome() != Outcome::Ok {
            continue;
        }
        reads += 1;
        let at = line(history, operation);
        let value = operation.result().unwrap_or(&Value::Nil);
        let Some(read) = value.as_int() else {
            findings.add(at, "garbage-read", || {
                format!("read {value}, not an integer")
            });
            continue;
        };
        let (sure_up, sure_down) = certain.before(operation.invoke_position);
        let done = operation.completion_position.unwrap_or(usize::MAX);
        let (maybe_up, maybe_down) = possible.before(done);
        let lower = sure_up + maybe_down;
        let upper = maybe_up + sure_down;
        if read < lower || read > upper {
            findings.add(at, "out-of-bounds", || {
                format!("read {read}, outside [{lower}, {upper}] (what was certainly and what possibly was added)")
            });
        }
    }
    Ok((format!("{reads} reads"), false))
}

#[cfg(test)]
mod tests {
    use crate::direct::test_support::history;
    use crate::direct::{DirectModel, DirectOptions, DirectVerdict, check};
    use crate::history::OpType::{Info, Invoke, Ok};
    use crate::value::Value;

    fn run(h: &crate::history::History) -> crate::direct::DirectResult {
        check(DirectModel::Counter, h, &DirectOptions::default()).unwrap()
    }

    #[test]
    fn reads_between_the_certain_and_the_possible_sums_are_valid() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(2)),
            (0, Ok, "add", Value::Int(2)),
            (1, Invoke, "add", Value::Int(5)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", Value::Int(7)),
            (1, Info, "add", Value::Int(5)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", Value::Int(2)),
        ]);
        assert_eq!(run(&h).valid, DirectVerdict::Valid);
    }

    #[test]
    fn a_read_below_the_acknowledged_adds_or_above_every_add_is_out_of_bounds() {
        let h = history(&[
            (0, Invoke, "add", Value::Int(2)),
            (0, Ok, "add", Value::Int(2)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", Value::Int(1)),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", Value::Int(3)),
        ]);
        let result = run(&h);
        assert_eq!(result.finding_count, 2);
        assert!(result.findings[0].message.contains("outside [2, 2]"));
        assert_eq!(result.findings[1].line, 6);
    }
}
