//! HTTP over turmoil: the registry's axum server accepts from a turmoil listener
//! ([`TurmoilHttpListener`]) and its hyper client dials through turmoil
//! ([`TurmoilHttpConnector`]), so the registry's own HTTP code runs on the simulated network,
//! byte for byte what a real node serves.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;

use crate::hyper_stream::HyperStream;

/// How long a dial may take before the client counts the node unreachable (nothing sent).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A turmoil listener as axum serves it.
pub struct TurmoilHttpListener {
    listener: turmoil::net::TcpListener,
}

impl TurmoilHttpListener {
    /// Bind `port` on the current simulated host (all its addresses).
    pub async fn bind(port: u16) -> io::Result<TurmoilHttpListener> {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?;
        Ok(TurmoilHttpListener { listener })
    }
}

impl axum::serve::Listener for TurmoilHttpListener {
    type Io = turmoil::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => return accepted,
                // As axum's own listener does: wait a moment and accept again.
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Dials `host:port` of a request's URI on turmoil's network (host names resolved by the
/// simulation's DNS, `n1:9000`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TurmoilHttpConnector;

/// A turmoil stream as hyper's client reads and writes it.
pub type TurmoilHttpStream = HyperStream<turmoil::net::TcpStream>;

impl tower_service::Service<Uri> for TurmoilHttpConnector {
    type Response = TurmoilHttpStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TurmoilHttpStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {uri}"))
            })?;
            let address = format!("{host}:{}", uri.port_u16().unwrap_or(80));
            let dial = turmoil::net::TcpStream::connect(address.clone());
            match tokio::time::timeout(CONNECT_TIMEOUT, dial).await {
                Ok(stream) => Ok(HyperStream::new(stream?)),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("cannot connect to {address} within {CONNECT_TIMEOUT:?}"),
                )),
            }
        })
    }
}
