//! A user's [`PeersProvider`] in a chaos run: every node gets its peers from the user's
//! provider, through its one factory trait ([`PeersProviderFactory`], which the conformance
//! suite takes too), and the provider's answers are checked against the cluster's members.
//!
//! The simulation wires addresses: one source, shared by every node as a peers file would be,
//! lists every node at `n<id>:7000`; the peers the provider makes come from the harness's
//! `connect` (the same TCP peer over turmoil as every run's, observed), so the run is the
//! usual one but for where each node's list comes from. During the run the source changes:
//! at each of [`CHANGE_TIMES`] one member's address flips between its name and its IP
//! address (both reach it, so a correct provider changes nothing in the run), and every
//! provider is refreshed ([`PeersProviderFactory::refresh`]) before the next time its node
//! reads its generation. Each answer of `peers()` is checked against the source as that
//! provider last saw it: every member but the node, at its address, each once (checks
//! `peers-provider-answers`), and after a change the generation must move
//! (`peers-provider-generation`); a failed refresh is `peers-provider-refresh`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::peers_file::ConnectPeer;
use rafty::testing::peers_provider_suite::{
    AddressBook, Members, PeersProviderFactory, difference, expected,
};
use rafty::{NodeId, Peer, PeersProvider};

use crate::checks::invariants::Observation;

use super::cluster::RAFT_PORT;
use super::control::node_name;
use super::observe::Observations;

/// When the source changes, in simulated time from the run's start.
pub const CHANGE_TIMES: [Duration; 3] = [
    Duration::from_millis(1_000),
    Duration::from_millis(2_000),
    Duration::from_millis(3_000),
];

/// Opens each node's [`PeersProvider`] at each of its starts.
pub trait NodePeersProviders: Send + Sync + 'static {
    /// Node `node`'s provider, among `nodes`, making its peers with `connect`; where a broken
    /// rule is reported.
    fn open(
        &self,
        node: NodeId,
        nodes: &[NodeId],
        connect: Box<ConnectPeer>,
        observations: &Observations,
    ) -> Result<Arc<dyn PeersProvider>, String>;
}

/// A shared handle, as the cluster holds it.
pub type SharedPeersProviders = Arc<dyn NodePeersProviders>;

/// A user's providers from `F`, on one source for the whole run.
pub struct UserPeersProviders<F: PeersProviderFactory> {
    shared: Arc<Mutex<Shared<F>>>,
}

struct Shared<F: PeersProviderFactory> {
    factory: Arc<Mutex<F>>,
    source: Option<F::Source>,
    /// What the source listed at each version (0: as created).
    versions: Vec<Members>,
}

impl<F: PeersProviderFactory> UserPeersProviders<F> {
    /// Providers from `factory` (shared by every run), on a source created at the first
    /// node's start (one run's).
    pub fn new(factory: Arc<Mutex<F>>) -> UserPeersProviders<F> {
        UserPeersProviders {
            shared: Arc::new(Mutex::new(Shared {
                factory,
                source: None,
                versions: Vec::new(),
            })),
        }
    }
}

impl<F> NodePeersProviders for UserPeersProviders<F>
where
    F: PeersProviderFactory + Send + 'static,
    F::Source: Send,
{
    fn open(
        &self,
        node: NodeId,
        nodes: &[NodeId],
        connect: Box<ConnectPeer>,
        observations: &Observations,
    ) -> Result<Arc<dyn PeersProvider>, String> {
        let mut shared = lock(&self.shared);
        if shared.source.is_none() {
            let members: Members = nodes.iter().map(|&id| (id, named(id))).collect();
            let source = lock(&shared.factory).create(&members)?;
            shared.source = Some(source);
            shared.versions.push(members);
        }
        let book = AddressBook::new();
        let recording = book.clone();
        let connect: Box<ConnectPeer> = Box::new(move |id, address| {
            let peer = connect(id, address);
            recording.record(&peer, id, address);
            peer
        });
        let Shared {
            factory,
            source: Some(source),
            versions,
        } = &mut *shared
        else {
            unreachable!("the source was created above");
        };
        let inner = lock(factory).open(source, node, connect)?;
        let version = versions.len() - 1;
        let provider = Checked {
            inner,
            node,
            book,
            shared: self.shared.clone(),
            observations: observations.clone(),
            state: Mutex::new(Seen {
                version,
                listed: None,
                reported: BTreeSet::new(),
            }),
        };
        Ok(Arc::new(provider))
    }
}

/// A node's address by name.
fn named(id: NodeId) -> String {
    format!("{}:{RAFT_PORT}", node_name(id))
}

