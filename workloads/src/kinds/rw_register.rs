//! `rw-register`: transactions of unique writes and reads of registers over a few active
//! keys that rotate; every written integer is unique, so a read names the write it saw (the
//! version order is inferred only where reads and writes pin it down).

use rafty_checkers::elle::TxnModel;

use super::elle_txns::ElleTxns;

/// Transactions of `[:w k v]` and `[:r k]` micro-operations, judged by Elle.
pub const RW_REGISTER: ElleTxns = ElleTxns::new(TxnModel::RwRegister);
