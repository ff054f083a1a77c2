//! The primitive actions the nemesis takes on the simulated cluster, and their inverses.

use std::fmt;
use std::time::Duration;

use rafty::NodeId;
use serde::{Deserialize, Serialize};

use super::partition::Grudge;

/// One primitive change to the simulation, taken from the outer step loop. Serialized (in a
/// schedule, [`crate::schedule`]) by its variant's name in kebab case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Drop every message on the grudge's links.
    Partition(Grudge),
    /// Undo [`Action::Partition`] of the same grudge.
    Repair(Grudge),
    /// Kill the node's process: its tasks stop, but its host (the OS) stays up, so what it
    /// wrote survives, synced or not (the page cache); it stays down until [`Action::Restart`].
    Kill(NodeId),
    /// Start the killed node's process again.
    Restart(NodeId),
    /// Cut the node's host's power: its tasks stop and its disk loses every unsynced write
    /// (torn at block boundaries); only synced state survives.
    PowerOff(NodeId),
    /// Power the node's host on again: it boots and the node recovers from its disk.
    PowerOn(NodeId),
    /// Arm a power cut inside the node's disk operations: the next this many run, then its
    /// disk freezes (every operation fails and changes nothing; the node fail-stops). The
    /// nemesis then takes [`Action::CutArmedPower`] at once.
    ArmPowerCut(NodeId, u64),
    /// Cut the power of the node whose disk froze: what was unsynced is lost, torn.
    CutArmedPower(NodeId),
    /// End an armed power cut: cut the power now if it has not gone yet (the disk never
    /// froze), clear the freeze, power the host on.
    PowerOnAfterCut(NodeId),
    /// Pause the node's event loop (a simulated SIGSTOP or long GC pause): it handles nothing
    /// while its peers, its clients and its timers go on; the network is untouched.
    Pause(NodeId),
    /// Let the paused node's event loop run again; its overdue timers fire at once.
    Resume(NodeId),
    /// Give every link of the node this latency (with some jitter above it).
    Slow(NodeId, Duration),
    /// Restore the node's links to the cluster's normal latency.
    Unslow(NodeId),
    /// Hold the messages between two nodes, both ways.
    Clog(NodeId, NodeId),
    /// Release a clogged link, delivering what it held.
    Unclog(NodeId, NodeId),
    /// Make every write to the node's log fail from now on (its node fail-stops).
    FailDisk(NodeId),
    /// Give the node a working disk again: power its host off, clear the fault, power it on.
    ReplaceDisk(NodeId),
    /// Bit rot: power the node's host off, flip one bit of a durable record of its log
    /// strictly before the tail (which record and bit: drawn from the number given, itself
    /// drawn from the run's seed), power it on. Its log must refuse to open, naming the damaged
    /// file and offset, and the node stays down (fail-stop) until [`Action::RestoreRecord`].
    CorruptRecord(NodeId, u64),
    /// Undo [`Action::CorruptRecord`] as an operator would: power the host off, restore the
    /// damaged bytes (flip the bit back, as a copy from a backup or a replica would), power it
    /// on; the node recovers its whole log, vote and term included. Its disk is never wiped: a
    /// node that forgot what it acknowledged or voted could break Raft's safety.
    RestoreRecord(NodeId),
    /// From now on the network delivers the node's outgoing Raft messages late and again: it
    /// records the requests the node sends (a small ring), holds some requests or their
    /// answers back (each answer still reaches its own request, by the call's deadline), and
    /// delivers some recorded requests again later, whose answers it loses
    /// ([`crate::sim::replay`]).
    Replay(NodeId, ReplayDraw),
    /// Undo [`Action::Replay`]: forget the recorded requests; duplicates not yet delivered
    /// are lost.
    Unreplay(NodeId),
    /// A membership change or leadership transfer, asked of whichever node leads when it is
    /// taken (see [`MembershipOp`]); never undone (the configuration it leaves is the new
    /// normal), and aimed at no node in advance: the leader picks its target from the
    /// configuration it holds, with the drawn number.
    Membership(MembershipOp, u64),
    /// Skew the node's clock (the one its driver reads): jump it and make it drift.
    SkewClock(NodeId, ClockDraw),
    /// Set the node's clock back to the true time and rate.
    UnskewClock(NodeId),
}

