//! Conformance suites: run them against your own implementation of a rafty trait to check it
//! keeps the trait's contract.
//!
//! * [`log_suite`]: any [`Log`](crate::Log), through a factory that opens and reopens it;
//! * [`crash_suite`]: a `Log` on the [`FileSystem`](crate::file_log::fs::FileSystem)
//!   abstraction, on a [`CrashFs`] that loses power at every operation, tears writes, fails
//!   I/O and flips bits;
//! * [`FaultyFs`]: any file system with disk faults (I/O errors, a dead disk, corrupted
//!   reads, a freeze: the moment the power went out) switched from outside, for a nemesis;
//! * [`FsyncDefect`]: any file system whose fsync is skipped or whose fsync errors are
//!   swallowed, on purpose, to check that a test catches a log acknowledging what is not
//!   durable;
//! * [`process_crash_suite`]: any `Log` whose state lives in a directory, in a child process
//!   killed with `kill -9` at seeded points (no simulated disk needed; catches an
//!   acknowledgement before the write, not a missing fsync);
//! * [`fuzz`]: the properties the fuzz targets check;
//! * [`state_machine_suite`]: any [`StateMachine`](crate::StateMachine): determinism, replay
//!   on restart, every command kind, garbage;
//! * [`snapshot_store_suite`]: any [`SnapshotStore`](crate::SnapshotStore), through a
//!   factory that opens and reopens it: latest, refused older snapshots, chunked reads, a
//!   writer lost before `finish`, reopen;
//! * [`peers_provider_suite`]: any [`PeersProvider`](crate::PeersProvider), through a factory
//!   that writes and changes its source: every other member at its address, never the node
//!   itself, a change listed by the next call with a new generation, a bad source an error;
//! * [`peer_suite`]: any [`Peer`](crate::Peer) against a reference server: round trips
//!   (InstallSnapshot chunks included), deadlines, large and concurrent messages, a server that goes away and comes back;
//! * [`peer_cluster`]: the `Peer` part's factory, a transport's server per node and a `Peer`
//!   between any two ([`peer_cluster::PeerCluster`]), for the suite (one link) and the chaos run.
//!
//! Each suite runs every case, catches failures and panics, and returns a [`SuiteReport`]
//! naming each case with its [`Outcome`]; [`SuiteReport::assert_all_passed`] turns it into a
//! test failure that lists what broke.
//!
//! ```
//! use rafty::testing::log_suite::{self, LogFactory};
//! use rafty::{LogError, MemoryLog, MemoryStorage};
//!
//! struct Memory;
//! impl LogFactory for Memory {
//!     type Log = MemoryLog;
//!     type Store = MemoryStorage;
//!     fn create(&mut self) -> Result<MemoryStorage, LogError> {
//!         Ok(MemoryStorage::new())
//!     }
//!     fn open(&mut self, store: &MemoryStorage) -> Result<MemoryLog, LogError> {
//!         Ok(MemoryLog::open(store))
//!     }
//! }
//!
//! log_suite::run(&mut Memory).assert_all_passed();
//! ```

pub mod crash_fs;
pub mod crash_suite;
pub mod faulty_fs;
pub mod fsync_defect;
pub mod fuzz;
pub mod log_suite;
pub mod peer_cluster;
pub mod peer_suite;
pub mod peers_provider_suite;
pub mod process_crash_suite;
mod report;
pub mod snapshot_store_suite;
pub mod state_machine_suite;

pub use crash_fs::CrashFs;
pub use faulty_fs::{DiskFaults, FaultyFs};
pub use fsync_defect::{Defect, FsyncDefect};
pub use report::{CaseReport, Outcome, SuiteReport};
