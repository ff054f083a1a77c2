//! The answering side of the transport: accept connections, check each handshake, read
//! requests and hand them to a [`FrameHandler`] concurrently, write the answers back.
//!
//! Every queue is bounded: at most [`TransportConfig::max_connections`] connections, and per
//! connection at most [`TransportConfig::max_in_flight`] requests being handled or answered
//! (the server stops reading a connection while they are all busy). A connection that sends
//! garbage is answered [`ServerFrame::Goodbye`], logged and closed; one that stays silent (no
//! byte arrives, between frames or inside one) or does not read its answers for
//! [`TransportConfig::idle_timeout`] is closed. A large frame that keeps arriving is read whole
//! however long it takes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::tcp::config::TransportConfig;
use crate::tcp::frame::{Envelope, FrameError, ServerFrame, encode_frame, read_frame_or_idle};
use crate::tcp::handshake::{Protocol, ServerIdentity, server_handshake};
use crate::tcp::stream::{Acceptor, Stream};
use crate::tcp::writer::FrameWriter;
use crate::types::NodeId;

/// What a server does with each request of one protocol.
pub trait FrameHandler: Send + Sync + 'static {
    /// The requests it accepts.
    type Request: DeserializeOwned + Send + 'static;
    /// The answers it gives.
    type Response: Serialize + Send + 'static;
    /// The protocol callers must name in their handshake.
    const PROTOCOL: Protocol;

    /// Answer one request. Called concurrently for the requests of one or many connections.
    fn handle(&self, request: Self::Request) -> impl Future<Output = Self::Response> + Send;
}

/// A running server. It serves until [`ServerHandle::shutdown`] or until the handle is dropped;
/// both close every connection at once.
#[derive(Debug)]
pub struct ServerHandle {
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// Stop accepting and close every connection.
    pub fn shutdown(&self) {
        self.task.abort();
    }

