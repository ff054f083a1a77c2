//! Test your own implementation of a rafty trait: one dependency, one call per part.
//!
//! ```toml
//! [dev-dependencies]
//! rafty-testing = "0.1"
//! ```
//!
//! ```no_run
//! # use rafty_testing::{LogFactory, LogError};
//! # struct MyLogFactory;
//! # impl LogFactory for MyLogFactory {
//! #     type Log = rafty::MemoryLog;
//! #     type Store = rafty::MemoryStorage;
//! #     fn create(&mut self) -> Result<Self::Store, LogError> { Ok(Default::default()) }
//! #     fn open(&mut self, s: &Self::Store) -> Result<Self::Log, LogError> {
//! #         Ok(rafty::MemoryLog::open(s))
//! #     }
//! # }
//! #[test]
//! fn my_log_keeps_the_contract() {
//!     rafty_testing::log::run_all(MyLogFactory);
//! }
//! ```
//!
//! [`log::run_all`] runs, on the logs your one [`LogFactory`] opens:
//!
//! 1. the conformance suite (`log_suite`: the whole `Log` contract, a drop-and-reopen after
//!    every write);
//! 2. the power-loss suite (`crash_suite`: the power cut at every disk operation, torn
//!    writes, I/O errors, flipped bits) when your log does its I/O through rafty's
//!    [`FileSystem`] ([`LogFactory::open_on_file_system`]);
//! 3. the process-crash suite (`process_crash_suite`: your log in a child process, killed
//!    with `kill -9` between and inside writes) when its store is a directory
//!    ([`LogFactory::store_in_directory`]);
//! 4. with the `chaos` feature (on by default), a chaos run of a 3-node cluster on your log
//!    under every fault that applies to it: partitions, kills, pauses, clock faults,
//!    snapshots, and on rafty's `FileSystem` power loss and power loss inside a write.
//!
//! Any failure fails the test with every failed case (what was expected, what was found, the
//! likely cause, the operations that led to it), writes a report under `store/`, and prints
//! the command that reruns exactly your test with the failing seed:
//! `RAFTY_SEED=17 cargo test -p your_crate your_test -- --exact`. The entry point reads
//! [`SEED_VAR`]; without it, the seeds are fixed, so every run of the test is the same.
//!
//! [`state_machine::run_all`] does the same for a `StateMachine` (its conformance suite, then
//! a chaos run with your machine beside rafty's key-value machine on every node, its answers
//! and snapshot bytes compared per index across nodes, restarts, snapshot installs and power
//! cuts), [`peers_provider::run_all`] for a `PeersProvider` (its suite, then a chaos run whose
//! nodes get their peers from your provider, every answer checked against a source that
//! changes during the run), and [`peer::run_all`] for a `Peer`, through your transport for a
//! whole cluster ([`PeerCluster`]: a server per node, a `Peer` between any two): the peer
//! suite on one link, then a chaos run in real time in this process (3 nodes on your
//! transport, kills, restarts, pauses, and network faults applied around your `Peer`), its
//! history checked for linearizability and every answer your `Peer` returned checked against
//! the one the callee's handler gave. That run is not deterministic: the seed draws the
//! faults, not when they land.

mod dir;
pub mod log;
mod options;
pub mod peer;
pub mod peers_provider;
mod session;
pub mod state_machine;

#[cfg(feature = "chaos")]
mod chaos;
#[cfg(feature = "chaos")]
mod peer_chaos;

pub use dir::Dir;
pub use options::Options;
pub use rafty::file_log::fs::{FileCursor, FileSystem, FsFile, StdFs};
pub use rafty::testing::log_suite::LogFactory;
pub use rafty::testing::peer_cluster::{OneLink, PeerCluster, TcpPeerCluster};
pub use rafty::testing::peer_suite::PeerHarness;
pub use rafty::testing::peers_provider_suite::PeersProviderFactory;
pub use rafty::testing::state_machine_suite::StateMachineFactory;
pub use rafty::testing::{CrashFs, Outcome, SuiteReport};
pub use rafty::{Entry, HardState, Log, LogError, LogIndex, Payload, Term};
pub use session::{SEED_VAR, Verdict};
