//! Running tests: seeds, configuration, the runner and the store of results.

pub mod seeds;
