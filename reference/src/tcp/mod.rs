//! A TCP transport for [`crate::Peer`], generic over the stream and listener types.
//!
//! The same code runs on tokio's sockets in production ([`TokioConnector`], [`TokioAcceptor`])
//! and on a simulated network in the harness, which implements [`Connector`] and [`Acceptor`]
//! for its own stream types.
//!
//! # Wire format
//!
//! Every message is a frame: a big-endian `u32` length followed by that many bytes of
//! [postcard](https://docs.rs/postcard). Frames longer than
//! [`TransportConfig::max_frame_bytes`] are refused before anything is allocated
//! ([`FrameError::TooLarge`]). A connection opens with a handshake ([`Hello`], answered by
//! [`HelloReply`]) that carries the protocol, its version, the cluster id and the node ids; a
//! node of another cluster is refused ([`Refusal::WrongCluster`]), and so is a caller newer than
//! the server ([`Refusal::UnsupportedVersion`]; a server accepts every version from
//! [`handshake::MIN_PROTOCOL_VERSION`] to its own [`handshake::PROTOCOL_VERSION`]: version 2
//! added InstallSnapshot). An InstallSnapshot chunk travels in one frame, so its data is kept to
//! [`TransportConfig::max_snapshot_chunk_bytes`]. After the handshake the caller sends
//! [`Envelope`]s, each with a request id, and the server answers [`ServerFrame`]s carrying the
//! same id, so several calls share one connection (multiplexing).
//!
//! # Layers
//!
//! * [`frame`]: length-prefixed frames, pure decoding and async reading.
//! * [`handshake`]: the opening exchange of a connection.
//! * [`channel`]: the calling side: one multiplexed connection per remote address, per-call
//!   deadlines, reconnection with exponential [`backoff`].
//! * [`server`]: the answering side: accept, handshake, dispatch concurrently, bounded.
//! * `writer` (private): both sides write each frame from the task that made it, at once
//!   when the socket takes it, and queue only the rest for a flusher task (no hop to a writer
//!   task per frame).
//! * [`raft`]: the Raft RPCs on top: [`TcpPeer`] and [`serve_raft`].
//! * `tls` (feature `tls`): mutual TLS as a [`Connector`] and an [`Acceptor`] around any
//!   other, each node's certificate naming its node id and cluster.
//!
//! Architecture invariant: nothing here reads the OS clock, spawns threads, draws OS
//! randomness or iterates a `HashMap`; time is tokio's, so the simulation controls it.

pub mod backoff;
pub mod channel;
pub mod config;
mod connection;
mod envelope;
pub mod frame;
pub mod handshake;
pub mod raft;
pub mod server;
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;
mod writer;

#[cfg(test)]
mod large_frames_tests;

pub use backoff::{Backoff, BackoffConfig};
pub use channel::{CallError, Channel, ChannelTarget};
pub use config::{ClusterId, TransportConfig};
pub use frame::{Envelope, FrameError, ServerFrame};
pub use handshake::{HandshakeError, Hello, HelloReply, Protocol, Refusal};
pub use raft::{
    RaftRequest, RaftResponse, RaftService, RemotePeerError, TcpPeer, VoteArguments, serve_raft,
};
pub use server::{FrameHandler, ServerHandle, serve};
pub use stream::{Acceptor, Connector, Stream, TokioAcceptor, TokioConnector};