/// How a [`Action::SkewClock`] skews its node's clock, drawn from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockDraw {
    /// The jump, in ms: forward if positive, back if negative.
    pub jump_ms: i64,
    /// From then on the clock runs this many parts per million fast (slow if negative).
    pub drift_ppm: i64,
}

/// What a [`Action::Membership`] asks the leader to do, through its admin API. The target is
/// chosen by the leader's configuration at that moment, so every op is valid whatever came
/// before; the voters stay between the initial count and every host (so a quorum of the
/// initial size is always at least a majority of the voters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipOp {
    /// Add a node outside the configuration (a spare, or a removed node) as a learner.
    AddLearner,
    /// Promote a learner to voter.
    Promote,
    /// Remove a voter (the leader included), while there are more voters than at the start.
    Remove,
    /// Replace a voter by a learner (or, with none, a node outside the configuration) in one
    /// change (joint consensus).
    Replace,
    /// Transfer leadership to another voter.
    Transfer,
}

impl fmt::Display for MembershipOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MembershipOp::AddLearner => "add a learner",
            MembershipOp::Promote => "promote a learner",
            MembershipOp::Remove => "remove a voter",
            MembershipOp::Replace => "replace a voter (joint)",
            MembershipOp::Transfer => "transfer leadership",
        })
    }
}

/// How a [`Action::Replay`] behaves on its node, drawn from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayDraw {
    /// Seeds the node's own generator for the choices made per message.
    pub seed: u64,
    /// The chance, per request, that the request or its answer is held back.
    pub hold_percent: u8,
    /// The chance, per request, that a recorded request is delivered again later.
    pub repeat_percent: u8,
    /// Hold every AppendEntries that carries entries this long (at most nine tenths of its
    /// call's deadline), while heartbeats pass at once: a new leader's first entry arrives
    /// late while its heartbeats confirm it (`hold-first-append`). 0 (absent from older
    /// schedules): none held this way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hold_entries_ms: u16,
    /// Once this many peers answered a heartbeat (an AppendEntries without entries) the node
    /// sent while in effect, every request it sends later is lost (each call waits out its
    /// deadline): the node cut off right after a heartbeat round, so that its followers last
    /// heard from it when its lease was last renewed (`clock-bound`). 0 (absent from older
    /// schedules): never cut.
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub cut_after_heartbeats: u8,
}

fn is_zero(value: &u16) -> bool {
    *value == 0
}

fn is_zero_u8(value: &u8) -> bool {
    *value == 0
}

impl Action {
    /// The action that undoes this one, or `None` for an action that undoes another.
    pub fn inverse(&self) -> Option<Action> {
        Some(match self {
            Action::Partition(grudge) => Action::Repair(grudge.clone()),
            Action::Kill(node) => Action::Restart(*node),
            Action::PowerOff(node) => Action::PowerOn(*node),
            Action::ArmPowerCut(node, _) => Action::PowerOnAfterCut(*node),
            Action::Pause(node) => Action::Resume(*node),
            Action::Slow(node, _) => Action::Unslow(*node),
            Action::Clog(a, b) => Action::Unclog(*a, *b),
            Action::FailDisk(node) => Action::ReplaceDisk(*node),
            Action::CorruptRecord(node, _) => Action::RestoreRecord(*node),
            Action::Replay(node, _) => Action::Unreplay(*node),
            Action::SkewClock(node, _) => Action::UnskewClock(*node),
            Action::Repair(_)
            | Action::Restart(_)
            | Action::PowerOn(_)
            | Action::CutArmedPower(_)
            | Action::PowerOnAfterCut(_)
            | Action::Resume(_)
            | Action::Unslow(_)
            | Action::Unclog(..)
            | Action::ReplaceDisk(_)
            | Action::RestoreRecord(_)
            | Action::Unreplay(_)
            | Action::UnskewClock(_)
            | Action::Membership(..) => return None,
        })
    }
}

