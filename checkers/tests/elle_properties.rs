//! Property tests of the transactional checker:
//! - random serial executions of list-append, overlapped in time, with failed and
//!   indeterminate transactions, are always valid (strict serializable, no anomaly);
//! - on small ones with one read corrupted (an element dropped, or two swapped), the
//!   verdict agrees with a brute-force search over every serial order that respects real
//!   time: a corruption is caught exactly when no such order explains the history.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rafty_checkers::elle::synthetic::{ListAppendShape, list_append_history};
use rafty_checkers::elle::{ElleOptions, TxnModel, check};
use rafty_checkers::{History, OpType, Outcome, Value};

fn shape(seed: u64, transactions: usize, processes: u64, keys: u64) -> ListAppendShape {
    ListAppendShape {
        transactions,
        mops_per_txn: 3,
        active_keys: keys,
        appends_per_key: 4,
        processes,
        indeterminate_per_mille: 100,
        seed,
    }
}

/// One transaction for the brute force: `(is append, key, element or read)`.
#[derive(Debug, Clone)]
struct Txn {
    outcome: Outcome,
    invoke: usize,
    complete: Option<usize>,
    mops: Vec<(bool, i64, Value)>,
}

fn txns(history: &History) -> Vec<Txn> {
    history
        .operations()
        .unwrap()
        .iter()
        .map(|operation| {
            let value = match operation.outcome() {
                Outcome::Ok => &operation.completion.unwrap().value,
                _ => &operation.invoke.value,
            };
            let mops = value
                .as_list()
                .unwrap()
                .iter()
                .map(|mop| {
                    let parts = mop.as_list().unwrap();
                    let append = parts[0].as_keyword() == Some("append");
                    (append, parts[1].as_int().unwrap(), parts[2].clone())
                })
                .collect();
            Txn {
                outcome: operation.outcome(),
                invoke: operation.invoke_position,
                complete: operation.completion_position,
                mops,
            }
        })
        .collect()
}

/// Whether some serial order of the committed transactions and any of the indeterminate
/// ones, each after every committed transaction that completed before it was invoked,
/// gives every committed read exactly what it returned.
fn serializable_in_real_time(txns: &[Txn]) -> bool {
    fn apply(txn: &Txn, lists: &mut BTreeMap<i64, Vec<Value>>) -> bool {
        for (append, key, value) in &txn.mops {
            let list = lists.entry(*key).or_default();
            if *append {
                list.push(value.clone());
            } else if txn.outcome == Outcome::Ok {
                let read = value.as_list().unwrap_or(&[]);
                if read != list.as_slice() {
                    return false;
                }
            }
        }
        true
    }
    fn search(txns: &[Txn], placed: &mut Vec<bool>, lists: &BTreeMap<i64, Vec<Value>>) -> bool {
        let done = txns
            .iter()
            .zip(placed.iter())
            .all(|(txn, placed)| *placed || txn.outcome != Outcome::Ok);
        if done {
            return true;
        }
        for next in 0..txns.len() {
            let txn = &txns[next];
            if placed[next] || txn.outcome == Outcome::Fail {
                continue;
            }
            let ready = txns.iter().zip(placed.iter()).all(|(before, placed)| {
                *placed || before.outcome != Outcome::Ok || before.complete.unwrap() > txn.invoke
            });
            if !ready {
                continue;
            }
            let mut after = lists.clone();
            if apply(txn, &mut after) {
                placed[next] = true;
                if search(txns, placed, &after) {
                    return true;
                }
                placed[next] = false;
            }
        }
        false
    }
    search(txns, &mut vec![false; txns.len()], &BTreeMap::new())
}

fn show(history: &History) -> String {
    history
        .ops
        .iter()
        .map(|op| format!("{} {} {}\n", op.process, op.kind, op.value))
        .collect()
}

/// Corrupts the `pick`-th non-empty committed read: drops an element, or swaps two.
fn corrupt(history: &mut History, pick: usize, swap: bool, at: usize) -> bool {
    let mut reads = Vec::new();
    for (position, op) in history.ops.iter().enumerate() {
        if op.kind != OpType::Ok {
            continue;
        }
        for (index, mop) in op.value.as_list().unwrap().iter().enumerate() {
            let parts = mop.as_list().unwrap();
            let long_enough = if swap { 2 } else { 1 };
            if parts[2]
                .as_list()
                .is_some_and(|list| list.len() >= long_enough)
            {
                reads.push((position, index));
            }
        }
    }
    if reads.is_empty() {
        return false;
    }
    let (position, index) = reads[pick % reads.len()];
    let Value::List(mops) = &mut history.ops[position].value else {
        unreachable!()
    };
    let Value::List(parts) = &mut mops[index] else {
        unreachable!()
    };
    let Value::List(read) = &mut parts[2] else {
        unreachable!()
    };
    if swap {
        let at = at % (read.len() - 1);
        read.swap(at, at + 1);
    } else {
        let at = at % read.len();
        read.remove(at);
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn serial_executions_overlapped_in_time_are_valid(
        seed in any::<u64>(),
        transactions in 1usize..400,
        processes in 1u64..8,
        keys in 1u64..6,
    ) {
        let history = list_append_history(&shape(seed, transactions, processes, keys));
        let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
        prop_assert!(result.valid, "{}", result.describe());
        prop_assert!(result.anomaly_types.is_empty(), "{}", result.describe());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        max_global_rejects: 1_000_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_corrupted_read_is_caught_exactly_when_no_serial_order_explains_it(
        seed in any::<u64>(),
        transactions in 2usize..7,
        processes in 1u64..4,
        keys in 1u64..3,
        pick in any::<usize>(),
        swap in any::<bool>(),
        at in any::<usize>(),
    ) {
        let mut history = list_append_history(&shape(seed, transactions, processes, keys));
        prop_assume!(corrupt(&mut history, pick, swap, at));
        let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
        let explainable = serializable_in_real_time(&txns(&history));
        prop_assert_eq!(
            result.valid,
            explainable,
            "checker: {}; brute force: {}\n{}",
            result.describe(),
            explainable,
            show(&history)
        );
    }
}
