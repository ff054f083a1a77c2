//! The simulated cluster: one turmoil host per node (`n1`..`nN`), each running a rafty
//! [`Node`] over the TCP transport plus the key-value service. The log and state machine come
//! from factories; the durable state lives in the log factory, outside the host, so a crashed
//! and restarted host reopens what it persisted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::node::{Node, NodeOptions, PauseSwitch};
use rafty::peers_file::ConnectPeer;
use rafty::service::serve_kv;
use rafty::snapshot::MemorySnapshotStore;
use rafty::tcp::{TcpPeer, TransportConfig, serve_raft};
use rafty::{Log, LogError, Membership, NodeId, Peer, PeersProvider, StaticPeersProvider};
use turmoil::Sim;

use crate::checks::invariants::Observation;
use crate::run::seeds::Seeds;

use super::admin::{self, AdminRequests, Hosts};
use super::control::node_name;
use super::factories::{
    ArmedCut, ObservedStateMachine, SharedLogFactory, SharedStateMachineFactory,
};
use super::net::{TurmoilAcceptor, TurmoilConnector};
use super::node_observer::NodeObserver;
use super::observe::Observations;
use super::observed_log::ObservedLog;
use super::observed_peer::ObservedPeer;
use super::observed_rpc::ObservedRpc;
use super::replay::ReplaySwitches;
use super::replay_peer::ReplayPeer;
use super::skew::ClockSkews;
use super::stale_reads::StaleReads;
use super::user_peers::SharedPeersProviders;
use crate::peer_calls::PeerLayer;

/// The port of every node's Raft transport.
pub const RAFT_PORT: u16 = 7000;
/// The port of every node's key-value service.
pub const KV_PORT: u16 = 8000;

/// A service every node serves beside Raft and the key-value API (the registry's HTTP API and
/// ticker, [`super::registry`]), started with each incarnation of a node.
pub trait NodeApp: Send + Sync + 'static {
    /// Start serving node `id`, just started as `node`: its tasks are spawned on the node's
    /// host, so they end with the incarnation (a kill or a power cut stops them).
    fn start(&self, context: &ClusterContext, id: NodeId, node: &Node);
}

/// Lets a caller adjust each node's options before it starts (tests use it to switch on
/// protocol mutations).
pub type NodeHook = Arc<dyn Fn(NodeId, &mut NodeOptions) + Send + Sync>;

/// The nodes whose process is killed and not yet restarted. Their host stays up (its disk
/// keeps every write, as an OS page cache would) and runs the node's software again at once,
/// but that software waits here before it opens its log: the process is down, and connections
/// to it are refused, until [`ProcessGate::open`].
#[derive(Clone, Debug, Default)]
pub struct ProcessGate {
    closed: Arc<Mutex<BTreeSet<NodeId>>>,
}

impl ProcessGate {
    /// How often a waiting node looks at the gate again (simulated time).
    const POLL: Duration = Duration::from_millis(5);

