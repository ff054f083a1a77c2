//! `unique-ids`: every operation asks for an id. It appends a unique token to one key's list
//! and reads the list back in one transaction; the id is the list's length then, so two
//! transactions that interleave would be handed the same id.

use rafty_checkers::direct::DirectModel;
use rafty_checkers::model::ModelKind;

use crate::config::{ConfigError, WorkloadConfig};
use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Id generation (Jepsen's unique-ids), checked by the unique-ids checker.
pub struct UniqueIds;

fn generate(key: String, token: i64) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::GenerateId,
        mops: vec![Mop::Append {
            key: key.clone(),
            value: token,
        }, Mop::ReadList { key }],
    }
}

impl Workload for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn summary(&self) -> &'static str {
        "id generation (append a token, read back its position); no id handed out twice"
    }

    /// Unused: [`Workload::judge`] names the unique-ids checker.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Direct(DirectModel::UniqueIds)
    }

    fn default_keys(&self) -> usize {
        1
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        super::set::one_key("unique-ids", config)
    }

    /// A generate too: the workload has no other operation (its final reads are ids).
    fn read(&self, key: String) -> ClientOp {
        generate(key, 0)
    }

    /// A generate with a negative token (never drawn by [`Workload::transaction`]).
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        generate(key, -((draws.client as i64) << 32 | draws.writes as i64))
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let key = draws.key();
        Some(generate(key, draws.unique()))
    }
}
