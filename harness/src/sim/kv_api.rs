//! The clients' way into the cluster: rafty's [`KvClient`] over turmoil (or over real TCP, in
//! a real-process run), mapping each workload operation to a key-value command and each
//! outcome to ok, fail or info.

use async_trait::async_trait;
use std::time::Duration;

use rafty::ReadConsistency;
use rafty::kv::{KvCommand, KvResponse};
use rafty::service::{KvClient, KvClientConfig, KvError};
use rafty::tcp::Connector;
use rafty_checkers::Value;
use rafty_workloads::{ClientOp, Mop, OpResult};

use super::client::KvApi;
use super::clock;
use super::control::node_name;
use super::net::TurmoilConnector;

/// A workload client's [`KvClient`] (over turmoil's network unless built with
/// [`ServiceApi::over`]).
pub struct ServiceApi<C: Connector = TurmoilConnector> {
    client: KvClient<C>,
    /// How reads are made consistent until `reads_until` (then ReadIndex, for the final
    /// reads, when they would be stale).
    reads: ReadConsistency,
    reads_until: Duration,
}

impl ServiceApi<TurmoilConnector> {
    /// A client of the nodes `nodes`' key-value services at `n<id>:<port>`.
    pub fn new(nodes: &[rafty::NodeId], port: u16, config: KvClientConfig) -> Self {
        let addrs = nodes
            .iter()
            .map(|&id| (id, format!("{}:{port}", node_name(id))));
        ServiceApi::over(KvClient::new(TurmoilConnector, addrs, config))
    }
}

impl<C: Connector> ServiceApi<C> {
    /// A workload client's way through `client` (which knows the nodes' addresses).
    pub fn over(client: KvClient<C>) -> Self {
        ServiceApi {
            client,
            reads: ReadConsistency::Log,
            reads_until: Duration::MAX,
        }
    }

    /// Read with `reads` until `until` (simulated time); stale reads give way to ReadIndex
    /// after it, so the final reads observe the cluster's state.
    pub fn with_reads(mut self, reads: ReadConsistency, until: Duration) -> Self {
        self.reads = reads;
        self.reads_until = until;
        self
    }

    /// The consistency of a read made now.
    fn reads_now(&self) -> ReadConsistency {
        if self.reads == ReadConsistency::Stale && clock::now() >= self.reads_until {
            ReadConsistency::Linearizable
        } else {
            self.reads
        }
    }
}

/// The key-value command that carries out `op`, its reads made consistent as `reads` says
/// (a plain `Get` through the log for [`ReadConsistency::Log`], as before reads had a choice).
pub fn command(op: &ClientOp, reads: ReadConsistency) -> KvCommand {
    match op {
        ClientOp::Read { key } | ClientOp::Get { key } if reads == ReadConsistency::Log => {
            KvCommand::Get { key: key.clone() }
        }
        ClientOp::Read { key } | ClientOp::Get { key } => KvCommand::Read {
            key: key.clone(),
            consistency: reads,
        },
        ClientOp::Write { key, value } => KvCommand::Put {
            key: key.clone(),
            value: value.to_string(),
        },
        ClientOp::Cas { key, expected, new } => KvCommand::Cas {
            key: key.clone(),
            expected: Some(expected.to_string()),
            new: new.to_string(),
        },
        ClientOp::Append { key, value } => KvCommand::Append {
            key: key.clone(),
            value: value.clone(),
        },
        ClientOp::Txn { mops, .. } => KvCommand::Txn {
            ops: mops.iter().map(micro_command).collect(),
        },
    }
}

/// The key-value command inside a transaction that carries out `mop`: an append adds
/// ` <integer>` to the key's text, a write sets it, a read gets it.
fn micro_command(mop: &Mop) -> KvCommand {
    match mop {
        Mop::Append { key, value } => KvCommand::Append {
            key: key.clone(),
            value: Mop::appended_text(*value),
        },
        Mop::Write { key, value } => KvCommand::Put {
            key: key.clone(),
            value: value.to_string(),
        },
        Mop::ReadList { key } | Mop::ReadRegister { key } => KvCommand::Get { key: key.clone() },
    }
}