impl Action {
    /// The same action on the nodes `rename` gives for the ones it names (a replayed fault
    /// aimed at the leader it saw: [`super::listed::Listed::following_leader`]).
    pub fn renamed(&self, rename: &dyn Fn(NodeId) -> NodeId) -> Action {
        match self.clone() {
            Action::Partition(grudge) => Action::Partition(grudge.renamed(rename)),
            Action::Repair(grudge) => Action::Repair(grudge.renamed(rename)),
            Action::Kill(node) => Action::Kill(rename(node)),
            Action::Restart(node) => Action::Restart(rename(node)),
            Action::PowerOff(node) => Action::PowerOff(rename(node)),
            Action::PowerOn(node) => Action::PowerOn(rename(node)),
            Action::ArmPowerCut(node, after) => Action::ArmPowerCut(rename(node), after),
            Action::CutArmedPower(node) => Action::CutArmedPower(rename(node)),
            Action::PowerOnAfterCut(node) => Action::PowerOnAfterCut(rename(node)),
            Action::Pause(node) => Action::Pause(rename(node)),
            Action::Resume(node) => Action::Resume(rename(node)),
            Action::Slow(node, by) => Action::Slow(rename(node), by),
            Action::Unslow(node) => Action::Unslow(rename(node)),
            Action::Clog(a, b) => Action::Clog(rename(a), rename(b)),
            Action::Unclog(a, b) => Action::Unclog(rename(a), rename(b)),
            Action::FailDisk(node) => Action::FailDisk(rename(node)),
            Action::ReplaceDisk(node) => Action::ReplaceDisk(rename(node)),
            Action::CorruptRecord(node, draw) => Action::CorruptRecord(rename(node), draw),
            Action::RestoreRecord(node) => Action::RestoreRecord(rename(node)),
            Action::Replay(node, draw) => Action::Replay(rename(node), draw),
            Action::Unreplay(node) => Action::Unreplay(rename(node)),
            Action::SkewClock(node, draw) => Action::SkewClock(rename(node), draw),
            Action::UnskewClock(node) => Action::UnskewClock(rename(node)),
            // The admin API picks its targets when it runs: nothing named here.
            membership @ Action::Membership(..) => membership,
        }
    }

    /// Whether this action is a lasting change, neither undone nor undoing another (a
    /// membership change: the configuration it leaves is the new normal).
    pub fn is_lasting(&self) -> bool {
        matches!(self, Action::Membership(..))
    }

