//! `registry`: the service registry (`rafty-registry`) instead of the key-value store: clients
//! register, deregister, keep alive and let expire service instances, list services, and
//! read, write and compare-and-set config keys; watchers follow each service from revision 1.
//! The harness runs it on its own path (the registry's state machine, HTTP API and leader
//! ticker on every node, `harness/src/sim/registry`): this entry names it, its checker, and
//! its config keys' operations.

use rand::Rng;

use rafty_checkers::model::ModelKind;

use crate::generator::REGISTER_VALUES;
use crate::op::ClientOp;
use crate::workload::{Draws, Judge, Workload};

/// The service registry's operations, checked by the registry checker (instance sets and
/// watches at their revisions) and the config keys by cas-register linearizability.
pub struct Registry;

impl Workload for Registry {
    fn name(&self) -> &'static str {
        "registry"
    }

    fn summary(&self) -> &'static str {
        "the service registry: register, deregister, keepalive, expire, list, watch, config cas"
    }

    /// The config keys' model ([`Workload::judge`] names the whole check).
    fn model(&self) -> ModelKind {
        ModelKind::CasRegister
    }

    fn judge(&self) -> Judge {
        Judge::Registry
    }

    fn default_keys(&self) -> usize {
        2
    }

    fn issues_cas(&self) -> bool {
        true
    }

    fn read(&self, key: String) -> ClientOp {
        ClientOp::Read { key }
    }

    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp {
        ClientOp::Write {
            key,
            value: draws.rng.random_range(0..REGISTER_VALUES),
        }
    }
}
