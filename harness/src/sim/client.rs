//! Workload clients: each a Jepsen process with one outstanding operation at a time, recording
//! every invocation and completion with simulated time and the node it used.
//!
//! A process whose operation ended indeterminate (`info`) may still have that operation take
//! effect later, so it never invokes again: the client moves on as a new process, numbered
//! `process + concurrency` (Jepsen's convention).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use rafty_checkers::Value;
use rafty_workloads::{ClientOp, Generator, OpResult};
use serde::{Deserialize, Serialize};

use super::observe::Observations;
use super::recorder::Recorder;
use super::{clock, kv_api};
use crate::checks::invariants::command_hash;

/// How a client reaches the cluster: executes one operation and says how it ended (ok, fail
/// when it certainly did not take effect, info when in doubt) and which node it used.
#[async_trait(?Send)]
pub trait KvApi {
    /// Execute `op`; the result and the node (`n3`) that answered or was last tried.
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>);
}

/// When a client does what, in simulated time since the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTimes {
    /// No workload operation is invoked from here on.
    pub time_limit: Duration,
    /// Final reads start here (after the nemesis healed everything at the time limit).
    pub final_reads_from: Duration,
    /// Final reads give up here.
    pub final_reads_until: Duration,
    /// An operation not completed after this long is recorded `info`.
    pub op_timeout: Duration,
}

/// The final reads' results: the value each key held at the end, if a read succeeded.
#[derive(Clone, Debug, Default)]
pub struct FinalReads {
    inner: Rc<RefCell<BTreeMap<String, Option<Value>>>>,
}

impl FinalReads {
    /// Every key to read, none read yet.
    pub fn new(keys: &[String]) -> Self {
        let map = keys.iter().map(|key| (key.clone(), None)).collect();
        FinalReads {
            inner: Rc::new(RefCell::new(map)),
        }
    }

    fn set(&self, key: &str, value: Value) {
        self.inner.borrow_mut().insert(key.to_owned(), Some(value));
    }

    /// Each key and the value its final read returned (`None`: no final read succeeded).
    pub fn results(&self) -> BTreeMap<String, Option<Value>> {
        self.inner.borrow().clone()
    }
}

/// Where the writes that completed `ok` go: each must be in the final state, which the
/// invariant checker's durability ledger checks as the run goes (nothing is kept here).
#[derive(Clone, Debug)]
pub struct Acknowledged {
    observations: Option<Observations>,
}

impl Acknowledged {
    /// Acknowledged writes reported to `observations`.
    pub fn new(observations: Observations) -> Self {
        Acknowledged {
            observations: Some(observations),
        }
    }

    /// Acknowledged writes reported nowhere: for a run whose nodes report no applied entries
    /// (real processes, [`crate::real`]), where the final reads' linearizability stands for
    /// durability.
    pub fn unchecked() -> Self {
        Acknowledged { observations: None }
    }

    fn push(&self, op: &ClientOp) {
        let Some(observations) = &self.observations else {
            return;
        };
        // A command that cannot be encoded never reached the cluster: nothing to find.
        if let Ok(bytes) = kv_api::command(op, rafty::ReadConsistency::Log).encode() {
            observations.acknowledged(command_hash(&bytes), format!("{op:?}"));
        }
    }
}

/// One operation of a client as it ran: when it was invoked, what it was, and how long the
/// client paused after it completed. A schedule's workload is a list of these per client
/// ([`crate::schedule`]); replayed by [`ListedOps`], they repeat the run's operations exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpRecord {
    /// When it was invoked, in simulated milliseconds since the start of the run; replayed,
    /// it is invoked no earlier.
    pub at_ms: u64,
    /// The operation.
    pub op: ClientOp,
    /// The client's pause after it completed, in microseconds (its think time).
    pub pause_us: u64,
}

/// Where a client's workload operations come from: drawn from the seed ([`Generator`]) or
/// replayed from a list ([`ListedOps`]).
pub trait Operations {
    /// The next operation and the earliest time to invoke it (`None`: at once), or `None`
    /// when there are no more.
    fn next_op(&mut self) -> Option<(ClientOp, Option<Duration>)>;

    /// How long to pause after the operation just completed.
    fn pause(&mut self) -> Duration;
}

impl Operations for Generator {
    fn next_op(&mut self) -> Option<(ClientOp, Option<Duration>)> {
        Some((Generator::next_op(self), None))
    }

    fn pause(&mut self) -> Duration {
        self.think_time()
    }
}

/// A client's operations replayed from a list.
pub struct ListedOps {
    ops: VecDeque<OpRecord>,
    pause: Duration,
}

impl ListedOps {
    /// Replay `ops` in order.
    pub fn new(ops: Vec<OpRecord>) -> ListedOps {
        ListedOps {
            ops: ops.into(),
            pause: Duration::ZERO,
        }
    }
}

impl Operations for ListedOps {
    fn next_op(&mut self) -> Option<(ClientOp, Option<Duration>)> {
        let next = self.ops.pop_front()?;
        self.pause = Duration::from_micros(next.pause_us);
        Some((next.op, Some(Duration::from_millis(next.at_ms))))
    }

    fn pause(&mut self) -> Duration {
        self.pause
    }
}

/// The most operations a run's schedule keeps (about 100 MB of records): a longer run (past
/// about 2.5 simulated hours at the default rate) keeps none, is not replayable, and so holds
/// no memory that grows with its length for a schedule it could not usefully replay.
pub const MAX_SCHEDULE_OPS: usize = 1_000_000;

