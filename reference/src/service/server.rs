//! The node's side of the key-value service.

use std::future::Future;
use std::sync::Arc;

use crate::client::{ClientError, ReadConsistency};
use crate::kv::{KvCommand, KvResponse};
use crate::service::wire::{KvReply, ServiceError};
use crate::tcp::{Acceptor, FrameHandler, Protocol, ServerHandle, TransportConfig, serve};
use crate::types::NodeId;

/// What the service needs from a node: submit a command to Raft and wait for the state
/// machine's response. [`crate::node::Node`] implements it; tests may use a fake.
pub trait CommandSubmitter: Send + Sync + 'static {
    /// Submit `command`; returns the state machine's response once applied.
    fn submit(&self, command: Vec<u8>)
    -> impl Future<Output = Result<Vec<u8>, ClientError>> + Send;

    /// Answer the read-only `query` with `consistency` ([`crate::node::Node::read`]). The
    /// default submits it as a command (a read through the log, linearizable whatever was
    /// asked).
    fn read(
        &self,
        query: Vec<u8>,
        consistency: ReadConsistency,
    ) -> impl Future<Output = Result<Vec<u8>, ClientError>> + Send {
        let _ = consistency;
        self.submit(query)
    }
}

/// Answers [`KvCommand`]s by submitting them to a node.
pub struct KvService<N> {
    node: Arc<N>,
}

impl<N: CommandSubmitter> KvService<N> {
    /// Serve commands through `node`.
    pub fn new(node: Arc<N>) -> Self {
        KvService { node }
    }
}

impl<N: CommandSubmitter> FrameHandler for KvService<N> {
    type Request = KvCommand;
    type Response = KvReply;
    const PROTOCOL: Protocol = Protocol::Commands;

    async fn handle(&self, command: KvCommand) -> KvReply {
        let bytes = match command.encode() {
            Ok(bytes) => bytes,
            Err(error) => return Ok(KvResponse::Invalid(error.to_string())),
        };
        let outcome = match command {
            KvCommand::Read { consistency, .. } if consistency != ReadConsistency::Log => {
                self.node.read(bytes, consistency).await
            }
            _ => self.node.submit(bytes).await,
        };
        let response = outcome.map_err(ServiceError::from)?;
        KvResponse::decode(&response).map_err(|error| ServiceError::BadResponse {
            reason: error.to_string(),
        })
    }
}

/// Serve the key-value API of node `node_id` on the connections `acceptor` yields.
pub fn serve_kv<A: Acceptor, N: CommandSubmitter>(
    acceptor: A,
    node: Arc<N>,
    node_id: NodeId,
    config: TransportConfig,
) -> ServerHandle {
    serve(acceptor, Arc::new(KvService::new(node)), node_id, config)
}
