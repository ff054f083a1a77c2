//! # rafty-harness
//!
//! The Jepsen-style simulation harness behind the `rafty` command: a cluster of rafty nodes
//! runs under turmoil's deterministic simulated network, workload clients record every
//! operation, a nemesis injects faults from the outer step loop, and checkers judge the
//! history and the invariants observed from the nodes. One `u64` seed reproduces a run.
//!
//! Layout: [`sim`] (turmoil glue, the cluster, clients), [`nemesis`], [`checks`], [`run`]
//! (runner and store) and [`cli`] (subcommands).

#![warn(missing_docs)]

pub mod bench;
pub mod checks;
pub mod cli;
pub mod nemesis;
pub mod run;
pub mod sim;
