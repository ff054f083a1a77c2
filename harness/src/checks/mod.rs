//! What judges a run: linearizability of the history, Raft invariants observed from the nodes,
//! and liveness while the cluster is healthy.

pub mod configurations;
pub mod durability;
pub mod durable_view;
pub mod invariants;
pub mod linearizable;
pub mod liveness;
pub mod protocol;
