//! `append`: per-key string appends and reads, like Porcupine's key-value histories.

use rafty_checkers::model::ModelKind;

use crate::op::ClientOp;
use crate::workload::{Draws, Workload};

/// Per-key string append and read (get); never a compare-and-set.
pub struct Append;

impl Workload for Append {
    fn name(&self) -> &'static str {
        "append"
    }

    fn summary(&self) -> &'static str {
        "per-key string appends and whole-value reads (Porcupine's key-value model)"
    }

    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn issues_cas(&self) -> bool {
        false
    }

    fn read(&self, key: String) -> ClientOp {
        ClientOp::Get { key }
    }

    /// Unique per client and per append, space-separated as in Porcupine's kv files, so a read
    /// shows which appends it saw and in which order.
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        ClientOp::Append {
            key,
            value: format!("x {} {} y", draws.client, draws.writes),
        }
    }
}
