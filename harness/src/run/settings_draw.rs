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

/// Snapshot settings, (threshold, entries kept behind a snapshot), drawn for a run with the
/// `membership` nemesis ([`drawn_snapshot_settings`]): the simulation's usual (a snapshot about
/// once a second at the default rate, 20 entries kept) one time in three, and otherwise small
/// ones, so that a configuration change is inside every node's snapshot and compacted out of
/// its log within a fraction of a second, and a node restarted after a change must take its
/// configuration from the snapshot (dissertation chapter 5: a snapshot holds the latest
/// configuration as of its last included index), and a follower that fell behind a change
/// learns it by InstallSnapshot.
const SNAPSHOTS_UNDER_MEMBERSHIP: [(u64, u64); 3] = [(100, 20), (20, 4), (10, 2)];

/// `base` with its snapshot threshold and kept entries drawn from `seed` (from a stream of
/// its own, so [`drawn_settings`]'s draws stay what they were), for a run with the
/// `membership` nemesis. Only when `base` holds the simulation's usual ones (`usual`): a value
/// set by hand (`--snapshot-threshold-entries`) is kept.
pub fn drawn_snapshot_settings(
    base: &rafty::Config,
    usual: &rafty::Config,
    seed: u64,
) -> rafty::Config {
    let unset = base.snapshot_threshold_entries == usual.snapshot_threshold_entries
        && base.snapshot_keep_entries == usual.snapshot_keep_entries;
    if !unset {
        return base.clone();
    }
    let mut rng = Seeds::new(seed).rng("settings", 1);
    let (threshold, keep) =
        SNAPSHOTS_UNDER_MEMBERSHIP[rng.random_range(0..SNAPSHOTS_UNDER_MEMBERSHIP.len())];
    rafty::Config {
        snapshot_threshold_entries: threshold,
        snapshot_keep_entries: keep,
        ..base.clone()
    }
}

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

    /// Under `membership` the snapshot settings are drawn (deterministically, each pair
    /// reached, the other draws unmoved), and ones set by hand are kept.
    #[test]
    fn snapshot_settings_are_drawn_unless_set_by_hand() {
        let usual = rafty::Config {
            snapshot_threshold_entries: 100,
            snapshot_keep_entries: 20,
            ..rafty::Config::default()
        };
        let mut pairs = BTreeSet::new();
        for seed in 1..=60 {
            let settings = drawn_settings(&usual, seed);
            let drawn = drawn_snapshot_settings(&settings, &usual, seed);
            assert_eq!(drawn, drawn_snapshot_settings(&settings, &usual, seed));
            drawn.validate().expect("every drawn setting is valid");
            assert_eq!(
                (drawn.max_append_entries, drawn.election_timeout_min),
                (settings.max_append_entries, settings.election_timeout_min),
                "seed {seed}: the other draws moved"
            );
            pairs.insert((
                drawn.snapshot_threshold_entries,
                drawn.snapshot_keep_entries,
            ));
        }
        let expected: BTreeSet<(u64, u64)> = SNAPSHOTS_UNDER_MEMBERSHIP.into_iter().collect();
        assert_eq!(pairs, expected);
        let by_hand = rafty::Config {
            snapshot_threshold_entries: 7,
            ..usual.clone()
        };
        for seed in 1..=20 {
            assert_eq!(drawn_snapshot_settings(&by_hand, &usual, seed), by_hand);
        }
    }
}
