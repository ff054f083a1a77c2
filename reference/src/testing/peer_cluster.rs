//! [`PeerCluster`]: a user's transport for a whole cluster (a server per node, a [`Peer`]
//! between any two), the one factory of the `Peer` part: the peer suite runs on one link of it
//! ([`OneLink`]), and the chaos run of a `Peer` (the harness's `in_process` run,
//! `rafty_testing::peer::run_all`) builds a 3-node cluster on it.
//!
//! The harness gives every node an address on loopback ([`loopback_addresses`]); a transport
//! that is not TCP (QUIC, a Unix socket, channels in process) may use the address as a name
//! only. [`TcpPeerCluster`] is rafty's own `TcpPeer` as a `PeerCluster`, to copy.
//!
//! ```
//! use rafty::testing::peer_cluster::{OneLink, TcpPeerCluster};
//! use rafty::testing::peer_suite;
//!
//! peer_suite::run(&mut OneLink::new(TcpPeerCluster::new(7))).assert_all_passed();
//! ```

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;

use super::peer_suite::{CLIENT_ID, PeerHarness, SERVER_ID};
use crate::peer::{Peer, RpcHandler};
use crate::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use crate::types::NodeId;

/// Serves nodes over the transport under test and makes the [`Peer`]s between them.
///
/// Every method is called on a tokio runtime (current thread, time and I/O enabled); a chaos
/// run makes its own runtime and stops every server before it ends, so the servers and peers
/// of one run never outlive it.
#[async_trait]
pub trait PeerCluster: Send {
    /// Start serving `handler` as node `id` at `address`, replacing any server of `id` already
    /// running; return once calls can reach it. After [`PeerCluster::stop_server`] it is
    /// called again for the same node and address with a new handler (the node restarted).
    async fn start_server(
        &mut self,
        id: NodeId,
        address: SocketAddr,
        handler: Arc<dyn RpcHandler>,
    ) -> Result<(), String>;

    /// Stop serving node `id`: close its listener and every connection, so that calls to it
    /// fail until the next [`PeerCluster::start_server`]. Nothing when it is not serving.
    async fn stop_server(&mut self, id: NodeId);

    /// A [`Peer`] through which node `from` calls node `to`, which is served at `address`.
    /// The peer outlives servers: calls through it must succeed again once `to` serves again
    /// at `address`. May be asked more than once for a pair.
    async fn peer(
        &mut self,
        from: NodeId,
        to: NodeId,
        address: SocketAddr,
    ) -> Result<Arc<dyn Peer>, String>;

    /// The largest message the transport is meant to carry, in bytes (the peer suite sends
    /// messages of half this size). 4 MiB by default.
    fn max_message_bytes(&self) -> usize {
        4 << 20
    }
}

/// `count` addresses on 127.0.0.1 with ports the OS had free: each is bound and released at
/// once, so another process could take one in between (then that node's server fails to
/// start, and the run says so).
pub fn loopback_addresses(count: usize) -> io::Result<Vec<SocketAddr>> {
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| listener.local_addr())
        .collect()
}

/// One link of a [`PeerCluster`] as the peer suite's [`PeerHarness`]: node [`CLIENT_ID`]
/// calling node [`SERVER_ID`], served at a loopback address drawn once.
pub struct OneLink<C> {
    cluster: C,
    address: Option<SocketAddr>,
}

impl<C: PeerCluster> OneLink<C> {
    /// The link between two nodes of `cluster`.
    pub fn new(cluster: C) -> Self {
        OneLink {
            cluster,
            address: None,
        }
    }

    /// The cluster back.
    pub fn into_inner(self) -> C {
        self.cluster
    }

    fn address(&mut self) -> Result<SocketAddr, String> {
        if let Some(address) = self.address {
            return Ok(address);
        }
        let drawn =
            loopback_addresses(1).map_err(|error| format!("no free port on 127.0.0.1: {error}"))?;
        self.address = drawn.first().copied();
        self.address.ok_or_else(|| "no address drawn".to_owned())
    }
}

#[async_trait]
impl<C: PeerCluster> PeerHarness for OneLink<C> {
    async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String> {
        let address = self.address()?;
        self.cluster.start_server(SERVER_ID, address, handler).await
    }

    async fn stop(&mut self) {
        self.cluster.stop_server(SERVER_ID).await;
    }

    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
        let address = self.address()?;
        self.cluster.peer(CLIENT_ID, SERVER_ID, address).await
    }

    fn max_message_bytes(&self) -> usize {
        self.cluster.max_message_bytes()
    }
}

/// rafty's [`TcpPeer`] and [`serve_raft`] on tokio's sockets, as a [`PeerCluster`].
pub struct TcpPeerCluster {
    config: TransportConfig,
    servers: BTreeMap<NodeId, ServerHandle>,
}

impl TcpPeerCluster {
    /// Nodes of cluster `cluster_id`, reconnecting within 100 ms of a server's return.
    pub fn new(cluster_id: u64) -> Self {
        let mut config = TransportConfig::new(cluster_id);
        config.backoff.max = std::time::Duration::from_millis(100);
        TcpPeerCluster {
            config,
            servers: BTreeMap::new(),
        }
    }
}

#[async_trait]
impl PeerCluster for TcpPeerCluster {
    async fn start_server(
        &mut self,
        id: NodeId,
        address: SocketAddr,
        handler: Arc<dyn RpcHandler>,
    ) -> Result<(), String> {
        self.stop_server(id).await;
        let acceptor = TokioAcceptor::bind(&address.to_string())
            .await
            .map_err(|error| format!("cannot listen at {address}: {error}"))?;
        let server = serve_raft(acceptor, handler, id, self.config.clone());
        self.servers.insert(id, server);
        Ok(())
    }

    async fn stop_server(&mut self, id: NodeId) {
        if let Some(server) = self.servers.remove(&id) {
            server.shutdown();
            while !server.is_finished() {
                tokio::task::yield_now().await;
            }
        }
    }

    async fn peer(
        &mut self,
        from: NodeId,
        to: NodeId,
        address: SocketAddr,
    ) -> Result<Arc<dyn Peer>, String> {
        let peer = TcpPeer::new(
            TokioConnector,
            from,
            to,
            address.to_string(),
            self.config.clone(),
        );
        Ok(Arc::new(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::peer_suite;

    #[test]
    fn loopback_addresses_are_distinct_ports_on_127_0_0_1() {
        let addresses = loopback_addresses(3).unwrap();
        assert_eq!(addresses.len(), 3);
        assert!(addresses.iter().all(|a| a.ip().is_loopback()));
        let ports: std::collections::BTreeSet<u16> = addresses.iter().map(|a| a.port()).collect();
        assert_eq!(ports.len(), 3, "{addresses:?}");
    }

    #[test]
    fn tcp_peer_cluster_passes_the_peer_suite_on_one_link() {
        peer_suite::run(&mut OneLink::new(TcpPeerCluster::new(7))).assert_all_passed();
    }
}