/// Each client's operations as run, for the run's schedule (shared with the client tasks).
#[derive(Clone, Debug, Default)]
pub struct OpLog {
    inner: Rc<RefCell<OpLogState>>,
}

#[derive(Debug)]
struct OpLogState {
    ops: BTreeMap<u64, Vec<OpRecord>>,
    count: usize,
    limit: usize,
    /// More than `limit` were run: none are kept.
    overflowed: bool,
}

impl Default for OpLogState {
    fn default() -> Self {
        OpLogState {
            ops: BTreeMap::new(),
            count: 0,
            limit: MAX_SCHEDULE_OPS,
            overflowed: false,
        }
    }
}

impl OpLog {
    fn push(&self, client: u64, record: OpRecord) {
        let mut state = self.inner.borrow_mut();
        if state.overflowed {
            return;
        }
        if state.count == state.limit {
            state.overflowed = true;
            state.ops = BTreeMap::new();
            return;
        }
        state.count += 1;
        state.ops.entry(client).or_default().push(record);
    }

    /// Whether every operation run is kept (false past [`MAX_SCHEDULE_OPS`]).
    pub fn complete(&self) -> bool {
        !self.inner.borrow().overflowed
    }

    /// Each client's operations so far (clients that ran none are absent).
    pub fn take(&self) -> BTreeMap<u64, Vec<OpRecord>> {
        std::mem::take(&mut self.inner.borrow_mut().ops)
    }
}

/// One workload client.
pub struct Client<A: KvApi> {
    /// Index among the clients, from 0.
    pub index: u64,
    /// How many clients run (the process-number stride).
    pub concurrency: u64,
    /// The workload's vocabulary (the final reads, and the keys this client reads at the end).
    pub generator: Generator,
    /// Where the workload operations come from.
    pub operations: Box<dyn Operations>,
    /// Where each workload operation is recorded as run.
    pub op_log: OpLog,
    /// How operations reach the cluster.
    pub api: A,
    /// Where they are recorded.
    pub recorder: Recorder,
    /// The schedule.
    pub times: ClientTimes,
    /// Where final reads are reported.
    pub final_reads: FinalReads,
    /// Where acknowledged writes are reported.
    pub acknowledged: Acknowledged,
}

impl<A: KvApi> Client<A> {
    /// Run the workload until the time limit, then the final reads of this client's keys.
    pub async fn run(mut self) {
        let mut process = self.index;
        while clock::now() < self.times.time_limit {
            let Some((op, not_before)) = self.operations.next_op() else {
                break;
            };
            if not_before.is_some_and(|at| at >= self.times.time_limit) {
                break;
            }
            if let Some(wait) = not_before.and_then(|at| at.checked_sub(clock::now())) {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            let at_ms = clock::now().as_millis() as u64;
            self.invoke(&mut process, &op).await;
            let pause = self.operations.pause();
            let pause_us = pause.as_micros() as u64;
            self.op_log.push(
                self.index,
                OpRecord {
                    at_ms,
                    op,
                    pause_us,
                },
            );
            tokio::time::sleep(pause).await;
        }
        let wait = self.times.final_reads_from.saturating_sub(clock::now());
        tokio::time::sleep(wait).await;
        let keys: Vec<String> = self
            .generator
            .keys()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u64 % self.concurrency == self.index)
            .map(|(_, key)| key)
            .collect();
        for key in keys {
            self.final_read(&mut process, key).await;
        }
    }

    /// Read `key` until a read succeeds or the final-read deadline passes.
    async fn final_read(&mut self, process: &mut u64, key: String) {
        while clock::now() < self.times.final_reads_until {
            let op = self.generator.read(key.clone());
            if let OpResult::Ok(value) = self.invoke(process, &op).await {
                self.final_reads.set(&key, value);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Invoke `op` as `process`, record its invocation and completion, and move to a new
    /// process if it ended indeterminate.
    async fn invoke(&mut self, process: &mut u64, op: &ClientOp) -> OpResult {
        self.recorder
            .record(op.invoke(*process, clock::now_ns()), None);
        let (result, node) =
            match tokio::time::timeout(self.times.op_timeout, self.api.execute(op)).await {
                Ok(done) => done,
                Err(_) => (OpResult::Info("client timeout".into()), None),
            };
        self.recorder
            .record(op.complete(*process, clock::now_ns(), &result), node);
        match result {
            OpResult::Info(_) => *process += self.concurrency,
            OpResult::Ok(_) if !op.is_read() => self.acknowledged.push(op),
            _ => {}
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: u64) -> OpRecord {
        OpRecord {
            at_ms,
            op: ClientOp::Read { key: "k".into() },
            pause_us: 0,
        }
    }

    #[test]
    fn the_op_log_keeps_every_op_up_to_its_limit_then_none() {
        let log = OpLog::default();
        log.inner.borrow_mut().limit = 3;
        for at in 0..3 {
            log.push(at % 2, record(at));
        }
        assert!(log.complete());
        assert_eq!(log.take().values().map(Vec::len).sum::<usize>(), 3);
        let log = OpLog::default();
        log.inner.borrow_mut().limit = 3;
        for at in 0..5 {
            log.push(0, record(at));
        }
        assert!(!log.complete(), "a fourth op overflows the log");
        assert!(log.take().is_empty(), "an overflowed log holds nothing");
    }
}
