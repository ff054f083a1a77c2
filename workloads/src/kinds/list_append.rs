//! `list-append`: Elle's recommended workload. Transactions of appends and reads over a few
//! active keys that rotate; every appended integer is unique, so each read shows which appends
//! it saw and in which order, and the checker recovers every key's version order.

use rafty_checkers::elle::TxnModel;

use super::elle_txns::ElleTxns;

/// Transactions of `[:append k v]` and `[:r k]` micro-operations, judged by Elle.
pub const LIST_APPEND: ElleTxns = ElleTxns::new(TxnModel::ListAppend);
