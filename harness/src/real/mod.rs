//! Real-process mode: the chaos test against OS processes on real sockets and real disks
//! instead of turmoil's simulation (`rafty node`, `rafty test --real`).
//!
//! - [`node`] is `rafty node`: one reference node as a process ([`node_args`] checks what it
//!   is told).

pub mod cluster;
pub mod faults;
pub mod nemesis;
pub mod node;
pub mod node_args;
pub mod process;
pub mod proxy;
pub mod record;

pub use record::{AppliedFault, RealRun};
pub mod runner;
