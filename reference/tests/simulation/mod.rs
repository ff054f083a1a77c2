//! A deterministic simulation of a cluster of [`Core`]s: a seeded message queue with random
//! drops, delays (hence reorderings), partitions and crashes that keep only what was
//! persisted, even in the middle of a core's action list. After every event it checks Raft's
//! safety properties (§5.2 Election Safety, §5.3 Log Matching, §5.4 Leader Completeness,
//! §5.4.3 State Machine Safety) and that the persisted log mirrors the core's.
#![allow(dead_code)]

mod checks;
mod network;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rafty::core::{Action, Core, Role};
use rafty::{Config, Entry, HardState, Message, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use network::{Network, Packet, PacketKind};

/// What one simulated run does.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub nodes: u64,
    pub seed: u64,
    /// Simulated time with faults, followed by `quiet` without any.
    pub faulty: Duration,
    pub quiet: Duration,
    pub drop_probability: f64,
    pub max_delay: Duration,
    /// Per event: the chance that a running node crashes.
    pub crash_probability: f64,
    /// Per event: the chance that a partition starts.
    pub partition_probability: f64,
    #[cfg(feature = "mutations")]
    pub mutations: Vec<rafty::core::Mutation>,
}

impl Scenario {
    pub fn new(nodes: u64, seed: u64) -> Scenario {
        Scenario {
            nodes,
            seed,
            faulty: Duration::from_secs(8),
            quiet: Duration::from_secs(3),
            drop_probability: 0.05,
            max_delay: Duration::from_millis(30),
            crash_probability: 0.002,
            partition_probability: 0.001,
            #[cfg(feature = "mutations")]
            mutations: Vec::new(),
        }
    }
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub events: u64,
    pub committed: usize,
    pub committed_in_quiet: usize,
    pub leaders_elected: usize,
    pub crashes: u64,
}

/// What survives a crash: exactly what the executed storage actions wrote.
#[derive(Clone, Debug, Default)]
struct Disk {
    hard_state: HardState,
    entries: Vec<Entry>,
}

struct Slot {
    core: Option<Core>,
    disk: Disk,
    incarnation: u64,
    down_until: Duration,
    /// Entries this incarnation applied, in order.
    applied: Vec<Entry>,
}

pub struct Simulation {
    scenario: Scenario,
    config: Config,
    rng: ChaCha8Rng,
    now: Duration,
    slots: BTreeMap<NodeId, Slot>,
    network: Network,
    next_proposal: Duration,
    proposals: u64,
    checks: checks::Checks,
    outcome: Outcome,
}

