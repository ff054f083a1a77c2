//! `kv`: many independent integer registers.

use rafty_checkers::model::ModelKind;

use crate::op::ClientOp;
use crate::workload::{Draws, Workload};

use super::register::Register;

/// Many independent integer registers (read, write, cas per key), so that histories stay
/// checkable at scale: the checker handles each key on its own.
pub struct Kv;

impl Workload for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn summary(&self) -> &'static str {
        "many independent integer registers (read, write, compare-and-set per key), checked \
         key by key"
    }

    fn model(&self) -> ModelKind {
        ModelKind::Kv
    }

    fn issues_cas(&self) -> bool {
        true
    }

    fn read(&self, key: String) -> ClientOp {
        Register.read(key)
    }

    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        Register.write(key, draws)
    }
}
