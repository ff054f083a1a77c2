//! `list-append`: Elle's recommended workload. Transactions of appends and reads over a few
//! active keys that rotate; every appended integer is unique, so each read shows which appends
//! it saw and in which order, and the checker recovers every key's version order.

use rafty_checkers::elle::TxnModel;
use rafty_checkers::model::ModelKind;

use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Transactions of `[:append k v]` and `[:r k]` micro-operations, judged by Elle.
pub struct ListAppend;

/// A transaction of one micro-operation.
fn single(mop: Mop) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::Elle,
        mops: vec![mop],
    }
}

impl Workload for ListAppend {
    fn name(&self) -> &'static str {
        "list-append"
    }

    fn summary(&self) -> &'static str {
        "transactions of unique appends and list reads over rotating keys, checked by Elle \
         for strict serializability"
    }

    /// Unused: [`Workload::judge`] names Elle.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Elle(TxnModel::ListAppend)
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
        single(Mop::ReadList { key })
    }

    /// One append of a negative value (never drawn by [`Workload::transaction`], whose
    /// values are positive): unique per client and write.
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        let value = -((draws.client as i64) << 32 | draws.writes as i64);
        single(Mop::Append { key, value })
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let mops = (0..draws.mop_count())
            .map(|_| {
                let key = draws.key();
                if draws.reads() {
                    Mop::ReadList { key }
                } else {
                    Mop::Append {
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