/// The settings every simulated node uses: small batches and pipelines, to exercise them.
pub fn simulation_config() -> Config {
    Config {
        election_timeout_min: Duration::from_millis(150),
        election_timeout_max: Duration::from_millis(300),
        heartbeat_interval: Duration::from_millis(50),
        rpc_timeout: Duration::from_millis(100),
        max_append_entries: 4,
        max_append_bytes: 64,
        max_inflight_appends: 3,
        // Snapshots are not modelled by this simulation's disk: never taken.
        snapshot_threshold_entries: 0,
        snapshot_threshold_bytes: 0,
        ..Config::default()
    }
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Simulation {
        let mut simulation = Simulation {
            config: simulation_config(),
            rng: ChaCha8Rng::seed_from_u64(scenario.seed),
            now: Duration::ZERO,
            slots: BTreeMap::new(),
            network: Network::default(),
            next_proposal: Duration::from_millis(100),
            proposals: 0,
            checks: checks::Checks::default(),
            outcome: Outcome::default(),
            scenario,
        };
        for id in 1..=simulation.scenario.nodes {
            let slot = Slot {
                core: None,
                disk: Disk::default(),
                incarnation: 0,
                down_until: Duration::ZERO,
                applied: Vec::new(),
            };
            simulation.slots.insert(id, slot);
            simulation.boot(id);
        }
        simulation
    }

    /// Run the scenario; `Err` names the first safety violation.
    pub fn run(mut self) -> Result<Outcome, String> {
        let faulty_end = self.scenario.faulty;
        let end = faulty_end + self.scenario.quiet;
        let mut committed_before_quiet = None;
        while self.now < end {
            let quiet = self.now >= faulty_end;
            if quiet && committed_before_quiet.is_none() {
                committed_before_quiet = Some(self.checks.committed_len());
                self.end_faults();
            }
            self.step(quiet)?;
            self.outcome.events += 1;
        }
        if std::env::var("RAFTY_SIM_DEBUG").is_ok() {
            self.dump();
        }
        self.outcome.committed = self.checks.committed_len();
        self.outcome.committed_in_quiet =
            self.outcome.committed - committed_before_quiet.unwrap_or(0);
        self.outcome.leaders_elected = self.checks.leaders_elected();
        Ok(self.outcome)
    }

    /// Process the earliest pending event, then maybe inject a fault.
    fn step(&mut self, quiet: bool) -> Result<(), String> {
        let restart = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.core.is_none())
            .map(|(id, slot)| (slot.down_until, *id))
            .min();
        let tick = self
            .slots
            .iter()
            .filter_map(|(id, slot)| slot.core.as_ref().map(|core| (core.next_deadline(), *id)))
            .min();
        let packet = self.network.next_time();
        let mut next = self.next_proposal;
        for time in [restart.map(|r| r.0), packet, tick.map(|t| t.0)]
            .into_iter()
            .flatten()
        {
            next = next.min(time);
        }
        self.now = self.now.max(next);
        if let Some((time, id)) = restart
            && time <= self.now
        {
            self.boot(id);
        } else if packet.is_some_and(|time| time <= self.now) {
            let packet = self.network.pop().expect("a packet is due");
            self.deliver(packet)?;
        } else if let Some((time, id)) = tick
            && time <= self.now
        {
            let now = self.now;
            self.core_mut(id).tick(now);
            self.execute(id, None)?;
        } else {
            self.propose()?;
        }
        if !quiet {
            self.inject_faults();
        }
        Ok(())
    }

    fn dump(&self) {
        for (id, slot) in &self.slots {
            match &slot.core {
                None => eprintln!("node {id}: down"),
                Some(core) => {
                    let progress: Vec<_> = core
                        .peers()
                        .iter()
                        .map(|peer| {
                            (
                                *peer,
                                core.replication_indices(*peer),
                                core.in_flight_appends(*peer),
                            )
                        })
                        .collect();
                    eprintln!(
                        "node {id}: {:?} term {} leader {:?} commit {} last {} deadline {:?} progress {progress:?}",
                        core.role(),
                        core.term(),
                        core.leader(),
                        core.commit_index(),
                        core.last_index(),
                        core.next_deadline()
                    );
                }
            }
        }
        eprintln!(
            "now {:?}, queued packets: {:?}",
            self.now,
            self.network.next_time()
        );
    }

    fn core_mut(&mut self, id: NodeId) -> &mut Core {
        self.slots
            .get_mut(&id)
            .and_then(|slot| slot.core.as_mut())
            .expect("node is up")
    }

    fn is_up(&self, id: NodeId) -> bool {
        self.slots[&id].core.is_some()
    }

    /// Start node `id` from its disk, as a real restart would.
    fn boot(&mut self, id: NodeId) {
        let peers = (1..=self.scenario.nodes)
            .filter(|peer| *peer != id)
            .collect();
        let slot = self.slots.get_mut(&id).expect("slot exists");
        slot.incarnation += 1;
        let seed = self.scenario.seed ^ (id << 32) ^ slot.incarnation;
        let mut core = Core::new(
            id,
            peers,
            self.config.clone(),
            slot.disk.hard_state,
            slot.disk.entries.clone(),
            self.now,
            seed,
        );
        core.set_check_invariants(true);
        #[cfg(feature = "mutations")]
        core.set_mutations(&self.scenario.mutations);
        slot.core = Some(core);
        slot.applied.clear();
    }

    fn crash(&mut self, id: NodeId) {
        let downtime = self.rng.random_range(50..2000);
        let slot = self.slots.get_mut(&id).expect("slot exists");
        slot.core = None;
        slot.down_until = self.now + Duration::from_millis(downtime);
        self.outcome.crashes += 1;
    }

    fn inject_faults(&mut self) {
        if self.rng.random_bool(self.scenario.crash_probability) {
            let id = self.rng.random_range(1..=self.scenario.nodes);
            if self.is_up(id) {
                self.crash(id);
            }
        }
        if self.rng.random_bool(self.scenario.partition_probability) {
            let side: BTreeSet<NodeId> = (1..=self.scenario.nodes)
                .filter(|_| self.rng.random_bool(0.5))
                .collect();
            let length = Duration::from_millis(self.rng.random_range(100..2000));
            self.network.partition(side, self.now + length);
        }
    }

    /// The quiet period: heal the network and bring every node back.
    fn end_faults(&mut self) {
        self.network.heal();
        let down: Vec<NodeId> = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.core.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in down {
            self.boot(id);
        }
    }

    /// Propose one to three commands to the leader with the highest term, if any.
    fn propose(&mut self) -> Result<(), String> {
        self.next_proposal = self.now + Duration::from_millis(self.rng.random_range(5..40));
        let leader = self
            .slots
            .iter()
            .filter_map(|(id, slot)| slot.core.as_ref().map(|core| (core, *id)))
            .filter(|(core, _)| core.role() == Role::Leader)
            .map(|(core, id)| (core.term(), id))
            .max();
        let Some((_, id)) = leader else {
            return Ok(());
        };
        let count = self.rng.random_range(1..=3);
        let commands = (0..count)
            .map(|_| {
                self.proposals += 1;
                format!("{}:{}", self.scenario.seed, self.proposals).into_bytes()
            })
            .collect();
        let now = self.now;
        self.core_mut(id).propose(now, commands).expect("leader");
        self.execute(id, None)
    }

    fn deliver(&mut self, packet: Packet) -> Result<(), String> {
        let to = packet.to;
        match packet.kind {
            PacketKind::Request { message, reply_to } => {
                if !self.is_up(to) {
                    let failed = PacketKind::Failed {
                        request: message,
                        incarnation: reply_to,
                    };
                    let at = self.now + network::FAILURE_DETECTION;
                    self.network.push(to, packet.from, failed, at);
                    return Ok(());
                }
                let now = self.now;
                self.core_mut(to).step(now, packet.from, message.clone());
                self.execute(to, Some((packet.from, reply_to, message)))
            }
            PacketKind::Response {
                response,
                incarnation,
                ..
            } => {
                if self.current_incarnation(to) != Some(incarnation) {
                    return Ok(());
                }
                let now = self.now;
                self.core_mut(to).step(now, packet.from, response);
                self.execute(to, None)
            }
            PacketKind::Failed {
                request,
                incarnation,
            } => {
                if self.current_incarnation(to) != Some(incarnation) {
                    return Ok(());
                }
                let now = self.now;
                self.core_mut(to).send_failed(now, packet.from, &request);
                self.execute(to, None)
            }
        }
    }

    fn current_incarnation(&self, id: NodeId) -> Option<u64> {
        let slot = &self.slots[&id];
        slot.core.as_ref().map(|_| slot.incarnation)
    }

    /// Execute node `id`'s actions in order, as the driver does, but possibly crash part-way:
    /// whatever was not executed is lost. Then check every property.
    fn execute(
        &mut self,
        id: NodeId,
        request: Option<(NodeId, u64, Message)>,
    ) -> Result<(), String> {
        let actions = self.core_mut(id).take_actions();
        let faulty = self.now < self.scenario.faulty;
        let crash_at = (faulty && self.rng.random_bool(self.scenario.crash_probability * 5.0))
            .then(|| self.rng.random_range(0..=actions.len()));
        let mut request = request;
        for (position, action) in actions.into_iter().enumerate() {
            if crash_at == Some(position) {
                self.crash(id);
                return self.checks.after_event(id, &self.slots_view());
            }
            self.execute_one(id, action, &mut request)?;
        }
        if crash_at.is_some() {
            self.crash(id);
        } else {
            self.check_disk_mirrors_core(id)?;
        }
        self.checks.after_event(id, &self.slots_view())
    }

    fn execute_one(
        &mut self,
        id: NodeId,
        action: Action,
        request: &mut Option<(NodeId, u64, Message)>,
    ) -> Result<(), String> {
        let incarnation = self.slots[&id].incarnation;
        let slot = self.slots.get_mut(&id).expect("slot exists");
        match action {
            Action::SaveHardState(state) => slot.disk.hard_state = state,
            Action::AppendToLog(entries) => {
                let expected = slot.disk.entries.len() as u64 + 1;
                if entries.first().is_some_and(|entry| entry.index != expected) {
                    return Err(format!("node {id}: append with a gap: {entries:?}"));
                }
                slot.disk.entries.extend(entries);
            }
            Action::TruncateLog(from) => slot.disk.entries.truncate(from as usize - 1),
            Action::Send { to, message } => {
                let delay = self.delay();
                let dropped = self.rng.random_bool(self.scenario.drop_probability);
                self.network
                    .send(id, incarnation, to, message, self.now, delay, dropped);
            }
            Action::Reply(message) => {
                let Some((caller, caller_incarnation, original)) = request.take() else {
                    return Err(format!("node {id}: a reply with no request: {message:?}"));
                };
                let delay = self.delay();
                let dropped = self.rng.random_bool(self.scenario.drop_probability)
                    || self.network.blocked(id, caller, self.now);
                let kind = if dropped {
                    PacketKind::Failed {
                        request: original,
                        incarnation: caller_incarnation,
                    }
                } else {
                    PacketKind::Response {
                        request: original,
                        response: message,
                        incarnation: caller_incarnation,
                    }
                };
                self.network.push(id, caller, kind, self.now + delay);
            }
            Action::Apply(entries) => {
                let term = self.slots[&id].core.as_ref().map_or(0, Core::term);
                for entry in entries {
                    self.checks.applied(id, term, &entry)?;
                    let slot = self.slots.get_mut(&id).expect("slot exists");
                    let expected = slot.applied.len() as u64 + 1;
                    if entry.index != expected {
                        return Err(format!(
                            "node {id} applied {} after {}",
                            entry.index,
                            expected - 1
                        ));
                    }
                    slot.applied.push(entry);
                }
            }
            Action::RoleChanged { role, term, .. } => {
                if role == Role::Leader {
                    self.checks.became_leader(id, term)?;
                }
            }
            // This simulation makes no reads.
            Action::ReadReady { .. } | Action::ReadFailed { .. } => {
                return Err(format!("node {id}: no read was asked for: {action:?}"));
            }
            Action::TakeSnapshot { .. }
            | Action::CompactLog { .. }
            | Action::SendSnapshot { .. } => {
                return Err(format!(
                    "node {id}: snapshots are disabled in this simulation: {action:?}"
                ));
            }
        }
        Ok(())
    }

    fn delay(&mut self) -> Duration {
        let max = self.scenario.max_delay.as_micros() as u64;
        Duration::from_micros(self.rng.random_range(1..=max))
    }

    /// The driver contract: once every action executed, the disk holds the core's state.
    fn check_disk_mirrors_core(&self, id: NodeId) -> Result<(), String> {
        let slot = &self.slots[&id];
        let Some(core) = &slot.core else {
            return Ok(());
        };
        if slot.disk.hard_state != core.hard_state() || slot.disk.entries != core.entries() {
            return Err(format!(
                "node {id}: persisted state differs from the core's after executing its actions"
            ));
        }
        Ok(())
    }

    fn slots_view(&self) -> BTreeMap<NodeId, checks::NodeView<'_>> {
        self.slots
            .iter()
            .map(|(id, slot)| {
                let view = checks::NodeView {
                    log: &slot.disk.entries,
                    leader_term: slot
                        .core
                        .as_ref()
                        .filter(|core| core.role() == Role::Leader)
                        .map(Core::term),
                };
                (*id, view)
            })
            .collect()
    }
}
