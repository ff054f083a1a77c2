//! Workloads: what the harness's clients do, and how each operation appears in a history.
//!
//! A workload is a [`WorkloadConfig`] (which kind, how many clients, how fast, which mix of
//! operations, how many keys) and a seeded [`Generator`] that produces [`ClientOp`]s. Each
//! operation knows how to record itself as a Jepsen-style invocation and completion
//! ([`ClientOp::invoke`], [`ClientOp::complete`]) and which checker model judges the history
//! ([`WorkloadKind::model`]).
//!
//! Each workload is one file under [`kinds`] implementing [`Workload`] (its name, the model that
//! judges it, its operations, its knobs) and one line in the registry there.
//!
//! The generator is deterministic: the same seed gives the same operations in the same order.
#![warn(missing_docs)]

pub mod config;
pub mod generator;
pub mod kinds;
pub mod op;
pub mod txn;
pub mod workload;

pub use config::{ConfigError, OperationMix, WorkloadConfig};
pub use generator::Generator;
pub use op::{ClientOp, OpResult};
pub use txn::{Mop, TxnShape};
pub use workload::{Draws, Judge, TxnDraws, Workload, WorkloadKind};
