//! Simulated time, the only clock the harness reads inside a simulation; in a real-process
//! run (`rafty test --real`, [`crate::real`]), the wall-clock time since the run started.

use std::cell::Cell;
use std::time::Duration;

thread_local! {
    /// The start of the real-process run on this thread, if one is running here.
    static REAL_START: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
}

/// Simulated time since the start of the run, when called from a simulated host or client;
/// outside a simulation, the wall-clock time since [`start_real_run`] on this thread (zero
/// when none started). The simulation never reaches the wall clock: `sim_elapsed` answers
/// inside it.
pub fn now() -> Duration {
    turmoil::sim_elapsed()
        .or_else(|| REAL_START.get().map(|start| start.elapsed()))
        .unwrap_or_default()
}

/// [`now`] in nanoseconds, as histories record it.
pub fn now_ns() -> u64 {
    now().as_nanos() as u64
}

/// A real-process run starts now on this thread: [`now`] counts wall-clock time from here
/// (outside a simulation) until [`end_real_run`].
pub fn start_real_run() {
    REAL_START.set(Some(std::time::Instant::now()));
}

/// The real-process run on this thread ended: [`now`] is zero again outside a simulation.
pub fn end_real_run() {
    REAL_START.set(None);
}
