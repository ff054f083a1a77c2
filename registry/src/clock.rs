//! The clock the registry's proposers stamp commands with (`now_ms` of a registration, a
//! keepalive, a leader's tick). The state machine reads none: its time is the largest stamp
//! applied (log time). A node in production reads the wall clock; a simulation hands in its
//! own simulated (and possibly skewed) clock, so that nothing it runs reads the wall clock.

use std::sync::Arc;
use std::time::SystemTime;

/// Milliseconds since the Unix epoch, as a node's proposers see them.
pub type RegistryClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock, in milliseconds since the Unix epoch (0 before it).
pub fn wall_clock_ms() -> u64 {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

/// [`wall_clock_ms`] as a [`RegistryClock`].
pub fn wall_clock() -> RegistryClock {
    Arc::new(wall_clock_ms)
}
