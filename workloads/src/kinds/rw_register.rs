//! `rw-register`: transactions of unique writes and reads of registers over a few active
//! keys that rotate; every written integer is unique, so a read names the write it saw (the
//! version order is inferred only where reads and writes pin it down).

use rafty_checkers::elle::TxnModel;
use rafty_checkers::model::ModelKind;

use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Transactions of `[:w k v]` and `[:r k]` micro-operations, judged by Elle.
pub struct RwRegister;

/// A transaction of one micro-operation.
fn single(mop: Mop) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::Elle,
        mops: vec![mop],
    }
}

impl Workload for RwRegister {
    fn name(&self) -> &'static str {
        "rw-register"
    }

    fn summary(&self) -> &'static str {
        "transactions of unique register writes and reads over rotating keys, checked by Elle \
         for strict serializability"
    }

    /// Unused: [`Workload::judge`] names Elle.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Elle(TxnModel::RwRegister)
    }

    fn default_keys(&self) -> usize {
        10
    }

    fn default_key_rotation(&self) -> u64 {
        3
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn read(&self, key: String) -> ClientOp {
        single(Mop::ReadRegister { key })
    }

    /// One write of a negative value (never drawn by [`Workload::transaction`], whose
    /// values are positive): unique per client and write.
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        let value = -((draws.client as i64) << 32 | draws.writes as i64);
        single(Mop::Write { key, value })
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let mops = (0..draws.mop_count())
            .map(|_| {
                let key = draws.key();
                if draws.reads() {
                    Mop::ReadRegister { key }
                } else {
                    Mop::Write {
                        key,
                        value: draws.unique(),
                    }
                }
            })
            .collect();
        Some(ClientOp::Txn {
            shape: TxnShape::Elle,
            mops,
        })
    }
}
