//! The nemesis's hands: [`Network`] on turmoil's `Sim`, used from the outer step loop.
//!
//! Semantics of each action in turmoil 0.7 terms:
//! * partition / repair: `Sim::partition` and `Sim::partition_oneway` drop every message on
//!   the link, including those in flight; TCP does not retransmit, so streams stall until the
//!   transport's deadlines and reconnects notice. Clients are never partitioned (as in Jepsen,
//!   they sit beside the cluster).
//! * kill / restart: a process crash with the OS intact. `Sim::bounce` stops every task of the
//!   host at once and runs its software again, which waits at the cluster's [`ProcessGate`]
//!   until the restart (connections to it are refused meanwhile). The host's disk keeps every
//!   write, synced or not (turmoil's filesystem keeps pending writes across a bounce, as a
//!   page cache would), and the log factory is not told.
//! * power off / power on: `Sim::crash` stops every task of the host and its disk loses every
//!   unsynced write (torn at the block size the runner set) and unsynced directory change; the
//!   node's log factory is told ([`NodeLogs::crashed`]), for storage kept outside the host.
//!   `Sim::bounce` boots the host again; the node reopens its durable state through its
//!   [`crate::sim::factories::NodeLogs`].
//! * Both: the host's outgoing links are cut while its tasks die, so its closing sockets send
//!   no FIN or RST (and what it had in flight is lost); peers find out by timeouts, or by an
//!   RST when they next send.
//! * pause / resume: the node's [`rafty::node::PauseSwitch`] (a simulated SIGSTOP / long GC
//!   pause): its event loop handles nothing (no ticks, no RPCs, no submissions, no applies)
//!   while its peers, its clients and the clock go on; on resume its overdue timers fire at
//!   once. The network is left alone, as a kernel keeps a stopped process's sockets: the
//!   node's transport still reads requests and queues them for the loop (bounded), callers
//!   time out by their own deadlines, and nothing new leaves the node. The switch is the
//!   node's, not one incarnation's ([`PauseSwitches`]), and the nemesis resumes it at the time
//!   limit like every fault in effect.
//! * slow / unslow: per-link latency on every link of the node.
//! * clog / unclog: `Sim::hold` / `Sim::release` of one node-to-node link.
//! * fail disk / replace disk: the node's log factory fails every later write (the node then
//!   fail-stops); replacing the disk powers the host off, clears the fault and powers it on.
//! * arm power cut / cut armed power / power on after cut (the `power-mid-write` nemesis): the
//!   node's log factory freezes its disk after a number of operations
//!   ([`NodeLogs::arm_power_cut`]); the operation that finds it frozen fails with `EIO`
//!   and changes nothing, so the node fail-stops inside its `Log` call, and the nemesis,
//!   polling [`Network::power_cut_due`] before every step, powers the host off at once
//!   (`Sim::crash`, as above: what the interrupted sequence left unsynced is lost, torn). At
//!   the fault's end the power is cut if it has not gone yet, the freeze cleared, and the host
//!   powered on.
//! * replay / unreplay: the node's [`ReplaySwitch`](super::replay::ReplaySwitch), which the
//!   [`ReplayPeer`](super::replay_peer::ReplayPeer) wrappers of its outgoing links consult:
//!   its requests and their answers are held back (by each call's deadline) and recorded
//!   requests delivered again later; the node itself is untouched.
//! * corrupt record / restore record: power off the host, tell the log factory
//!   ([`NodeLogs::corrupt_record`]) to rot a bit of a record before the log's tail (or to
//!   restore it), power it on; the factory does it on the host's disk as the host boots,
//!   before the log opens (see [`crate::sim::turmoil_fs::bit_rot`]). The log must refuse to
//!   open, and the node then stays down (see [`crate::sim::cluster`]) until the restore.
//! * membership: queued for whichever node leads next ([`crate::sim::admin`]), which carries it
//!   out through its admin API.

use std::time::Duration;

