//! The `Settings` trait (Rafty's `ISettings`) and its usual implementation, [`Config`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One field of the settings that holds an impossible value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadField {
    /// The field's name, as in [`Config`].
    pub field: &'static str,
    /// Why its value is impossible.
    pub reason: String,
}

/// The settings were rejected; every bad field is named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid settings: {}", .fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; "))]
pub struct SettingsError {
    /// Each bad field with the reason.
    pub fields: Vec<BadField>,
}

/// The longest timeout or interval [`Settings::validate`] accepts (one day): timers are computed
/// as `now + timeout`, which must not overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest `snapshot_chunk_bytes` [`Settings::validate`] accepts (4 MiB): a chunk and its
/// header must fit the TCP transport's default frame cap of 8 MiB.
pub const MAX_SNAPSHOT_CHUNK_BYTES: usize = 4 << 20;

/// The tunables of a node. Implement it to read settings from your own configuration system,
/// or use [`Config`].
pub trait Settings: Send + Sync + 'static {
    /// Lower bound of the randomized election timeout (§5.2).
    fn election_timeout_min(&self) -> Duration;
    /// Upper bound (exclusive) of the randomized election timeout (§5.2).
    fn election_timeout_max(&self) -> Duration;
    /// How often a leader sends heartbeats; must be well below `election_timeout_min`.
    fn heartbeat_interval(&self) -> Duration;
    /// How long a client command may wait for its result before it is answered `Timeout`.
    fn command_timeout(&self) -> Duration;
    /// The deadline of one RPC to a peer.
    fn rpc_timeout(&self) -> Duration;
    /// The most entries one AppendEntries carries.
    fn max_append_entries(&self) -> usize;
    /// The most payload bytes one AppendEntries carries (at least one entry is always sent).
    fn max_append_bytes(&self) -> usize;
    /// The most AppendEntries in flight to one follower at a time (pipelining).
    fn max_inflight_appends(&self) -> usize;
    /// True: a follower forwards client commands to the leader it knows (Rafty's behaviour).
    /// False: it answers `NotLeader` with a leader hint.
    fn forward_to_leader(&self) -> bool;
    /// Take a snapshot once this many entries were applied since the last one (Raft §7);
    /// 0 disables this trigger. Default 10,000 (hashicorp/raft's `SnapshotThreshold` is
    /// 8,192, etcd's `--snapshot-count` 10,000).
    fn snapshot_threshold_entries(&self) -> u64 {
        Config::default().snapshot_threshold_entries
    }
    /// Take a snapshot once the payloads applied since the last one add up to this many
    /// bytes; 0 disables this trigger. Default 64 MiB.
    fn snapshot_threshold_bytes(&self) -> u64 {
        Config::default().snapshot_threshold_bytes
    }
    /// How many entries to keep in the log behind a snapshot, so a follower that is only a
    /// little behind catches up with AppendEntries rather than a whole snapshot. Default 5,000
    /// (etcd's `SnapshotCatchUpEntries`).
    fn snapshot_keep_entries(&self) -> u64 {
        Config::default().snapshot_keep_entries
    }
    /// The most snapshot bytes one InstallSnapshot carries. Default 1 MiB.
    fn snapshot_chunk_bytes(&self) -> usize {
        Config::default().snapshot_chunk_bytes
    }
    /// How many entries, beyond `snapshot_keep_entries`, a leader may keep in its log for a
    /// follower in snapshot catch-up (from the start of a transfer until its match index
    /// reaches the leader's latest snapshot): compaction stops at the entries that follower
    /// needs after the snapshot it is sent, so the leader's next snapshot does not compact
    /// them away while it installs and send it another snapshot for ever (openraft's purge
    /// lag, etcd's check against a follower's pending snapshot). 0: no hold. Default 10,000.
    /// A hold never keeps fewer than the entries one snapshot compacts
    /// (`snapshot_threshold_entries - snapshot_keep_entries`), the least that covers a
    /// follower sent the previous snapshot: a smaller value is raised to that, so a larger
    /// `snapshot_threshold_entries` needs no change here.
    fn snapshot_catch_up_hold_entries(&self) -> u64 {
        Config::default().snapshot_catch_up_hold_entries
    }

    /// Lease reads (dissertation §6.4.1): `Some(margin)` lets a leader serve a lease read
    /// without a heartbeat round while a majority answered its requests sent within the last
    /// `election_timeout_min - margin`. This depends on bounded clock drift: `margin` must
    /// cover how far any two nodes' clocks may drift apart within one `election_timeout_min`
    /// (a clock that jumps breaks leases). `None` (the default): lease reads fall back to
    /// ReadIndex.
    fn lease_read_margin(&self) -> Option<Duration> {
        None
    }

    /// Follower reads (dissertation §6.4): true lets a follower serve ReadIndex and lease reads
    /// itself: it asks the leader for a read index ([`crate::Peer::read_index`]) and serves
    /// once it has applied that far. False (the default): a follower refuses them with
    /// `NotLeader` and its leader hint.
    fn follower_reads(&self) -> bool {
        false
    }

    /// Check every field and name each impossible one.
    fn validate(&self) -> Result<(), SettingsError> {
        let mut fields = Vec::new();
        let mut bad = |field: &'static str, reason: String| fields.push(BadField { field, reason });
        let min = self.election_timeout_min();
        let max = self.election_timeout_max();
        let heartbeat = self.heartbeat_interval();
        if min.is_zero() {
            bad("election_timeout_min", "must be greater than zero".into());
        }
        if max <= min {
            bad(
                "election_timeout_max",
                format!("must be greater than election_timeout_min ({min:?}), got {max:?}"),
            );
        }
        if heartbeat.is_zero() {
            bad("heartbeat_interval", "must be greater than zero".into());
        } else if heartbeat >= min {
            bad(
                "heartbeat_interval",
                format!("must be below election_timeout_min ({min:?}), got {heartbeat:?}"),
            );
        }
        if self.command_timeout().is_zero() {
            bad("command_timeout", "must be greater than zero".into());
        }
        if self.rpc_timeout().is_zero() {
            bad("rpc_timeout", "must be greater than zero".into());
        }
        if self.max_append_entries() == 0 {
            bad("max_append_entries", "must be at least 1".into());
        }
        if self.max_append_bytes() == 0 {
            bad("max_append_bytes", "must be at least 1".into());
        }
        if self.max_inflight_appends() == 0 {
            bad("max_inflight_appends", "must be at least 1".into());
        }
        if self.snapshot_chunk_bytes() == 0 {
            bad("snapshot_chunk_bytes", "must be at least 1".into());
        } else if self.snapshot_chunk_bytes() > MAX_SNAPSHOT_CHUNK_BYTES {
            bad(
                "snapshot_chunk_bytes",
                format!(
                    "must be at most {MAX_SNAPSHOT_CHUNK_BYTES} (one chunk must fit a transport \
                     frame), got {}",
                    self.snapshot_chunk_bytes()
                ),
            );
        }
        if let Some(margin) = self.lease_read_margin()
            && margin >= min
        {
            bad(
                "lease_read_margin",
                format!("must be below election_timeout_min ({min:?}), got {margin:?}"),
            );
        }
        // Timers are computed as `now + timeout`; an absurd timeout would overflow the clock.
        for (field, value) in [
            ("election_timeout_min", min),
            ("election_timeout_max", max),
            ("heartbeat_interval", heartbeat),
            ("command_timeout", self.command_timeout()),
            ("rpc_timeout", self.rpc_timeout()),
        ] {
            if value > MAX_TIMEOUT {
                bad(
                    field,
                    format!("must be at most {MAX_TIMEOUT:?}, got {value:?}"),
                );
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { fields })
        }
    }
}