/// What a transaction's micro-operations observed, from the store's answers (one per
/// micro-operation): what each read saw, nil for a write; `None` when the answers do not fit
/// (a broken service: recorded `info`).
pub fn txn_observed(mops: &[Mop], responses: &[KvResponse]) -> Option<Value> {
    if mops.len() != responses.len() {
        return None;
    }
    let observed = mops
        .iter()
        .zip(responses)
        .map(|(mop, response)| match (mop.is_read(), response) {
            (true, KvResponse::Value(text)) => Some(mop.observed(text.as_deref())),
            (false, KvResponse::Done) => Some(Value::Nil),
            _ => None,
        })
        .collect::<Option<Vec<Value>>>()?;
    Some(Value::List(observed))
}

/// What a read observed, as the history records it: integers for registers, strings for
/// appends, `nil` for an absent key.
fn observed(op: &ClientOp, value: Option<String>) -> Value {
    match (op, value) {
        (_, None) => Value::Nil,
        (ClientOp::Read { .. }, Some(text)) => {
            text.parse().map(Value::Int).unwrap_or(Value::String(text))
        }
        (_, Some(text)) => Value::String(text),
    }
}

/// How a transaction answered with `responses` ended: `ok` with what it observed, or `info`
/// when the answers do not fit its micro-operations.
fn txn_result(op: &ClientOp, responses: &[KvResponse]) -> OpResult {
    let observed = match op {
        ClientOp::Txn { mops, .. } => txn_observed(mops, responses),
        _ => None,
    };
    observed.map_or_else(
        || OpResult::Info(format!("unexpected transaction answers {responses:?}")),
        OpResult::Ok,
    )
}

/// How `op`, made with `reads`, ended when the store answered `response`: `ok` with what it
/// observed, `fail` for a transaction refused whole, `info` for a stale read (unchecked) or an
/// answer that does not fit the operation. Shared by every way into the cluster (rafty's
/// `KvClient` here, a node's library API in [`crate::in_process`]).
pub fn answer_result(op: &ClientOp, reads: ReadConsistency, response: KvResponse) -> OpResult {
    match response {
        // Labelled and left out of the linearizability check: a stale read promises nothing
        // about recency.
        KvResponse::Value(value) if op.is_read() && reads == ReadConsistency::Stale => {
            let shown = value.as_deref().unwrap_or("nil");
            OpResult::Info(format!("stale read (not checked): {shown}"))
        }
        KvResponse::Value(value) if op.is_read() => OpResult::Ok(observed(op, value)),
        KvResponse::Done if !op.is_read() => OpResult::Ok(Value::Nil),
        KvResponse::Txn(responses) => txn_result(op, &responses),
        // The store refused the transaction whole: nothing was applied.
        KvResponse::Invalid(reason) if matches!(op, ClientOp::Txn { .. }) => {
            OpResult::Fail(format!("refused: {reason}"))
        }
        other => OpResult::Info(format!("unexpected response {other:?}")),
    }
}

#[async_trait(?Send)]
impl<C: Connector> KvApi for ServiceApi<C> {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        let reads = self.reads_now();
        match self.client.execute(command(op, reads)).await {
            Ok(answered) => (
                answer_result(op, reads, answered.response),
                Some(node_name(answered.node)),
            ),
            Err(error) => {
                let node = match &error {
                    KvError::Indeterminate { node, .. } => Some(node_name(*node)),
                    _ => None,
                };
                let result = if error.is_definite() {
                    OpResult::Fail(error.to_string())
                } else {
                    OpResult::Info(error.to_string())
                };
                (result, node)
            }
        }
    }
}
