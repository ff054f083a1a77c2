//! Real-process mode: the chaos test against OS processes on real sockets and real disks
//! instead of turmoil's simulation (`rafty node`, `rafty test --real`). Nothing here runs
//! inside the simulation, so it may read the wall clock and spawn processes.
//!
//! - [`node`] is `rafty node`: one reference node as a process ([`node_args`] checks what it
//!   is told, [`node_file`] reads its `--config` file, [`power_cut`] is its SIGUSR1 with
//!   `--lazy-fs`, [`sync_hook`] lands one inside a sync with `--power-cut-at-sync`).
//! - [`proxy`] is the fault proxy on every node-to-node link (partitions, one-way partitions,
//!   latency, clogs), unprivileged.
//! - [`process`] spawns, kills, pauses, restarts and stops node processes, never leaving one.
//! - [`target`] is the system under test as one small trait; [`cluster`] (rafty's nodes
//!   behind the proxy, with their data directory) and [`etcd`] implement it.
//! - [`faults`] and [`nemesis`] draw the faults from the seed and apply them.
//! - [`bench`] measures rafty's nodes and etcd side by side through their targets.
//! - [`runner`] runs one test and judges it as a simulated run is judged; [`record`] is what
//!   its results.json adds.

pub mod bench;
pub mod cluster;
pub mod etcd;
pub mod faults;
pub mod nemesis;
pub mod node;
pub mod node_args;
pub mod node_file;
pub mod node_metrics;
pub mod power_cut;
pub mod process;
pub mod proxy;
pub mod record;
pub mod registry;
pub mod runner;
pub mod sync_hook;
pub mod target;

pub use record::{AppliedFault, RealRun};