/// Plain settings with sensible defaults for a LAN: 150-300 ms elections, 50 ms heartbeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// See [`Settings::election_timeout_min`].
    pub election_timeout_min: Duration,
    /// See [`Settings::election_timeout_max`].
    pub election_timeout_max: Duration,
    /// See [`Settings::heartbeat_interval`].
    pub heartbeat_interval: Duration,
    /// See [`Settings::command_timeout`].
    pub command_timeout: Duration,
    /// See [`Settings::rpc_timeout`].
    pub rpc_timeout: Duration,
    /// See [`Settings::max_append_entries`].
    pub max_append_entries: usize,
    /// See [`Settings::max_append_bytes`].
    pub max_append_bytes: usize,
    /// See [`Settings::max_inflight_appends`].
    pub max_inflight_appends: usize,
    /// See [`Settings::forward_to_leader`].
    pub forward_to_leader: bool,
    /// See [`Settings::snapshot_threshold_entries`] (0 disables).
    pub snapshot_threshold_entries: u64,
    /// See [`Settings::snapshot_threshold_bytes`] (0 disables).
    pub snapshot_threshold_bytes: u64,
    /// See [`Settings::snapshot_keep_entries`].
    pub snapshot_keep_entries: u64,
    /// See [`Settings::snapshot_chunk_bytes`].
    pub snapshot_chunk_bytes: usize,
    /// See [`Settings::snapshot_catch_up_hold_entries`] (0: no hold).
    pub snapshot_catch_up_hold_entries: u64,
    /// See [`Settings::lease_read_margin`] (`None`: lease reads off).
    pub lease_read_margin: Option<Duration>,
    /// See [`Settings::follower_reads`]. Written only when on, so the settings of runs without
    /// follower reads serialize as they always did.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub follower_reads: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            command_timeout: Duration::from_secs(2),
            rpc_timeout: Duration::from_millis(100),
            max_append_entries: 256,
            max_append_bytes: 1 << 20,
            max_inflight_appends: 8,
            forward_to_leader: true,
            snapshot_threshold_entries: 10_000,
            snapshot_threshold_bytes: 64 << 20,
            snapshot_keep_entries: 5_000,
            snapshot_chunk_bytes: 1 << 20,
            snapshot_catch_up_hold_entries: 10_000,
            lease_read_margin: None,
            follower_reads: false,
        }
    }
}

