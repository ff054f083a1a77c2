//! The service registry (`rafty-registry`) in the simulation (`rafty test --workload
//! registry`): every node runs the registry's state machine through its log, serves the
//! registry's own HTTP API over turmoil and runs its leader ticker on the node's simulated
//! clock ([`nodes`]); the real-process run's clients and watchers drive it ([`clients`]); the
//! judge reads the history with `rafty_checkers::registry` and the config keys'
//! linearizability (`crate::checks::registry`). The run itself is the default runner's: the
//! same nemesis, seeds and invariant checks as every workload.

pub mod clients;
pub mod http_net;
pub mod nodes;

pub use clients::RegistryClients;
pub use nodes::{REGISTRY_PORT, RegistryNodes};
