//! The simulated world: turmoil glue, the cluster of nodes, and the workload clients.

// pub mod net; // waits for rafty::tcp
