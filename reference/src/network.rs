//! `InProcessNetwork`: [`Peer`]s that call [`RpcHandler`]s in the same process, with switches
//! to drop, partition, delay and crash, for tests and the in-memory quick start.
//!
//! A call travels in two legs: the request from caller to callee, then the response back. Each
//! leg is checked against the switches when it is sent and again when it arrives (after the
//! link's delay), so a fault thrown mid-flight loses the message. A lost request never reaches
//! the handler, and the caller sees [`PeerError::NotSent`] (definite), as does a call to a
//! crashed node (no handler); a lost response means the handler ran but the caller sees
//! [`PeerError::Unreachable`] (indefinite), as over a real network. A call whose deadline
//! passes first is [`PeerError::TimedOut`] (indefinite) wherever the request was. The handler
//! runs in its own task, so a caller that times out does not cancel it half-way. Time is
//! tokio's, so paused time and turmoil work.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse,
    ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, Peer, PeerError, RpcHandler};
use crate::types::NodeId;

type RpcFuture<R> = Pin<Box<dyn Future<Output = Result<R, PeerError>> + Send>>;

/// The switches and the registry behind an [`InProcessNetwork`].
#[derive(Default)]
struct Switches {
    handlers: BTreeMap<NodeId, Arc<dyn RpcHandler>>,
    crashed: BTreeSet<NodeId>,
    dropped_links: BTreeSet<(NodeId, NodeId)>,
    isolated: BTreeSet<NodeId>,
    /// With a partition in force: the group of every node listed in it.
    groups: Option<BTreeMap<NodeId, usize>>,
    delays: BTreeMap<(NodeId, NodeId), Duration>,
}

impl Switches {
    /// Why a message from `from` to `to` is lost now, or `None` if it gets through.
    fn blocked(&self, from: NodeId, to: NodeId) -> Option<String> {
        if self.crashed.contains(&from) {
            return Some(format!("sender {from} is crashed"));
        }
        for node in [from, to] {
            if self.isolated.contains(&node) {
                return Some(format!("node {node} is isolated"));
            }
        }
        if self.dropped_links.contains(&(from, to)) {
            return Some(format!("link {from} -> {to} drops messages"));
        }
        if let Some(groups) = &self.groups
            && from != to
            && (groups.get(&from).is_none() || groups.get(&from) != groups.get(&to))
        {
            return Some(format!(
                "{from} and {to} are on different sides of a partition"
            ));
        }
        None
    }
}

/// A registry of [`RpcHandler`]s by node id and a factory of [`Peer`]s that reach them, with
/// fault switches. Cheap to clone: clones share the registry and the switches.
#[derive(Clone, Default)]
pub struct InProcessNetwork {
    switches: Arc<Mutex<Switches>>,
}

impl InProcessNetwork {
    /// A network with no nodes and no faults.
    pub fn new() -> Self {
        InProcessNetwork::default()
    }

    /// Make `handler` reachable as node `id`, replacing any previous handler; also restarts a
    /// crashed node, whose messages go out again.
    pub fn register(&self, id: NodeId, handler: Arc<dyn RpcHandler>) {
        let mut switches = self.lock();
        switches.handlers.insert(id, handler);
        switches.crashed.remove(&id);
    }

    /// Crash node `id`: unregister its handler and drop every message it sends from now on,
    /// until it is registered again. Returns the handler it had. Stopping the node itself is
    /// the caller's business.
    pub fn crash(&self, id: NodeId) -> Option<Arc<dyn RpcHandler>> {
        let mut switches = self.lock();
        switches.crashed.insert(id);
        switches.handlers.remove(&id)
    }

    /// True if a handler is registered for `id`.
    pub fn is_registered(&self, id: NodeId) -> bool {
        self.lock().handlers.contains_key(&id)
    }

    /// A [`Peer`] through which node `from` calls node `to`.
    pub fn peer(&self, from: NodeId, to: NodeId) -> Arc<dyn Peer> {
        Arc::new(InProcessPeer {
            network: self.clone(),
            from,
            to,
        })
    }

    /// Drop every message sent from `from` to `to` (one direction) until restored or healed.
    pub fn drop_link(&self, from: NodeId, to: NodeId) {
        self.lock().dropped_links.insert((from, to));
    }

    /// Deliver messages from `from` to `to` again (undoes [`InProcessNetwork::drop_link`]).
    pub fn restore_link(&self, from: NodeId, to: NodeId) {
        self.lock().dropped_links.remove(&(from, to));
    }

    /// Drop every message to and from `node` until it rejoins or the network heals.
    pub fn isolate(&self, node: NodeId) {
        self.lock().isolated.insert(node);
    }

    /// Undo [`InProcessNetwork::isolate`] for `node`.
    pub fn rejoin(&self, node: NodeId) {
        self.lock().isolated.remove(&node);
    }

