//! `counter`: increments of one counter (each appended to one key's list, the counter being
//! the list's sum) and reads; each read must lie between what was certainly and what was
//! possibly added by then.

use rand::Rng;

use rafty_checkers::direct::DirectModel;
use rafty_checkers::model::ModelKind;

use crate::config::{ConfigError, WorkloadConfig};
use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// The most one increment adds.
pub const MAX_INCREMENT: i64 = 5;

/// Increments and reads of one counter (Jepsen's counter), checked by the counter checker.
pub struct Counter;

fn add(key: String, delta: i64) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::CounterAdd { delta },
        mops: vec![Mop::Append { key, value: delta }],
    }
}

impl Workload for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn summary(&self) -> &'static str {
        "increments of one counter and reads within the bounds of what was added"
    }

    /// Unused: [`Workload::judge`] names the counter checker.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Direct(DirectModel::Counter)
    }

    fn default_keys(&self) -> usize {
        1
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        super::set::one_key("counter", config)
    }

    fn read(&self, key: String) -> ClientOp {
        ClientOp::Txn {
            shape: TxnShape::CounterRead,
            mops: vec![Mop::ReadList { key }],
        }
    }

    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        add(key, draws.rng.random_range(1..=MAX_INCREMENT))
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let key = draws.key();
        Some(if draws.reads() {
            self.read(key)
        } else {
            add(key, draws.rng.random_range(1..=MAX_INCREMENT))
        })
    }
}
