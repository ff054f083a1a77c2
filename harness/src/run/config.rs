//! What a test is: the cluster, the workload, the nemesis, the time limits and the variant.

use std::time::Duration;

use rafty::ReadConsistency;
use rafty_workloads::{WorkloadConfig, WorkloadKind};
use serde::{Deserialize, Serialize};

use crate::nemesis::FaultKind;
pub use crate::sim::pinned::ClientRouting;

/// A deliberately broken variant of the system under test, used to prove the harness catches
/// it. Only [`Variant::Reference`] is meant for real runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The reference implementation, as shipped.
    #[default]
    Reference,
    /// A `Log` that acknowledges writes and then forgets the latest of them on restart.
    ForgetfulLog,
    /// Core mutation: commit an entry of an earlier term by counting replicas (Figure 8).
    /// Needs rafty's `mutations` feature.
    CommitPreviousTermByCount,
    /// Core mutation: grant votes without the log up-to-date check. Needs `mutations`.
    VoteWithoutLogCheck,
    /// The KV service answers reads from the leader's state machine without confirming it is
    /// still leader. Needs `mutations`.
    StaleLeaderReads,
    /// A `FileLog` whose fsyncs do nothing: it acknowledges writes a power loss then takes
    /// away. Needs `--log file`.
    AcknowledgeBeforeFsync,
}

impl Variant {
    /// Every variant and its command-line name.
    pub const ALL: [(Variant, &'static str); 6] = [
        (Variant::Reference, "reference"),
        (Variant::ForgetfulLog, "forgetful-log"),
        (
            Variant::CommitPreviousTermByCount,
            "commit-previous-term-by-count",
        ),
        (Variant::VoteWithoutLogCheck, "vote-without-log-check"),
        (Variant::StaleLeaderReads, "stale-leader-reads"),
        (Variant::AcknowledgeBeforeFsync, "acknowledge-before-fsync"),
    ];

    /// Parse a command-line name.
    pub fn parse(text: &str) -> Result<Variant, String> {
        Variant::ALL
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(variant, _)| *variant)
            .ok_or_else(|| {
                let names: Vec<&str> = Variant::ALL.iter().map(|(_, name)| *name).collect();
                format!(
                    "unknown variant `{text}`; expected one of: {}",
                    names.join(", ")
                )
            })
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Variant::ALL
            .iter()
            .find(|(variant, _)| *variant == self)
            .map_or("?", |(_, name)| name)
    }
}

/// Which `Log` the nodes run on, among those the harness ships.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// rafty's `MemoryLog`: every write durable on return.
    #[default]
    Memory,
    /// rafty's `FileLog` on its host's simulated disk (turmoil's), which loses unsynced writes,
    /// torn, on power loss.
    File,
}

impl LogKind {
    /// Parse a command-line name.
    pub fn parse(text: &str) -> Result<LogKind, String> {
        match text {
            "memory" => Ok(LogKind::Memory),
            "file" => Ok(LogKind::File),
            _ => Err(format!("unknown log `{text}`; expected memory or file")),
        }
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Memory => "memory",
            LogKind::File => "file",
        }
    }
}

