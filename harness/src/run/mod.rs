//! Running tests: seeds, configuration, the runner, the judge and the store of results.

pub mod config;
pub mod digest;
pub mod judge;
pub mod plugins;
pub mod pool;
pub mod progress;
pub mod results;
pub mod runner;
pub mod seeds;
pub mod settings_draw;
pub mod store;
pub mod suite;
