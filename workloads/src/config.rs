//! What a workload is made of: its kind and the generator's knobs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::workload::WorkloadKind;

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
    /// The most micro-operations in a transaction (transactional workloads; each has from 1
    /// to this many).
    #[serde(default = "default_txn_ops")]
    pub txn_ops: usize,
    /// Every how many of a client's operations its active keys move one key on, retiring the
    /// oldest (transactional workloads; 0: never).
    #[serde(default)]
    pub key_rotation: u64,
}

/// The most micro-operations in a transaction by default (Elle's recommendation).
pub const DEFAULT_TXN_OPS: usize = 4;

fn default_txn_ops() -> usize {
    DEFAULT_TXN_OPS
}

impl WorkloadConfig {
    /// Sensible defaults for `kind`: 10 clients, 100 ops/s, the default mix, the workload's
    /// default number of keys, 10 s.
    pub fn new(kind: WorkloadKind) -> WorkloadConfig {
        WorkloadConfig {
            kind,
            concurrency: 10,
            rate_per_second: 100,
            mix: OperationMix::default(),
            key_count: kind.workload().default_keys(),
            time_limit: Duration::from_secs(10),
            txn_ops: DEFAULT_TXN_OPS,
            key_rotation: kind.workload().default_key_rotation(),
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
        if self.txn_ops == 0 {
            return bad("txn-ops", "must be at least 1");
        }
        self.kind.workload().validate(self)?;
        if self.mix.read + self.mix.write + self.cas_weight() == 0 {
            return bad("mix", "at least one of read, write, cas must have a weight");
        }
        if self.time_limit.is_zero() {
            return bad("time-limit", "must be greater than zero");
        }
        Ok(())
    }

    /// The weight of compare-and-sets in the mix: 0 for a workload that issues none.
    pub fn cas_weight(&self) -> u32 {
        if self.kind.workload().issues_cas() {
            self.mix.cas
        } else {
            0
        }
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
        for kind in WorkloadKind::every() {
            assert_eq!(WorkloadConfig::new(kind).validate(), Ok(()), "{kind}");
        }
    }

    #[test]
    fn bad_knobs_are_named() {
        let mut config = WorkloadConfig::new(WorkloadKind::named("kv").unwrap());
        config.concurrency = 0;
        assert_eq!(config.validate().unwrap_err().field, "concurrency");
        let mut config = WorkloadConfig::new(WorkloadKind::named("register").unwrap());
        config.key_count = 3;
        assert_eq!(config.validate().unwrap_err().field, "keys");
        let mut config = WorkloadConfig::new(WorkloadKind::named("append").unwrap());
        config.mix = OperationMix {
            read: 0,
            write: 0,
            cas: 5,
        };
        assert_eq!(config.validate().unwrap_err().field, "mix");
    }
}
