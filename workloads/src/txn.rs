//! Transactions: a client operation made of micro-operations that the key-value service
//! applies at once, in one log entry (`KvCommand::Txn`), and how each transactional workload
//! writes one into a history.
//!
//! Every transactional workload runs on the same few micro-operations over the store's string
//! values: an append adds ` <integer>` to a key's text (so the text is a list of integers), a
//! write sets it to one integer, a read returns it. What differs is how the history shows the
//! transaction ([`TxnShape`]): Elle's `txn` with its micro-operations (list-append,
//! rw-register), or Jepsen's operation of the workload (`transfer`, `add`, `read`, `generate`)
//! computed from what the micro-operations read.

use std::collections::BTreeMap;

use rafty_checkers::Value;
use serde::{Deserialize, Serialize};

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mop {
    /// Append the integer `value` to the list at `key`.
    Append {
        /// The key.
        key: String,
        /// The integer appended.
        value: i64,
    },
    /// Set the register at `key` to `value`.
    Write {
        /// The key.
        key: String,
        /// The value written.
        value: i64,
    },
    /// Read the list at `key`.
    ReadList {
        /// The key.
        key: String,
    },
    /// Read the register at `key`.
    ReadRegister {
        /// The key.
        key: String,
    },
}

impl Mop {
    /// The key it touches.
    pub fn key(&self) -> &str {
        match self {
            Mop::Append { key, .. }
            | Mop::Write { key, .. }
            | Mop::ReadList { key }
            | Mop::ReadRegister { key } => key,
        }
    }

    /// Whether it reads.
    pub fn is_read(&self) -> bool {
        matches!(self, Mop::ReadList { .. } | Mop::ReadRegister { .. })
    }

    /// The text an append adds to the key's value: a space, then the integer.
    pub fn appended_text(value: i64) -> String {
        format!(" {value}")
    }

    /// What a read of this micro-operation observed, from the key's text (`None`: absent):
    /// a list of integers (an absent list is empty), or one integer (`nil` when absent). Text
    /// that is not what the workload writes is kept as a string, for the checker to reject.
    pub fn observed(&self, text: Option<&str>) -> Value {
        match (self, text) {
            (Mop::ReadRegister { .. }, None) => Value::Nil,
            (Mop::ReadRegister { .. }, Some(text)) => text
                .parse()
                .map(Value::Int)
                .unwrap_or_else(|_| Value::String(text.to_owned())),
            (_, text) => parse_list(text.unwrap_or("")),
        }
    }

    /// Elle's form `[f k v]`: `["append", "k3", 7]`, `["r", "k3", [1, 7]]`; `read` is what a
    /// read observed (`nil` in an invocation).
    fn elle(&self, read: Value) -> Value {
        let (f, value) = match self {
            Mop::Append { value, .. } => ("append", Value::Int(*value)),
            Mop::Write { value, .. } => ("w", Value::Int(*value)),
            Mop::ReadList { .. } | Mop::ReadRegister { .. } => ("r", read),
        };
        Value::List(vec![
            Value::String(f.to_owned()),
            Value::String(self.key().to_owned()),
            value,
        ])
    }
}

/// The integers of a list's text (` 1 7 3`); the text itself when a word is not one.
fn parse_list(text: &str) -> Value {
    let parsed: Result<Vec<Value>, _> = text
        .split_whitespace()
        .map(|word| word.parse::<i64>().map(Value::Int))
        .collect();
    parsed
        .map(Value::List)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The sum of a list's integers (`None` when it is not a list of integers).
fn sum(list: &Value) -> Option<i64> {
    list.as_list()?
        .iter()
        .map(Value::as_int)
        .try_fold(0i64, |total, item| Some(total.saturating_add(item?)))
}

/// How a transaction appears in the history, and what its workload's checker reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnShape {
    /// Elle's `txn`: the micro-operations, reads filled in (list-append, rw-register).
    Elle,
    /// A bank `transfer` of `amount` from account `from` to `to` (appends `-amount` and
    /// `amount`: an account's balance is its initial balance plus its list's sum).
    Transfer {
        /// The account debited.
        from: String,
        /// The account credited.
        to: String,
        /// How much.
        amount: i64,
    },
    /// A bank `read` of every account's balance (a list read each).
    ReadBalances {
        /// Every account's initial balance.
        initial: i64,
    },
    /// A set `add` of `value` (appended to the set's list).
    SetAdd {
        /// The element.
        value: i64,
    },
    /// A set `read`: the elements in the set's list, sorted.
    SetRead,
    /// A counter `add` of `delta` (appended to the counter's list).
    CounterAdd {
        /// The increment.
        delta: i64,
    },
    /// A counter `read`: the sum of the counter's list.
    CounterRead,
    /// A unique-ids `generate`: append a token and read the list back; the id is the list's
    /// length then (where the token landed).
    GenerateId,
}

