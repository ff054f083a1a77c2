//! The simulated world: turmoil glue, the cluster of nodes, and the workload clients.

pub mod client;
pub mod clock;
pub mod control;
pub mod factories;
pub mod net;
pub mod observe;
pub mod recorder;
