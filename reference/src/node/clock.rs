//! [`Clock`]: the local clock a node's driver reads, for tests and the harness's clock faults.
//! The core reads no clock: the driver passes it this clock's time with every input.

use std::time::Duration;

/// A node's local clock, as a function of the real (tokio) time elapsed since its event loop
/// started. Without one ([`super::NodeOptions::clock`] unset) the node's time is the real
/// elapsed time. A clock may run fast or slow and jump (the harness's `clock` nemesis); only
/// lease reads (dissertation §6.4.1) depend on how far it drifts, up to the configured
/// `lease_read_margin`.
pub trait Clock: Send + Sync + 'static {
    /// The local time when `elapsed` real time has passed since the event loop started.
    fn local(&self, elapsed: Duration) -> Duration;

    /// How much real time the local clock takes, at its current rate, to advance by `local`.
    fn real_delay(&self, local: Duration) -> Duration;
}
