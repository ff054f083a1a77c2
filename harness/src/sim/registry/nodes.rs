//! The registry on every simulated node: [`RegistryNodes`] gives each node the registry's
//! state machine (through the cluster's one state-machine factory, so it is observed like any
//! other) and, on each start of the node, serves the registry's HTTP API on
//! [`REGISTRY_PORT`] and runs its leader ticker, both stamping commands with the node's
//! simulated clock (skewed by the `clock` nemesis when the run has it), never the wall clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rafty::node::Node;
use rafty::{NodeId, StateMachine};
use rafty_registry::state::DEFAULT_MAX_CHANGES;
use rafty_registry::ticker::DEFAULT_TICK_INTERVAL;
use rafty_registry::{Api, RegistryBug, RegistryClock, spawn_ticker_with};
use tokio::sync::watch;

use super::http_net::TurmoilHttpListener;
use crate::sim::clock;
use crate::sim::cluster::{ClusterContext, NodeApp};
use crate::sim::control::node_name;
use crate::sim::factories::NodeStateMachines;

/// The port of every node's registry HTTP API.
pub const REGISTRY_PORT: u16 = 9000;

/// The registry's state machine and its HTTP API and ticker on every node.
#[derive(Debug, Default)]
pub struct RegistryNodes {
    /// Each node's latest state machine's revision channel, taken by the API it starts.
    applied: Mutex<BTreeMap<NodeId, watch::Receiver<u64>>>,
    /// A deliberate bug planted in every node's registry (the catalogue's; planted only with
    /// the `mutations` feature, which `catalogue::search` insists on).
    bug: Option<RegistryBug>,
}

impl RegistryNodes {
    /// The registry on every node, with `bug` planted if any.
    pub fn new(bug: Option<RegistryBug>) -> RegistryNodes {
        RegistryNodes {
            applied: Mutex::default(),
            bug,
        }
    }

    /// The bug planted in every node's registry, if any.
    pub fn bug(&self) -> Option<RegistryBug> {
        self.bug
    }

    fn applied(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, watch::Receiver<u64>>> {
        self.applied.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where node `id` serves the registry's HTTP API.
pub fn registry_address(id: NodeId) -> String {
    format!("{}:{REGISTRY_PORT}", node_name(id))
}

impl NodeStateMachines for RegistryNodes {
    fn create(&self, node: NodeId) -> Box<dyn StateMachine> {
        let (machine, applied) = rafty_registry::state_machine(DEFAULT_MAX_CHANGES);
        self.applied().insert(node, applied);
        #[cfg(feature = "mutations")]
        if let Some(bug) = self.bug {
            // The replica's own (simulated) clock, where the bug reads the time.
            let local: RegistryClock =
                Arc::new(|| turmoil::since_epoch().unwrap_or_default().as_millis() as u64);
            return Box::new(machine.planting(bug, local));
        }
        Box::new(machine)
    }
}

impl NodeApp for RegistryNodes {
    fn start(&self, context: &ClusterContext, id: NodeId, node: &Node) {
        let applied = (self.applied().remove(&id)).unwrap_or_else(|| {
            panic!("n{id}: its registry state machine is made before it starts")
        });
        let clock = node_clock(context, id);
        let peers_http = (context.nodes.iter())
            .filter(|&&other| other != id)
            .map(|&other| (other, registry_address(other)))
            .collect();
        let api = Api::with_clock(node.clone(), applied, peers_http, clock.clone());
        #[cfg(feature = "mutations")]
        let api = match self.bug {
            Some(bug) => api.planting(bug),
            None => api,
        };
        spawn_ticker_with(node.clone(), DEFAULT_TICK_INTERVAL, clock);
        let observations = context.observations.clone();
        tokio::spawn(async move {
            let served = match TurmoilHttpListener::bind(REGISTRY_PORT).await {
                Ok(listener) => rafty_registry::http::serve_on(listener, api).await,
                Err(error) => Err(error),
            };
            if let Err(error) = served {
                observations.note(id, &format!("registry HTTP API stopped: {error}"));
            }
        });
    }
}

/// Node `id`'s clock in milliseconds since the Unix epoch: the simulation's (which starts at
/// its epoch), plus the skew the `clock` nemesis gave the node when the run has it.
fn node_clock(context: &ClusterContext, id: NodeId) -> RegistryClock {
    let skew = context.skewed_clocks.then(|| context.clocks.clock(id));
    Arc::new(move || {
        let since_epoch = turmoil::since_epoch().unwrap_or_default().as_millis() as i64;
        let offset = skew
            .as_ref()
            .map_or(0, |skewed| skewed.offset_ms_at(clock::now()));
        since_epoch.saturating_add(offset).max(0) as u64
    })
}
