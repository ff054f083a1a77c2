//! Workload clients: each a Jepsen process with one outstanding operation at a time, recording
//! every invocation and completion with simulated time and the node it used.
//!
//! A process whose operation ended indeterminate (`info`) may still have that operation take
//! effect later, so it never invokes again: the client moves on as a new process, numbered
//! `process + concurrency` (Jepsen's convention).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use rafty_checkers::Value;
use rafty_workloads::{ClientOp, Generator, OpResult};

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
    observations: Observations,
}

impl Acknowledged {
    /// Acknowledged writes reported to `observations`.
    pub fn new(observations: Observations) -> Self {
        Acknowledged { observations }
    }

    fn push(&self, op: &ClientOp) {
        // A command that cannot be encoded never reached the cluster: nothing to find.
        if let Ok(bytes) = kv_api::command(op, rafty::ReadConsistency::Log).encode() {
            self.observations
                .acknowledged(command_hash(&bytes), format!("{op:?}"));
        }
    }
}

/// One workload client.
pub struct Client<A: KvApi> {
    /// Index among the clients, from 0.
    pub index: u64,
    /// How many clients run (the process-number stride).
    pub concurrency: u64,
    /// Where operations come from.
    pub generator: Generator,
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
            let op = self.generator.next_op();
            self.invoke(&mut process, &op).await;
            let think = self.generator.think_time();
            tokio::time::sleep(think).await;
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
