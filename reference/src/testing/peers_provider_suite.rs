//! The conformance suite for [`PeersProvider`] implementations.
//!
//! Give it a [`PeersProviderFactory`]: how to write a *source* listing the members and their
//! addresses (a file, a registry entry...), change it, and open a provider on it for one node,
//! making each [`Peer`] with the `connect` function the suite hands over (so the suite knows
//! which address each peer was made for). [`run`] checks the contract of [`PeersProvider`]:
//!
//! * every member of the source but the node itself is listed, with the address the source
//!   gives it, each id once, in the same order on every call;
//! * the node itself never is, whether or not the source lists it;
//! * a change of the source (a member moved, added, removed) is what the next call lists,
//!   after [`PeersProviderFactory::refresh`], and [`PeersProvider::generation`] moved with it;
//!   while nothing changes, the generation and the list stay put;
//! * a bad source (garbage) is an error, never a panic: opening on it fails, and a provider
//!   already open keeps its last good list until a good source comes back.
//!
//! [`FilePeers`] is the factory of rafty's [`FilePeersProvider`]: the suite's own reference,
//! and an example of a factory. [`BrokenFilePeers`] plants the bugs a provider has
//! ([`PeersDefect`]), to show that a test catches them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, RequestVote,
    RequestVoteResponse, TimeoutNow, TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, Peer, PeerError};
use crate::peers_file::{ConnectPeer, FilePeersProvider};
use crate::peers_provider::PeersProvider;
use crate::testing::{Outcome, SuiteReport};
use crate::types::NodeId;

mod broken;
mod cases;

pub use broken::{BrokenFilePeers, PeersDefect};

/// The members a source lists: each id and its address.
pub type Members = BTreeMap<NodeId, String>;

/// Writes a source of members for a user's [`PeersProvider`] and opens providers on it.
pub trait PeersProviderFactory {
    /// The provider under test.
    type Provider: PeersProvider;
    /// Where the members are listed (a file, a registry's entry...), as this factory keeps it.
    type Source;

    /// A new source listing `members`.
    fn create(&mut self, members: &Members) -> Result<Self::Source, String>;

    /// Make `source` list `members` instead.
    fn update(&mut self, source: &mut Self::Source, members: &Members) -> Result<(), String>;

    /// Make `source` bad (garbage that is no list of members); `Ok(false)` (the default) when
    /// this kind of source cannot be bad, which skips the case.
    fn spoil(&mut self, source: &mut Self::Source) -> Result<bool, String> {
        let _ = source;
        Ok(false)
    }

    /// A provider for node `own` on `source`, making every peer with `connect(id, address)`.
    fn open(
        &mut self,
        source: &Self::Source,
        own: NodeId,
        connect: Box<ConnectPeer>,
    ) -> Result<Self::Provider, String>;

    /// Let `provider` see what its source says now (a poll, for a provider that re-reads its
    /// source on demand); an error when the source is bad. The default does nothing, for a
    /// provider that watches its source itself.
    fn refresh(&mut self, provider: &Self::Provider) -> Result<(), String> {
        let _ = provider;
        Ok(())
    }
}

/// A peer a `connect` function made, for the id and address it was made for.
type MadePeer = (Arc<dyn Peer>, NodeId, String);

/// Every peer a `connect` function made, with the id and address it was made for: the peers
/// a provider lists are looked up here, by identity.
#[derive(Clone, Default)]
pub struct AddressBook {
    made: Arc<Mutex<Vec<MadePeer>>>,
}

impl AddressBook {
    /// An empty book.
    pub fn new() -> AddressBook {
        AddressBook::default()
    }

    /// Note that `peer` was made to reach `id` at `address` (kept alive here, so no later
    /// peer takes its place in memory).
    pub fn record(&self, peer: &Arc<dyn Peer>, id: NodeId, address: &str) {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        made.push((peer.clone(), id, address.to_owned()));
    }

    /// A `connect` that makes peers which send nothing (every call is
    /// [`PeerError::NotSent`]), recorded here.
    pub fn unwired(&self) -> Box<ConnectPeer> {
        let book = self.clone();
        Box::new(move |id, address| {
            let peer: Arc<dyn Peer> = Arc::new(Unwired { id });
            book.record(&peer, id, address);
            peer
        })
    }

    /// What `peers` says, as (id, address) in its order; an error naming a peer this book
    /// never made, or one whose `id()` is not the id it was made for.
    pub fn listing(&self, peers: &[Arc<dyn Peer>]) -> Result<Vec<(NodeId, String)>, String> {
        let made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .iter()
            .map(|peer| {
                let found = made.iter().find(|(made, _, _)| Arc::ptr_eq(made, peer));
                match found {
                    Some((_, id, address)) if *id == peer.id() => Ok((*id, address.clone())),
                    Some((_, id, address)) => Err(format!(
                        "a peer made for n{id} at {address} says its id is {}",
                        peer.id()
                    )),
                    None => Err(format!(
                        "the peer of id {} was not made by the connect function the provider \
                         was given (its address is unknown)",
                        peer.id()
                    )),
                }
            })
            .collect()
    }
}

/// What a provider for node `own` must list when its source lists `members`.
pub fn expected(members: &Members, own: NodeId) -> Vec<(NodeId, String)> {
    members
        .iter()
        .filter(|(id, _)| **id != own)
        .map(|(id, address)| (*id, address.clone()))
        .collect()
}

