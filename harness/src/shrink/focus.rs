//! Projection onto the violation: what the checker's counterexample names (the key the
//! unlinearizable operation is on, the clients that ran it and the operations concurrent
//! with it) and the first passes that keep only that, each in one step.
//!
//! A linearizability violation is judged per key, so the operations on other keys are
//! there only for their timing (log entries that batch and delay the ones that matter):
//! dropping them all at once, with a few seeds, usually still fails, where ddmin would
//! need a run per chunk to learn the same.

use std::collections::BTreeSet;

use rafty_checkers::Value;
use rafty_checkers::history::Process;
use rafty_checkers::linearizability::{Counterexample, OpSummary};

use crate::run::runner::RunOutput;
use crate::schedule::Schedule;

use super::tester::{LINEARIZABILITY, Tester};

/// Seeds tried for each projection.
const PROJECTION_SEEDS: u64 = 6;

/// What a failing run's counterexample names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Focus {
    /// The keys the violation is on.
    pub keys: BTreeSet<String>,
    /// The clients (schedule client indices) of the unlinearizable operation, of the
    /// operations concurrent with it, and of the last operation that changed the state
    /// before it (the write a stale read missed).
    pub clients: BTreeSet<u64>,
}

/// The focus of `output`'s failure of `check`: for `linearizability`, the counterexample's
/// key and clients; `None` for other checks or when the run has no counterexample.
pub fn focus_of(output: &RunOutput, check: &str, concurrency: usize) -> Option<Focus> {
    if check != LINEARIZABILITY {
        return None;
    }
    let counterexample = output
        .result
        .checks
        .linearizability
        .get("counterexample")
        .cloned()
        .and_then(|value| serde_json::from_value::<Counterexample>(value).ok())?;
    Some(focus_of_counterexample(&counterexample, concurrency))
}

/// The keys and clients `counterexample` names; a client runs processes `index`,
/// `index + concurrency`, ... (a new one after each indeterminate operation).
fn focus_of_counterexample(counterexample: &Counterexample, concurrency: usize) -> Focus {
    let mut focus = Focus::default();
    let ops = std::iter::once(&counterexample.operation)
        .chain(&counterexample.concurrent)
        .chain(last_change(counterexample));
    for op in ops {
        if let Some(key) = key_of(op).or_else(|| counterexample.partition.as_ref().and_then(text)) {
            focus.keys.insert(key);
        }
        if let Process::Client(process) = op.process {
            focus.clients.insert(process % concurrency.max(1) as u64);
        }
    }
    focus
}

/// The last operation of the linearized prefix after which the state differs from the one
/// before it.
fn last_change(counterexample: &Counterexample) -> Option<&OpSummary> {
    let steps = &counterexample.linearized;
    let before = |position: usize| match position {
        0 => &counterexample.initial_state,
        _ => &steps[position - 1].state,
    };
    let changed = |position: &usize| steps[*position].state != *before(*position);
    let position = (0..steps.len()).rev().find(changed)?;
    Some(&steps[position].operation)
}

fn key_of(op: &OpSummary) -> Option<String> {
    op.key.as_ref().and_then(text)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) | Value::Keyword(text) => Some(text.clone()),
        Value::Int(number) => Some(number.to_string()),
        _ => None,
    }
}

impl Tester<'_> {
    /// Keep only the operations on the violation's keys, in one step (a few seeds).
    pub fn project_keys(&mut self) {
        let Some(focus) = self.best_focus.clone() else {
            return;
        };
        if focus.keys.is_empty() {
            return;
        }
        let candidate = only_keys(&self.best, &focus.keys);
        if candidate != self.best {
            self.test_seeds("project keys", &candidate, PROJECTION_SEEDS);
        }
    }

    /// Every operation moved onto the violation's key, in one step (a few seeds): the run's
    /// load and timing stay as they were, but every read now meets every write, so a stale
    /// read that needed a write and a read of one key to fall into a short window (the
    /// moments a deposed leader still answers) becomes likely instead of a lucky draw, and
    /// the operations passes after it can drop the rest without losing it. Before the
    /// projection onto the key, which drops the other keys' operations (and their timing).
    pub fn onto_focus_key(&mut self) {
        let Some(focus) = self.best_focus.clone() else {
            return;
        };
        let Some(key) = focus.keys.first() else {
            return;
        };
        let candidate = super::simplify::all_on_key(&self.best, key);
        if candidate != self.best {
            self.test_seeds("onto the key", &candidate, PROJECTION_SEEDS);
        }
    }

    /// Keep only the clients of the unlinearizable operation and of those concurrent with
    /// it, in one step (a few seeds).
    pub fn project_clients(&mut self) {
        let Some(focus) = self.best_focus.clone() else {
            return;
        };
        if focus.clients.is_empty() {
            return;
        }
        let mut candidate = self.best.clone();
        candidate
            .clients
            .retain(|client, _| focus.clients.contains(client));
        if candidate != self.best {
            self.test_seeds("project clients", &candidate, PROJECTION_SEEDS);
        }
    }
}

/// `schedule` with only the operations on `keys` (a transaction, naming its keys inside,
/// is kept).
fn only_keys(schedule: &Schedule, keys: &BTreeSet<String>) -> Schedule {
    let mut candidate = schedule.clone();
    for ops in candidate.clients.values_mut() {
        ops.retain(|record| {
            matches!(record.op, rafty_workloads::ClientOp::Txn { .. })
                || keys.contains(record.op.key())
        });
    }
    candidate.clients.retain(|_, ops| !ops.is_empty());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty_checkers::history::{Function, Outcome};
    use rafty_checkers::linearizability::LinearizedStep;

    fn op(process: u64, key: &str) -> OpSummary {
        OpSummary {
            process: Process::Client(process),
            f: Function::new("read"),
            key: Some(Value::from(key)),
            outcome: Outcome::Ok,
            description: "read".into(),
            invoke_index: 0,
            completion_index: None,
            invoke_position: 0,
            completion_position: None,
            line: 1,
        }
    }

    fn step(process: u64, state: &str) -> LinearizedStep {
        LinearizedStep {
            operation: op(process, "k3"),
            state: state.into(),
        }
    }

    /// The focus names the unlinearizable operation's key and the clients behind it and its
    /// concurrent operations and the last write before it (process 7 wrote 1; process 8 read
    /// it), a reopened process (12 with 10 clients) as its client (2).
    #[test]
    fn the_focus_is_the_counterexample_key_and_clients() {
        let counterexample = Counterexample {
            partition: Some(Value::from("k3")),
            initial_state: "0".into(),
            operation: op(12, "k3"),
            state: "1".into(),
            concurrent: vec![op(5, "k3")],
            linearized: vec![step(7, "1"), step(8, "1")],
        };
        let focus = focus_of_counterexample(&counterexample, 10);
        assert_eq!(focus.keys, BTreeSet::from(["k3".to_owned()]));
        assert_eq!(focus.clients, BTreeSet::from([2, 5, 7]));
    }
}
