//! The calling side of the transport: a [`Channel`] to one address keeps one multiplexed
//! connection, dials it on demand, backs off after failed dials, bounds every call by a
//! deadline, and drops a connection that stays silent past a deadline.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::tcp::backoff::Backoff;
use crate::tcp::config::TransportConfig;
use crate::tcp::connection::Connection;
use crate::tcp::frame::FrameError;
use crate::tcp::handshake::{HandshakeError, Hello, Protocol, client_handshake};
use crate::tcp::stream::Connector;
use crate::types::NodeId;

/// Why a call through a [`Channel`] failed. [`CallError::is_definite`] says whether the request
/// certainly never reached the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Definite: the dial failed; nothing was sent.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address dialled.
        addr: String,
        /// What the network said.
        reason: String,
    },
    /// Definite: a recent dial failed and the backoff delay has not passed; nothing was sent.
    #[error(
        "not dialling {addr} for another {retry_in:?} after {failures} failed dials (last: {last_error})"
    )]
    BackingOff {
        /// The address.
        addr: String,
        /// How long until the next dial.
        retry_in: Duration,
        /// Consecutive failed dials.
        failures: u32,
        /// Why the last dial failed.
        last_error: String,
    },
    /// Definite: the handshake failed or was refused (another cluster, another node); nothing
    /// was sent.
    #[error("handshake with {addr} failed: {error}")]
    Handshake {
        /// The address.
        addr: String,
        /// What went wrong.
        error: HandshakeError,
    },
    /// Definite: the request could not be encoded (for example it exceeds the maximum frame
    /// size); nothing was sent.
    #[error("request not sent: {0}")]
    Encode(FrameError),
    /// Definite: the connection closed before the request was queued.
    #[error("connection to {addr} closed before the request was sent: {reason}")]
    Closed {
        /// The address.
        addr: String,
        /// Why the connection closed.
        reason: String,
    },
    /// No answer within the deadline. Indefinite if `sent`.
    #[error("no answer from {addr} within {timeout:?} (request sent: {sent})")]
    TimedOut {
        /// The address.
        addr: String,
        /// The deadline that passed.
        timeout: Duration,
        /// Whether the request had been queued for writing when the deadline passed.
        sent: bool,
    },
    /// Indefinite: the connection failed after the request was sent.
    #[error("connection to {addr} lost after the request was sent: {reason}")]
    ConnectionLost {
        /// The address.
        addr: String,
        /// Why the connection failed.
        reason: String,
    },
    /// Indefinite: the server handled the request but could not send its answer.
    #[error("{addr} handled the request but could not answer: {reason}")]
    Failed {
        /// The address.
        addr: String,
        /// What the server said.
        reason: String,
    },
}

impl CallError {
    /// True when the request certainly did not reach the server's handler.
    pub fn is_definite(&self) -> bool {
        match self {
            CallError::Connect { .. }
            | CallError::BackingOff { .. }
            | CallError::Handshake { .. }
            | CallError::Encode(_)
            | CallError::Closed { .. } => true,
            CallError::TimedOut { sent, .. } => !sent,
            CallError::ConnectionLost { .. } | CallError::Failed { .. } => false,
        }
    }
}

/// Where a [`Channel`] dials and what its handshake says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelTarget {
    /// The address to dial, `host:port`.
    pub addr: String,
    /// What the connection carries.
    pub protocol: Protocol,
    /// The calling node, if the caller is a node.
    pub from: Option<NodeId>,
    /// The node expected at `addr`, if known; another node there is refused.
    pub to: Option<NodeId>,
}

struct DialState<Req, Resp> {
    connection: Option<Arc<Connection<Req, Resp>>>,
    backoff: Backoff,
    retry_at: Option<Instant>,
    last_error: String,
}

/// What a call got to before its deadline, to decide what a timeout means.
struct Progress<Req, Resp> {
    connection: Option<Arc<Connection<Req, Resp>>>,
    received_before: u64,
    id: Option<u64>,
    sent: bool,
}

/// Calls to one address over one multiplexed connection, redialled when it fails.
pub struct Channel<C: Connector, Req, Resp> {
    connector: C,
    target: ChannelTarget,
    config: TransportConfig,
    state: tokio::sync::Mutex<DialState<Req, Resp>>,
}

