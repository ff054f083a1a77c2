//! rafty's durable [`FileLog`] in the simulation, each node on its own [`CrashFs`]: an
//! in-memory disk kept outside the host that, when the host crashes, loses every write not yet
//! synced (a random prefix of each file's pending changes survives, the last write possibly
//! torn), as a power loss would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rafty::file_log::{FileLog, FileLogOptions};
use rafty::testing::crash_fs::CrashFs;
use rafty::{Log, LogError, NodeId};

use crate::run::seeds::Seeds;

use super::factories::LogFactory;

/// Where each node's log lives on its disk.
const LOG_DIR: &str = "/rafty/log";

/// [`FileLog`]s on one [`CrashFs`] per node.
#[derive(Debug)]
pub struct FileLogFactory {
    seeds: Seeds,
    disks: Mutex<BTreeMap<NodeId, CrashFs>>,
}

impl FileLogFactory {
    /// Fresh disks, whose torn-write choices follow `seed`.
    pub fn new(seed: u64) -> Self {
        FileLogFactory {
            seeds: Seeds::new(seed),
            disks: Mutex::new(BTreeMap::new()),
        }
    }

    /// Node `node`'s disk (created empty, with torn writes on, if it never opened).
    pub fn disk(&self, node: NodeId) -> CrashFs {
        let mut disks = self.disks.lock().unwrap_or_else(|p| p.into_inner());
        disks
            .entry(node)
            .or_insert_with(|| {
                let disk = CrashFs::new(self.seeds.derive("crash-fs", node));
                disk.set_torn_writes(true);
                disk
            })
            .clone()
    }
}

impl LogFactory for FileLogFactory {
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        // Small segments, so that runs also exercise segment rollover and removal.
        let options = FileLogOptions {
            segment_size_bytes: 64 << 10,
        };
        let log = FileLog::open_with(self.disk(node), Path::new(LOG_DIR), options)?;
        Ok(Box::new(log))
    }

    fn crashed(&self, node: NodeId) {
        self.disk(node).crash();
    }

    fn fail_writes(&self, node: NodeId, failing: bool) -> bool {
        let disk = self.disk(node);
        if failing {
            disk.fail_from(disk.operation_count());
        } else {
            disk.clear_faults();
        }
        true
    }
}
