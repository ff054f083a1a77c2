//! Synthetic list-append histories: a serial list store run by overlapping clients, so that
//! every history is strictly serializable by construction (each transaction takes effect,
//! all at once, between its invocation and its completion).

use std::collections::BTreeMap;

use crate::history::{History, Op, OpType, Process};
use crate::synthetic::SplitMix;
use crate::value::Value;

/// The shape of a synthetic list-append history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListAppendShape {
    /// Transactions to invoke.
    pub transactions: usize,
    /// Micro-operations per transaction.
    pub mops_per_txn: usize,
    /// Keys in use at a time; a key that has had `appends_per_key` appends is retired and
    /// a fresh one takes its place.
    pub active_keys: u64,
    /// Appends a key gets before it is retired (bounds the length of reads).
    pub appends_per_key: u64,
    /// Concurrent client processes.
    pub processes: u64,
    /// Out of 1000 transactions, how many complete `info` (and then took effect or not, at
    /// random), and as many again `fail` (without taking effect).
    pub indeterminate_per_mille: u64,
    /// The seed of the generator.
    pub seed: u64,
}

impl Default for ListAppendShape {
    /// The scale target of issue 23: 1,000,000 transactions of 4 micro-operations, 10 keys
    /// active at a time (16 appends each), 10 processes, 1% indeterminate and 1% failed.
    fn default() -> ListAppendShape {
        ListAppendShape {
            transactions: 1_000_000,
            mops_per_txn: 4,
            active_keys: 10,
            appends_per_key: 16,
            processes: 10,
            indeterminate_per_mille: 10,
            seed: 1,
        }
    }
}

/// A transaction in flight on one process.
struct InFlight {
    /// Micro-operations as invoked: `(is append, key, element)`.
    mops: Vec<(bool, u64, i64)>,
    /// The completed value, once it took effect.
    result: Option<Value>,
}

/// The serial store and the key rotation.
struct Store {
    lists: BTreeMap<u64, Vec<i64>>,
    active: Vec<u64>,
    appends: BTreeMap<u64, u64>,
    next_key: u64,
    next_element: i64,
}

impl Store {
    /// Applies `mops` at once; returns the completed value (reads filled in).
    fn apply(&mut self, mops: &[(bool, u64, i64)]) -> Value {
        let mut out = Vec::with_capacity(mops.len());
        for &(append, key, element) in mops {
            let list = self.lists.entry(key).or_default();
            if append {
                list.push(element);
                out.push(mop("append", key, Value::Int(element)));
            } else {
                let read = list.iter().map(|e| Value::Int(*e)).collect();
                out.push(mop("r", key, Value::List(read)));
            }
        }
        Value::List(out)
    }

    /// A fresh transaction's micro-operations over the active keys.
    fn draw(&mut self, random: &mut SplitMix, shape: &ListAppendShape) -> Vec<(bool, u64, i64)> {
        (0..shape.mops_per_txn)
            .map(|_| {
                let slot = random.below(self.active.len() as u64) as usize;
                let key = self.active[slot];
                if random.below(2) == 0 {
                    return (false, key, 0);
                }
                self.next_element += 1;
                let count = self.appends.entry(key).or_insert(0);
                *count += 1;
                if *count >= shape.appends_per_key {
                    self.appends.remove(&key);
                    self.active[slot] = self.next_key;
                    self.next_key += 1;
                }
                (true, key, self.next_element)
            })
            .collect()
    }
}

fn mop(f: &str, key: u64, value: Value) -> Value {
    Value::List(vec![
        Value::Keyword(f.to_owned()),
        Value::Int(key as i64),
        value,
    ])
}

fn invocation(mops: &[(bool, u64, i64)]) -> Value {
    Value::List(
        mops.iter()
            .map(|&(append, key, element)| match append {
                true => mop("append", key, Value::Int(element)),
                false => mop("r", key, Value::Nil),
            })
            .collect(),
    )
}

/// A strictly serializable list-append history of `shape`: each step, a random process
/// invokes a transaction, applies its in-flight one to the serial store, or completes it.
pub fn list_append_history(shape: &ListAppendShape) -> History {
    let mut random = SplitMix(shape.seed);
    let mut store = Store {
        lists: BTreeMap::new(),
        active: (0..shape.active_keys).collect(),
        appends: BTreeMap::new(),
        next_key: shape.active_keys,
        next_element: 0,
    };
    let mut history = History::new();
    let mut in_flight: Vec<Option<InFlight>> = (0..shape.processes).map(|_| None).collect();
    let mut invoked = 0;
    let mut time = 0u64;
    while invoked < shape.transactions || in_flight.iter().any(Option::is_some) {
        time += 1;
        let process = random.below(shape.processes);
        let slot = &mut in_flight[process as usize];
        let event = |kind, value| {
            Op::new(Process::Client(process), kind, "txn", value).with_time(time * 1000)
        };
        match slot {
            None if invoked < shape.transactions => {
                let mops = store.draw(&mut random, shape);
                history.push(event(OpType::Invoke, invocation(&mops)));
                *slot = Some(InFlight { mops, result: None });
                invoked += 1;
            }
            None => {}
            Some(txn) if txn.result.is_none() => {
                let roll = random.below(1000);
                if roll < shape.indeterminate_per_mille {
                    // Indeterminate: took effect or not, at random.
                    if random.below(2) == 0 {
                        store.apply(&txn.mops);
                    }
                    history.push(event(OpType::Info, invocation(&txn.mops)));
                    *slot = None;
                } else if roll < 2 * shape.indeterminate_per_mille {
                    history.push(event(OpType::Fail, invocation(&txn.mops)));
                    *slot = None;
                } else {
                    txn.result = Some(store.apply(&txn.mops));
                }
            }
            Some(txn) => {
                let result = txn.result.take().expect("an applied transaction's result");
                history.push(event(OpType::Ok, result));
                *slot = None;
            }
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::{ElleOptions, TxnModel, check};

    fn small(seed: u64) -> ListAppendShape {
        ListAppendShape {
            transactions: 2000,
            processes: 5,
            indeterminate_per_mille: 50,
            seed,
            ..ListAppendShape::default()
        }
    }

    #[test]
    fn a_synthetic_history_is_strict_serializable() {
        let history = list_append_history(&small(3));
        let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
        assert!(result.valid, "{}", result.describe());
        assert!(result.anomaly_types.is_empty(), "{}", result.describe());
        assert_eq!(result.transactions, 2000);
        assert!(result.failed > 0 && result.indeterminate > 0);
        assert!(result.edges.ww > 0 && result.edges.wr > 0 && result.edges.rw > 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        assert_eq!(
            list_append_history(&small(9)),
            list_append_history(&small(9))
        );
        assert_ne!(
            list_append_history(&small(9)),
            list_append_history(&small(10))
        );
    }
}