/// Everything a run needs besides its seed and its pluggable parts. Serialized (in
/// `results.json`) with every duration in milliseconds, the unit last in each name.
#[derive(Clone, Debug, PartialEq)]
pub struct TestConfig {
    /// How many nodes (3, 5 or 7).
    pub nodes: usize,
    /// The workload's knobs (its `time_limit` is the test's time limit).
    pub workload: WorkloadConfig,
    /// The fault kinds the nemesis draws from.
    pub nemesis: Vec<FaultKind>,
    /// Typical fault length and healthy gap.
    pub nemesis_interval: Duration,
    /// At most this many faults in effect at once (1: one at a time); see
    /// [`crate::nemesis::claims`].
    pub nemesis_overlap: usize,
    /// After the time limit (when everything is healed): how long the cluster gets to recover
    /// before the final reads, and until when final reads may retry.
    pub recovery: Duration,
    /// Final reads give up this long after the time limit.
    pub quiet_period: Duration,
    /// The settings every node runs with (the base of the draw when `draw_settings`).
    pub raft: rafty::Config,
    /// Whether each run draws its batch size, in-flight window and election timing from its
    /// seed ([`crate::run::settings_draw`]); off, every run uses `raft` as it is.
    pub draw_settings: bool,
    /// Network latency between hosts, minimum and maximum.
    pub latency_min: Duration,
    /// See `latency_min`.
    pub latency_max: Duration,
    /// An operation not answered within this is recorded `info`.
    pub op_timeout: Duration,
    /// Which system runs.
    pub variant: Variant,
    /// Which log the nodes run on (when the parts come from [`crate::run::plugins::Plugins::for_config`]).
    pub log: LogKind,
    /// How long the linearizability checker may search before answering unknown.
    pub check_time_limit: Duration,
    /// How the workload's reads are made consistent (dissertation §6.4): through the log
    /// (the default, which every recorded catalogue seed was found with), ReadIndex, a lease
    /// (which turns on `raft.lease_read_margin` at `lease_margin_percent` of the election
    /// timeout) or stale (recorded `info`, labelled, never checked as linearizable).
    pub reads: ReadConsistency,
    /// The lease's drift margin as a share of `raft.election_timeout_min`, in percent (with
    /// `--reads lease`).
    pub lease_margin_percent: u32,
    /// Whether the workload's clients write through client sessions (dissertation §6.3),
    /// retrying a write whose outcome is unknown until they learn it. Off by default, which
    /// every recorded catalogue seed was found with (the nodes' state machines keep sessions
    /// either way; without them nothing changes).
    pub sessions: bool,
    /// How the workload clients choose the node they ask: following the leader (the default,
    /// which every recorded catalogue seed was found with) or pinned to one node each, as
    /// Jepsen's are.
    pub clients: ClientRouting,
}

/// A LAN's message latency, least and most (`rafty test --network lan`): each message's is
/// drawn from the seed (by turmoil, in whole milliseconds) and arrives by the next 1 ms step
/// of the simulation, where the default network ([`TestConfig::new`]) takes 1 to 10 ms.
pub const LAN_LATENCY: (Duration, Duration) = (Duration::ZERO, Duration::from_millis(1));

/// The command-line names of the read consistencies.
pub const READS: [(ReadConsistency, &str); 4] = [
    (ReadConsistency::Log, "log"),
    (ReadConsistency::Linearizable, "index"),
    (ReadConsistency::Lease, "lease"),
    (ReadConsistency::Stale, "stale"),
];

/// Parse a `--reads` name.
pub fn parse_reads(text: &str) -> Result<ReadConsistency, String> {
    READS
        .iter()
        .find(|(_, name)| *name == text)
        .map(|(reads, _)| *reads)
        .ok_or_else(|| format!("unknown reads `{text}`; expected log, index, lease or stale"))
}

/// The command-line name of `reads`.
pub fn reads_name(reads: ReadConsistency) -> &'static str {
    READS
        .iter()
        .find(|(kind, _)| *kind == reads)
        .map_or("?", |(_, name)| name)
}

/// The simulation's InstallSnapshot chunk for `kind`, far below a real deployment's (1 MiB,
/// the library's default) so that every transfer is cut into chunks: 128 bytes for the
/// key-value workloads, whose snapshots are a few hundred bytes, and 4 KiB for the registry,
/// whose snapshot is tens of KiB. At 128 bytes the registry's took about 3 s, one chunk per
/// round trip (soak finding 3), as long as the settle bound, so a follower healed at the
/// time limit could not catch up within it even on a correct library; 4 KiB keeps it to
/// about ten chunks.
fn snapshot_chunk_bytes(kind: WorkloadKind) -> usize {
    if kind.judge() == rafty_workloads::Judge::Registry {
        4 << 10
    } else {
        128
    }
}

