//! A schedule's `config`: every knob of the [`TestConfig`] a run ran with, its Raft settings
//! as drawn from the seed (a replay never draws them again).

use std::time::Duration;

use rafty::ReadConsistency;
use rafty_workloads::WorkloadConfig;
use serde::{Deserialize, Serialize};

use crate::nemesis::FaultKind;
use crate::run::config::{LogKind, TestConfig, Variant};
use crate::sim::pinned::ClientRouting;

/// The schedule's form of a [`TestConfig`]: its fields under their own names, durations as
/// serde writes them (`{"secs": 10, "nanos": 0}`), the settings as the run used them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// See [`TestConfig::nodes`].
    pub nodes: usize,
    /// See [`TestConfig::workload`]; its `time_limit` is the run's.
    pub workload: WorkloadConfig,
    /// See [`TestConfig::nemesis`] (only the replay of `membership` needs it: its spare hosts).
    pub nemesis: Vec<FaultKind>,
    /// See [`TestConfig::nemesis_interval`] (not used by a replay; kept to say what was run).
    pub nemesis_interval: Duration,
    /// See [`TestConfig::nemesis_overlap`] (likewise).
    pub nemesis_overlap: usize,
    /// See [`TestConfig::recovery`].
    pub recovery: Duration,
    /// See [`TestConfig::quiet_period`].
    pub quiet_period: Duration,
    /// The settings every node ran with.
    pub raft: rafty::Config,
    /// See [`TestConfig::latency_min`].
    pub latency_min: Duration,
    /// See [`TestConfig::latency_max`].
    pub latency_max: Duration,
    /// See [`TestConfig::op_timeout`].
    pub op_timeout: Duration,
    /// See [`TestConfig::variant`].
    pub variant: Variant,
    /// See [`TestConfig::log`].
    pub log: LogKind,
    /// See [`TestConfig::check_time_limit`].
    pub check_time_limit: Duration,
    /// See [`TestConfig::reads`] (absent from older files: reads through the log).
    #[serde(default = "log_reads")]
    pub reads: ReadConsistency,
    /// See [`TestConfig::lease_margin_percent`] (absent from older files: 20).
    #[serde(default = "default_lease_margin_percent")]
    pub lease_margin_percent: u32,
    /// See [`TestConfig::sessions`] (absent from older files and when off: no sessions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sessions: bool,
    /// See [`TestConfig::clients`] (absent from older files: following the leader).
    #[serde(default)]
    pub clients: ClientRouting,
}

/// The reads of a schedule written before reads had a choice: through the log.
fn log_reads() -> ReadConsistency {
    ReadConsistency::Log
}

/// The lease margin of a schedule written before leases: the command line's default.
fn default_lease_margin_percent() -> u32 {
    20
}

impl From<&TestConfig> for ScheduleConfig {
    fn from(config: &TestConfig) -> Self {
        ScheduleConfig {
            nodes: config.nodes,
            workload: config.workload.clone(),
            nemesis: config.nemesis.clone(),
            nemesis_interval: config.nemesis_interval,
            nemesis_overlap: config.nemesis_overlap,
            recovery: config.recovery,
            quiet_period: config.quiet_period,
            raft: config.raft.clone(),
            latency_min: config.latency_min,
            latency_max: config.latency_max,
            op_timeout: config.op_timeout,
            variant: config.variant,
            log: config.log,
            check_time_limit: config.check_time_limit,
            reads: config.reads,
            lease_margin_percent: config.lease_margin_percent,
            sessions: config.sessions,
            clients: config.clients,
        }
    }
}

impl From<ScheduleConfig> for TestConfig {
    fn from(config: ScheduleConfig) -> Self {
        TestConfig {
            nodes: config.nodes,
            workload: config.workload,
            nemesis: config.nemesis,
            nemesis_interval: config.nemesis_interval,
            nemesis_overlap: config.nemesis_overlap,
            recovery: config.recovery,
            quiet_period: config.quiet_period,
            raft: config.raft,
            // The settings are the ones the run drew; a replay uses them as they are.
            draw_settings: false,
            latency_min: config.latency_min,
            latency_max: config.latency_max,
            op_timeout: config.op_timeout,
            variant: config.variant,
            log: config.log,
            check_time_limit: config.check_time_limit,
            reads: config.reads,
            lease_margin_percent: config.lease_margin_percent,
            sessions: config.sessions,
            clients: config.clients,
        }
    }
}
