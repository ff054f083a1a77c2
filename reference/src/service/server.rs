//! The node's side of the key-value service.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use crate::client::{ClientError, ReadConsistency};
use crate::kv::{KvCommand, KvResponse};
use crate::service::wire::{KvReply, ServiceError};
use crate::session::{self, SessionResponse};
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
        // The request's span, holding the node's `submit` span ([`crate::node::Node`]).
        let span = tracing::debug_span!("kv_request", command = command_name(&command));
        let reply = self.answer(command).instrument(span.clone()).await;
        tracing::debug!(parent: &span, ok = reply.is_ok(), "kv reply");
        reply
    }
}

/// The variant's name, for the request's span.
fn command_name(command: &KvCommand) -> &'static str {
    match command {
        KvCommand::Get { .. } => "get",
        KvCommand::Put { .. } => "put",
        KvCommand::Delete { .. } => "delete",
        KvCommand::Cas { .. } => "cas",
        KvCommand::Append { .. } => "append",
        KvCommand::Read { .. } => "read",
        KvCommand::Txn { .. } => "txn",
        KvCommand::RegisterSession => "register_session",
        KvCommand::InSession { .. } => "in_session",
    }
}

impl<N: CommandSubmitter> KvService<N> {
    async fn answer(&self, command: KvCommand) -> KvReply {
        match command {
            KvCommand::RegisterSession => {
                let response = self.node.submit(session::register()).await;
                return session_reply(response.map_err(ServiceError::from)?);
            }
            KvCommand::InSession {
                client_id,
                sequence,
                command,
            } => {
                let inner = match command.encode() {
                    Ok(bytes) => bytes,
                    Err(error) => return Ok(KvResponse::Invalid(error.to_string())),
                };
                let envelope = session::request(client_id, sequence, inner);
                let response = self.node.submit(envelope).await;
                return session_reply(response.map_err(ServiceError::from)?);
            }
            _ => {}
        }
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

/// The key-value answer to a session envelope, from the [`crate::session::Sessions`]
/// wrapper's response. A node whose state machine is the bare store answers the envelope as an
/// undecodable command ([`KvResponse::Invalid`], nothing applied), which passes through.
fn session_reply(bytes: Vec<u8>) -> KvReply {
    let bad = |reason: String| ServiceError::BadResponse { reason };
    let response = match SessionResponse::decode(&bytes) {
        Ok(response) => response,
        Err(error) => {
            return match KvResponse::decode(&bytes) {
                Ok(KvResponse::Invalid(reason)) => Ok(KvResponse::Invalid(format!(
                    "the node's state machine keeps no sessions: {reason}"
                ))),
                _ => Err(bad(error.to_string())),
            };
        }
    };
    match response {
        SessionResponse::Registered { client_id } => {
            Ok(KvResponse::SessionRegistered { client_id })
        }
        SessionResponse::Applied(inner) => {
            KvResponse::decode(&inner).map_err(|error| bad(error.to_string()))
        }
        SessionResponse::Expired { client_id } => Ok(KvResponse::SessionExpired { client_id }),
        SessionResponse::Stale {
            sequence,
            last_sequence,
        } => Ok(KvResponse::Invalid(format!(
            "sequence number {sequence} is behind the session's {last_sequence}: its response \
             is forgotten, and it was not applied again"
        ))),
        SessionResponse::Invalid(reason) => Ok(KvResponse::Invalid(reason)),
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
