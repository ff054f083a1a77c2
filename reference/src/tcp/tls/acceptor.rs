//! The answering side of mutual TLS: accept, complete the TLS handshake (the caller's
//! certificate must chain to the CA), then check that the caller's hello claims only what its
//! certificate proves.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::AsyncReadExt;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};

use crate::tcp::config::{ClusterId, TransportConfig};
use crate::tcp::frame::decode_body;
use crate::tcp::handshake::Hello;
use crate::tcp::stream::{Acceptor, Stream};
use crate::tcp::tls::identity::{TlsError, TlsIdentity, certificate_names};
use crate::tcp::tls::prefixed::Prefixed;
use crate::tcp::tls::refusals::RefusalLog;
use crate::tcp::tls::{client_name, node_name};

/// The largest hello frame read before the certificate check; a real one is a few dozen bytes.
const MAX_HELLO_BYTES: u32 = 1024;

/// Connections whose TLS handshake is done, waiting for the server to take them.
const READY_QUEUE: usize = 16;

/// What a [`TlsAcceptor`] yields: the TLS stream, replaying the hello it checked.
pub type TlsServerStream<S> = Prefixed<tokio_rustls::server::TlsStream<S>>;

/// An [`Acceptor`] that wraps another in mutual TLS. Handshakes run concurrently on a task of
/// their own (at most [`TransportConfig::max_connections`] at once, each within
/// [`TransportConfig::handshake_timeout`]), so a slow or hostile caller delays no other. A
/// refused caller is logged (`tracing` warn: its address and why) and dropped; the server
/// behind never sees it.
pub struct TlsAcceptor<S> {
    ready: Mutex<mpsc::Receiver<(TlsServerStream<S>, SocketAddr)>>,
    task: AbortHandle,
}

impl<S> Drop for TlsAcceptor<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<S: Stream> TlsAcceptor<S> {
    /// Accept from `inner`, presenting `identity`, for a node of `config.cluster_id`. Must be
    /// called inside a tokio runtime.
    pub fn new<A: Acceptor<Stream = S>>(
        inner: A,
        identity: &TlsIdentity,
        config: &TransportConfig,
    ) -> Result<TlsAcceptor<S>, TlsError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(identity.server_config()?);
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let task = tokio::spawn(accept_loop(
            inner,
            acceptor,
            sender,
            config.cluster_id,
            config.handshake_timeout,
            config.max_connections.max(1),
        ));
        Ok(TlsAcceptor {
            ready: Mutex::new(ready),
            task: task.abort_handle(),
        })
    }
}

impl<S: Stream> Acceptor for TlsAcceptor<S> {
    type Stream = TlsServerStream<S>;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        self.ready
            .lock()
            .await
            .recv()
            .await
            .ok_or_else(|| io::Error::other("the TLS acceptor stopped"))
    }
}

async fn accept_loop<A: Acceptor>(
    inner: A,
    acceptor: tokio_rustls::TlsAcceptor,
    ready: mpsc::Sender<(TlsServerStream<A::Stream>, SocketAddr)>,
    cluster_id: ClusterId,
    timeout: Duration,
    max_handshakes: usize,
) {
    let slots = Arc::new(Semaphore::new(max_handshakes));
    let refusals = Arc::new(RefusalLog::default());
    let mut handshakes = JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match inner.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (acceptor, ready, refusals) = (acceptor.clone(), ready.clone(), refusals.clone());
        handshakes.spawn(async move {
            let _slot = slot;
            let outcome =
                tokio::time::timeout(timeout, secure(&acceptor, stream, cluster_id)).await;
            match outcome {
                Ok(Ok(stream)) => {
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(reason)) => refusals.caller_refused(peer, &reason),
                Err(_) => refusals.caller_refused(
                    peer,
                    &format!("no handshake within {} ms", timeout.as_millis()),
                ),
            }
        });
        while handshakes.try_join_next().is_some() {}
    }
}

/// The TLS handshake, then the hello checked against the caller's certificate.
pub(super) async fn secure<S: Stream>(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: S,
    cluster_id: ClusterId,
) -> Result<TlsServerStream<S>, String> {
    let mut stream = acceptor
        .accept(stream)
        .await
        .map_err(|error| format!("TLS handshake failed: {error}"))?;
    let mut prefix = [0u8; 4];
    stream
        .read_exact(&mut prefix)
        .await
        .map_err(|error| format!("no hello after the TLS handshake: {error}"))?;
    let len = u32::from_be_bytes(prefix);
    if len > MAX_HELLO_BYTES {
        return Err(format!("a first frame of {len} bytes is no hello"));
    }
    let mut body = vec![0u8; len as usize];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|error| format!("no hello after the TLS handshake: {error}"))?;
    let hello: Hello =
        decode_body(&body).map_err(|error| format!("the first frame is no hello: {error}"))?;
    let certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or("the caller presented no certificate")?;
    check_claims(certificate, &hello, cluster_id)?;
    let mut replay = prefix.to_vec();
    replay.extend_from_slice(&body);
    Ok(Prefixed::new(replay, stream))
}

/// A node must hold the certificate of the node it says it is, in this cluster; a caller that
/// names no node must hold this cluster's client certificate. A hello of another cluster is
/// let through: the transport's own handshake refuses it, saying so.
pub(super) fn check_claims(
    certificate: &CertificateDer<'_>,
    hello: &Hello,
    cluster_id: ClusterId,
) -> Result<(), String> {
    if hello.cluster_id != cluster_id {
        return Ok(());
    }
    let (name, who) = match hello.from {
        Some(node) => (node_name(cluster_id, node), format!("node {node}")),
        None => (client_name(cluster_id), "a client".to_owned()),
    };
    let named = certificate_names(certificate, &name)
        .map_err(|error| format!("the caller's certificate: {error}"))?;
    named.then_some(()).ok_or_else(|| {
        format!(
            "the caller says it is {who} of cluster {cluster_id}, but its certificate does not \
             name {name}"
        )
    })
}