/// How `listed` (what a provider answered) differs from `expected`, in words; `None` when
/// they are the same members at the same addresses, each once.
pub fn difference(listed: &[(NodeId, String)], expected: &[(NodeId, String)]) -> Option<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for (id, address) in listed {
        if seen.insert(*id, address).is_some() {
            problems.push(format!("n{id} is listed twice"));
        }
    }
    for (id, address) in expected {
        match seen.get(id) {
            None => problems.push(format!("n{id} (at {address}) is missing")),
            Some(listed) if *listed != address => problems.push(format!(
                "n{id} is listed at {listed}, not at {address} (a stale address?)"
            )),
            Some(_) => {}
        }
    }
    for (id, address) in listed {
        if !expected.iter().any(|(expected, _)| expected == id) {
            problems.push(format!(
                "n{id} (at {address}) is listed but is not among the members to list"
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// A case of the suite: its name and its body.
type Case<F> = (&'static str, fn(&mut F) -> Result<(), String>);

fn all_cases<F: PeersProviderFactory>() -> Vec<Case<F>> {
    vec![
        (
            "lists_every_other_member_at_its_address",
            cases::lists_every_other_member_at_its_address,
        ),
        (
            "never_lists_the_node_itself",
            cases::never_lists_the_node_itself,
        ),
        (
            "each_id_once_in_a_stable_order",
            cases::each_id_once_in_a_stable_order,
        ),
        (
            "a_change_is_listed_by_the_next_call",
            cases::a_change_is_listed_by_the_next_call,
        ),
        (
            "generation_and_list_stay_while_nothing_changes",
            cases::generation_and_list_stay_while_nothing_changes,
        ),
        (
            "a_bad_source_is_an_error_not_a_panic",
            cases::a_bad_source_is_an_error_not_a_panic,
        ),
    ]
}

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<FilePeers>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against providers from `factory` and report each by name. Panics are
/// caught and reported as failures of their case.
pub fn run<F: PeersProviderFactory>(factory: &mut F) -> SuiteReport {
    let mut report = SuiteReport::new("peers_provider_suite");
    for (name, case) in all_cases::<F>() {
        report.run_case(name, || case(factory));
    }
    for case in &mut report.cases {
        if matches!(&case.outcome, Outcome::Failed(message) if message == cases::CANNOT_SPOIL) {
            case.outcome = Outcome::Unsupported(cases::CANNOT_SPOIL.to_owned());
        }
    }
    report
}

/// The factory of rafty's [`FilePeersProvider`]: each source a TOML peers file of its own
/// under the system's temporary directory (removed when the source is dropped), refreshed
/// with [`FilePeersProvider::reload`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FilePeers;

/// A peers file, removed when dropped.
#[derive(Debug)]
pub struct PeersFile {
    path: PathBuf,
}

impl PeersFile {
    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for PeersFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `members` as a peers file's text.
pub fn peers_file_text(members: &Members) -> String {
    members
        .iter()
        .map(|(id, address)| format!("[[member]]\nid = {id}\naddress = \"{address}\"\n\n"))
        .collect()
}

impl PeersProviderFactory for FilePeers {
    type Provider = FilePeersProvider;
    type Source = PeersFile;

    fn create(&mut self, members: &Members) -> Result<PeersFile, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("rafty-peers-{}-{number}.toml", std::process::id());
        let mut file = PeersFile {
            path: std::env::temp_dir().join(name),
        };
        self.update(&mut file, members)?;
        Ok(file)
    }

    fn update(&mut self, source: &mut PeersFile, members: &Members) -> Result<(), String> {
        write(source, &peers_file_text(members))
    }

    fn spoil(&mut self, source: &mut PeersFile) -> Result<bool, String> {
        write(source, "[[member]]\nid = \"two\"\naddress = 7\n")?;
        Ok(true)
    }

    fn open(
        &mut self,
        source: &PeersFile,
        own: NodeId,
        connect: Box<ConnectPeer>,
    ) -> Result<FilePeersProvider, String> {
        FilePeersProvider::open(&source.path, own, connect).map_err(|error| error.to_string())
    }

    fn refresh(&mut self, provider: &FilePeersProvider) -> Result<(), String> {
        provider
            .reload()
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

fn write(source: &PeersFile, text: &str) -> Result<(), String> {
    std::fs::write(&source.path, text)
        .map_err(|error| format!("cannot write {}: {error}", source.path.display()))
}

/// A peer that sends nothing: what [`AddressBook::unwired`] makes.
struct Unwired {
    id: NodeId,
}

impl Unwired {
    fn not_sent(&self) -> PeerError {
        PeerError::NotSent {
            peer: self.id,
            reason: "the peers provider suite's peers are not wired to anything".to_owned(),
        }
    }
}

#[async_trait]
impl Peer for Unwired {
    fn id(&self) -> NodeId {
        self.id
    }
    async fn request_vote(
        &self,
        _: RequestVote,
        _: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        Err(self.not_sent())
    }
    async fn append_entries(
        &self,
        _: AppendEntries,
        _: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        Err(self.not_sent())
    }
    async fn forward(&self, _: Vec<u8>, _: Duration) -> Result<ForwardResponse, PeerError> {
        Err(self.not_sent())
    }
    async fn install_snapshot(
        &self,
        _: InstallSnapshot,
        _: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        Err(self.not_sent())
    }
    async fn timeout_now(
        &self,
        _: TimeoutNow,
        _: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        Err(self.not_sent())
    }
}

#[cfg(test)]
mod tests;
