//! What judges a run: linearizability of the history (or, for a transactional workload, its
//! Elle or direct check: [`transactional`]; for the registry, [`registry`]), Raft invariants observed from the nodes,
//! and liveness while the cluster is healthy and once it healed ([`settled`]), admin calls
//! included ([`admin`]).

pub mod admin;
pub mod configurations;
pub mod durability;
pub mod durable_view;
pub mod invariants;
pub mod linearizable;
pub mod liveness;
pub mod protocol;
pub mod registry;
pub mod settled;
pub mod transactional;
