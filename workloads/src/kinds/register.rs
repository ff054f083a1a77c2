//! `register`: one integer register, read, written and compare-and-set.

use rand::Rng;

use rafty_checkers::model::ModelKind;

use crate::config::{ConfigError, WorkloadConfig};
use crate::generator::REGISTER_VALUES;
use crate::op::ClientOp;
use crate::workload::{Draws, Workload};

/// One key holding an integer: read, write, compare-and-set (Jepsen's cas-register).
pub struct Register;

impl Workload for Register {
    fn name(&self) -> &'static str {
        "register"
    }

    fn summary(&self) -> &'static str {
        "one integer register: read, write, compare-and-set"
    }

    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn default_keys(&self) -> usize {
        1
    }

    fn issues_cas(&self) -> bool {
        true
    }

    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        if config.key_count != 1 {
            return Err(ConfigError {
                field: "keys",
                reason: "the register workload uses exactly one key".to_owned(),
            });
        }
        Ok(())
    }

    fn read(&self, key: String) -> ClientOp {
        ClientOp::Read { key }
    }

    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        ClientOp::Write {
            key,
            value: draws.rng.random_range(0..REGISTER_VALUES),
        }
    }
}
