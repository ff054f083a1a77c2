//! # rafty-harness
//!
//! The Jepsen-style simulation harness behind the `rafty` command: a cluster of rafty nodes
//! runs under turmoil's deterministic simulated network, workload clients record every
//! operation, a nemesis injects faults from the outer step loop, and checkers judge the
//! history and the invariants observed from the nodes. One `u64` seed reproduces a run.
//!
//! Layout: [`sim`] (turmoil glue, the cluster, clients), [`nemesis`], [`checks`], [`run`]
//! (runner and store), [`real`] (the same test against real OS processes, not deterministic)
//! and [`cli`] (subcommands).
//!
//! # A run
//!
//! [`run::runner::run`] builds a turmoil `Sim` seeded from the run seed: one host per node
//! (`n1`..`nN`, each a rafty node over the TCP transport with the key-value service, its log
//! and state machine from the factories of [`run::plugins::Plugins`]) and one client host whose
//! tasks are the Jepsen processes. It then steps the simulation one millisecond at a time,
//! polling the [`nemesis::Nemesis`] before each step; at the time limit the nemesis heals
//! everything, clients stop invoking and, after a recovery pause, read every key once more.
//! [`run::judge::judge`] then checks linearizability, the invariants observed online, that no
//! acknowledged write is missing from the final state, and liveness.
//!
//! # Determinism
//!
//! Every random choice comes from a generator seeded from the run seed ([`run::seeds`]); time
//! is turmoil's; maps are ordered. One trap outside our code: tokio numbers tasks with a
//! process-wide counter and shuts a dropped runtime's tasks down in an order set by those
//! numbers, so whatever a crashing host sends while it dies would depend on what ran before in
//! the process. A crashing host therefore has its outgoing links cut while it dies
//! ([`sim::control`]); a test checks that a run does not depend on earlier runs.

#![warn(missing_docs)]

pub mod bench;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod hyper_stream;
pub mod in_process;
pub mod nemesis;
pub mod peer_calls;
pub mod real;
pub mod run;
pub mod schedule;
pub mod shrink;
pub mod sim;
