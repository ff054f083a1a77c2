//! Raft settings drawn from the seed: each run's batch size, in-flight window, election
//! timing and RPC deadline, so the default run meets the settings under which some bugs show
//! (one entry per AppendEntries and one in flight for Figure 8, tight election timeouts for
//! split votes, a deadline longer than an election for late answers) without anyone asking
//! for them. The draw is deterministic from the seed and
//! the drawn settings are what results.json records.

use std::time::Duration;

use rand::Rng;

use super::seeds::Seeds;

/// The most entries per AppendEntries the draw picks from (small ones more often).
const APPEND_ENTRIES: [usize; 6] = [1, 1, 1, 4, 64, 256];
/// The in-flight windows the draw picks from (one more often).
const INFLIGHT_APPENDS: [usize; 4] = [1, 1, 2, 8];
/// Election timing, (timeout min, timeout max, heartbeat) in milliseconds: the LAN default,
/// a narrow range (split votes), and a fast one (elections overlap answers still in flight).
const TIMINGS_MS: [(u64, u64, u64); 3] = [(150, 300, 50), (100, 120, 30), (50, 100, 20)];
/// RPC deadlines in milliseconds: the simulation's usual one, and, one time in three, one
/// longer than any election timeout drawn, so that an answer held back by the `replay` fault
/// (within its call's deadline) can reach a candidate after it moved on to a later term.
const RPC_TIMEOUTS_MS: [u64; 3] = [100, 100, 400];

/// `base` with its batch size, in-flight window and election timing drawn from `seed`.
pub fn drawn_settings(base: &rafty::Config, seed: u64) -> rafty::Config {
    let mut rng = Seeds::new(seed).rng("settings", 0);
    let (min, max, heartbeat) = TIMINGS_MS[rng.random_range(0..TIMINGS_MS.len())];
    let max_append_entries = APPEND_ENTRIES[rng.random_range(0..APPEND_ENTRIES.len())];
    let max_inflight_appends = INFLIGHT_APPENDS[rng.random_range(0..INFLIGHT_APPENDS.len())];
    // Drawn last, so that the draws above stay what they were for every seed.
    let rpc_timeout = RPC_TIMEOUTS_MS[rng.random_range(0..RPC_TIMEOUTS_MS.len())];
    rafty::Config {
        max_append_entries,
        max_inflight_appends,
        election_timeout_min: Duration::from_millis(min),
        election_timeout_max: Duration::from_millis(max),
        heartbeat_interval: Duration::from_millis(heartbeat),
        rpc_timeout: Duration::from_millis(rpc_timeout),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rafty::Settings;

    use super::*;

    #[test]
    fn the_draw_is_valid_deterministic_and_varied() {
        let base = rafty::Config::default();
        let mut batches = BTreeSet::new();
        let mut timeouts = BTreeSet::new();
        let mut rpc_timeouts = BTreeSet::new();
        for seed in 1..=60 {
            let drawn = drawn_settings(&base, seed);
            assert_eq!(drawn, drawn_settings(&base, seed), "seed {seed}");
            drawn.validate().expect("every drawn setting is valid");
            rpc_timeouts.insert(drawn.rpc_timeout);
            batches.insert((drawn.max_append_entries, drawn.max_inflight_appends));
            timeouts.insert(drawn.election_timeout_min);
        }
        assert!(batches.contains(&(1, 1)), "{batches:?}");
        assert_eq!(timeouts.len(), TIMINGS_MS.len());
        assert_eq!(rpc_timeouts.len(), 2, "{rpc_timeouts:?}");
        assert!(rpc_timeouts.contains(&base.rpc_timeout), "{rpc_timeouts:?}");
    }
}
