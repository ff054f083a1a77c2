//! The knobs of the TCP transport, shared by the calling and the answering side.

use std::time::Duration;

use crate::tcp::backoff::BackoffConfig;

/// Identifies a cluster. Every connection's handshake carries it, and a node refuses callers of
/// another cluster, so that two clusters sharing hosts (or a stale config) never mix.
pub type ClusterId = u64;

/// The largest frame accepted by default: 8 MiB, room for a full AppendEntries batch.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 8 << 20;

/// An upper bound on the bytes an InstallSnapshot frame adds to its chunk's data: the
/// envelope's request id, the variant tag, every field of
/// [`crate::message::InstallSnapshot`] at its widest postcard varint, and the data's length.
pub const INSTALL_SNAPSHOT_OVERHEAD_BYTES: u32 = 128;

/// Settings of the TCP transport. [`TransportConfig::new`] gives sensible defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// The cluster this node belongs to; the handshake refuses any other.
    pub cluster_id: ClusterId,
    /// The largest frame sent or received, in bytes (length prefix excluded). Larger incoming
    /// frames close the connection; larger outgoing requests fail before they are sent. Both
    /// ends of a connection must use the same value. A snapshot sender keeps its chunks to
    /// [`TransportConfig::max_snapshot_chunk_bytes`].
    pub max_frame_bytes: u32,
    /// The most calls in flight on one connection, on both sides: callers wait (within their
    /// deadline) for a slot; a server stops reading a connection while its handlers are busy.
    pub max_in_flight: usize,
    /// The most connections a server serves at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// How long a server waits for a new connection's handshake.
    pub handshake_timeout: Duration,
    /// How long a server keeps a connection on which no byte arrives (between frames or inside
    /// one: a large frame that keeps arriving is read whole), and how long it waits to
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

    /// The longest InstallSnapshot chunk (its `data`) this transport carries: every chunk up
    /// to this length fits in one frame, whatever its other fields hold. A longer chunk is
    /// refused before it is sent ([`crate::PeerError::NotSent`], naming its size and this
    /// limit), so a sender must cut its snapshot into chunks no longer than this. 0 when
    /// `max_frame_bytes` leaves no room beyond the frame's overhead.
    pub fn max_snapshot_chunk_bytes(&self) -> usize {
        self.max_frame_bytes
            .saturating_sub(INSTALL_SNAPSHOT_OVERHEAD_BYTES) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::InstallSnapshot;
    use crate::tcp::frame::{Envelope, FrameError, encode_frame};
    use crate::tcp::raft::RaftRequest;

    /// The widest InstallSnapshot frame of a chunk of `len` bytes: every number at its
    /// widest varint.
    fn widest_chunk(len: usize) -> Envelope<RaftRequest> {
        Envelope {
            id: u64::MAX,
            body: RaftRequest::InstallSnapshot(InstallSnapshot {
                term: u64::MAX,
                leader_id: u64::MAX,
                last_included_index: u64::MAX,
                last_included_term: u64::MAX,
                size_bytes: u64::MAX,
                checksum: u32::MAX,
                offset: u64::MAX,
                data: vec![0xA5; len],
                done: true,
            }),
        }
    }

    #[test]
    fn a_chunk_of_the_maximum_length_always_fits_in_a_frame() {
        for max_frame_bytes in [200, 4096, 70_000, DEFAULT_MAX_FRAME_BYTES] {
            let config = TransportConfig {
                max_frame_bytes,
                ..TransportConfig::new(1)
            };
            let chunk = config.max_snapshot_chunk_bytes();
            assert!(chunk > 0);
            let frame = encode_frame(&widest_chunk(chunk), max_frame_bytes);
            assert!(frame.is_ok(), "{max_frame_bytes}: {frame:?}");
        }
    }

    #[test]
    fn the_chunk_limit_leaves_little_unused() {
        let config = TransportConfig::new(1);
        let max = config.max_frame_bytes;
        // A chunk the size of the frame limit cannot fit; one within the overhead of it can.
        let error = encode_frame(&widest_chunk(max as usize), max).unwrap_err();
        assert!(matches!(error, FrameError::TooLarge { .. }), "{error}");
        assert_eq!(
            config.max_snapshot_chunk_bytes(),
            (max - INSTALL_SNAPSHOT_OVERHEAD_BYTES) as usize
        );
    }

    #[test]
    fn a_tiny_frame_limit_carries_no_chunk_rather_than_underflowing() {
        let config = TransportConfig {
            max_frame_bytes: 10,
            ..TransportConfig::new(1)
        };
        assert_eq!(config.max_snapshot_chunk_bytes(), 0);
    }
}