impl Settings for Config {
    fn election_timeout_min(&self) -> Duration {
        self.election_timeout_min
    }
    fn election_timeout_max(&self) -> Duration {
        self.election_timeout_max
    }
    fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }
    fn command_timeout(&self) -> Duration {
        self.command_timeout
    }
    fn rpc_timeout(&self) -> Duration {
        self.rpc_timeout
    }
    fn max_append_entries(&self) -> usize {
        self.max_append_entries
    }
    fn max_append_bytes(&self) -> usize {
        self.max_append_bytes
    }
    fn max_inflight_appends(&self) -> usize {
        self.max_inflight_appends
    }
    fn forward_to_leader(&self) -> bool {
        self.forward_to_leader
    }
    fn snapshot_threshold_entries(&self) -> u64 {
        self.snapshot_threshold_entries
    }
    fn snapshot_threshold_bytes(&self) -> u64 {
        self.snapshot_threshold_bytes
    }
    fn snapshot_keep_entries(&self) -> u64 {
        self.snapshot_keep_entries
    }
    fn snapshot_chunk_bytes(&self) -> usize {
        self.snapshot_chunk_bytes
    }
    fn snapshot_catch_up_hold_entries(&self) -> u64 {
        self.snapshot_catch_up_hold_entries
    }
    fn lease_read_margin(&self) -> Option<Duration> {
        self.lease_read_margin
    }
    fn follower_reads(&self) -> bool {
        self.follower_reads
    }
}

impl Config {
    /// Copy every value out of any [`Settings`] implementation.
    pub fn from_settings(settings: &dyn Settings) -> Config {
        Config {
            election_timeout_min: settings.election_timeout_min(),
            election_timeout_max: settings.election_timeout_max(),
            heartbeat_interval: settings.heartbeat_interval(),
            command_timeout: settings.command_timeout(),
            rpc_timeout: settings.rpc_timeout(),
            max_append_entries: settings.max_append_entries(),
            max_append_bytes: settings.max_append_bytes(),
            max_inflight_appends: settings.max_inflight_appends(),
            forward_to_leader: settings.forward_to_leader(),
            snapshot_threshold_entries: settings.snapshot_threshold_entries(),
            snapshot_threshold_bytes: settings.snapshot_threshold_bytes(),
            snapshot_keep_entries: settings.snapshot_keep_entries(),
            snapshot_chunk_bytes: settings.snapshot_chunk_bytes(),
            snapshot_catch_up_hold_entries: settings.snapshot_catch_up_hold_entries(),
            lease_read_margin: settings.lease_read_margin(),
            follower_reads: settings.follower_reads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn absurd_timeouts_are_rejected_by_name() {
        let config = Config {
            election_timeout_max: Duration::MAX,
            command_timeout: Duration::MAX,
            ..Config::default()
        };
        let names: Vec<_> = config
            .validate()
            .unwrap_err()
            .fields
            .iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(names, ["election_timeout_max", "command_timeout"]);
    }

    #[test]
    fn snapshot_chunk_bytes_is_checked_by_name() {
        for chunk in [0, MAX_SNAPSHOT_CHUNK_BYTES + 1] {
            let config = Config {
                snapshot_chunk_bytes: chunk,
                ..Config::default()
            };
            let error = config.validate().unwrap_err();
            let names: Vec<_> = error.fields.iter().map(|f| f.field).collect();
            assert_eq!(names, ["snapshot_chunk_bytes"], "{chunk}");
        }
        let disabled = Config {
            snapshot_threshold_entries: 0,
            snapshot_threshold_bytes: 0,
            snapshot_keep_entries: 0,
            ..Config::default()
        };
        assert_eq!(disabled.validate(), Ok(()));
    }

    /// Any `snapshot_catch_up_hold_entries` is valid (a small one is raised to one
    /// snapshot's entries where it is used): a `snapshot_threshold_entries` far above the
    /// default, with the default hold, is still accepted.
    #[test]
    fn a_large_snapshot_threshold_needs_no_larger_catch_up_hold() {
        for hold in [0, 1, 10_000] {
            let config = Config {
                snapshot_threshold_entries: 1_000_000,
                snapshot_catch_up_hold_entries: hold,
                ..Config::default()
            };
            assert_eq!(config.validate(), Ok(()), "{hold}");
        }
    }

    #[test]
    fn validate_names_every_bad_field() {
        let config = Config {
            election_timeout_min: Duration::from_millis(100),
            election_timeout_max: Duration::from_millis(100),
            heartbeat_interval: Duration::from_millis(100),
            max_inflight_appends: 0,
            ..Config::default()
        };
        let error = config.validate().unwrap_err();
        let names: Vec<_> = error.fields.iter().map(|f| f.field).collect();
        assert_eq!(
            names,
            [
                "election_timeout_max",
                "heartbeat_interval",
                "max_inflight_appends"
            ]
        );
        let text = error.to_string();
        assert!(
            text.contains("heartbeat_interval: must be below election_timeout_min"),
            "{text}"
        );
    }
}
