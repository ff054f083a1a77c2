//! What a workload is made of: its kind and the generator's knobs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which family of operations the clients issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// One key holding an integer: read, write, compare-and-set.
    Register,
    /// Many independent integer registers (read, write, cas per key), so that histories stay
    /// checkable at scale: the checker handles each key on its own.
    Kv,
    /// Per-key string append and read (get), like Porcupine's key-value histories.
    Append,
}

impl WorkloadKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [WorkloadKind; 3] = [
        WorkloadKind::Register,
        WorkloadKind::Kv,
        WorkloadKind::Append,
    ];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Kv => "kv",
            WorkloadKind::Append => "append",
        }
    }

    /// The name of the `rafty-checkers` model that judges this workload's histories: integer
    /// registers (one or many keys) are cas-registers checked per key; appends are the
    /// key-value model.
    pub fn model_name(self) -> &'static str {
        match self {
            WorkloadKind::Register | WorkloadKind::Kv => "cas-register",
            WorkloadKind::Append => "kv",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WorkloadKind {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WorkloadKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| ConfigError {
                field: "workload",
                reason: format!("unknown workload {text:?}; expected register, kv or append"),
            })
    }
}

/// The relative weights of reads, writes and compare-and-sets. For the append workload,
/// writes are appends and compare-and-sets are not issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationMix {
    /// Weight of reads.
    pub read: u32,
    /// Weight of writes (appends for the append workload).
    pub write: u32,
    /// Weight of compare-and-sets.
    pub cas: u32,
}

impl Default for OperationMix {
    fn default() -> Self {
        OperationMix {
            read: 2,
            write: 1,
            cas: 1,
        }
    }
}

/// A bad generator knob, named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid workload setting {field}: {reason}")]
pub struct ConfigError {
    /// The knob's name, as on the command line.
    pub field: &'static str,
    /// Why its value is impossible.
    pub reason: String,
}

/// The generator's knobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Which operations the clients issue.
    pub kind: WorkloadKind,
    /// How many clients run at once, each with one outstanding operation.
    pub concurrency: usize,
    /// Target operations per second over all clients; each client waits about
    /// `concurrency / rate` seconds between its operations.
    pub rate_per_second: u32,
    /// The read / write / cas mix.
    pub mix: OperationMix,
    /// How many keys the operations spread over (1 for the register workload).
    pub key_count: usize,
    /// How long clients issue operations.
    pub time_limit: Duration,
}

impl WorkloadConfig {
    /// Sensible defaults for `kind`: 10 clients, 100 ops/s, the default mix, 8 keys for kv
    /// and append, 1 for register, 10 s.
    pub fn new(kind: WorkloadKind) -> WorkloadConfig {
        WorkloadConfig {
            kind,
            concurrency: 10,
            rate_per_second: 100,
            mix: OperationMix::default(),
            key_count: if kind == WorkloadKind::Register { 1 } else { 8 },
            time_limit: Duration::from_secs(10),
        }
    }

    /// Check every knob; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.concurrency == 0 {
            return bad("concurrency", "must be at least 1");
        }
        if self.rate_per_second == 0 {
            return bad("rate", "must be at least 1 operation per second");
        }
        if self.key_count == 0 {
            return bad("keys", "must be at least 1");
        }
        if self.kind == WorkloadKind::Register && self.key_count != 1 {
            return bad("keys", "the register workload uses exactly one key");
        }
        let cas = if self.kind == WorkloadKind::Append {
            0
        } else {
            self.mix.cas
        };
        if self.mix.read + self.mix.write + cas == 0 {
            return bad("mix", "at least one of read, write, cas must have a weight");
        }
        if self.time_limit.is_zero() {
            return bad("time-limit", "must be greater than zero");
        }
        Ok(())
    }

    /// The mean pause between two operations of one client.
    pub fn mean_think_time(&self) -> Duration {
        Duration::from_secs_f64(self.concurrency as f64 / f64::from(self.rate_per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_for_every_kind() {
        for kind in WorkloadKind::ALL {
            assert_eq!(WorkloadConfig::new(kind).validate(), Ok(()), "{kind}");
        }
    }

    #[test]
    fn bad_knobs_are_named() {
        let mut config = WorkloadConfig::new(WorkloadKind::Kv);
        config.concurrency = 0;
        assert_eq!(config.validate().unwrap_err().field, "concurrency");
        let mut config = WorkloadConfig::new(WorkloadKind::Register);
        config.key_count = 3;
        assert_eq!(config.validate().unwrap_err().field, "keys");
        let mut config = WorkloadConfig::new(WorkloadKind::Append);
        config.mix = OperationMix {
            read: 0,
            write: 0,
            cas: 5,
        };
        assert_eq!(config.validate().unwrap_err().field, "mix");
    }

    #[test]
    fn kinds_parse_from_their_names_and_reject_others() {
        for kind in WorkloadKind::ALL {
            assert_eq!(kind.name().parse::<WorkloadKind>(), Ok(kind));
        }
        let error = "bank".parse::<WorkloadKind>().unwrap_err();
        assert!(
            error.to_string().contains("unknown workload \"bank\""),
            "{error}"
        );
    }
}
