//! Running tests: seeds, configuration, the runner and the store of results.

pub mod config;
pub mod results;
pub mod seeds;
pub mod store;