impl TestConfig {
    /// The default test for `kind`: 5 nodes, every nemesis, 10 s, simulated-LAN settings.
    pub fn new(kind: WorkloadKind) -> TestConfig {
        let raft = rafty::Config {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            rpc_timeout: Duration::from_millis(100),
            command_timeout: Duration::from_secs(1),
            // Snapshots for real in every run (issue 16): at the default 100 operations a
            // second each node snapshots about once a second and compacts behind it, so a node
            // down for a few seconds comes back behind the leader's log and must install a
            // snapshot, in chunks (the key-value state of a run is a few hundred bytes).
            snapshot_threshold_entries: 100,
            snapshot_keep_entries: 20,
            snapshot_chunk_bytes: snapshot_chunk_bytes(kind),
            ..rafty::Config::default()
        };
        TestConfig {
            nodes: 5,
            workload: WorkloadConfig::new(kind),
            nemesis: FaultKind::all(LogKind::Memory),
            nemesis_interval: Duration::from_secs(2),
            nemesis_overlap: 1,
            recovery: Duration::from_secs(1),
            quiet_period: Duration::from_secs(10),
            raft,
            draw_settings: true,
            latency_min: Duration::from_millis(1),
            latency_max: Duration::from_millis(10),
            op_timeout: Duration::from_secs(2),
            variant: Variant::Reference,
            log: LogKind::Memory,
            check_time_limit: Duration::from_secs(60),
            reads: ReadConsistency::Log,
            lease_margin_percent: 20,
            sessions: false,
            clients: ClientRouting::Leader,
        }
    }

    /// The test's name in the store, saying what was tested:
    /// `<workload>-<nodes>n-<nemesis>-<log>`, plus the variant if not reference (e.g.
    /// `kv-5n-all-memory`, `kv-3n-kill+pause-file-forgetful-log`). The nemesis is its kinds
    /// joined by `+`, `all` when it holds everything `--nemesis all` means for this log (then
    /// `all+` any kind added by name), or `none`. Only letters, digits, `-` and `+`: safe as a
    /// folder name on any filesystem.
    pub fn name(&self) -> String {
        let mut name = format!(
            "{}-{}n-{}-{}",
            self.workload.kind.name(),
            self.nodes,
            self.nemesis_label(),
            self.log.name()
        );
        if self.variant != Variant::Reference {
            name.push('-');
            name.push_str(self.variant.name());
        }
        if self.reads != ReadConsistency::Log {
            name.push_str("-reads-");
            name.push_str(reads_name(self.reads));
        }
        if self.sessions {
            name.push_str("-sessions");
        }
        if self.clients != ClientRouting::Leader {
            name.push_str("-clients-");
            name.push_str(self.clients.name());
        }
        if self.raft.follower_reads {
            name.push_str("-follower-reads");
        }
        name
    }

