//! `set`: unique adds to one set (appended to one key's list) and reads of the whole set;
//! the final read must hold every acknowledged add and nothing never added.

use rafty_checkers::direct::DirectModel;
use rafty_checkers::model::ModelKind;

use crate::config::{ConfigError, WorkloadConfig};
use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Adds and reads of one set (Jepsen's set), checked by the set checker.
pub struct Set;

fn add(key: String, value: i64) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::SetAdd { value },
        mops: vec![Mop::Append { key, value }],
    }
}

impl Workload for Set {
    fn name(&self) -> &'static str {
        "set"
    }

    fn summary(&self) -> &'static str {
        "unique adds to one set and reads of it; the final read holds every acknowledged add"
    }

    /// Unused: [`Workload::judge`] names the set checker.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Direct(DirectModel::Set)
    }

    fn default_keys(&self) -> usize {
        1
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        one_key("set", config)
    }

    fn read(&self, key: String) -> ClientOp {
        ClientOp::Txn {
            shape: TxnShape::SetRead,
            mops: vec![Mop::ReadList { key }],
        }
    }

    /// An add of a negative value (never drawn by [`Workload::transaction`]).
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        add(key, -((draws.client as i64) << 32 | draws.writes as i64))
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let key = draws.key();
        Some(if draws.reads() {
            self.read(key)
        } else {
            add(key, draws.unique())
        })
    }
}

/// Refuse a key count other than 1, naming `workload`.
pub(crate) fn one_key(workload: &str, config: &WorkloadConfig) -> Result<(), ConfigError> {
    if config.key_count != 1 {
        return Err(ConfigError {
            field: "keys",
            reason: format!("the {workload} workload uses exactly one key"),
        });
    }
    Ok(())
}
