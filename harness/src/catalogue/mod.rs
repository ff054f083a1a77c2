//! The bug catalogue: one entry per classic Raft or storage bug, each planted by a small code
//! change (a core [`Mutation`](rafty::core::Mutation) behind rafty's `mutations` feature, or a
//! broken part in the harness), and the runner that measures whether the default chaos run
//! catches it (`rafty catalogue --run`), with the core's own invariant assertions off.

pub mod entry;
pub mod recorded;
pub mod search;
pub mod table;

pub use entry::{Entry, Plant, entries};
pub use search::{Outcome, SearchOptions, search};
