//! Two rafty [`Log`](rafty::Log)s on storage crates nobody here wrote, as a user would write
//! them, and the proof that rafty-testing's one-call suites test them (`tests/`):
//!
//! * [`redb_log`]: on [redb](https://crates.io/crates/redb), one transaction per write; on
//!   its own file (`std::fs`) in production, or on rafty's `FileSystem` through redb's
//!   `StorageBackend`, so the power-loss suite reaches it;
//! * [`fjall_log`]: on [fjall](https://crates.io/crates/fjall), an LSM tree, one write batch
//!   per write, synced (`PersistMode::SyncAll`).
//!
//! Both are the same [`kv_log::KvLog`] over a small [`kv_log::Store`] (load everything; commit
//! one atomic change). [`Bugs`] plants the mistakes users make, for the tests that show which
//! suite catches each.

pub mod factories;
pub mod fjall_log;
pub mod kv_log;
pub mod redb_backend;
pub mod redb_log;

pub use factories::{FjallFactory, RedbFactory};
pub use kv_log::{Bugs, KvLog};

pub use rafty_testing::Dir;