    /// The nemesis part of [`TestConfig::name`].
    fn nemesis_label(&self) -> String {
        let all = FaultKind::all(self.log);
        let mut parts = Vec::new();
        let extras: Vec<FaultKind> = if all.iter().all(|kind| self.nemesis.contains(kind)) {
            parts.push("all");
            let mut extras: Vec<FaultKind> = self
                .nemesis
                .iter()
                .copied()
                .filter(|kind| !all.contains(kind))
                .collect();
            extras.sort_unstable();
            extras
        } else {
            let mut kinds = self.nemesis.clone();
            kinds.sort_unstable();
            kinds
        };
        parts.extend(extras.iter().map(|kind| kind.name()));
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("+")
        }
    }

    /// The configuration run `seed` runs with: its settings drawn from the seed when
    /// `draw_settings` is on (with the `membership` nemesis, its snapshot threshold and kept
    /// entries too, unless set by hand: [`crate::run::settings_draw::drawn_snapshot_settings`]),
    /// else this one.
    pub fn for_seed(&self, seed: u64) -> TestConfig {
        let mut config = self.clone();
        if self.draw_settings {
            config.raft = crate::run::settings_draw::drawn_settings(&self.raft, seed);
            let membership = FaultKind::named("membership");
            if membership.is_some_and(|kind| self.nemesis.contains(&kind)) {
                let usual = TestConfig::new(self.workload.kind).raft;
                config.raft =
                    crate::run::settings_draw::drawn_snapshot_settings(&config.raft, &usual, seed);
            }
        }
        if config.reads == ReadConsistency::Lease {
            let margin = config.raft.election_timeout_min * config.lease_margin_percent / 100;
            config.raft.lease_read_margin = Some(margin);
        }
        config
    }

    /// The node ids, 1..=nodes.
    pub fn node_ids(&self) -> Vec<rafty::NodeId> {
        (1..=self.nodes as rafty::NodeId).collect()
    }

    /// Check every knob; the error names each bad one by its field (see
    /// [`TestConfig::problems`], which also says which `rafty test` flag sets it).
    pub fn validate(&self) -> Result<(), String> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        let described: Vec<String> = problems
            .iter()
            .map(|problem| format!("{}: {}", problem.field, problem.reason))
            .collect();
        Err(described.join("; "))
    }

    /// Every impossible knob (none when the configuration is valid), each with its field and
    /// the `rafty test` flag that sets it, so the command line can name what the user typed.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut bad = |field: String, flag, reason: String| {
            problems.push(ConfigProblem {
                field,
                flag,
                reason,
            })
        };
        if ![3, 5, 7].contains(&self.nodes) {
            let reason = format!("must be 3, 5 or 7, got {}", self.nodes);
            bad("nodes".into(), Some("--nodes"), reason);
        }
        if let Err(error) = self.workload.validate() {
            let (field, flag) = workload_field(error.field);
            bad(field, flag, error.reason);
        }
        if self.workload.time_limit > MAX_TIME_LIMIT {
            let reason = format!(
                "must be at most 24h (a simulated day), got {:?}",
                self.workload.time_limit
            );
            bad("workload.time_limit".into(), Some("--time-limit"), reason);
        }
        if let Err(error) = rafty::Settings::validate(&self.raft) {
            for field in error.fields {
                let flag = match field.field {
                    "max_append_entries" => Some("--max-append-entries"),
                    "max_inflight_appends" => Some("--max-inflight-appends"),
                    "snapshot_threshold_entries" => Some("--snapshot-threshold-entries"),
                    "snapshot_keep_entries" => Some("--snapshot-keep-entries"),
                    _ => None,
                };
                bad(format!("raft.{}", field.field), flag, field.reason);
            }
        }
        if self.latency_max < self.latency_min {
            let reason = "the maximum is below the minimum".into();
            bad("latency_max".into(), None, reason);
        }
        if self.log == LogKind::File && self.variant == Variant::ForgetfulLog {
            let reason = "the forgetful-log variant (--variant) is a log of its own; use \
                          --log memory"
                .into();
            bad("log".into(), Some("--log"), reason);
        }
        if self.log != LogKind::File && self.variant == Variant::AcknowledgeBeforeFsync {
            let reason = "the acknowledge-before-fsync variant (--variant) is a FileLog; use \
                          --log file"
                .into();
            bad("log".into(), Some("--log"), reason);
        }
        for kind in &self.nemesis {
            if let Some(reason) = kind.fault().refuse(self.log) {
                bad("nemesis".into(), Some("--nemesis"), reason);
            }
        }
        if self.nemesis_interval < Duration::from_millis(10) {
            let reason = format!("must be at least 10ms, got {:?}", self.nemesis_interval);
            bad(
                "nemesis_interval".into(),
                Some("--nemesis-interval"),
                reason,
            );
        }
        if self.lease_margin_percent >= 100 {
            let reason = format!(
                "must be below 100 (a share of the election timeout), got {}",
                self.lease_margin_percent
            );
            bad(
                "lease_margin_percent".into(),
                Some("--lease-margin-percent"),
                reason,
            );
        }
        if !(1..=MAX_OVERLAP).contains(&self.nemesis_overlap) {
            let reason = format!("must be 1 to {MAX_OVERLAP}, got {}", self.nemesis_overlap);
            bad("nemesis_overlap".into(), Some("--nemesis-overlap"), reason);
        }
        if self.nemesis_overlap > 1 {
            for kind in self.nemesis.iter().filter(|kind| !kind.fault().overlaps()) {
                let reason = format!(
                    "{kind} cannot be in effect with other faults (it acts outside its claim):                      run it with --nemesis-overlap 1"
                );
                bad("nemesis_overlap".into(), Some("--nemesis-overlap"), reason);
            }
        }
        problems
    }
}

/// The most faults [`TestConfig::nemesis_overlap`] lets be in effect at once.
pub const MAX_OVERLAP: usize = 8;

/// The longest `--time-limit` (`workload.time_limit`): a simulated day. Longer is a typo
/// (a run would not end in any useful time) or would overflow the simulated clock.
pub const MAX_TIME_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);