use rafty::NodeId;
use turmoil::Sim;

use crate::checks::invariants::Observation;
use crate::nemesis::{Action, Network};

use super::admin::AdminRequests;
use super::cluster::{PauseSwitches, ProcessGate};
use super::factories::{ArmedCut, NodeLogs};
use super::observe::Observations;
use super::replay::ReplaySwitches;
use super::skew::ClockSkews;

/// The turmoil host name of node `id`.
pub fn node_name(id: NodeId) -> String {
    format!("n{id}")
}

/// [`Network`] over a running simulation.
pub struct SimNetwork<'s, 'a> {
    /// The simulation.
    pub sim: &'s mut Sim<'a>,
    /// Every node id.
    pub nodes: &'s [NodeId],
    /// Every client host name.
    pub clients: &'s [String],
    /// Normal latency range, restored by [`Action::Unslow`].
    pub latency: (Duration, Duration),
    /// Where crashes are reported (the node cannot report its own).
    pub observations: &'s Observations,
    /// Told of each power loss, so that the node's storage loses what a power loss loses.
    pub log_factory: &'s dyn NodeLogs,
    /// Holds killed nodes' processes down until they are restarted.
    pub gate: &'s ProcessGate,
    /// Each node's pause switch.
    pub pauses: &'s PauseSwitches,
    /// Each node's replay switch.
    pub replays: &'s ReplaySwitches,
    /// Where membership ops wait for the leader.
    pub admin: &'s AdminRequests,
    /// Each node's clock, skewed by the `clock` nemesis.
    pub clocks: &'s ClockSkews,
}

impl SimNetwork<'_, '_> {
    /// Every host but node `id`: the other nodes and the clients.
    fn others(&self, id: NodeId) -> Vec<String> {
        let nodes = self
            .nodes
            .iter()
            .filter(|&&other| other != id)
            .map(|&other| node_name(other));
        nodes.chain(self.clients.iter().cloned()).collect()
    }

    /// Stop every task of node `id`'s host with `stop` (crash or bounce), sending nothing: tokio
    /// shuts a dropped runtime's tasks down in an order that depends on its process-wide task
    /// ids, so the segments the dying sockets send (FIN, RST) would leave in an order that
    /// differs with whatever ran before in the process. A dying process sends nothing: its
    /// outgoing links are cut while it dies (which also drops what it had in flight; turmoil
    /// cannot cut only new messages). The stop is reported, as the node cannot report it.
    fn silently(&mut self, id: NodeId, stop: impl FnOnce(&mut Sim<'_>, String)) {
        let others = self.others(id);
        for other in &others {
            self.sim.partition_oneway(node_name(id), other.clone());
        }
        stop(self.sim, node_name(id));
        for other in others {
            self.sim.repair_oneway(node_name(id), other);
        }
        let now = self.sim.elapsed().as_nanos() as u64;
        self.observations.observe_at(now, id, Observation::Stopped);
    }

    /// Power node `id`'s host off, have its log factory rot (`Some`) or restore (`None`) a bit
    /// of its log at the next boot, power it on.
    fn rot(&mut self, id: NodeId, draw: Option<u64>) {
        self.apply(&Action::PowerOff(id));
        if !self.log_factory.corrupt_record(id, draw) && draw.is_some() {
            let now = self.sim.elapsed().as_nanos() as u64;
            let text = "this log cannot simulate corrupted records";
            self.observations.note_at(now, id, text);
        }
        self.apply(&Action::PowerOn(id));
    }

    fn cut(&mut self, grudge: &crate::nemesis::partition::Grudge, heal: bool) {
        let (both, one_way) = grudge.split_symmetric();
        for (a, b) in both {
            let (a, b) = (node_name(a), node_name(b));
            if heal {
                self.sim.repair(a, b)
            } else {
                self.sim.partition(a, b)
            }
        }
        for (from, to) in one_way {
            let (from, to) = (node_name(from), node_name(to));
            if heal {
                self.sim.repair_oneway(from, to)
            } else {
                self.sim.partition_oneway(from, to)
            }
        }
    }
}

impl Network for SimNetwork<'_, '_> {
    fn power_cut_due(&mut self, node: NodeId) -> bool {
        self.log_factory.armed_cut(node) == ArmedCut::Due
    }

