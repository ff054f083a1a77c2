//! The bank: transfers move money between accounts and never create or destroy it, so every
//! `ok` read of every account's balance sums to the same total, and names the same accounts.
//! (Balances may go negative: rafty's bank has no overdraft rule to check.)

use crate::error::HistoryError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

use super::{DirectOptions, Findings, line};

/// Checks the `ok` reads; returns the summary and whether the verdict is unknown (never).
pub(crate) fn check(
    history: &History,
    operations: &[Operation<'_>],
    options: &DirectOptions,
    findings: &mut Findings,
) -> Result<(String, bool), HistoryError> {
    let mut total = options.bank_total;
    let mut accounts: Option<Vec<&Value>> = None;
    let mut reads = 0;
    for operation in operations {
        if operation.f().as_str() != "read" || operation.outcome() != Outcome::Ok {
            continue;
        }
        reads += 1;
        let at = line(history, operation);
        let value = operation.result().unwrap_or(&Value::Nil);
        let Value::Map(balances) = value else {
            return Err(history.error_at(
                operation
                    .completion_position
                    .unwrap_or(operation.invoke_position),
                format!("a bank read returns a map of account to balance, not {value}"),
            ));
        };
        let mut sum = 0i64;
        for (account, balance) in balances {
            match balance.as_int() {
                Some(balance) => sum = sum.saturating_add(balance),
                None => {
                    findings.add(at, "garbage-balance", || {
                        format!("account {account} read {balance}, not an integer")
                    });
                }
            }
        }
        let names: Vec<&Value> = balances.keys().collect();
        match &accounts {
            None => accounts = Some(names),
            Some(expected) if *expected != names => findings.add(at, "wrong-accounts", || {
                format!("the read names accounts {names:?}, the first read named {expected:?}")
            }),
            Some(_) => {}
        }
        match total {
            None => total = Some(sum),
            Some(expected) if expected != sum => findings.add(at, "wrong-total", || {
                format!("balances {value} sum to {sum}, not the total {expected}")
            }),
            Some(_) => {}
        }
    }
    let total = total.map_or("none".to_owned(), |total| total.to_string());
    Ok((format!("{reads} reads, total {total}"), false))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::direct::test_support::history;
    use crate::direct::{DirectModel, DirectOptions, DirectVerdict, check};
    use crate::history::OpType::{Invoke, Ok};
    use crate::value::Value;

    fn balances(pairs: &[(&str, i64)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(account, balance)| (Value::from(*account), Value::Int(*balance)))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn transfer(from: &str, to: &str, amount: i64) -> Value {
        Value::Map(BTreeMap::from([
            (Value::Keyword("from".into()), Value::from(from)),
            (Value::Keyword("to".into()), Value::from(to)),
            (Value::Keyword("amount".into()), Value::Int(amount)),
        ]))
    }

    #[test]
    fn reads_that_keep_the_total_are_valid() {
        let h = history(&[
            (0, Invoke, "transfer", transfer("a", "b", 3)),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "transfer", transfer("a", "b", 3)),
            (1, Ok, "read", balances(&[("a", 7), ("b", 13)])),
        ]);
        let options = DirectOptions {
            bank_total: Some(20),
        };
        let result = check(DirectModel::Bank, &h, &options).unwrap();
        assert_eq!(result.valid, DirectVerdict::Valid, "{result:?}");
    }

    #[test]
    fn a_read_of_half_a_transfer_has_the_wrong_total() {
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", balances(&[("a", 10), ("b", 10)])),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", balances(&[("a", 7), ("b", 10)])),
        ]);
        let result = check(DirectModel::Bank, &h, &DirectOptions::default()).unwrap();
        assert_eq!(result.valid, DirectVerdict::Invalid);
        assert_eq!(result.findings[0].kind, "wrong-total");
        assert_eq!(result.findings[0].line, 4);
        assert!(
            result.findings[0]
                .message
                .contains("sum to 17, not the total 20")
        );
    }

    #[test]
    fn a_read_missing_an_account_is_named() {
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", balances(&[("a", 10), ("b", 10)])),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", balances(&[("a", 20)])),
        ]);
        let result = check(DirectModel::Bank, &h, &DirectOptions::default()).unwrap();
        assert_eq!(result.findings[0].kind, "wrong-accounts");
    }

    #[test]
    fn a_read_that_is_not_a_map_is_an_error_naming_its_line() {
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Int(3)),
        ]);
        let error = check(DirectModel::Bank, &h, &DirectOptions::default()).unwrap_err();
        assert!(error.to_string().contains(":2:"), "{error}");
    }
}
