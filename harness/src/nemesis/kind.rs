//! What a fault kind is: the [`Fault`] trait every kind implements in a file of its own under
//! [`super::kinds`], and [`FaultKind`], the cheap handle the rest of the harness passes around.
//!
//! A fault kind says how it is named and when `all` includes it, which runs it refuses, what it
//! claims while in effect (so faults can overlap without fighting, [`super::claims`]), how one
//! fault of it is drawn from the seed (a [`Plan`]: timed [`Action`]s, each start matched by its
//! stop), and, for a fault that reacts to the cluster rather than to the clock, a [`Watcher`]
//! polled while it is in effect. The scheduler ([`super::schedule`]) knows nothing of any kind.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use rafty::NodeId;

use super::action::{Action, ClusterView, Network};
use super::kinds::KINDS;
use super::plan::Plan;
use crate::run::config::LogKind;

/// What a fault holds while in effect, so that a fault drawn meanwhile leaves it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The cut and held state of every node-to-node link (at most one such fault at a time).
    Links,
    /// The latency of every link (at most one such fault at a time).
    Latency,
    /// Each node its plan's actions touch; it draws its targets from unclaimed nodes only.
    Nodes,
    /// The cluster's configuration (at most one membership fault at a time).
    Membership,
}

/// What a fault is drawn over.
#[derive(Clone, Copy, Debug)]
pub struct Draw<'a> {
    /// About how long the fault lasts (its stop comes at this offset, give or take a stagger).
    pub duration: Duration,
    /// The nodes it may act on, sorted: every node for a [`Claim::Links`],
    /// [`Claim::Latency`] or [`Claim::Membership`] kind, the unclaimed ones for a [`Claim::Nodes`] kind (never empty).
    pub nodes: &'a [NodeId],
    /// The leader, when it is one of `nodes`.
    pub leader: Option<NodeId>,
    /// The bound on clock drift the run's lease reads assume (dissertation §6.4.1: their
    /// margin as a share of the minimum election timeout), in parts per million; 0 in a run
    /// without lease reads.
    pub drift_bound_ppm: i64,
}

/// One kind of fault. Implement it in one file under `nemesis/kinds/` and add one line to
/// [`super::kinds`]'s registry; nothing else in the harness names a kind.
pub trait Fault: Sync + 'static {
    /// The name on the command line (`--nemesis NAME`) and in the history (`start-NAME`).
    fn name(&self) -> &'static str;

    /// One line for `rafty test --help`: what the fault does, from the cluster's view.
    fn summary(&self) -> &'static str;

    /// Whether `--nemesis all` includes this kind for a run with `log` (false: added by name).
    fn in_all(&self, log: LogKind) -> bool;

    /// Why a run with `log` cannot have this kind (the reason names what to change), or
    /// `None` when it can.
    fn refuse(&self, log: LogKind) -> Option<String> {
        let _ = log;
        None
    }

    /// What a fault of this kind holds while in effect.
    fn claim(&self) -> Claim;

    /// Whether a fault of this kind may be in effect with others (`--nemesis-overlap` above
    /// 1). False for a kind that acts outside its [`Claim`] (so the claims could not keep two
    /// faults off one node); a run with such a kind and an overlap is refused. The default:
    /// yes.
    fn overlaps(&self) -> bool {
        true
    }

    /// Whether its plans skew clocks ([`Action::SkewClock`]): the nodes of a run with such a
    /// kind read skewable clocks (a run without keeps the plain simulated clock, so adding a
    /// kind never moves other runs' schedules). The default: no.
    fn skews_clocks(&self) -> bool {
        false
    }

    /// Draw one fault from `rng`: what it does, and when, from its start. Every action with an
    /// [`Action::inverse`] must be undone by a later step of the plan (or by the watcher), so
    /// that the fault leaves the cluster as it found it; for a [`Claim::Nodes`] kind every
    /// action must act on one of `draw.nodes`.
    fn plan(&self, draw: Draw<'_>, rng: &mut ChaCha8Rng) -> Plan;

    /// For a fault that reacts while in effect: its watcher, polled before the plan's due steps
    /// at every poll. The default: none.
    fn watcher(&self, plan: &Plan) -> Option<Box<dyn Watcher>> {
        let _ = plan;
        None
    }

    /// For a fault that reacts while in effect, replayed by a replay that follows the leader
    /// ([`super::Listed::following_leader`]): a watcher that reacts again, to the replay's own
    /// cluster, its draws taken from `record`, in place of the recorded actions at their
    /// recorded times (an edited schedule elects its leaders at other moments). It must take
    /// the recorded actions when the cluster behaves as recorded, and carries the nodes it
    /// needs (the replay passes none in [`Watch::nodes`]). The default: none (the record's
    /// actions are replayed).
    fn replay_watcher(&self, record: &super::FaultRecord) -> Option<Box<dyn Watcher>> {
        let _ = record;
        None
    }
}

