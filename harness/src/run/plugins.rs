//! The pluggable parts of a run: which `Log` and `StateMachine` each node gets, and any
//! adjustment of the nodes' options. Each run gets fresh factories (fresh durable state).

use std::sync::Arc;

use crate::sim::cluster::NodeHook;
use crate::sim::factories::{
    KvStateMachineFactory, MemoryLogFactory, SharedLogFactory, SharedStateMachineFactory,
};

use super::config::Variant;
use crate::sim::broken::ForgetfulLogFactory;

/// Makes a fresh log factory for each run.
pub type LogFactoryMaker = Arc<dyn Fn() -> SharedLogFactory + Send + Sync>;
/// Makes a fresh state machine factory for each run.
pub type StateMachineFactoryMaker = Arc<dyn Fn() -> SharedStateMachineFactory + Send + Sync>;

/// The parts a run plugs into its nodes.
#[derive(Clone)]
pub struct Plugins {
    /// Each node's log.
    pub log: LogFactoryMaker,
    /// Each node's state machine.
    pub state_machine: StateMachineFactoryMaker,
    /// Adjusts each node's options before it starts, if set.
    pub node_hook: Option<NodeHook>,
}

impl Plugins {
    /// The reference parts: `MemoryLog` and `KvStateMachine`.
    pub fn reference() -> Plugins {
        Plugins {
            log: Arc::new(|| Arc::new(MemoryLogFactory::new()) as SharedLogFactory),
            state_machine: Arc::new(|| {
                Arc::new(KvStateMachineFactory) as SharedStateMachineFactory
            }),
            node_hook: None,
        }
    }

    /// The parts for `variant`, where the variant lives in the parts (the forgetful log);
    /// variants of the core or the service are switched elsewhere.
    pub fn for_variant(variant: Variant) -> Plugins {
        let mut plugins = Plugins::reference();
        if variant == Variant::ForgetfulLog {
            plugins.log = Arc::new(|| Arc::new(ForgetfulLogFactory::new()) as SharedLogFactory);
        }
        plugins
    }
}