    /// The node this action acts on, or `None` for an action on links (partition, clog).
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Action::Kill(node)
            | Action::Restart(node)
            | Action::PowerOff(node)
            | Action::PowerOn(node)
            | Action::ArmPowerCut(node, _)
            | Action::CutArmedPower(node)
            | Action::PowerOnAfterCut(node)
            | Action::Pause(node)
            | Action::Resume(node)
            | Action::Slow(node, _)
            | Action::Unslow(node)
            | Action::FailDisk(node)
            | Action::ReplaceDisk(node)
            | Action::CorruptRecord(node, _)
            | Action::RestoreRecord(node)
            | Action::Replay(node, _)
            | Action::Unreplay(node)
            | Action::SkewClock(node, _)
            | Action::UnskewClock(node) => Some(*node),
            Action::Partition(_)
            | Action::Repair(_)
            | Action::Clog(..)
            | Action::Unclog(..)
            | Action::Membership(..) => None,
        }
    }

    /// The node whose host this action may stop (kill or power off), or `None`. A stopping
    /// host's outgoing links are cut and repaired while its tasks die
    /// ([`crate::sim::control`]), which resets whatever another fault cut or held on them.
    pub fn stops_host(&self) -> Option<NodeId> {
        match self {
            Action::Kill(node)
            | Action::PowerOff(node)
            | Action::CutArmedPower(node)
            | Action::PowerOnAfterCut(node)
            | Action::ReplaceDisk(node)
            | Action::CorruptRecord(node, _)
            | Action::RestoreRecord(node) => Some(*node),
            _ => None,
        }
    }

    /// Whether this link action (a partition or a clog) touches a link of `node`.
    pub fn touches_links_of(&self, node: NodeId) -> bool {
        match self {
            Action::Partition(grudge) => grudge
                .cut
                .iter()
                .any(|&(from, to)| from == node || to == node),
            Action::Clog(a, b) => *a == node || *b == node,
            _ => false,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Partition(grudge) => write!(f, "partition {}", describe(grudge)),
            Action::Repair(grudge) => write!(f, "repair {}", describe(grudge)),
            Action::Kill(node) => write!(f, "kill n{node}"),
            Action::Restart(node) => write!(f, "restart n{node}"),
            Action::PowerOff(node) => write!(f, "power off n{node}"),
            Action::PowerOn(node) => write!(f, "power on n{node}"),
            Action::ArmPowerCut(node, operations) => write!(
                f,
                "arm a power cut of n{node}: {operations} more disk operations, then it freezes"
            ),
            Action::CutArmedPower(node) => {
                write!(f, "power off n{node}: its disk froze inside an operation")
            }
            Action::PowerOnAfterCut(node) => write!(
                f,
                "power on n{node} (its power cut first if its disk never froze)"
            ),
            Action::Pause(node) => write!(f, "pause n{node}"),
            Action::Resume(node) => write!(f, "resume n{node}"),
            Action::Slow(node, latency) => write!(f, "slow n{node} to {}ms", latency.as_millis()),
            Action::Unslow(node) => write!(f, "unslow n{node}"),
            Action::Clog(a, b) => write!(f, "clog n{a}<->n{b}"),
            Action::Unclog(a, b) => write!(f, "unclog n{a}<->n{b}"),
            Action::FailDisk(node) => write!(f, "fail the disk of n{node}"),
            Action::ReplaceDisk(node) => write!(f, "replace the disk of n{node} and restart it"),
            Action::CorruptRecord(node, _) => write!(
                f,
                "power off n{node}, rot a bit of a record of its log, power it on"
            ),
            Action::RestoreRecord(node) => write!(
                f,
                "power off n{node}, restore the damaged record of its log, power it on"
            ),
            Action::Replay(node, draw) if draw.cut_after_heartbeats > 0 => write!(
                f,
                "cut n{node} off once {} peers answered its next heartbeat",
                draw.cut_after_heartbeats
            ),
            Action::Replay(node, draw) if draw.hold_entries_ms > 0 => write!(
                f,
                "hold n{node}'s AppendEntries with entries {}ms (heartbeats pass)",
                draw.hold_entries_ms
            ),
            Action::Replay(node, draw) => write!(
                f,
                "replay n{node}'s messages: hold {}% back, deliver {}% again later",
                draw.hold_percent, draw.repeat_percent
            ),
            Action::Unreplay(node) => write!(f, "stop replaying n{node}'s messages"),
            Action::Membership(op, _) => write!(f, "{op} at the leader"),
            Action::SkewClock(node, draw) => write!(
                f,
                "skew n{node}'s clock: jump {:+}ms, drift {:+}ppm",
                draw.jump_ms, draw.drift_ppm
            ),
            Action::UnskewClock(node) => write!(f, "set n{node}'s clock right"),
        }
    }
}

/// The grudge as `n1->n2 n3<->n4 ...`.
fn describe(grudge: &Grudge) -> String {
    let (both, one_way) = grudge.split_symmetric();
    let mut parts: Vec<String> = both.iter().map(|(a, b)| format!("n{a}<->n{b}")).collect();
    parts.extend(one_way.iter().map(|(a, b)| format!("n{a}->n{b}")));
    parts.join(" ")
}

/// What the nemesis needs from the simulation; implemented on turmoil's `Sim` by
/// [`crate::sim::control::SimNetwork`], and by fakes in tests.
pub trait Network {
    /// Take `action` now.
    fn apply(&mut self, action: &Action);

    /// Whether the power cut armed on `node` ([`Action::ArmPowerCut`]) is due: its disk froze
    /// inside an operation. The default (fakes): never.
    fn power_cut_due(&mut self, node: NodeId) -> bool {
        let _ = node;
        false
    }

    /// Whether `node`'s heartbeat cut ([`ReplayDraw::cut_after_heartbeats`]) happened: its
    /// heartbeat round was answered and every later request of it is lost. The default
    /// (fakes): never.
    fn heartbeat_cut_done(&mut self, node: NodeId) -> bool {
        let _ = node;
        false
    }
}

/// What the nemesis may know of the cluster to aim its faults.
pub trait ClusterView {
    /// The node believed to be the current leader (the latest to become leader and still
    /// running), if any.
    fn leader(&self) -> Option<NodeId>;

    /// The current leader and its term, if any.
    fn leader_term(&self) -> Option<(NodeId, rafty::Term)> {
        None
    }

    /// The commit index `node` last reported (0 if unknown).
    fn commit_index(&self, node: NodeId) -> rafty::LogIndex {
        let _ = node;
        0
    }
}