    /// No node held.
    pub fn new() -> ProcessGate {
        ProcessGate::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<NodeId>> {
        self.closed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold `node`'s process down from now on.
    pub fn close(&self, node: NodeId) {
        self.lock().insert(node);
    }

    /// Let `node`'s process start.
    pub fn open(&self, node: NodeId) {
        self.lock().remove(&node);
    }

    /// Whether `node`'s process is held down.
    pub fn is_closed(&self, node: NodeId) -> bool {
        self.lock().contains(&node)
    }

    /// Wait (in simulated time) until `node`'s process may start.
    pub async fn wait(&self, node: NodeId) {
        while self.is_closed(node) {
            tokio::time::sleep(Self::POLL).await;
        }
    }
}

/// Each node's [`PauseSwitch`], made outside the hosts so the outer step loop can flip it (the
/// `pause` nemesis) and kept across restarts: every incarnation of a node reads its switch
/// when it starts, so a node started while its switch is paused starts paused.
#[derive(Clone, Debug, Default)]
pub struct PauseSwitches {
    switches: BTreeMap<NodeId, PauseSwitch>,
}

impl PauseSwitches {
    /// One switch per node of `nodes`, none paused.
    pub fn new(nodes: &[NodeId]) -> PauseSwitches {
        let switches = nodes.iter().map(|&id| (id, PauseSwitch::new())).collect();
        PauseSwitches { switches }
    }

    /// Node `id`'s switch (a clone sharing it). Panics for an unknown node.
    pub fn switch(&self, id: NodeId) -> PauseSwitch {
        self.switches
            .get(&id)
            .unwrap_or_else(|| panic!("no pause switch for n{id}"))
            .clone()
    }

    /// Freeze node `id`'s event loop.
    pub fn pause(&self, id: NodeId) {
        self.switch(id).pause();
    }

    /// Let node `id`'s event loop run again.
    pub fn resume(&self, id: NodeId) {
        self.switch(id).resume();
    }

    /// Whether node `id` is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.switch(id).is_paused()
    }
}

/// Everything a node host needs, shared by all of them and kept across restarts.
pub struct ClusterContext {
    /// Every node id.
    pub nodes: Vec<NodeId>,
    /// The run's seeds (each incarnation of each node gets its own).
    pub seeds: Seeds,
    /// The settings every node runs with.
    pub settings: Arc<rafty::Config>,
    /// The transport's settings (cluster id, limits, backoff).
    pub transport: TransportConfig,
    /// Opens each node's log on its durable state.
    pub log_factory: SharedLogFactory,
    /// Creates each node's state machine.
    pub state_machine_factory: SharedStateMachineFactory,
    /// Where nodes report.
    pub observations: Observations,
    /// Adjusts node options (mutations), if set.
    pub node_hook: Option<NodeHook>,
    /// Broken variant: the service answers reads from a leader's state machine directly.
    pub stale_reads: bool,
    /// Holds killed nodes' processes down until they are restarted.
    pub gate: ProcessGate,
    /// Each node's pause switch, flipped by the `pause` nemesis.
    pub pauses: PauseSwitches,
    /// Each node's replay switch, flipped by the `replay` nemesis.
    pub replays: ReplaySwitches,
    /// How many of `nodes` (the first ones) form the initial configuration; the rest are
    /// spares that start outside it (joining nodes) for the `membership` nemesis.
    pub initial_voters: usize,
    /// Membership ops the `membership` nemesis asked for, taken by whichever node leads.
    pub admin: AdminRequests,
    /// Each node's clock, skewed by the `clock` nemesis.
    pub clocks: ClockSkews,
    /// Whether the nodes' drivers read `clocks` (only in runs with the `clock` nemesis, so
    /// that every other run keeps the driver's plain timer path).
    pub skewed_clocks: bool,
    /// Where each node gets its peers, when a run plugs in a user's `PeersProvider` (None:
    /// every other node, at `n<id>:7000`).
    pub peers_providers: Option<SharedPeersProviders>,
    /// A service every node serves on top (None: Raft, admin and key-value only).
    pub app: Option<Arc<dyn NodeApp>>,
    starts: Mutex<BTreeMap<NodeId, u64>>,
    /// Each node's snapshot store, when its log factory keeps none of its own: in memory,
    /// outliving the node's incarnations as its durable state would.
    snapshots: Mutex<BTreeMap<NodeId, MemorySnapshotStore>>,
}

impl ClusterContext {
    /// Node `id`'s in-memory snapshot store, the same one at every start.
    fn memory_snapshots(&self, id: NodeId) -> MemorySnapshotStore {
        let mut stores = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        stores.entry(id).or_default().clone()
    }

