//! The workload clients' way into an in-process cluster: rafty's library API
//! ([`Node::submit`], [`Node::read`]) on the node handles, no client transport in between.
//!
//! Client `i` asks node `i mod n` first, whatever its role, so that followers forward writes
//! to the leader (`Peer::forward`) and ask it for read indexes (`Peer::read_index`, follower
//! reads) through the user's `Peer`. A "not the leader" answer (definite) sends it to the hint
//! or the next node; a killed node is skipped; a timeout or a stop is indefinite (`info`).

use std::time::Duration;

use async_trait::async_trait;
use rafty::kv::KvResponse;
use rafty::{ClientError, NodeId, ReadConsistency};
use rafty_workloads::{ClientOp, OpResult};

use crate::sim::client::KvApi;
use crate::sim::clock;
use crate::sim::control::node_name;
use crate::sim::kv_api::{answer_result, command};

use super::cluster::Running;

/// How many nodes an operation tries before it fails (definitely).
const MAX_ATTEMPTS: usize = 6;
/// The pause before trying again after a "not the leader" with no hint.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// One client's way in.
pub struct NodesApi {
    running: Running,
    ids: Vec<NodeId>,
    /// The node asked first (an index into `ids`).
    preferred: usize,
    reads: ReadConsistency,
    reads_until: Duration,
}

impl NodesApi {
    /// Client `index`'s way into the nodes `ids`; reads with `reads` until `reads_until` (run
    /// time), then linearizable (the final reads).
    pub fn new(
        running: Running,
        ids: Vec<NodeId>,
        index: u64,
        reads: ReadConsistency,
        reads_until: Duration,
    ) -> NodesApi {
        let preferred = index as usize % ids.len().max(1);
        NodesApi {
            running,
            ids,
            preferred,
            reads,
            reads_until,
        }
    }

    fn reads_now(&self) -> ReadConsistency {
        if self.reads == ReadConsistency::Stale && clock::now() >= self.reads_until {
            ReadConsistency::Linearizable
        } else {
            self.reads
        }
    }
}

#[async_trait(?Send)]
impl KvApi for NodesApi {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        let reads = self.reads_now();
        let kv = command(op, reads);
        let bytes = match kv.encode() {
            Ok(bytes) => bytes,
            Err(error) => return (OpResult::Fail(format!("cannot encode: {error}")), None),
        };
        let is_query = matches!(
            kv,
            rafty::kv::KvCommand::Read { consistency, .. } if consistency != ReadConsistency::Log
        );
        let mut next = self.ids[self.preferred];
        let mut last_error = "no node running".to_owned();
        for attempt in 0..MAX_ATTEMPTS {
            let Some(node) = self.running.get(next) else {
                next = self.ids[(self.preferred + attempt + 1) % self.ids.len()];
                continue;
            };
            let name = Some(node_name(next));
            let outcome = if is_query {
                node.read(bytes.clone(), reads).await
            } else {
                node.submit(bytes.clone()).await
            };
            match outcome {
                Ok(answer) => {
                    return match KvResponse::decode(&answer) {
                        Ok(response) => (answer_result(op, reads, response), name),
                        Err(error) => {
                            (OpResult::Info(format!("undecodable answer: {error}")), name)
                        }
                    };
                }
                Err(ClientError::NotLeader { leader_hint }) => {
                    last_error = format!("n{next}: not the leader (hint {leader_hint:?})");
                    next = match leader_hint {
                        Some(hint) if hint != next => hint,
                        _ => {
                            tokio::time::sleep(RETRY_PAUSE).await;
                            self.ids[(self.preferred + attempt + 1) % self.ids.len()]
                        }
                    };
                }
                Err(error @ ClientError::QueryUnsupported) => {
                    return (OpResult::Fail(error.to_string()), name);
                }
                Err(error) => return (OpResult::Info(format!("n{next}: {error}")), name),
            }
        }
        (OpResult::Fail(last_error), None)
    }
}
