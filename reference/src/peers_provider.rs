//! The `PeersProvider` trait (Rafty's `IPeersProvider`): who is in the cluster.

use std::sync::Arc;

use crate::peer::Peer;

/// The other members of the cluster, and a [`Peer`] to reach each.
///
/// # Contract
///
/// * Returns every member except the node itself, each id once, in a stable order.
/// * The set may change at run time only through the application's own membership process;
///   the node reads it at start and whenever it needs to reach a peer. Quorums are computed
///   over the members returned plus the node itself. (Raft's joint-consensus membership change
///   is not implemented yet: change membership only with the cluster stopped.)
pub trait PeersProvider: Send + Sync + 'static {
    /// The other members of the cluster.
    fn peers(&self) -> Vec<Arc<dyn Peer>>;
}

/// A fixed list of peers: the usual choice when membership is set in configuration.
#[derive(Clone, Default)]
pub struct StaticPeersProvider {
    peers: Vec<Arc<dyn Peer>>,
}

impl StaticPeersProvider {
    /// A provider that always returns `peers`, sorted by id.
    pub fn new(mut peers: Vec<Arc<dyn Peer>>) -> Self {
        peers.sort_by_key(|peer| peer.id());
        StaticPeersProvider { peers }
    }
}

impl PeersProvider for StaticPeersProvider {
    fn peers(&self) -> Vec<Arc<dyn Peer>> {
        self.peers.clone()
    }
}