/// The other form of `address` (node `id`'s name or its IP address).
fn flipped(id: NodeId, address: &str) -> String {
    if address == named(id) {
        format!("{}:{RAFT_PORT}", turmoil::lookup(node_name(id)))
    } else {
        named(id)
    }
}

/// A user's provider, checked.
struct Checked<F: PeersProviderFactory> {
    inner: F::Provider,
    node: NodeId,
    book: AddressBook,
    shared: Arc<Mutex<Shared<F>>>,
    observations: Observations,
    state: Mutex<Seen>,
}

/// What a checked provider last saw.
struct Seen {
    /// The version of the source it was last refreshed on.
    version: usize,
    /// Its last answer, and its generation then.
    listed: Option<(Vec<(NodeId, String)>, u64)>,
    /// The versions at which a wrong answer was reported (once each).
    reported: BTreeSet<usize>,
}

impl<F: PeersProviderFactory> Checked<F> {
    fn report(&self, check: &'static str, detail: String) {
        let broken = Observation::PartBroken { check, detail };
        self.observations.observe(self.node, broken);
    }

    /// Make the changes that are due, and refresh this provider on the latest version.
    fn catch_up(&self) {
        let now = super::clock::now();
        let mut shared = lock(&self.shared);
        let Shared {
            factory,
            source: Some(source),
            versions,
        } = &mut *shared
        else {
            return;
        };
        while CHANGE_TIMES
            .get(versions.len() - 1)
            .is_some_and(|at| now >= *at)
        {
            let mut members = versions[versions.len() - 1].clone();
            let ids: Vec<NodeId> = members.keys().copied().collect();
            let id = ids[(versions.len() - 1) % ids.len()];
            let address = flipped(id, &members[&id]);
            members.insert(id, address);
            if let Err(error) = lock(factory).update(source, &members) {
                let detail = format!("the harness could not change the source: {error}");
                self.report("peers-provider-refresh", detail);
                return;
            }
            let text = format!("peers source changed: n{id} now at {}", members[&id]);
            self.observations.note(self.node, &text);
            versions.push(members);
        }
        let latest = versions.len() - 1;
        let mut state = lock(&self.state);
        if state.version == latest {
            return;
        }
        if let Err(error) = lock(factory).refresh(&self.inner) {
            let detail = format!(
                "refreshing on a good source (version {latest}) failed: {error}: the provider \
                 cannot read the source it was opened on"
            );
            self.report("peers-provider-refresh", detail);
        }
        state.version = latest;
        drop(state);
        drop(shared);
        // The next call must list the change.
        self.check(self.inner.peers(), true);
    }

    /// Judge an answer of `peers()`: against the source as last refreshed and, when
    /// `after_change`, the generation against the previous answer's.
    fn check(&self, peers: Vec<Arc<dyn Peer>>, after_change: bool) -> Vec<Arc<dyn Peer>> {
        let generation = self.inner.generation();
        let listed = self.book.listing(&peers);
        let versions = lock(&self.shared).versions.clone();
        let mut state = lock(&self.state);
        let version = state.version;
        let members = &versions[version];
        let (problem, shown) = match &listed {
            Err(error) => (Some(error.clone()), "an unknown peer".to_owned()),
            Ok(listed) => (
                difference(listed, &expected(members, self.node)),
                format!("{listed:?}"),
            ),
        };
        if let Some(problem) = problem.filter(|_| state.reported.insert(version)) {
            let stale = if version > 0 && after_change {
                " (after a change of the source: a stale list, or a refresh that does not \
                 reach the provider)"
            } else {
                ""
            };
            let detail = format!(
                "n{}'s provider answered {shown} while its source lists {members:?}: \
                 {problem}{stale}",
                self.node
            );
            self.report("peers-provider-answers", detail);
        }
        let unmoved = match (&listed, &state.listed) {
            (Ok(listed), Some((before, before_generation))) => {
                (after_change && listed != before && generation == *before_generation)
                    .then(|| (listed.clone(), before.clone()))
            }
            _ => None,
        };
        if let Some((listed, before)) = unmoved {
            let detail = format!(
                "n{}'s provider changed its list from {before:?} to {listed:?} but its \
                 generation stayed {generation}: the node keeps its old list until the \
                 generation moves",
                self.node
            );
            self.report("peers-provider-generation", detail);
        }
        if let Ok(listed) = listed {
            state.listed = Some((listed, generation));
        }
        peers
    }
}

impl<F> PeersProvider for Checked<F>
where
    F: PeersProviderFactory + Send + 'static,
    F::Source: Send,
{
    fn peers(&self) -> Vec<Arc<dyn Peer>> {
        self.check(self.inner.peers(), false)
    }

    fn generation(&self) -> u64 {
        self.catch_up();
        self.inner.generation()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
