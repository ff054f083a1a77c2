//! Deliberately broken parts, to prove the harness catches what they break. Never use them
//! outside tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rafty::memory::MemoryLog;
use rafty::{Log, LogError, LogIndex, NodeId};

use super::factories::{LogFactory, MemoryLogFactory};

/// A [`LogFactory`] whose logs acknowledge every write, then lose on restart the newer half
/// of the entries appended since the previous start (as a log that acknowledges before its
/// fsync would).
#[derive(Debug, Default)]
pub struct ForgetfulLogFactory {
    inner: MemoryLogFactory,
    /// Per node: the last index when it last opened.
    opened_at: Mutex<BTreeMap<NodeId, LogIndex>>,
}

impl ForgetfulLogFactory {
    /// Fresh storage for every node.
    pub fn new() -> Self {
        ForgetfulLogFactory::default()
    }
}

impl LogFactory for ForgetfulLogFactory {
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        let mut log = MemoryLog::open(&self.inner.storage(node));
        let mut opened_at = self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&mark) = opened_at.get(&node) {
            let last = log.last_index();
            if last > mark {
                let forget = (last - mark).div_ceil(2);
                log.truncate(last - forget + 1)?;
            }
        }
        opened_at.insert(node, log.last_index());
        Ok(Box::new(log))
    }

    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        self.inner.fail_writes(node, failing)
    }
}
