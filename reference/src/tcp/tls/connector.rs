//! The calling side of mutual TLS: dial, then require the server to prove it is the node the
//! caller means to reach.

use std::io;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::tcp::config::ClusterId;
use crate::tcp::stream::Connector;
use crate::tcp::tls::identity::{TlsError, TlsIdentity};
use crate::tcp::tls::node_name;
use crate::tcp::tls::refusals::RefusalLog;
use crate::types::NodeId;

/// A [`Connector`] that dials with `inner`, then opens TLS with this side's certificate and
/// accepts only a server certificate that chains to the CA and names node `to` of the
/// cluster ([`node_name`]). One connector reaches one node (a [`crate::tcp::TcpPeer`] is
/// made per peer, so it gets its own).
#[derive(Clone)]
pub struct TlsConnector<C> {
    inner: C,
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    refusals: Arc<RefusalLog>,
}

impl<C: Connector> TlsConnector<C> {
    /// Reach node `to` of `cluster_id` over `inner`, presenting `identity`.
    pub fn new(
        inner: C,
        identity: &TlsIdentity,
        cluster_id: ClusterId,
        to: NodeId,
    ) -> Result<TlsConnector<C>, TlsError> {
        let name = node_name(cluster_id, to);
        let server_name = ServerName::try_from(name.clone())
            .map_err(|error| TlsError::Config(format!("`{name}`: {error}")))?;
        Ok(TlsConnector {
            inner,
            config: identity.client_config()?,
            server_name,
            refusals: Arc::new(RefusalLog::default()),
        })
    }
}

impl<C: Connector> Connector for TlsConnector<C> {
    type Stream = tokio_rustls::client::TlsStream<C::Stream>;

    async fn connect(&self, addr: &str) -> io::Result<Self::Stream> {
        let stream = self.inner.connect(addr).await?;
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        connector
            .connect(self.server_name.clone(), stream)
            .await
            .map_err(|error| {
                // A peer that stays refused is redialled with backoff: one line per interval.
                if let Some(refusals) = self.refusals.note(addr) {
                    tracing::warn!(%addr, server = ?self.server_name, %error, refusals, "TLS to the server refused");
                }
                error
            })
    }
}