/// One impossible knob of a [`TestConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The field, as in [`TestConfig`] (e.g. `workload.time_limit`, `raft.max_append_entries`).
    pub field: String,
    /// The `rafty test` flag that sets it (e.g. `--time-limit`), if one does.
    pub flag: Option<&'static str>,
    /// Why its value is impossible.
    pub reason: String,
}

impl ConfigProblem {
    /// The problem as the command line reports it: by the flag the user typed, or by the
    /// field when no flag sets it.
    pub fn for_command_line(&self) -> String {
        match self.flag {
            Some(flag) => format!("{flag}: {}", self.reason),
            None => format!("{} (not set by a flag): {}", self.field, self.reason),
        }
    }
}

/// The [`TestConfig`] field and the `rafty test` flag of a knob the workload's own check
/// names (`rafty_workloads::ConfigError::field` is the knob's command-line name).
fn workload_field(knob: &'static str) -> (String, Option<&'static str>) {
    let (field, flag) = match knob {
        "concurrency" => ("concurrency", "--concurrency"),
        "rate" => ("rate_per_second", "--rate"),
        "keys" => ("key_count", "--keys"),
        "mix" => ("mix", "--mix"),
        "time-limit" => ("time_limit", "--time-limit"),
        other => return (format!("workload.{other}"), None),
    };
    (format!("workload.{field}"), Some(flag))
}

/// A duration as whole milliseconds.
fn ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

impl Serialize for TestConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raft = &self.raft;
        let workload = &self.workload;
        let mut json = serde_json::json!({
            "nodes": self.nodes,
            "workload": workload.kind.name(),
            "concurrency": workload.concurrency,
            "rate_per_second": workload.rate_per_second,
            "mix": { "read": workload.mix.read, "write": workload.mix.write, "cas": workload.mix.cas },
            "keys": workload.key_count,
            "time_limit_ms": ms(workload.time_limit),
            "nemesis": self.nemesis.iter().map(|kind| kind.name()).collect::<Vec<_>>(),
            "nemesis_interval_ms": ms(self.nemesis_interval),
            "recovery_ms": ms(self.recovery),
            "quiet_period_ms": ms(self.quiet_period),
            "raft": {
                "election_timeout_min_ms": ms(raft.election_timeout_min),
                "election_timeout_max_ms": ms(raft.election_timeout_max),
                "heartbeat_interval_ms": ms(raft.heartbeat_interval),
                "command_timeout_ms": ms(raft.command_timeout),
                "rpc_timeout_ms": ms(raft.rpc_timeout),
                "max_append_entries": raft.max_append_entries,
                "max_append_bytes": raft.max_append_bytes,
                "max_inflight_appends": raft.max_inflight_appends,
                "forward_to_leader": raft.forward_to_leader,
                "snapshot_threshold_entries": raft.snapshot_threshold_entries,
                "snapshot_threshold_bytes": raft.snapshot_threshold_bytes,
                "snapshot_keep_entries": raft.snapshot_keep_entries,
                "snapshot_chunk_bytes": raft.snapshot_chunk_bytes,
                "drawn_from_seed": self.draw_settings,
            },
            "latency_min_ms": ms(self.latency_min),
            "latency_max_ms": ms(self.latency_max),
            "op_timeout_ms": ms(self.op_timeout),
            "variant": self.variant.name(),
            "log": self.log.name(),
            "check_time_limit_ms": ms(self.check_time_limit),
        });
        // Only when faults overlap, so that one-at-a-time runs write what they always did.
        if self.nemesis_overlap != 1 {
            json["nemesis_overlap"] = self.nemesis_overlap.into();
        }
        // Only when reads leave the log, so that default runs write what they always did.
        if self.reads != ReadConsistency::Log {
            json["reads"] = reads_name(self.reads).into();
        }
        // Likewise only when on.
        if self.sessions {
            json["sessions"] = true.into();
        }
        // Only when pinned, likewise.
        if self.clients != ClientRouting::Leader {
            json["clients"] = self.clients.name().into();
        }
        if let Some(margin) = raft.lease_read_margin {
            json["raft"]["lease_read_margin_ms"] = ms(margin).into();
        }
        // Only when on, likewise.
        if raft.follower_reads {
            json["raft"]["follower_reads"] = true.into();
        }
        json.serialize(serializer)
    }
}