impl<C, Req, Resp> Channel<C, Req, Resp>
where
    C: Connector,
    Req: Serialize + Send + 'static,
    Resp: DeserializeOwned + Send + 'static,
{
    /// A channel to `target`; it dials on the first call.
    pub fn new(connector: C, target: ChannelTarget, config: TransportConfig) -> Self {
        let state = DialState {
            connection: None,
            backoff: Backoff::new(config.backoff),
            retry_at: None,
            last_error: String::new(),
        };
        Channel {
            connector,
            target,
            config,
            state: tokio::sync::Mutex::new(state),
        }
    }

    /// The address this channel dials.
    pub fn addr(&self) -> &str {
        &self.target.addr
    }

    /// The transport settings this channel uses.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Send `request` and wait for the answer, all within `timeout` (dialling included). If the
    /// deadline passes while the connection received nothing since the request, and no call
    /// with a large request (64 KiB or more) made before this one still waits, the connection
    /// is taken as stalled and dropped, so the next call dials afresh. Such an older call may be
    /// what holds the line (a multi-MB snapshot chunk still being read by a slow peer, with
    /// heartbeats queued behind it): its own deadline decides, so a short call behind it never
    /// cuts it off.
    pub async fn call(&self, request: Req, timeout: Duration) -> Result<Resp, CallError> {
        let mut progress = Progress {
            connection: None,
            received_before: 0,
            id: None,
            sent: false,
        };
        let outcome = tokio::time::timeout(timeout, self.call_within(request, &mut progress)).await;
        match outcome {
            Ok(result) => result,
            Err(_elapsed) => {
                if let Some(connection) = &progress.connection
                    && connection.received() == progress.received_before
                    && !progress
                        .id
                        .is_some_and(|id| connection.older_large_call_waiting(id))
                {
                    tracing::debug!(addr = %self.target.addr, ?timeout, "dropping a silent connection");
                    connection.close(format!("no frame received within {timeout:?}"));
                }
                Err(CallError::TimedOut {
                    addr: self.target.addr.clone(),
                    timeout,
                    sent: progress.sent,
                })
            }
        }
    }

    /// Close the current connection, if any; the next call dials again.
    pub async fn disconnect(&self) {
        if let Some(connection) = self.state.lock().await.connection.take() {
            connection.close("disconnected by the caller".into());
        }
    }

    async fn call_within(
        &self,
        request: Req,
        progress: &mut Progress<Req, Resp>,
    ) -> Result<Resp, CallError> {
        let connection = self.connection().await?;
        progress.received_before = connection.received();
        progress.connection = Some(connection.clone());
        connection
            .call(request, &mut progress.id, &mut progress.sent)
            .await
    }

    /// The live connection, dialled if there is none and the backoff allows.
    async fn connection(&self) -> Result<Arc<Connection<Req, Resp>>, CallError> {
        let mut state = self.state.lock().await;
        if let Some(connection) = &state.connection {
            if !connection.is_closed() {
                return Ok(connection.clone());
            }
            state.connection = None;
        }
        let now = Instant::now();
        if let Some(retry_at) = state.retry_at
            && now < retry_at
        {
            return Err(CallError::BackingOff {
                addr: self.target.addr.clone(),
                retry_in: retry_at - now,
                failures: state.backoff.failures(),
                last_error: state.last_error.clone(),
            });
        }
        // Count the dial as failed until it succeeds, so a dial abandoned at the caller's
        // deadline (a silent network) still backs off.
        state.retry_at = Some(now + state.backoff.fail());
        state.last_error = "dial abandoned at the caller's deadline".into();
        match self.dial().await {
            Ok(connection) => {
                state.backoff.succeed();
                state.retry_at = None;
                state.connection = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                state.last_error = error.to_string();
                Err(error)
            }
        }
    }

    async fn dial(&self) -> Result<Arc<Connection<Req, Resp>>, CallError> {
        let addr = &self.target.addr;
        let mut stream =
            self.connector
                .connect(addr)
                .await
                .map_err(|error| CallError::Connect {
                    addr: addr.clone(),
                    reason: error.to_string(),
                })?;
        let hello = Hello::new(
            self.target.protocol,
            self.config.cluster_id,
            self.target.from,
            self.target.to,
        );
        client_handshake(&mut stream, &hello, self.config.max_frame_bytes)
            .await
            .map_err(|error| CallError::Handshake {
                addr: addr.clone(),
                error,
            })?;
        tracing::debug!(%addr, "connected");
        Ok(Arc::new(Connection::open(
            stream,
            addr.clone(),
            self.config.max_frame_bytes,
            self.config.max_in_flight,
        )))
    }
}
