//! Synthetic histories for benchmarks and scale tests: a simulated key-value store whose
//! clients overlap in time, so that the history is linearizable by construction.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::history::{History, Op, OpType, Process};
use crate::value::Value;

/// The shape of a synthetic key-value history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvShape {
    /// Operations to invoke.
    pub operations: usize,
    /// Distinct keys.
    pub keys: u64,
    /// Concurrent client processes.
    pub processes: u64,
    /// Out of 1000 determinate-looking operations, how many complete `info` (and then took
    /// effect or not, at random).
    pub indeterminate_per_mille: u64,
    /// The seed of the generator.
    pub seed: u64,
}

impl Default for KvShape {
    /// The scale target of issue 3: 1,000,000 operations, 1,000 keys, 20 processes, 1%
    /// indeterminate.
    fn default() -> Self {
        KvShape {
            operations: 1_000_000,
            keys: 1000,
            processes: 20,
            indeterminate_per_mille: 10,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Invoke,
    Effect,
    Complete,
}

/// What a process is doing.
#[derive(Debug, Clone)]
struct Client {
    process: u64,
    key: u64,
    f: &'static str,
    argument: Value,
    result: Value,
    kind: OpType,
    /// Whether an indeterminate op takes effect.
    applies: bool,
}

/// Simulates `shape.processes` clients on a map of `shape.keys` integer registers (read,
/// write and cas on values 0..5), each operation taking effect at a random instant between
/// its invocation and its completion. Failed cas ops complete `fail`; some ops complete
/// `info` and took effect or not; ops still running at the end have no completion.
pub fn kv_history(shape: &KvShape) -> History {
    let mut random = SplitMix(shape.seed);
    let mut state: Vec<Value> = vec![Value::Nil; shape.keys as usize];
    let mut clients: Vec<Client> = (0..shape.processes)
        .map(|process| Client {
            process,
            key: 0,
            f: "read",
            argument: Value::Nil,
            result: Value::Nil,
            kind: OpType::Ok,
            applies: true,
        })
        .collect();
    let mut events: BinaryHeap<Reverse<(u64, Stage, usize)>> = (0..clients.len())
        .map(|client| Reverse((random.below(10), Stage::Invoke, client)))
        .collect();
    let mut history = History::new();
    history.ops.reserve(shape.operations * 2);
    let mut invoked = 0;
    while let Some(Reverse((time, stage, c))) = events.pop() {
        let client = &mut clients[c];
        match stage {
            Stage::Invoke => {
                if invoked == shape.operations {
                    continue;
                }
                invoked += 1;
                client.key = random.below(shape.keys);
                let (f, argument) = match random.below(4) {
                    0 | 1 => ("read", Value::Nil),
                    2 => ("write", Value::Int(random.below(5) as i64)),
                    _ => {
                        let from = random.below(5) as i64;
                        let to = random.below(5) as i64;
                        ("cas", Value::List(vec![Value::Int(from), Value::Int(to)]))
                    }
                };
                client.f = f;
                client.argument = argument.clone();
                let indeterminate = random.below(1000) < shape.indeterminate_per_mille;
                client.applies = !indeterminate || random.below(2) == 0;
                client.kind = if indeterminate {
                    OpType::Info
                } else {
                    OpType::Ok
                };
                history.push(event(client, OpType::Invoke, argument, time));
                events.push(Reverse((time + 1 + random.below(50), Stage::Effect, c)));
            }
            Stage::Effect => {
                let value = &mut state[client.key as usize];
                client.result = client.argument.clone();
                match client.f {
                    "read" => client.result = value.clone(),
                    "write" if client.applies => *value = client.argument.clone(),
                    "cas" if client.applies => match client.argument.as_list() {
                        Some([from, to]) if from == value => *value = to.clone(),
                        _ if client.kind == OpType::Ok => client.kind = OpType::Fail,
                        _ => {}
                    },
                    _ => {}
                }
                events.push(Reverse((time + 1 + random.below(50), Stage::Complete, c)));
            }
            Stage::Complete => {
                let result = match client.kind {
                    OpType::Info => Value::Nil,
                    _ => client.result.clone(),
                };
                history.push(event(client, client.kind, result, time));
                if client.kind == OpType::Info {
                    // As in Jepsen, a process whose op is indeterminate is replaced.
                    client.process += shape.processes;
                }
                events.push(Reverse((time + random.below(10), Stage::Invoke, c)));
            }
        }
    }
    history
}

/// A value no synthetic write or cas ever stores (they store 0 to 4).
pub const NEVER_WRITTEN: i64 = 1000;

/// Plants one violation in a history from [`kv_history`]: the first `ok` read completed at
/// or after the middle of the history now returns [`NEVER_WRITTEN`], which no linearization
/// can explain. Returns the position of the changed completion and its key, or `None` if
/// there is no such read.
pub fn plant_violation(history: &mut History) -> Option<(usize, Value)> {
    let middle = history.ops.len() / 2;
    let (position, op) = history
        .ops
        .iter_mut()
        .enumerate()
        .skip(middle)
        .find(|(_, op)| op.kind == OpType::Ok && op.f.as_str() == "read")?;
    op.value = Value::Int(NEVER_WRITTEN);
    Some((position, op.key.clone().unwrap_or(Value::Nil)))
}

fn event(client: &Client, kind: OpType, value: Value, time: u64) -> Op {
    Op::new(Process::Client(client.process), kind, client.f, value)
        .with_key(Value::Int(client.key as i64))
        .with_time(time * 1000)
}

/// SplitMix64: a small, seeded generator.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::linearizability::mix(self.0)
    }

    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{CheckOptions, Verdict, check};
    use crate::model::{Convention, KeyValue};

    #[test]
    fn a_small_synthetic_history_is_linearizable_and_well_formed() {
        let shape = KvShape {
            operations: 20_000,
            keys: 10,
            indeterminate_per_mille: 50,
            ..KvShape::default()
        };
        let history = kv_history(&shape);
        let operations = history.operations().unwrap();
        assert_eq!(operations.len(), 20_000);
        let result = check(
            &KeyValue::new(Convention::Native),
            &history,
            &CheckOptions::default(),
        )
        .unwrap();
        assert_eq!(result.valid, Verdict::Linearizable);
        assert_eq!(result.partitions, 10);
    }

    #[test]
    fn a_planted_violation_is_found_on_its_key() {
        let shape = KvShape {
            operations: 20_000,
            keys: 10,
            ..KvShape::default()
        };
        let mut history = kv_history(&shape);
        let (position, key) = plant_violation(&mut history).expect("a read to change");
        let result = check(
            &KeyValue::new(Convention::Native),
            &history,
            &CheckOptions::default(),
        )
        .unwrap();
        assert_eq!(result.valid, Verdict::NotLinearizable);
        let counterexample = result.counterexample.expect("a counterexample");
        assert_eq!(counterexample.partition, Some(key));
        assert_eq!(counterexample.operation.completion_position, Some(position));
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let shape = KvShape {
            operations: 1000,
            ..KvShape::default()
        };
        assert_eq!(kv_history(&shape), kv_history(&shape));
    }
}