    /// Split the network: nodes in the same group talk, nodes in different groups do not, and
    /// a node in no group talks to nobody. Replaces any earlier partition.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let mut group_of = BTreeMap::new();
        for (group, nodes) in groups.iter().enumerate() {
            for &node in nodes.iter() {
                group_of.insert(node, group);
            }
        }
        self.lock().groups = Some(group_of);
    }

    /// Remove every partition, isolation and dropped link. Delays and crashes stay.
    pub fn heal(&self) {
        let mut switches = self.lock();
        switches.dropped_links.clear();
        switches.isolated.clear();
        switches.groups = None;
    }

    /// Delay every message travelling from `from` to `to` (requests `from` sends and
    /// responses it returns) by `delay`; `Duration::ZERO` removes the delay.
    pub fn set_delay(&self, from: NodeId, to: NodeId, delay: Duration) {
        let mut switches = self.lock();
        if delay.is_zero() {
            switches.delays.remove(&(from, to));
        } else {
            switches.delays.insert((from, to), delay);
        }
    }

    /// Remove every delay.
    pub fn clear_delays(&self) {
        self.lock().delays.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Switches> {
        // No switch update can panic half-way, so a poisoned lock still guards consistent state.
        self.switches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Carry one message from `from` to `to`: checked when sent and again on arrival.
    async fn travel(&self, from: NodeId, to: NodeId, peer: NodeId) -> Result<(), PeerError> {
        let delay = {
            let switches = self.lock();
            check(&switches, from, to, peer)?;
            switches.delays.get(&(from, to)).copied()
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
            check(&self.lock(), from, to, peer)?;
        }
        Ok(())
    }

    /// Run one call from `from` to `to`: request leg, handler, response leg. Only a request
    /// lost before the handler is [`PeerError::NotSent`]; once the handler has the request,
    /// every failure is indefinite.
    async fn exchange<R>(
        self,
        from: NodeId,
        to: NodeId,
        rpc: impl FnOnce(Arc<dyn RpcHandler>) -> RpcFuture<R>,
    ) -> Result<R, PeerError> {
        self.travel(from, to, to).await.map_err(not_sent)?;
        let handler = self.lock().handlers.get(&to).cloned();
        let Some(handler) = handler else {
            return Err(PeerError::NotSent {
                peer: to,
                reason: format!("node {to} is down (no handler registered)"),
            });
        };
        let response = rpc(handler).await.map_err(handled)?;
        self.travel(to, from, to).await?;
        Ok(response)
    }
}

fn unreachable(peer: NodeId, reason: String) -> PeerError {
    PeerError::Unreachable { peer, reason }
}

/// A request lost on its way to the handler: definite.
fn not_sent(lost: PeerError) -> PeerError {
    match lost {
        PeerError::Unreachable { peer, reason } => PeerError::NotSent { peer, reason },
        other => other,
    }
}

/// An error from the handler, which had the request: indefinite for the caller, whatever the
/// handler says about calls of its own.
fn handled(error: PeerError) -> PeerError {
    match error {
        PeerError::NotSent { peer, reason } => unreachable(peer, format!("not sent: {reason}")),
        other => other,
    }
}

fn check(switches: &Switches, from: NodeId, to: NodeId, peer: NodeId) -> Result<(), PeerError> {
    match switches.blocked(from, to) {
        Some(reason) => Err(unreachable(peer, reason)),
        None => Ok(()),
    }
}

/// How node `from` reaches node `to` over an [`InProcessNetwork`].
struct InProcessPeer {
    network: InProcessNetwork,
    from: NodeId,
    to: NodeId,
}

impl InProcessPeer {
    /// Run the exchange in its own task, bounded by `timeout`.
    async fn call<R: Send + 'static>(
        &self,
        timeout: Duration,
        rpc: impl FnOnce(Arc<dyn RpcHandler>) -> RpcFuture<R> + Send + 'static,
    ) -> Result<R, PeerError> {
        let exchange = self.network.clone().exchange(self.from, self.to, rpc);
        let task = tokio::spawn(exchange);
        match tokio::time::timeout(timeout, task).await {
            Err(_elapsed) => Err(PeerError::TimedOut {
                peer: self.to,
                timeout,
            }),
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Ok(Err(join_error)) => Err(unreachable(
                self.to,
                format!("call cancelled: {join_error}"),
            )),
        }
    }
}

#[async_trait]
impl Peer for InProcessPeer {
    fn id(&self) -> NodeId {
        self.to
    }

    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.request_vote(request).await })
        })
        .await
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.append_entries(request).await })
        })
        .await
    }

    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.forward(command).await })
        })
        .await
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.install_snapshot(request).await })
        })
        .await
    }

    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.timeout_now(request).await })
        })
        .await
    }

    async fn read_index(
        &self,
        request: ReadIndexRequest,
        timeout: Duration,
    ) -> Result<ReadIndexResponse, PeerError> {
        self.call(timeout, move |handler| {
            Box::pin(async move { handler.read_index(request).await })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
