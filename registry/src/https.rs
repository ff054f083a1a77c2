//! The registry's API over HTTPS: an axum [`Listener`] that completes each connection's TLS
//! handshake (with the node's certificate, rustls through tokio-rustls) before axum sees it.
//!
//! Client certificates, [`ClientAuth`]: `required` (the default of `rafty node`) refuses a
//! client that presents none; `optional` lets it in, for clients that only need the traffic
//! encrypted. A certificate a client does present must chain to the cluster's CA and name this
//! cluster's client, `client.cluster-<id>.rafty` (`rafty certs --clients`), else the
//! connection is refused. Handshakes run concurrently (at most [`MAX_HANDSHAKES`], each within
//! [`HANDSHAKE_TIMEOUT`]); refusals are logged with their reason, at most one line per client
//! IP per interval with a count ([`RefusalLog`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rafty::tcp::tls::{
    ClientAuth, RefusalLog, TlsError, TlsIdentity, certificate_names, client_name,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::AbortHandle;

/// The most TLS handshakes in progress at once.
pub const MAX_HANDSHAKES: usize = 256;

/// How long a client gets to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS connection to the API.
pub type HttpsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// Accepts TCP connections and yields those whose TLS handshake succeeded.
pub struct HttpsListener {
    ready: mpsc::Receiver<(HttpsStream, SocketAddr)>,
    local: SocketAddr,
    task: AbortHandle,
}

impl Drop for HttpsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpsListener {
    /// Serve TLS on `listener` with `identity` (a node certificate of `cluster_id`), asking
    /// clients for certificates as `client_auth` says. Must be called inside a tokio runtime.
    pub fn new(
        listener: TcpListener,
        identity: &TlsIdentity,
        cluster_id: u64,
        client_auth: ClientAuth,
    ) -> Result<HttpsListener, TlsError> {
        let local = listener
            .local_addr()
            .map_err(|error| TlsError::Config(format!("the listener: {error}")))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(identity.https_server_config(client_auth)?);
        let (sender, ready) = mpsc::channel(16);
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            sender,
            client_name(cluster_id),
        ));
        Ok(HttpsListener {
            ready,
            local,
            task: task.abort_handle(),
        })
    }
}

impl Listener for HttpsListener {
    type Io = HttpsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (HttpsStream, SocketAddr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended (its runtime is shutting down): no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    ready: mpsc::Sender<(HttpsStream, SocketAddr)>,
    client: String,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let refusals = Arc::new(RefusalLog::default());
    let client = Arc::new(client);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "HTTPS accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        let (refusals, client) = (refusals.clone(), client.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, secure(&acceptor, stream, &client)).await
            {
                Ok(Ok(stream)) => {
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(reason)) => refusals.caller_refused(peer, &format!("HTTPS: {reason}")),
                Err(_) => refusals.caller_refused(
                    peer,
                    &format!(
                        "HTTPS: no handshake within {} s",
                        HANDSHAKE_TIMEOUT.as_secs()
                    ),
                ),
            }
        });
    }
}

/// The handshake, then the client's certificate, if any, checked to name `client`.
async fn secure(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    client: &str,
) -> Result<HttpsStream, String> {
    let stream = acceptor
        .accept(stream)
        .await
        .map_err(|error| format!("TLS handshake failed: {error}"))?;
    if let Some(certificate) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    {
        let named = certificate_names(certificate, client)
            .map_err(|error| format!("the client's certificate: {error}"))?;
        if !named {
            return Err(format!(
                "the client's certificate does not name {client} (a certificate of another \
                 cluster, or a node's?)"
            ));
        }
    }
    Ok(stream)
}
