//! A user's [`rafty::testing::LogFactory`], the one factory trait of a `Log`, as the cluster's
//! [`NodeLogs`]: the same factory the conformance suites take runs in the chaos harness.
//!
//! * [`UserLogs`]: any log. Each node's store is created on its first start and kept across its
//!   restarts. A power cut of the host does what a kill does (the store lives outside the
//!   simulation, and the harness cannot drop what its operating system has not synced).
//! * [`on_simulated_disk`]: a log that does its I/O through rafty's `FileSystem`
//!   ([`rafty::testing::LogFactory::open_on_file_system`]) runs on its host's simulated disk,
//!   so `power` and `power-mid-write` cut it for real: unsynced writes lost, torn.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rafty::testing::log_suite::LogFactory;
use rafty::{Log, LogError, NodeId};

use super::factories::NodeLogs;
use super::turmoil_fs::FileLogFactory;

/// A user's [`LogFactory`] serving every node: one store per node, created at its first open.
pub struct UserLogs<F: LogFactory> {
    factory: Arc<Mutex<F>>,
    stores: Mutex<BTreeMap<NodeId, F::Store>>,
}

impl<F: LogFactory> UserLogs<F> {
    /// Every node's log from `factory`, with fresh stores (one run's).
    pub fn new(factory: Arc<Mutex<F>>) -> Self {
        UserLogs {
            factory,
            stores: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<F> NodeLogs for UserLogs<F>
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        let mut factory = lock(&self.factory);
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        let store = match stores.entry(node) {
            std::collections::btree_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::btree_map::Entry::Vacant(empty) => empty.insert(factory.create()?),
        };
        Ok(Box::new(factory.open(store)?))
    }
}

/// Every node's log from `factory`, opened on its host's simulated disk through
/// [`LogFactory::open_on_file_system`]; `None` when the factory has no such method.
pub fn on_simulated_disk<F>(factory: Arc<Mutex<F>>) -> Option<FileLogFactory>
where
    F: LogFactory + Send + 'static,
{
    let probe = rafty::testing::CrashFs::new(0);
    let opened = lock(&factory).open_on_file_system(probe, std::path::Path::new("/probe"));
    drop(opened?);
    Some(FileLogFactory::opening(Arc::new(move |fs, dir| {
        lock(&factory)
            .open_on_file_system(fs, dir)
            .unwrap_or_else(|| {
                Err(LogError::Contract(
                    "LogFactory::open_on_file_system returned None after it had opened a log"
                        .to_owned(),
                ))
            })
    })))
}

fn lock<F>(factory: &Mutex<F>) -> std::sync::MutexGuard<'_, F> {
    factory
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