/// What a [`Watcher`] sees at each poll.
pub struct Watch<'a> {
    /// Time since the fault started.
    pub elapsed: Duration,
    /// What the nodes report.
    pub view: &'a dyn ClusterView,
    /// The simulation, for its questions only ([`Network::power_cut_due`]): the watcher's
    /// actions are returned, and the scheduler takes them.
    pub network: &'a mut dyn Network,
    /// Every node of the cluster.
    pub nodes: &'a [NodeId],
    /// The fault's own generator (its slot's), for draws made while in effect.
    pub rng: &'a mut ChaCha8Rng,
    /// See [`Draw::drift_bound_ppm`].
    pub drift_bound_ppm: i64,
}

/// The reactive part of a fault in effect.
pub trait Watcher {
    /// The actions due now.
    fn poll(&mut self, watch: Watch<'_>) -> Vec<Action>;

    /// Whether the watcher is through. A fault ends when its plan has no step left and its
    /// watcher is through. The default: always (a watcher that only reacts while the plan
    /// runs).
    fn is_done(&self) -> bool {
        true
    }

    /// What the fault did, for its stop in the history, when it says more than the plan's
    /// description. The default: nothing more.
    fn outcome(&self) -> Option<String> {
        None
    }
}

/// A registered fault kind: a cheap, ordered handle on its [`Fault`]. Kinds order as the
/// registry lists them, which is the order the seed draws from.
#[derive(Clone, Copy)]
pub struct FaultKind {
    index: usize,
}

impl FaultKind {
    /// Every registered kind, in the registry's order.
    pub fn every() -> impl Iterator<Item = FaultKind> {
        (0..KINDS.len()).map(|index| FaultKind { index })
    }

    /// The registered kind named `name`, if any.
    pub fn named(name: &str) -> Option<FaultKind> {
        FaultKind::every().find(|kind| kind.name() == name)
    }

    /// The kinds `--nemesis all` means for a run with `log`, in order.
    pub fn all(log: LogKind) -> Vec<FaultKind> {
        FaultKind::every().filter(|kind| kind.in_all(log)).collect()
    }

    /// The kind's behaviour.
    pub fn fault(self) -> &'static dyn Fault {
        KINDS[self.index]
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        self.fault().name()
    }

    /// Whether `all` includes it for a run with `log`.
    pub fn in_all(self, log: LogKind) -> bool {
        self.fault().in_all(log)
    }
}

impl PartialEq for FaultKind {
    fn eq(&self, other: &FaultKind) -> bool {
        self.index == other.index
    }
}

impl Eq for FaultKind {}

impl PartialOrd for FaultKind {
    fn partial_cmp(&self, other: &FaultKind) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FaultKind {
    fn cmp(&self, other: &FaultKind) -> Ordering {
        self.index.cmp(&other.index)
    }
}

impl Hash for FaultKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
    }
}

impl fmt::Debug for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for FaultKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for FaultKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FaultKind::named(text).ok_or_else(|| {
            let names: Vec<_> = FaultKind::every().map(FaultKind::name).collect();
            format!(
                "unknown nemesis `{text}`; expected one of: {}, all, none",
                names.join(", ")
            )
        })
    }
}

/// The `--nemesis` help: every registered kind with its summary, as the registry lists them.
pub fn help() -> String {
    let mut text = String::from(
        "Faults, comma-separated: all (the kinds marked *, plus those marked + with --log \
         file), none, or any of:",
    );
    for kind in FaultKind::every() {
        let mark = match (kind.in_all(LogKind::Memory), kind.in_all(LogKind::File)) {
            (true, _) => "*",
            (false, true) => "+",
            (false, false) => " ",
        };
        text += &format!("\n {mark} {}: {}", kind.name(), kind.fault().summary());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique: a second kind under an existing name could never be chosen.
    #[test]
    fn every_kind_has_a_unique_name_and_parses_back() {
        let mut names: Vec<_> = FaultKind::every().map(FaultKind::name).collect();
        for kind in FaultKind::every() {
            assert_eq!(kind.name().parse::<FaultKind>(), Ok(kind));
            assert!(!kind.fault().summary().is_empty(), "{kind} has no summary");
        }
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate names: {names:?}");
    }

    #[test]
    fn the_help_lists_every_kind_and_marks_what_all_means() {
        let help = help();
        for kind in FaultKind::every() {
            assert!(help.contains(&format!(" {}: ", kind.name())), "{help}");
        }
        assert!(help.contains("* kill: "), "{help}");
        assert!(help.contains("+ power: "), "{help}");
        assert!(help.contains("  corrupt: "), "{help}");
    }
}
