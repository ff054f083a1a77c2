//! [`FilePeersProvider`]: the members and their addresses from a TOML file, re-read when it
//! changes (Rafty's file peers provider).
//!
//! ```toml
//! # peers.toml: the same file serves every node; each skips its own id.
//! [[member]]
//! id = 1
//! address = "10.0.0.1:7001"
//!
//! [[member]]
//! id = 2
//! address = "10.0.0.2:7001"
//! ```
//!
//! A bad file is refused with an error naming the file, the line and the field
//! ([`PeersFileError`]); the provider keeps the list it had until a good file arrives. The
//! file is polled ([`FilePeersProvider::reload`], or [`FilePeersProvider::watch`] on an
//! interval): no inotify, so it works on every file system, network ones included.
//!
//! Architecture invariant: only the real node reads the file on its own; the simulation
//! builds this provider only as a user's provider under test (rafty-testing's chaos run of a
//! `PeersProvider`), where the harness writes the file and calls [`FilePeersProvider::reload`]
//! itself, never [`FilePeersProvider::watch`] (driven by tokio's clock).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::peer::Peer;
use crate::peers_provider::PeersProvider;
use crate::types::NodeId;

/// Makes the [`Peer`] that reaches node `id` at `address` (e.g. a [`crate::tcp::TcpPeer`]).
pub type ConnectPeer = dyn Fn(NodeId, &str) -> Arc<dyn Peer> + Send + Sync;

/// Why a peers file was refused: the file, the line (when the fault has one), the field
/// (when one is to blame) and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}: {reason}", path.display(), line.map(|line| format!(":{line}")).unwrap_or_default(), field.as_ref().map(|field| format!(": field `{field}`")).unwrap_or_default())]
pub struct PeersFileError {
    /// The file.
    pub path: PathBuf,
    /// The line at fault, from 1.
    pub line: Option<usize>,
    /// The field at fault (`id`, `address`, ...).
    pub field: Option<String>,
    /// What was wrong.
    pub reason: String,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    member: Vec<MemberText>,
}

/// One `[[member]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberText {
    id: Spanned<i64>,
    address: Spanned<String>,
}

/// Parse a peers file's text: every member's id and address, sorted by id, checked (ids from
/// 1, each once; addresses `HOST:PORT` with a port from 1 to 65535). `path` only names the
/// file in errors.
pub fn parse_peers_file(
    text: &str,
    path: &Path,
) -> Result<BTreeMap<NodeId, String>, PeersFileError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let error = |offset: Option<usize>, field: Option<&str>, reason: String| PeersFileError {
        path: path.to_owned(),
        line: offset.map(line_of),
        field: field.map(str::to_owned),
        reason,
    };
    let file: FileText = toml::from_str(text).map_err(|parse| {
        let offset = parse.span().map(|span| span.start);
        error(offset, None, parse.message().trim().to_owned())
    })?;
    let mut members = BTreeMap::new();
    for member in file.member {
        let at = Some(member.id.span().start);
        let id = u64::try_from(*member.id.get_ref())
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                error(
                    at,
                    Some("id"),
                    format!("{} is not a node id (ids start at 1)", member.id.get_ref()),
                )
            })?;
        let address = member.address.get_ref().trim().to_owned();
        check_address(&address).map_err(|why| {
            error(
                Some(member.address.span().start),
                Some("address"),
                format!("`{address}`: {why} (expected HOST:PORT, e.g. 10.0.0.2:7001)"),
            )
        })?;
        if let Some(first) = members.insert(id, address.clone()) {
            return Err(error(
                at,
                Some("id"),
                format!("node {id} is listed twice ({first} and {address})"),
            ));
        }
    }
    Ok(members)
}

/// `HOST:PORT` with a non-empty host and a port from 1 to 65535.
fn check_address(address: &str) -> Result<(), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| "no `:PORT`".to_owned())?;
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{port}` is not a port from 1 to 65535")),
        Ok(_) => Ok(()),
    }
}

/// What the provider last read.
struct Current {
    /// The text last read, good or bad: an unchanged file is not parsed again.
    text: Option<String>,
    /// The members of the last good file (this node included, if listed).
    addresses: BTreeMap<NodeId, String>,
    /// A peer for every member but this node, sorted by id.
    peers: Vec<Arc<dyn Peer>>,
}

/// A [`PeersProvider`] over a TOML peers file (see the [module docs](self) for the format).
///
/// Its list changes only on [`Self::reload`]; each change bumps
/// [`PeersProvider::generation`], so the node asks for the new list. A member whose address is
/// unchanged keeps its [`Peer`] (and so its connection).
pub struct FilePeersProvider {
    path: PathBuf,
    own: NodeId,
    connect: Box<ConnectPeer>,
    current: Mutex<Current>,
    generation: AtomicU64,
}

impl FilePeersProvider {
    /// Read `path` for node `own`, making each peer with `connect`. A missing or bad file is
    /// an error: a node must not start without knowing its peers.
    pub fn open(
        path: impl Into<PathBuf>,
        own: NodeId,
        connect: Box<ConnectPeer>,
    ) -> Result<FilePeersProvider, PeersFileError> {
        let provider = FilePeersProvider {
            path: path.into(),
            own,
            connect,
            current: Mutex::new(Current {
                text: None,
                addresses: BTreeMap::new(),
                peers: Vec::new(),
            }),
            generation: AtomicU64::new(0),
        };
        provider.reload()?;
        Ok(provider)
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members of the last good file, with their addresses (this node included when the
    /// file lists it).
    pub fn members(&self) -> BTreeMap<NodeId, String> {
        self.lock().addresses.clone()
    }

    /// Read the file again. `Ok(true)`: it changed and the new list is in force; `Ok(false)`:
    /// its text is what was last read (a bad text is reported once, not on every poll); an
    /// error: the file is bad or unreadable, and the old list stays in force.
    pub fn reload(&self) -> Result<bool, PeersFileError> {
        let text = std::fs::read_to_string(&self.path).map_err(|error| PeersFileError {
            path: self.path.clone(),
            line: None,
            field: None,
            reason: error.to_string(),
        })?;
        let mut current = self.lock();
        if current.text.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        current.text = Some(text.clone());
        let addresses = parse_peers_file(&text, &self.path)?;
        if addresses == current.addresses {
            return Ok(false);
        }
        let old: BTreeMap<NodeId, Arc<dyn Peer>> = current
            .peers
            .iter()
            .map(|peer| (peer.id(), peer.clone()))
            .collect();
        let peers = addresses
            .iter()
            .filter(|(id, _)| **id != self.own)
            .map(|(id, address)| match old.get(id) {
                Some(peer) if current.addresses.get(id) == Some(address) => peer.clone(),
                _ => (self.connect)(*id, address),
            })
            .collect();
        current.addresses = addresses;
        current.peers = peers;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(true)
    }

    /// Poll the file every `interval` on a tokio task until the provider is dropped; each
    /// change is logged (`tracing` info), and each bad file (warn, naming line and field).
    pub fn watch(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let provider: Weak<FilePeersProvider> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(provider) = provider.upgrade() else {
                    return;
                };
                match provider.reload() {
                    Ok(true) => tracing::info!(
                        path = %provider.path.display(),
                        members = ?provider.members(),
                        "peers file changed"
                    ),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!("peers file refused, keeping the old list: {error}")
                    }
                }
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .expect("the peers file lock is never poisoned")
    }
}

impl PeersProvider for FilePeersProvider {
    fn peers(&self) -> Vec<Arc<dyn Peer>> {
        self.lock().peers.clone()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
#[path = "peers_file_tests.rs"]
mod tests;
