//! The simulated world: turmoil glue, the cluster of nodes, and the workload clients.

pub mod admin;
pub mod broken;
pub mod broken_txn;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod control;
pub mod factories;
pub mod kv_api;
pub mod net;
pub mod node_observer;
pub mod observe;
pub mod observed_log;
pub mod observed_peer;
pub mod observed_rpc;
pub mod pinned;
pub mod recorder;
pub mod replay;
pub mod replay_peer;
pub mod shadow_ledger;
pub mod shadow_machine;
pub mod skew;
pub mod stale_reads;
pub mod turmoil_fs;
pub mod user_log;
pub mod user_peers;
