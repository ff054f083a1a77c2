//! Mutual TLS for the transport (feature `tls`): rustls through tokio-rustls, with the ring
//! provider.
//!
//! Every node holds a certificate signed by the cluster's certificate authority, naming it by
//! a DNS subject alternative name [`node_name`] (`node-<id>.cluster-<cluster>.rafty`); a client
//! of the service ports holds one naming [`client_name`] (`client.cluster-<cluster>.rafty`).
//! Both sides present and check certificates:
//!
//! * the caller ([`TlsConnector`]) accepts only a server whose certificate chains to the CA and
//!   names the node it meant to reach (a wrong node id or another cluster's name is refused);
//! * the server ([`TlsAcceptor`]) accepts only a caller whose certificate chains to the CA,
//!   and then reads the caller's [`crate::tcp::Hello`] before anything else sees the
//!   connection: a node must hold the certificate of the node id it claims in this cluster, a
//!   client a client certificate of this cluster. Every refusal is logged (`tracing` warn) with
//!   its reason and the caller's address, at most once per address per
//!   [`REFUSAL_LOG_INTERVAL`] with the count of refusals since ([`RefusalLog`]), and the
//!   connection is closed.
//!
//! Certificates and keys are PEM files ([`TlsIdentity::load`]).

mod acceptor;
mod connector;
mod identity;
mod prefixed;
mod refusals;

#[cfg(test)]
mod tests;

pub use acceptor::TlsAcceptor;
pub use connector::TlsConnector;
pub use identity::{ClientAuth, TlsError, TlsIdentity, certificate_names};
pub use refusals::{REFUSAL_LOG_INTERVAL, RefusalLog};

use crate::tcp::config::ClusterId;
use crate::types::NodeId;

/// The DNS name a node's certificate carries: `node-<id>.cluster-<cluster>.rafty`.
pub fn node_name(cluster_id: ClusterId, node_id: NodeId) -> String {
    format!("node-{node_id}.cluster-{cluster_id}.rafty")
}

/// The DNS name a client's certificate carries: `client.cluster-<cluster>.rafty`.
pub fn client_name(cluster_id: ClusterId) -> String {
    format!("client.cluster-{cluster_id}.rafty")
}
