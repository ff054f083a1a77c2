//! The simulated world: turmoil glue, the cluster of nodes, and the workload clients.

pub mod client;
pub mod clock;
// pub mod net; // waits for rafty::tcp
pub mod factories;
pub mod observe;
pub mod recorder;
