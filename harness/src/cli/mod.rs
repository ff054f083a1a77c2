//! The `rafty` command's subcommands, one module each; `main.rs` only dispatches.

pub mod admin;
pub mod bench;
pub mod catalogue;
pub mod certs;
pub mod check;
pub mod node;
pub mod number;
pub mod registry;
pub mod replay;
pub mod report;
pub mod runs;
pub mod serve;
pub mod shrink;
pub mod test;
pub mod test_real;
pub mod test_registry;
