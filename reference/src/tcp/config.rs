//! The knobs of the TCP transport, shared by the calling and the answering side.

use std::time::Duration;

use crate::tcp::backoff::BackoffConfig;

/// Identifies a cluster. Every connection's handshake carries it, and a node refuses callers of
/// another cluster, so that two clusters sharing hosts (or a stale config) never mix.
pub type ClusterId = u64;

/// The largest frame accepted by default: 8 MiB, room for a full AppendEntries batch.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 8 << 20;

/// Settings of the TCP transport. [`TransportConfig::new`] gives sensible defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// The cluster this node belongs to; the handshake refuses any other.
    pub cluster_id: ClusterId,
    /// The largest frame sent or received, in bytes (length prefix excluded). Larger incoming
    /// frames close the connection; larger outgoing requests fail before they are sent.
    pub max_frame_bytes: u32,
    /// The most calls in flight on one connection, on both sides: callers wait (within their
    /// deadline) for a slot; a server stops reading a connection while its handlers are busy.
    pub max_in_flight: usize,
    /// The most connections a server serves at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// How long a server waits for a new connection's handshake.
    pub handshake_timeout: Duration,
    /// How long a server keeps a connection on which nothing arrives, and how long it waits to
    /// write one response, before closing it. A simulated partition stalls streams silently;
    /// this is what frees them.
    pub idle_timeout: Duration,
    /// Delays between failed dials to the same address.
    pub backoff: BackoffConfig,
}

impl TransportConfig {
    /// Defaults for `cluster_id`: 8 MiB frames, 64 calls in flight per connection, 1024
    /// connections, 5 s handshake, 30 s idle timeout, dial backoff from 10 ms to 500 ms.
    pub fn new(cluster_id: ClusterId) -> TransportConfig {
        TransportConfig {
            cluster_id,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_in_flight: 64,
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            backoff: BackoffConfig::default(),
        }
    }
}
