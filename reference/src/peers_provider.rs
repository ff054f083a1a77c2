//! The `PeersProvider` trait (Rafty's `IPeersProvider`): where the other nodes are.

use std::sync::Arc;

use crate::peer::Peer;

/// The other nodes of the cluster, and a [`Peer`] to reach each.
///
/// # Contract
///
/// * Returns a [`Peer`] for every node it knows except the node itself, each id once, in a
///   stable order. The node asks again whenever it must reach an id it does not know yet.
/// * It says *where* a node is, never *who* is a member: the configuration in the log does
///   (dissertation chapter 4, [`crate::Membership`]), changed with
///   [`crate::Node::add_learner`] and the other membership calls. An id the configuration
///   names that the provider cannot reach is just unreachable.
/// * Only at a cluster's first start, when neither the log nor the snapshot holds a
///   configuration, are the ids it returns (plus the node itself) taken as the initial voters,
///   unless [`crate::NodeOptions::initial_membership`] says otherwise.
pub trait PeersProvider: Send + Sync + 'static {
    /// The other members of the cluster.
    fn peers(&self) -> Vec<Arc<dyn Peer>>;

    /// A number that changes whenever [`Self::peers`] would return a different list (a new
    /// address for an id, say). The node keeps the list it got and asks again when this
    /// differs from the number it got with it, so a provider whose list never changes keeps
    /// the default, 0. Reading it must be cheap: the node reads it before every message.
    fn generation(&self) -> u64 {
        0
    }
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
