//! [`Options`]: how much an entry point's chaos runs do.

use std::time::Duration;

/// How much an entry point's `run_all_with` runs (the suites always run whole).
#[derive(Clone, Debug)]
pub struct Options {
    /// Chaos runs of a 3-node cluster on the part (seeds 1 to this, or only the seed in
    /// [`SEED_VAR`](crate::SEED_VAR)); 0 for none. Needs the `chaos` feature.
    pub chaos_seeds: u64,
    /// Each chaos run's simulated time (the wall time is a fraction of it).
    pub chaos_time_limit: Duration,
}

impl Default for Options {
    /// One chaos run of 4 simulated seconds (some 5 s of wall time): raise both in a
    /// nightly job.
    fn default() -> Options {
        Options {
            chaos_seeds: 1,
            chaos_time_limit: Duration::from_secs(4),
        }
    }
}