    fn heartbeat_cut_done(&mut self, node: NodeId) -> bool {
        self.replays.switch(node).is_cut()
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::Partition(grudge) => self.cut(grudge, false),
            Action::Repair(grudge) => self.cut(grudge, true),
            Action::Kill(node) => {
                self.gate.close(*node);
                self.silently(*node, |sim, name| sim.bounce(name));
            }
            Action::Restart(node) => self.gate.open(*node),
            Action::PowerOff(node) => {
                self.silently(*node, |sim, name| sim.crash(name));
                self.log_factory.crashed(*node);
                let now = self.sim.elapsed().as_nanos() as u64;
                for note in self.log_factory.take_notes(*node) {
                    self.observations.note_at(now, *node, &note);
                }
            }
            Action::PowerOn(node) => self.sim.bounce(node_name(*node)),
            Action::ArmPowerCut(node, operations) => {
                if !self.log_factory.arm_power_cut(*node, Some(*operations)) {
                    let now = self.sim.elapsed().as_nanos() as u64;
                    let text = "this log cannot freeze its disk: the power goes at the end of \
                                the fault, between steps";
                    self.observations.note_at(now, *node, text);
                }
            }
            Action::CutArmedPower(node) => self.apply(&Action::PowerOff(*node)),
            Action::PowerOnAfterCut(node) => {
                if self.log_factory.armed_cut(*node) != ArmedCut::Done {
                    self.apply(&Action::PowerOff(*node));
                }
                self.log_factory.arm_power_cut(*node, None);
                self.apply(&Action::PowerOn(*node));
            }
            Action::Pause(node) => self.pauses.pause(*node),
            Action::Resume(node) => self.pauses.resume(*node),
            Action::Slow(node, latency) => {
                for other in self.others(*node) {
                    self.sim
                        .set_link_latency(node_name(*node), other.clone(), *latency);
                    self.sim.set_link_max_message_latency(
                        node_name(*node),
                        other,
                        *latency * 3 / 2,
                    );
                }
            }
            Action::Unslow(node) => {
                let (min, max) = self.latency;
                for other in self.others(*node) {
                    self.sim
                        .set_link_latency(node_name(*node), other.clone(), min);
                    self.sim
                        .set_link_max_message_latency(node_name(*node), other, max);
                }
            }
            Action::FailDisk(node) => {
                if !self.log_factory.fail_writes(*node, true) {
                    let now = self.sim.elapsed().as_nanos() as u64;
                    let text = "this log cannot simulate disk failures";
                    self.observations.note_at(now, *node, text);
                }
            }
            Action::ReplaceDisk(node) => {
                self.apply(&Action::PowerOff(*node));
                self.log_factory.fail_writes(*node, false);
                self.apply(&Action::PowerOn(*node));
            }
            Action::CorruptRecord(node, draw) => self.rot(*node, Some(*draw)),
            Action::RestoreRecord(node) => self.rot(*node, None),
            Action::Replay(node, draw) => self.replays.switch(*node).start(*draw),
            Action::Unreplay(node) => self.replays.switch(*node).stop(),
            Action::Clog(a, b) => self.sim.hold(node_name(*a), node_name(*b)),
            Action::Unclog(a, b) => self.sim.release(node_name(*a), node_name(*b)),
            Action::Membership(op, draw) => self.admin.push(*op, *draw),
            Action::SkewClock(node, draw) => {
                let now = self.sim.elapsed();
                self.clocks.clock(*node).apply(*draw, now);
            }
            Action::UnskewClock(node) => self.clocks.clock(*node).reset(),
        }
    }
}
