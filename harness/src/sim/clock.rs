//! Simulated time, the only clock the harness reads inside a simulation.

use std::time::Duration;

/// Simulated time since the start of the run. Must be called from a simulated host or client.
pub fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// [`now`] in nanoseconds, as histories record it.
pub fn now_ns() -> u64 {
    now().as_nanos() as u64
}
