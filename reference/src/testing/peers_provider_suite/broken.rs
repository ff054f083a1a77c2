//! [`BrokenFilePeers`]: rafty's file peers provider with a bug planted, for tests that must
//! catch it (the suite's own, and a chaos run's).

use std::sync::{Arc, Mutex};

use crate::peer::Peer;
use crate::peers_file::{ConnectPeer, FilePeersProvider};
use crate::peers_provider::PeersProvider;
use crate::types::NodeId;

use super::{FilePeers, Members, PeersFile, PeersProviderFactory};

/// A bug planted in a peers provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeersDefect {
    /// Leaves out the member with the highest id.
    DropsAPeer,
    /// Keeps the first list it read for good, and its generation at 0: a change is never
    /// seen.
    StaleAfterAChange,
}

/// [`FilePeers`] whose providers have `0` planted.
#[derive(Clone, Copy, Debug)]
pub struct BrokenFilePeers(pub PeersDefect);

/// A [`FilePeersProvider`] with a defect.
pub struct BrokenProvider {
    inner: FilePeersProvider,
    defect: PeersDefect,
    first: Mutex<Option<Vec<Arc<dyn Peer>>>>,
}

impl PeersProvider for BrokenProvider {
    fn peers(&self) -> Vec<Arc<dyn Peer>> {
        match self.defect {
            PeersDefect::DropsAPeer => {
                let mut peers = self.inner.peers();
                peers.pop();
                peers
            }
            PeersDefect::StaleAfterAChange => {
                let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| self.inner.peers()).clone()
            }
        }
    }

    fn generation(&self) -> u64 {
        match self.defect {
            PeersDefect::DropsAPeer => self.inner.generation(),
            PeersDefect::StaleAfterAChange => 0,
        }
    }
}

impl PeersProviderFactory for BrokenFilePeers {
    type Provider = BrokenProvider;
    type Source = PeersFile;

    fn create(&mut self, members: &Members) -> Result<PeersFile, String> {
        FilePeers.create(members)
    }

    fn update(&mut self, source: &mut PeersFile, members: &Members) -> Result<(), String> {
        FilePeers.update(source, members)
    }

    fn spoil(&mut self, source: &mut PeersFile) -> Result<bool, String> {
        FilePeers.spoil(source)
    }

    fn open(
        &mut self,
        source: &PeersFile,
        own: NodeId,
        connect: Box<ConnectPeer>,
    ) -> Result<BrokenProvider, String> {
        Ok(BrokenProvider {
            inner: FilePeers.open(source, own, connect)?,
            defect: self.0,
            first: Mutex::new(None),
        })
    }

    fn refresh(&mut self, provider: &BrokenProvider) -> Result<(), String> {
        FilePeers.refresh(&provider.inner)
    }
}
