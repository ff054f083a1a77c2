//! The simplifying passes, after the structure: faults moved (started later, stopped
//! earlier), operations on fewer keys, values renumbered 1, 2, 3... Each edit is kept only
//! when the kept check still fails.

use std::collections::BTreeMap;

use rafty_workloads::ClientOp;

use crate::nemesis::FaultRecord;
use crate::schedule::Schedule;

use super::ddmin::Verdict;
use super::tester::Tester;

/// A fault this short (in simulated milliseconds) is not moved any more.
const SHORTEST_MS: u64 = 20;

impl Tester<'_> {
    /// Move each fault: its start later (its steps with it), then its end earlier, halving
    /// the move while the kept check still fails.
    pub fn move_faults(&mut self) {
        for index in 0..self.best.faults.len() {
            self.move_fault(index, "start faults later", delayed);
            self.move_fault(index, "end faults earlier", shortened);
        }
    }

    fn move_fault(&mut self, index: usize, pass: &str, edit: fn(&FaultRecord, u64) -> FaultRecord) {
        loop {
            let limit_ms = self.best.size().time_limit_ms;
            let fault = &self.best.faults[index];
            let span = fault.stop.as_ref().map_or(limit_ms, |stop| stop.at_ms) - fault.start_ms;
            if span < SHORTEST_MS || self.out_of_time {
                return;
            }
            let mut candidate = self.best.clone();
            candidate.faults[index] = edit(fault, limit_ms);
            if candidate == self.best || self.test(pass, &candidate) != Verdict::Fails {
                return;
            }
        }
    }

    /// Operations on fewer keys: all on the first key used, else each other key onto it.
    pub fn fewer_keys(&mut self) {
        let keys = keys_in_order(&self.best);
        let Some((first, others)) = keys.split_first() else {
            return;
        };
        if others.is_empty() {
            return;
        }
        let all: BTreeMap<&str, &str> = others
            .iter()
            .map(|key| (key.as_str(), first.as_str()))
            .collect();
        let candidate = rekeyed(&self.best, &all);
        if self.test("fewer keys", &candidate) == Verdict::Fails {
            return;
        }
        for key in others {
            let one = BTreeMap::from([(key.as_str(), first.as_str())]);
            let candidate = rekeyed(&self.best, &one);
            if self.test("fewer keys", &candidate) == Verdict::OutOfTime {
                return;
            }
        }
    }

    /// Values renumbered in the order they are first written: 1, 2, 3... (appends: "1", "2"...).
    pub fn simpler_values(&mut self) {
        let candidate = renumbered(&self.best);
        if candidate != self.best {
            self.test("simpler values", &candidate);
        }
    }
}

/// `fault` started half its span later (its actions with it, kept before its end); its span
/// runs to its stop, or to the time limit `limit_ms` when it has none.
fn delayed(fault: &FaultRecord, limit_ms: u64) -> FaultRecord {
    let end_ms = fault.stop.as_ref().map_or(limit_ms, |stop| stop.at_ms);
    let delay = (end_ms - fault.start_ms) / 2;
    let mut moved = fault.clone();
    moved.start_ms += delay;
    for step in &mut moved.actions {
        step.at_ms = (step.at_ms + delay)
            .min(end_ms.saturating_sub(1))
            .max(moved.start_ms);
    }
    moved
}

/// `fault` ended half its span earlier (its later steps move toward its start).
fn shortened(fault: &FaultRecord, _limit_ms: u64) -> FaultRecord {
    let start = fault.start_ms;
    let halve = |at: u64| start + (at - start) / 2;
    let mut moved = fault.clone();
    for step in &mut moved.actions {
        step.at_ms = halve(step.at_ms);
    }
    if let Some(stop) = &mut moved.stop {
        stop.at_ms = halve(stop.at_ms);
    }
    moved
}