impl TxnShape {
    /// The history function name.
    pub fn function(&self) -> &'static str {
        match self {
            TxnShape::Elle => "txn",
            TxnShape::Transfer { .. } => "transfer",
            TxnShape::SetAdd { .. } | TxnShape::CounterAdd { .. } => "add",
            TxnShape::ReadBalances { .. } | TxnShape::SetRead | TxnShape::CounterRead => "read",
            TxnShape::GenerateId => "generate",
        }
    }

    /// Whether the operation changes nothing.
    pub fn is_read(&self, mops: &[Mop]) -> bool {
        match self {
            TxnShape::Elle => mops.iter().all(Mop::is_read),
            TxnShape::ReadBalances { .. } | TxnShape::SetRead | TxnShape::CounterRead => true,
            _ => false,
        }
    }

    /// The value an invocation carries.
    pub fn invoke_value(&self, mops: &[Mop]) -> Value {
        match self {
            TxnShape::Elle => Value::List(mops.iter().map(|mop| mop.elle(Value::Nil)).collect()),
            TxnShape::Transfer { from, to, amount } => Value::Map(BTreeMap::from([
                (keyword("from"), Value::String(from.clone())),
                (keyword("to"), Value::String(to.clone())),
                (keyword("amount"), Value::Int(*amount)),
            ])),
            TxnShape::SetAdd { value } => Value::Int(*value),
            TxnShape::CounterAdd { delta } => Value::Int(*delta),
            TxnShape::ReadBalances { .. }
            | TxnShape::SetRead
            | TxnShape::CounterRead
            | TxnShape::GenerateId => Value::Nil,
        }
    }

    /// The value an `ok` completion carries, from what each micro-operation observed
    /// (`observed[i]` for `mops[i]`, nil for a write).
    pub fn completion_value(&self, mops: &[Mop], observed: &[Value]) -> Value {
        let read = |index: usize| observed.get(index).cloned().unwrap_or(Value::Nil);
        match self {
            TxnShape::Elle => Value::List(
                mops.iter()
                    .enumerate()
                    .map(|(index, mop)| mop.elle(read(index)))
                    .collect(),
            ),
            TxnShape::ReadBalances { initial } => Value::Map(
                mops.iter()
                    .enumerate()
                    .map(|(index, mop)| {
                        let list = read(index);
                        let balance = sum(&list).map_or(list, |sum| Value::Int(initial + sum));
                        (Value::String(mop.key().to_owned()), balance)
                    })
                    .collect(),
            ),
            TxnShape::SetRead => match read(0) {
                Value::List(mut items) => {
                    items.sort();
                    Value::List(items)
                }
                other => other,
            },
            TxnShape::CounterRead => {
                let list = read(0);
                sum(&list).map_or(list, Value::Int)
            }
            TxnShape::GenerateId => match read(1) {
                Value::List(items) => Value::Int(items.len() as i64),
                other => other,
            },
            TxnShape::Transfer { .. } | TxnShape::SetAdd { .. } | TxnShape::CounterAdd { .. } => {
                self.invoke_value(mops)
            }
        }
    }
}

fn keyword(name: &str) -> Value {
    Value::Keyword(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().copied().map(Value::Int).collect())
    }

    #[test]
    fn a_list_read_parses_the_appended_integers_and_an_absent_key_is_empty() {
        let read = Mop::ReadList { key: "k".into() };
        let text = format!("{}{}", Mop::appended_text(3), Mop::appended_text(-1));
        assert_eq!(read.observed(Some(&text)), list(&[3, -1]));
        assert_eq!(read.observed(None), list(&[]));
        assert_eq!(
            read.observed(Some("x 1")),
            Value::String("x 1".into()),
            "text the workload never writes is kept for the checker to reject"
        );
    }

    #[test]
    fn a_register_read_is_an_integer_or_nil() {
        let read = Mop::ReadRegister { key: "k".into() };
        assert_eq!(read.observed(Some("12")), Value::Int(12));
        assert_eq!(read.observed(None), Value::Nil);
    }

    #[test]
    fn an_elle_txn_records_its_micro_operations_with_what_each_read() {
        let mops = vec![
            Mop::Append {
                key: "k1".into(),
                value: 4,
            },
            Mop::ReadList { key: "k1".into() },
        ];
        let invoke = TxnShape::Elle.invoke_value(&mops).to_string();
        assert!(invoke.contains("nil"), "{invoke}");
        let done = TxnShape::Elle.completion_value(&mops, &[Value::Nil, list(&[2, 4])]);
        assert_eq!(
            done,
            Value::List(vec![
                Value::List(vec!["append".into(), "k1".into(), Value::Int(4)]),
                Value::List(vec!["r".into(), "k1".into(), list(&[2, 4])]),
            ])
        );
    }

    #[test]
    fn a_bank_read_is_each_balance_and_a_counter_read_the_sum() {
        let mops = vec![
            Mop::ReadList { key: "k0".into() },
            Mop::ReadList { key: "k1".into() },
        ];
        let balances = TxnShape::ReadBalances { initial: 10 }
            .completion_value(&mops, &[list(&[-3]), list(&[3, 2])]);
        assert_eq!(
            balances,
            Value::Map(BTreeMap::from([
                ("k0".into(), Value::Int(7)),
                ("k1".into(), Value::Int(15)),
            ]))
        );
        let counter = TxnShape::CounterRead.completion_value(&mops[..1], &[list(&[1, 2, 3])]);
        assert_eq!(counter, Value::Int(6));
    }

    #[test]
    fn a_generated_id_is_the_length_of_the_list_its_token_made() {
        let mops = vec![
            Mop::Append {
                key: "ids".into(),
                value: 9,
            },
            Mop::ReadList { key: "ids".into() },
        ];
        let id = TxnShape::GenerateId.completion_value(&mops, &[Value::Nil, list(&[5, 7, 9])]);
        assert_eq!(id, Value::Int(3));
    }
}
