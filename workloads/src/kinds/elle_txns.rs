//! The two workloads Elle judges, list-append and rw-register: transactions of reads and
//! unique writes over a few active keys that rotate. They differ only in their micro-operations
//! (`[:append k v]` and `[:r k [vs]]`, or `[:w k v]` and `[:r k v]`), so one type serves both.

use rafty_checkers::elle::TxnModel;
use rafty_checkers::model::ModelKind;

use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Transactions of one Elle model's micro-operations, judged by Elle.
pub struct ElleTxns {
    model: TxnModel,
}

impl ElleTxns {
    /// The workload of `model`'s micro-operations.
    pub const fn new(model: TxnModel) -> ElleTxns {
        ElleTxns { model }
    }

    fn read_mop(&self, key: String) -> Mop {
        match self.model {
            TxnModel::ListAppend => Mop::ReadList { key },
            TxnModel::RwRegister => Mop::ReadRegister { key },
        }
    }

    fn write_mop(&self, key: String, value: i64) -> Mop {
        match self.model {
            TxnModel::ListAppend => Mop::Append { key, value },
            TxnModel::RwRegister => Mop::Write { key, value },
        }
    }
}

/// A transaction of one micro-operation.
fn single(mop: Mop) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::Elle,
        mops: vec![mop],
    }
}

impl Workload for ElleTxns {
    fn name(&self) -> &'static str {
        self.model.name()
    }

    fn summary(&self) -> &'static str {
        match self.model {
            TxnModel::ListAppend => {
                "transactions of unique appends and list reads over rotating keys, checked by \
                 Elle for strict serializability"
            }
            TxnModel::RwRegister => {
                "transactions of unique register writes and reads over rotating keys, checked \
                 by Elle for strict serializability"
            }
        }
    }

    /// Unused: [`Workload::judge`] names Elle.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Elle(self.model)
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
        single(self.read_mop(key))
    }

    /// One write of a negative value (never drawn by [`Workload::transaction`], whose
    /// values are positive): unique per client and write.
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        let value = -((draws.client as i64) << 32 | draws.writes as i64);
        single(self.write_mop(key, value))
    }

    fn transaction(&self, mut draws: TxnDraws<'_>) -> Option<ClientOp> {
        let mops = (0..draws.mop_count())
            .map(|_| {
                let key = draws.key();
                if draws.reads() {
                    self.read_mop(key)
                } else {
                    self.write_mop(key, draws.unique())
                }
            })
            .collect();
        Some(ClientOp::Txn {
            shape: TxnShape::Elle,
            mops,
        })
    }
}