    /// A cluster context; see the fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        nodes: Vec<NodeId>,
        seeds: Seeds,
        settings: rafty::Config,
        transport: TransportConfig,
        log_factory: SharedLogFactory,
        state_machine_factory: SharedStateMachineFactory,
        observations: Observations,
        node_hook: Option<NodeHook>,
    ) -> Self {
        let pauses = PauseSwitches::new(&nodes);
        let replays = ReplaySwitches::new(&nodes);
        let clocks = ClockSkews::new(&nodes);
        state_machine_factory.observe_with(&observations);
        ClusterContext {
            clocks,
            skewed_clocks: false,
            peers_providers: None,
            app: None,
            initial_voters: nodes.len(),
            admin: AdminRequests::default(),
            snapshots: Mutex::default(),
            nodes,
            seeds,
            settings: Arc::new(settings),
            transport,
            log_factory,
            state_machine_factory,
            observations,
            node_hook,
            stale_reads: false,
            pauses,
            replays,
            gate: ProcessGate::new(),
            starts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Count one more start of `node`; returns how many came before.
    fn next_incarnation(&self, node: NodeId) -> u64 {
        let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
        let count = starts.entry(node).or_default();
        let incarnation = *count;
        *count += 1;
        incarnation
    }
}

/// Register one host per node.
pub fn register(sim: &mut Sim<'_>, context: &Arc<ClusterContext>) {
    for &id in &context.nodes {
        let context = context.clone();
        sim.host(node_name(id), move || run_node(context.clone(), id));
    }
}

/// Open node `id`'s log, noting in its log what the nemesis did to its disk at boot.
///
/// `Ok(None)` when the log refuses to open with [`LogError::Corrupted`] while a record the
/// `corrupt` nemesis damaged is on the disk: the expected fail-stop. The node's process exits
/// (noted, with the file and offset the log named) and serves nothing, so the damaged entry is
/// never applied, sent or voted on; its host stays down until the nemesis restores the record
/// and powers it on again. A log that opens despite such damage is reported
/// ([`Observation::CorruptionUndetected`], a violation); any other failure to open fails the run.
fn open_log(context: &ClusterContext, id: NodeId) -> Result<Option<Box<dyn Log>>, String> {
    let factory = &context.log_factory;
    let opened = factory.open(id);
    for note in factory.take_notes(id) {
        context.observations.note(id, &note);
    }
    let damage = factory.corruption(id);
    match opened {
        Ok(log) => {
            if let Some(damage) = damage {
                let undetected = Observation::CorruptionUndetected { damage };
                context.observations.observe(id, undetected);
            }
            let observations = context.observations.clone();
            match ObservedLog::open(id, log, observations) {
                Ok(log) => Ok(Some(Box::new(log))),
                Err(error) => Err(format!("n{id}: cannot read its log's terms: {error}")),
            }
        }
        Err(error) => {
            let text = format!("cannot open log: {error}");
            context.observations.note(id, &text);
            if power_cut_during_boot(context, id) {
                return Ok(None);
            }
            if matches!(error, LogError::Corrupted { .. }) && damage.is_some() {
                context
                    .observations
                    .note(id, "fail-stop: stays down until its log is repaired");
                context.observations.observe(id, Observation::Stopped);
                Ok(None)
            } else {
                Err(format!("n{id}: {text}"))
            }
        }
    }
}

/// Whether node `id`'s disk froze under it while it booted (the `power-mid-write` nemesis cut
/// its power inside its recovery): then its failure to open its log or start is the expected
/// fail-stop, noted; it stays down, and the nemesis cuts the power the next step.
fn power_cut_during_boot(context: &ClusterContext, id: NodeId) -> bool {
    let due = context.log_factory.armed_cut(id) == ArmedCut::Due;
    if due {
        let text = "fail-stop: its disk froze while it booted (a power cut)";
        context.observations.note(id, text);
        context.observations.observe(id, Observation::Stopped);
    }
    due
}

/// The configuration node `id` starts with when its log holds none: the first
/// `initial_voters` nodes as voters, or, for a spare, none (it joins when a leader adds it).
fn initial_membership(context: &ClusterContext, id: NodeId) -> Membership {
    let voters = &context.nodes[..context.initial_voters];
    if voters.contains(&id) {
        Membership::new(voters.iter().copied())
    } else {
        Membership::default()
    }
}

/// Node `id`'s peer reaching node `other` at `address`: rafty's TCP peer over turmoil,
/// with the node's side of the wire (observed) outside the network's (replayed).
fn wire_peer(
    context: &ClusterContext,
    id: NodeId,
    other: NodeId,
    address: String,
) -> Arc<dyn Peer> {
    let peer = Arc::new(TcpPeer::new(
        TurmoilConnector,
        id,
        other,
        address,
        context.transport.clone(),
    ));
    let observations = context.observations.clone();
    let switch = context.replays.switch(id);
    let peer = ReplayPeer::new(id, peer, switch, observations.clone()).into_peer();
    ObservedPeer::new(id, peer, observations).into_peer()
}

/// Node `id`'s peers: every other node at `n<id>:7000`, or, when the run plugs in a user's
/// providers, what the user's provider lists (checked, see [`super::user_peers`]).
fn peers_provider(
    context: &Arc<ClusterContext>,
    id: NodeId,
) -> Result<Arc<dyn PeersProvider>, String> {
    if let Some(providers) = &context.peers_providers {
        let wiring = context.clone();
        let connect: Box<ConnectPeer> =
            Box::new(move |other, address| wire_peer(&wiring, id, other, address.to_owned()));
        return providers
            .open(id, &context.nodes, connect, &context.observations)
            .map_err(|error| format!("n{id}: cannot open its peers provider: {error}"));
    }
    let peers = context
        .nodes
        .iter()
        .filter(|&&other| other != id)
        .map(|&other| {
            let address = format!("{}:{RAFT_PORT}", node_name(other));
            wire_peer(context, id, other, address)
        })
        .collect();
    Ok(Arc::new(StaticPeersProvider::new(peers)))
}

/// One incarnation of node `id`: wait while its process is killed, open its log, start the
/// node, serve Raft and the key-value API until the process is killed or the host powered off.
async fn run_node(context: Arc<ClusterContext>, id: NodeId) -> turmoil::Result {
    context.gate.wait(id).await;
    let incarnation = context.next_incarnation(id);
    context.observations.observe(id, Observation::Started);
    let Some(log) = open_log(&context, id)? else {
        return Ok(());
    };
    let state_machine = ObservedStateMachine::new(
        id,
        context.state_machine_factory.create(id),
        context.observations.clone(),
    );
    let queries = state_machine.query_handle();
    let peers = peers_provider(&context, id)?;
    let mut options = NodeOptions {
        seed: context.seeds.derive("node", Seeds::pack(id, incarnation)),
        observer: Some(Arc::new(NodeObserver::new(context.observations.clone()))),
        check_invariants: true,
        // Read again at every start: the switch outlives the incarnation.
        pause_switch: Some(context.pauses.switch(id)),
        initial_membership: Some(initial_membership(&context, id)),
        // No yield before proposing: the schedules, and so the histories, the recorded seeds
        // (the catalogue's among them) were found with.
        eager_proposals: true,
        ..NodeOptions::default()
    };
    if context.skewed_clocks {
        options.clock = Some(Arc::new(context.clocks.clock(id)));
    }
    if let Some(hook) = &context.node_hook {
        hook(id, &mut options);
    }
    let options = match context.log_factory.snapshot_store(id) {
        Some(open) => options.open_snapshot_store(open),
        None => {
            let store = context.memory_snapshots(id);
            // The catalogue's `install-stale-snapshot` as a whole node has it: the core's
            // staleness check and the store's ordering check both missing (with the store's
            // check alone, the planted core bug never shows).
            #[cfg(feature = "mutations")]
            if options
                .mutations
                .contains(&rafty::core::Mutation::InstallStaleSnapshot)
            {
                store.accept_older_snapshots();
            }
            options.snapshot_store(store)
        }
    };
    let node = Node::start(
        id,
        log,
        state_machine,
        peers,
        context.settings.clone(),
        options,
    )
    .await;
    let node = match node {
        Ok(node) => node,
        Err(error) => {
            let text = format!("cannot start: {error}");
            context.observations.note(id, &text);
            if power_cut_during_boot(&context, id) {
                return Ok(());
            }
            return Err(format!("n{id}: {text}").into());
        }
    };
    let hosts = Hosts {
        all: context.nodes.clone(),
        initial_voters: context.initial_voters,
    };
    let requests = context.admin.clone();
    let admin = admin::serve(
        node.clone(),
        id,
        requests,
        hosts,
        context.observations.clone(),
    );
    let _admin = tokio::spawn(admin);
    let raft = TurmoilAcceptor::bind(RAFT_PORT).await?;
    let handler = ObservedRpc::new(id, node.clone(), context.observations.clone());
    let _raft = serve_raft(raft, Arc::new(handler), id, context.transport.clone());
    if let Some(app) = &context.app {
        app.start(&context, id, &node);
    }
    let kv = TurmoilAcceptor::bind(KV_PORT).await?;
    let _kv = if context.stale_reads {
        serve_kv(
            kv,
            Arc::new(StaleReads::new(node, queries)),
            id,
            context.transport.clone(),
        )
    } else {
        serve_kv(kv, Arc::new(node), id, context.transport.clone())
    };
    std::future::pending::<()>().await;
    Ok(())
}
