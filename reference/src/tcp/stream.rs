//! What the transport needs from a network: a way to dial and a way to accept.
//!
//! Implement [`Connector`] and [`Acceptor`] for your own stream types (a simulated network, TLS,
//! an in-memory duplex) and every part of [`crate::tcp`] runs on them unchanged.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream the transport can use: any tokio-compatible, sendable, unpinned duplex.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Dials a remote address.
pub trait Connector: Send + Sync + 'static {
    /// The stream a successful dial yields.
    type Stream: Stream;

    /// Open a connection to `addr` (as `host:port`, resolved as the network sees fit).
    fn connect(&self, addr: &str) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// Accepts incoming connections on an already bound address.
pub trait Acceptor: Send + Sync + 'static {
    /// The stream each accepted connection yields.
    type Stream: Stream;

    /// Wait for the next connection; returns it and the remote address.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

/// Dials with [`tokio::net::TcpStream::connect`], with Nagle's algorithm off (Raft messages are
/// small and latency-bound).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioConnector;

impl Connector for TokioConnector {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, addr: &str) -> io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Accepts from a [`tokio::net::TcpListener`].
#[derive(Debug)]
pub struct TokioAcceptor {
    listener: tokio::net::TcpListener,
}

impl TokioAcceptor {
    /// Bind a listener on `addr` (use port 0 for any free port, then [`Self::local_addr`]).
    pub async fn bind(addr: &str) -> io::Result<TokioAcceptor> {
        Ok(TokioAcceptor {
            listener: tokio::net::TcpListener::bind(addr).await?,
        })
    }

    /// Wrap a listener bound elsewhere.
    pub fn from_listener(listener: tokio::net::TcpListener) -> TokioAcceptor {
        TokioAcceptor { listener }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Acceptor for TokioAcceptor {
    type Stream = tokio::net::TcpStream;

    async fn accept(&self) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
        let (stream, addr) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }
}
