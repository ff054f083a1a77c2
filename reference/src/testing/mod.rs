//! Conformance suites: run them against your own implementation of a rafty trait to check it
//! keeps the trait's contract.
//!
//! Each suite runs every case, catches failures and panics, and returns a [`SuiteReport`]
//! naming each case with its [`Outcome`]; [`SuiteReport::assert_all_passed`] turns it into a
//! test failure that lists what broke.
//!
//! ```
//! use rafty::testing::log_suite::{self, LogFactory};
//! use rafty::{LogError, MemoryLog, MemoryStorage};
//!
//! struct Memory;
//! impl LogFactory for Memory {
//!     type Log = MemoryLog;
//!     type Store = MemoryStorage;
//!     fn create(&mut self) -> Result<MemoryStorage, LogError> {
//!         Ok(MemoryStorage::new())
//!     }
//!     fn open(&mut self, store: &MemoryStorage) -> Result<MemoryLog, LogError> {
//!         Ok(MemoryLog::open(store))
//!     }
//! }
//!
//! log_suite::run(&mut Memory).assert_all_passed();
//! ```

pub mod crash_fs;
pub mod crash_suite;
pub mod log_suite;
mod report;
pub mod state_machine_suite;

pub use crash_fs::CrashFs;
pub use report::{CaseReport, Outcome, SuiteReport};