    /// True once the server has stopped.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `handler` as node `node_id` on the connections `acceptor` yields. Must be called
/// inside a tokio runtime.
pub fn serve<A: Acceptor, H: FrameHandler>(
    acceptor: A,
    handler: Arc<H>,
    node_id: NodeId,
    config: TransportConfig,
) -> ServerHandle {
    let identity = ServerIdentity {
        protocol: H::PROTOCOL,
        cluster_id: config.cluster_id,
        node_id,
    };
    let task = tokio::spawn(accept_loop(acceptor, handler, identity, Arc::new(config)));
    ServerHandle { task }
}

/// The pause after a failed accept (for example out of file descriptors), so the loop does not
/// spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

async fn accept_loop<A: Acceptor, H: FrameHandler>(
    acceptor: A,
    handler: Arc<H>,
    identity: ServerIdentity,
    config: Arc<TransportConfig>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        match acceptor.accept().await {
            Ok((stream, peer)) => {
                let connection = serve_connection(
                    stream,
                    peer,
                    handler.clone(),
                    identity,
                    config.clone(),
                    slot,
                );
                connections.spawn(connection);
            }
            Err(error) => {
                tracing::warn!(node = identity.node_id, %error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
}

/// Why a connection's read loop ended.
enum Ending {
    Closed,
    Idle,
    WriterStopped,
    Garbage(FrameError),
    Failed(FrameError),
}

async fn serve_connection<S: Stream, H: FrameHandler>(
    mut stream: S,
    peer: SocketAddr,
    handler: Arc<H>,
    identity: ServerIdentity,
    config: Arc<TransportConfig>,
    _slot: OwnedSemaphorePermit,
) {
    let node = identity.node_id;
    let max = config.max_frame_bytes;
    let hello = match tokio::time::timeout(
        config.handshake_timeout,
        server_handshake(&mut stream, &identity, max),
    )
    .await
    {
        Ok(Ok(hello)) => hello,
        Ok(Err(error)) => return tracing::warn!(node, %peer, %error, "handshake failed; closing"),
        Err(_) => return tracing::warn!(node, %peer, "no handshake in time; closing"),
    };
    tracing::debug!(node, %peer, from = ?hello.from, "connection accepted");
    let (mut reader, writer) = tokio::io::split(stream);
    let max_in_flight = config.max_in_flight.max(1);
    // Each handler writes its own answer (at once when the socket takes it); the flusher
    // writes the rest, and gives up on a caller that does not read for `idle_timeout`.
    let (answers, flusher) = FrameWriter::new(writer, Some(config.idle_timeout));
    let mut writing = tokio::spawn(flusher);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let mut handlers = JoinSet::new();
    let ending = loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break Ending::Closed;
        };
        let read = tokio::select! {
            biased;
            _ = &mut writing => break Ending::WriterStopped,
            // The idle timeout bounds silence, not a frame: a large frame that keeps arriving
            // (a snapshot chunk on a slow link) is read whole.
            read = read_frame_or_idle::<Envelope<H::Request>, _>(&mut reader, max, config.idle_timeout) => read,
        };
        match read {
            Ok(Some(envelope)) => {
                handlers.spawn(handle_one(
                    handler.clone(),
                    envelope,
                    answers.clone(),
                    max,
                    slot,
                ));
            }
            Ok(None) => break Ending::Idle,
            Err(FrameError::Closed) => break Ending::Closed,
            Err(error @ (FrameError::TooLarge { .. } | FrameError::Malformed { .. })) => {
                break Ending::Garbage(error);
            }
            Err(error) => break Ending::Failed(error),
        }
        while handlers.try_join_next().is_some() {}
    };
    // Handlers already started finish on their own (they may be mid-way through a durable
    // write); their answers go nowhere once the writer is gone.
    handlers.detach_all();
    let writer_running = !matches!(ending, Ending::WriterStopped);
    match ending {
        Ending::Closed => tracing::debug!(node, %peer, "connection closed by the caller"),
        Ending::Idle => {
            tracing::info!(node, %peer, timeout = ?config.idle_timeout, "idle connection closed")
        }
        Ending::WriterStopped => {
            tracing::info!(node, %peer, "could not write answers; connection closed")
        }
        Ending::Failed(error) => tracing::info!(node, %peer, %error, "connection failed"),
        Ending::Garbage(error) => {
            tracing::warn!(node, %peer, %error, "garbage received; connection closed");
            let goodbye = ServerFrame::<H::Response>::Goodbye {
                reason: error.to_string(),
            };
            if let Ok(frame) = encode_frame(&goodbye, max) {
                let _ = answers.send(&frame, None);
            }
        }
    }
    answers.finish();
    if writer_running {
        // Let the writer flush what is queued (the goodbye), within its own write timeout.
        let _ = tokio::time::timeout(config.idle_timeout, &mut writing).await;
        writing.abort();
    }
}

/// Answer one request. Its slot (of the connection's `max_in_flight`) is held until the answer
/// is written, so a caller that does not read its answers stops being read from.
async fn handle_one<H: FrameHandler>(
    handler: Arc<H>,
    envelope: Envelope<H::Request>,
    answers: FrameWriter<OwnedSemaphorePermit>,
    max_frame_bytes: u32,
    slot: OwnedSemaphorePermit,
) {
    let id = envelope.id;
    let body = handler.handle(envelope.body).await;
    let frame =
        encode_frame(&ServerFrame::Response { id, body }, max_frame_bytes).or_else(|error| {
            tracing::warn!(id, %error, "answer cannot be sent");
            encode_frame(
                &ServerFrame::<H::Response>::Failed {
                    id,
                    reason: error.to_string(),
                },
                max_frame_bytes,
            )
        });
    if let Ok(frame) = frame {
        // Fails only once the connection's writing failed: nobody to answer.
        let _ = answers.send(&frame, Some(slot));
    }
}