/// The keys `schedule`'s operations touch, in the order first used (by time, then client).
fn keys_in_order(schedule: &Schedule) -> Vec<String> {
    let mut keys = Vec::new();
    for op in ops_in_order(schedule) {
        let key = op.key().to_owned();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Every operation, by time then client.
fn ops_in_order(schedule: &Schedule) -> Vec<&ClientOp> {
    let mut ops: Vec<(u64, u64, usize, &ClientOp)> = schedule
        .clients
        .iter()
        .flat_map(|(client, ops)| {
            ops.iter()
                .enumerate()
                .map(move |(index, op)| (op.at_ms, *client, index, &op.op))
        })
        .collect();
    ops.sort_by_key(|&(at_ms, client, index, _)| (at_ms, client, index));
    ops.into_iter().map(|(_, _, _, op)| op).collect()
}

/// `schedule` with every operation on `key` (transactions, naming their keys inside, kept
/// as they are).
pub fn all_on_key(schedule: &Schedule, key: &str) -> Schedule {
    let others = keys_in_order(schedule);
    let moves: BTreeMap<&str, &str> = others
        .iter()
        .filter(|other| other.as_str() != key)
        .map(|other| (other.as_str(), key))
        .collect();
    rekeyed(schedule, &moves)
}

/// `schedule` with the keys `moves` names renamed.
fn rekeyed(schedule: &Schedule, moves: &BTreeMap<&str, &str>) -> Schedule {
    let mut candidate = schedule.clone();
    for ops in candidate.clients.values_mut() {
        for record in ops {
            if let Some(to) = moves.get(record.op.key()) {
                record.op = with_key(&record.op, to);
            }
        }
    }
    candidate
}

/// `op` on `key`.
fn with_key(op: &ClientOp, key: &str) -> ClientOp {
    let key = key.to_owned();
    match op.clone() {
        ClientOp::Read { .. } => ClientOp::Read { key },
        ClientOp::Write { value, .. } => ClientOp::Write { key, value },
        ClientOp::Cas { expected, new, .. } => ClientOp::Cas { key, expected, new },
        ClientOp::Append { value, .. } => ClientOp::Append { key, value },
        ClientOp::Get { .. } => ClientOp::Get { key },
        // A transaction names its keys in its micro-operations: left as it is.
        txn @ ClientOp::Txn { .. } => txn,
    }
}

/// `schedule` with its values renumbered by first use: integers 1, 2, 3... (0 stays 0, the
/// registers' initial value), appended strings "1", "2"...
fn renumbered(schedule: &Schedule) -> Schedule {
    let mut numbers: BTreeMap<i64, i64> = BTreeMap::from([(0, 0)]);
    let mut strings: BTreeMap<String, String> = BTreeMap::new();
    for op in ops_in_order(schedule) {
        let mut number = |value: i64| {
            let next = numbers.len() as i64;
            numbers.entry(value).or_insert(next);
        };
        match op {
            ClientOp::Write { value, .. } => number(*value),
            ClientOp::Cas { expected, new, .. } => {
                number(*expected);
                number(*new);
            }
            ClientOp::Append { value, .. } => {
                let next = (strings.len() + 1).to_string();
                strings.entry(value.clone()).or_insert(next);
            }
            ClientOp::Read { .. } | ClientOp::Get { .. } | ClientOp::Txn { .. } => {}
        }
    }
    let mut candidate = schedule.clone();
    for ops in candidate.clients.values_mut() {
        for record in ops {
            match &mut record.op {
                ClientOp::Write { value, .. } => *value = numbers[value],
                ClientOp::Cas { expected, new, .. } => {
                    *expected = numbers[expected];
                    *new = numbers[new];
                }
                ClientOp::Append { value, .. } => *value = strings[value].clone(),
                ClientOp::Read { .. } | ClientOp::Get { .. } | ClientOp::Txn { .. } => {}
            }
        }
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str, value: i64) -> ClientOp {
        ClientOp::Write {
            key: key.into(),
            value,
        }
    }

    fn schedule_of(ops: Vec<(u64, u64, ClientOp)>) -> Schedule {
        let mut schedule = crate::shrink::kv_schedule();
        for (at_ms, client, op) in ops {
            let record = crate::sim::client::OpRecord {
                at_ms,
                op,
                pause_us: 0,
            };
            schedule.clients.entry(client).or_default().push(record);
        }
        schedule
    }

    /// Values are renumbered by first use across clients; a cas keeps its relation to the
    /// write it expects; 0, the initial value, stays.
    #[test]
    fn values_are_renumbered_in_order_of_first_use() {
        let schedule = schedule_of(vec![
            (5, 0, write("a", 907)),
            (
                9,
                0,
                ClientOp::Cas {
                    key: "a".into(),
                    expected: 907,
                    new: 0,
                },
            ),
            (1, 1, write("b", 45)),
        ]);
        let renumbered = renumbered(&schedule);
        let ops: Vec<ClientOp> = ops_in_order(&renumbered).into_iter().cloned().collect();
        assert_eq!(
            ops,
            [
                write("b", 1),
                write("a", 2),
                ClientOp::Cas {
                    key: "a".into(),
                    expected: 2,
                    new: 0
                }
            ]
        );
    }

    #[test]
    fn keys_are_listed_in_order_of_first_use_and_renamed() {
        let schedule = schedule_of(vec![(5, 0, write("a", 1)), (1, 1, write("b", 2))]);
        assert_eq!(keys_in_order(&schedule), ["b", "a"]);
        let one = rekeyed(&schedule, &BTreeMap::from([("a", "b")]));
        assert_eq!(keys_in_order(&one), ["b"]);
    }

    /// Every operation moves onto the key asked for, reads and writes alike, at the same
    /// times and with the same values.
    #[test]
    fn all_operations_move_onto_one_key() {
        let schedule = schedule_of(vec![
            (5, 0, write("a", 7)),
            (1, 1, ClientOp::Read { key: "b".into() }),
            (3, 1, write("c", 9)),
        ]);
        let moved = all_on_key(&schedule, "b");
        assert_eq!(keys_in_order(&moved), ["b"]);
        let ops: Vec<ClientOp> = ops_in_order(&moved).into_iter().cloned().collect();
        assert_eq!(
            ops,
            [
                ClientOp::Read { key: "b".into() },
                write("b", 9),
                write("b", 7)
            ]
        );
    }

    fn fault(start_ms: u64, at: &[u64], stop_ms: Option<u64>) -> FaultRecord {
        FaultRecord {
            kind: crate::nemesis::FaultKind::named("kill").expect("kill"),
            slot: 0,
            start_ms,
            description: "kill".into(),
            actions: at
                .iter()
                .map(|&at_ms| crate::nemesis::TimedAction {
                    at_ms,
                    action: crate::nemesis::Action::Kill(1),
                    leader: None,
                })
                .collect(),
            stop: stop_ms.map(|at_ms| crate::nemesis::FaultStop {
                at_ms,
                description: "restart".into(),
            }),
            leader: None,
        }
    }

    /// A fault started later keeps its steps in order, after its start and before its stop;
    /// one ended earlier keeps its start.
    #[test]
    fn a_moved_fault_keeps_its_steps_in_order_within_it() {
        let moved = delayed(&fault(1000, &[1000, 1800], Some(2000)), 10_000);
        assert_eq!(moved.start_ms, 1500);
        let at: Vec<u64> = moved.actions.iter().map(|step| step.at_ms).collect();
        assert_eq!(at, [1500, 1999]);
        assert_eq!(moved.stop.as_ref().map(|stop| stop.at_ms), Some(2000));
        let shorter = shortened(&fault(1000, &[1000, 1800], Some(2000)), 10_000);
        let at: Vec<u64> = shorter.actions.iter().map(|step| step.at_ms).collect();
        assert_eq!((shorter.start_ms, at), (1000, vec![1000, 1400]));
        assert_eq!(shorter.stop.map(|stop| stop.at_ms), Some(1500));
        let unstopped = delayed(&fault(1000, &[1000], None), 3000);
        assert_eq!(unstopped.start_ms, 2000);
    }
}
