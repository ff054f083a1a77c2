//! In-process real-time runs of a cluster on a user's transport (the chaos run of the `Peer`
//! part, `rafty_testing::peer::run_all`): 3 rafty nodes on one tokio runtime of this process,
//! on in-memory logs and the key-value machine, every node-to-node call through the user's
//! `Peer` and server ([`rafty::testing::peer_cluster::PeerCluster`]), under the real-process
//! run's faults (kill and restart, pause, partition, latency, clog), a key-value workload
//! through the library API, and the simulated run's judge.
//!
//! - [`cluster`] starts, kills, restarts and pauses the nodes on the user's transport;
//! - [`links`] applies the network faults around the user's `Peer` (its wire is not cut);
//! - [`wire`] checks the `Peer` contract from both ends (answers, single delivery, deadlines);
//! - [`api`] is the clients' way in; [`nemesis`] draws and applies the faults;
//! - [`runner`] runs and judges one seed.
//!
//! Not deterministic, and not simulated: nothing here runs under turmoil, so it may read the
//! wall clock. The seed draws the faults and operations; when they land is the machine's.

pub mod api;
pub mod cluster;
pub mod links;
pub mod nemesis;
pub mod runner;
pub mod wire;

pub use runner::{in_process_name, run_in_process};
