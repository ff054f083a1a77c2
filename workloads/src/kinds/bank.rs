//! `bank`: transfers between accounts and reads of every balance. A transfer appends
//! `-amount` to one account's list and `amount` to another's in one transaction, so an
//! account's balance is [`INITIAL_BALANCE`] plus its list's sum, and every read of all the
//! accounts must sum to the same total (`accounts * INITIAL_BALANCE`).

use rand::Rng;

use rafty_checkers::direct::DirectModel;
use rafty_checkers::model::ModelKind;

use crate::config::{ConfigError, WorkloadConfig};
use crate::generator::key_name;
use crate::op::ClientOp;
use crate::txn::{Mop, TxnShape};
use crate::workload::{Draws, Judge, TxnDraws, Workload};

/// Every account's balance before any transfer.
pub const INITIAL_BALANCE: i64 = 100;

/// The most a transfer moves.
pub const MAX_TRANSFER: i64 = 5;

/// Transfers and whole-bank reads (Jepsen's bank), checked by the bank checker.
pub struct Bank;

/// The total every read must see, for `config`'s accounts.
pub fn total(config: &WorkloadConfig) -> i64 {
    config.key_count as i64 * INITIAL_BALANCE
}

fn read_all(config: &WorkloadConfig) -> ClientOp {
    ClientOp::Txn {
        shape: TxnShape::ReadBalances {
            initial: INITIAL_BALANCE,
        },
        mops: (0..config.key_count)
            .map(|index| Mop::ReadList {
                key: key_name(index),
            })
            .collect(),
    }
}

fn transfer(from: String, to: String, amount: i64) -> ClientOp {
    ClientOp::Txn {
        mops: vec![
            Mop::Append {
                key: from.clone(),
                value: -amount,
            },
            Mop::Append {
                key: to.clone(),
                value: amount,
            },
        ],
        shape: TxnShape::Transfer { from, to, amount },
    }
}

impl Workload for Bank {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn summary(&self) -> &'static str {
        "transfers between accounts and reads of every balance; every read sums to the same \
         total"
    }

    /// Unused: [`Workload::judge`] names the bank checker.
    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn judge(&self) -> Judge {
        Judge::Direct(DirectModel::Bank)
    }

    fn default_keys(&self) -> usize {
        5
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        if config.key_count < 2 {
            return Err(ConfigError {
                field: "keys",
                reason: "the bank needs at least 2 accounts".to_owned(),
            });
        }
        Ok(())
    }

    /// A read of `key`'s balance alone (the whole-bank read is [`Workload::final_read`]).
    fn read(&self, key: String) -> ClientOp {
        ClientOp::Txn {
            shape: TxnShape::ReadBalances {
                initial: INITIAL_BALANCE,
            },
            mops: vec![Mop::ReadList { key }],
        }
    }

    fn final_read(&self, _key: String, config: &WorkloadConfig) -> ClientOp {
        read_all(config)
    }

    /// A transfer from `key` to itself (never drawn by [`Workload::transaction`]).
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        transfer(key.clone(), key, draws.rng.random_range(1..=MAX_TRANSFER))
    }

    fn transaction(&self, draws: TxnDraws<'_>) -> Option<ClientOp> {
        let mix = draws.config.mix;
        if draws.rng.random_range(0..mix.read + mix.write) < mix.read {
            return Some(read_all(draws.config));
        }
        let accounts = draws.config.key_count;
        let from = draws.rng.random_range(0..accounts);
        let to = (from + draws.rng.random_range(1..accounts)) % accounts;
        let amount = draws.rng.random_range(1..=MAX_TRANSFER);
        Some(transfer(key_name(from), key_name(to), amount))
    }
}
