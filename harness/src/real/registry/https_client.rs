//! The registry's HTTPS API as a workload client reaches it: a hyper connector that dials a
//! node over TCP and completes a rustls handshake with a client certificate of the cluster
//! (`rafty certs --clients`), checking the node's certificate against the cluster's CA and
//! the address dialled (node certificates carry `127.0.0.1` and `localhost`). For the
//! registry's benchmark with TLS on.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::hyper_stream::HyperStream;

/// How long a dial and its handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Dials `host:port` of a request's URI and speaks TLS over it.
#[derive(Clone)]
pub struct HttpsConnector {
    tls: tokio_rustls::TlsConnector,
}

impl HttpsConnector {
    /// A connector presenting the identity of `config` (a client certificate of the cluster,
    /// its CA as the only root).
    pub fn new(config: Arc<rustls::ClientConfig>) -> HttpsConnector {
        HttpsConnector {
            tls: tokio_rustls::TlsConnector::from(config),
        }
    }
}

/// A TLS connection as hyper's client reads and writes it.
pub type HttpsStream = HyperStream<TlsStream<TcpStream>>;

impl tower_service::Service<Uri> for HttpsConnector {
    type Response = HttpsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<HttpsStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {uri}"))
            })?;
            let name = ServerName::try_from(host.to_owned()).map_err(|error| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {error}"))
            })?;
            let address = format!("{host}:{}", uri.port_u16().unwrap_or(443));
            let dial = async {
                let tcp = TcpStream::connect(&address).await?;
                tcp.set_nodelay(true)?;
                tls.connect(name, tcp).await
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, dial).await {
                Ok(stream) => Ok(HyperStream::new(stream?)),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TLS connection to {address} within {CONNECT_TIMEOUT:?}"),
                )),
            }
        })
    }
}
