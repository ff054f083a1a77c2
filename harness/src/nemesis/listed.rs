//! Faults replayed from a list (a schedule's, [`crate::schedule`]) instead of drawn from the
//! seed: each fault's start, actions and stop at the times recorded when it was applied.
//!
//! The drawn nemesis records every fault as it applies it ([`super::schedule::Hands`]); given
//! that record back, [`Listed`] takes the same actions at the same steps in the same order, so
//! the run repeats exactly. Within one step the drawn nemesis goes slot by slot, each slot
//! starting its fault, then acting, then stopping it; the list is replayed in that order:
//! by time, then slot, then the order of the faults, then the order within a fault.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::action::{Action, ClusterView};
use super::kind::{FaultKind, Watch, Watcher};
use super::schedule::{FaultId, FaultSource, Hands};

/// One fault as it was applied: its start, its actions and its stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRecord {
    /// The fault kind's name (`kill`, `partition`, ...).
    pub kind: FaultKind,
    /// The nemesis slot it ran in (0 unless `--nemesis-overlap`); orders faults within a step.
    pub slot: usize,
    /// When it started, in simulated milliseconds since the start of the run.
    pub start_ms: u64,
    /// What it does, as the history's `start-` event says.
    pub description: String,
    /// Its primitive actions in the order taken, each with its time.
    pub actions: Vec<TimedAction>,
    /// When it stopped; `None` when it was still in effect at the time limit (healed there).
    pub stop: Option<FaultStop>,
    /// The leader the nodes reported when it started (`None`: none known, or a file written
    /// before this was recorded). A replay following the leader
    /// ([`Listed::following_leader`]) aims the fault at the leader of its own run instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<rafty::NodeId>,
}

/// One primitive action of a fault and when it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedAction {
    /// Simulated milliseconds since the start of the run.
    pub at_ms: u64,
    /// The action.
    pub action: Action,
    /// The leader the nodes reported when it was taken (`None`: none known, or a file
    /// written before this was recorded). A replay following the leader aims the action at
    /// the role this node had ([`Listed::following_leader`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<rafty::NodeId>,
}

/// The end of a fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStop {
    /// Simulated milliseconds since the start of the run.
    pub at_ms: u64,
    /// What the history's `stop-` event says.
    pub description: String,
}

impl FaultRecord {
    /// The time of its last step (its stop, or its last action, or its start).
    pub fn end_ms(&self) -> u64 {
        let last_action = self.actions.iter().map(|step| step.at_ms).max();
        let stop = self.stop.as_ref().map(|stop| stop.at_ms);
        self.start_ms
            .max(last_action.unwrap_or(0))
            .max(stop.unwrap_or(0))
    }
}

/// One step of the list.
#[derive(Clone, Debug)]
enum Step {
    Start,
    Act(TimedAction),
    Stop(String),
}

/// Faults replayed from a list.
pub struct Listed {
    faults: Vec<FaultRecord>,
    /// Whether each fault is aimed at the leader of this run (see [`Listed::following_leader`]).
    follow_leader: bool,
    /// For each fault once started, how its recorded nodes map onto this run's.
    roles: Vec<Roles>,
    /// Steps not yet taken: (time, fault index, step), in replay order.
    steps: VecDeque<(Duration, usize, Step)>,
    /// The book's id of each fault once started.
    ids: Vec<Option<FaultId>>,
    /// Faults started and not stopped, by (slot, index).
    open: BTreeSet<(usize, usize)>,
    /// For each followed fault that reacts again instead of taking its recorded actions
    /// ([`super::Fault::replay_watcher`]): its watcher and its start, while in effect.
    reacting: Vec<Option<(Box<dyn Watcher>, Duration)>>,
    /// The generator a reacting watcher is handed (a replayed watcher takes its draws from
    /// its record; this one is never drawn from by those that do).
    rng: ChaCha8Rng,
}

impl Listed {
    /// Replay `faults` (in any order; a fault's actions in the order listed).
    pub fn new(faults: Vec<FaultRecord>) -> Listed {
        let mut keyed = Vec::new();
        for (index, fault) in faults.iter().enumerate() {
            let key = |at_ms: u64, within: usize| (at_ms, fault.slot, index, within);
            keyed.push((key(fault.start_ms, 0), Step::Start));
            for (within, step) in fault.actions.iter().enumerate() {
                keyed.push((key(step.at_ms, within + 1), Step::Act(step.clone())));
            }
            if let Some(stop) = &fault.stop {
                let last = fault.actions.len() + 1;
                keyed.push((key(stop.at_ms, last), Step::Stop(stop.description.clone())));
            }
        }
        keyed.sort_by_key(|(key, _)| *key);
        let steps = keyed
            .into_iter()
            .map(|((at_ms, _, index, _), step)| (Duration::from_millis(at_ms), index, step))
            .collect();
        Listed {
            ids: vec![None; faults.len()],
            roles: vec![Roles::default(); faults.len()],
            reacting: (0..faults.len()).map(|_| None).collect(),
            rng: ChaCha8Rng::seed_from_u64(0),
            follow_leader: false,
            faults,
            steps,
            open: BTreeSet::new(),
        }
    }

    /// Replay `faults` each aimed at the roles of this run: when a fault starts and its
    /// record names a leader other than the one the nodes report now, those two nodes swap
    /// places in everything the fault does (its actions, its description), so a fault that
    /// cut off or paused the leader still does, and one that spared it still spares it. And
    /// when, by one of its later actions, the leader has changed both in the recorded run
    /// and in this one (a fault that reacts to elections, such as `figure8`, isolates each
    /// successor in turn), the recorded new leader and this run's swap places from then on.
    /// An action undoing an earlier one (a repair, a restart) undoes what was taken, however
    /// the nodes were mapped then. A run whose leaders are those recorded (an unedited
    /// schedule's) is the same as with [`Listed::new`]. The shrinker replays its candidates
    /// so: an edited schedule elects other leaders, and without this its faults would hit
    /// followers.
    pub fn following_leader(faults: Vec<FaultRecord>) -> Listed {
        Listed {
            follow_leader: true,
            ..Listed::new(faults)
        }
    }

    /// Fault `index` starts now, seeing `view`: its roles from its recorded leader.
    fn start_roles(&mut self, index: usize, view: &dyn ClusterView) {
        let mut roles = Roles::default();
        if self.follow_leader {
            roles.follow(self.faults[index].leader, view.leader());
        }
        self.roles[index] = roles;
    }

    /// What fault `index` takes now for its recorded `step`, seeing `view`.
    fn aimed(&mut self, index: usize, step: &TimedAction, view: &dyn ClusterView) -> Action {
        let roles = &mut self.roles[index];
        if let Some(at) = roles
            .taken
            .iter()
            .position(|(recorded, _)| recorded.inverse().as_ref() == Some(&step.action))
        {
            let (_, taken) = roles.taken.remove(at);
            return taken.inverse().expect("a taken action with an inverse");
        }
        if step.action.inverse().is_some() && self.follow_leader {
            roles.follow(step.leader, view.leader());
        }
        let action = step.action.renamed(&|node| roles.of(node));
        if action.inverse().is_some() {
            roles.taken.push((step.action.clone(), action.clone()));
        }
        action
    }

    /// Poll every reacting fault in effect: take what its watcher asks now, and stop it (as
    /// its watcher describes what it came to) once it is done.
    fn react(&mut self, now: Duration, view: &dyn ClusterView, hands: &mut Hands<'_>) {
        for index in 0..self.faults.len() {
            let (Some((watcher, started)), Some(id)) = (&mut self.reacting[index], self.ids[index])
            else {
                continue;
            };
            let slot = self.faults[index].slot;
            if !self.open.contains(&(slot, index)) {
                continue;
            }
            let actions = watcher.poll(Watch {
                elapsed: now - *started,
                view,
                network: hands.network(),
                nodes: &[],
                rng: &mut self.rng,
                drift_bound_ppm: 0,
            });
            for action in actions {
                hands.act(id, action);
            }
            if watcher.is_done() {
                let description = watcher
                    .outcome()
                    .unwrap_or_else(|| self.faults[index].description.clone());
                hands.stop(id, description);
                self.open.remove(&(slot, index));
            }
        }
    }
}

/// How a followed fault's recorded nodes map onto this run's: a permutation, built of swaps
/// of the recorded leader with the current one.
#[derive(Clone, Debug, Default)]
struct Roles {
    /// Recorded node → this run's node, for the nodes that moved.
    map: BTreeMap<rafty::NodeId, rafty::NodeId>,
    /// The recorded leader and this run's when the map last followed them.
    leaders: (Option<rafty::NodeId>, Option<rafty::NodeId>),
    /// Actions taken that an inverse undoes: (as recorded, as taken).
    taken: Vec<(Action, Action)>,
}

impl Roles {
    /// This run's node for the recorded `node`.
    fn of(&self, node: rafty::NodeId) -> rafty::NodeId {
        self.map.get(&node).copied().unwrap_or(node)
    }

    /// The recorded leader is `recorded` and this run's is `current`: if both changed since
    /// the map last followed them (or it never did), the node the recorded leader maps to
    /// and this run's leader swap places.
    fn follow(&mut self, recorded: Option<rafty::NodeId>, current: Option<rafty::NodeId>) {
        let (Some(recorded), Some(current)) = (recorded, current) else {
            return;
        };
        let (last_recorded, last_current) = self.leaders;
        if last_recorded == Some(recorded) || last_current == Some(current) {
            return;
        }
        self.leaders = (Some(recorded), Some(current));
        let from = self.of(recorded);
        if from == current {
            return;
        }
        // Whichever recorded nodes map to `from` and `current` trade places.
        let mapped_to = |map: &BTreeMap<rafty::NodeId, rafty::NodeId>, target| {
            map.iter()
                .find(|(_, to)| **to == target)
                .map(|(node, _)| *node)
                .unwrap_or(target)
        };
        let (a, b) = (recorded, mapped_to(&self.map, current));
        self.map.insert(a, current);
        self.map.insert(b, from);
        self.map.retain(|node, to| node != to);
    }

    /// `text` with every node name mapped (whole names only: `n1` is not in `n12`).
    fn names(&self, text: &str) -> String {
        if self.map.is_empty() {
            return text.to_owned();
        }
        renamed_names(text, &|node| self.of(node))
    }
}

/// `text` with every whole node name `n{k}` replaced by `n{rename(k)}` (`n1` is not in
/// `n12`, nor in `sn1`).
fn renamed_names(text: &str, rename: &dyn Fn(rafty::NodeId) -> rafty::NodeId) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(next) = rest.chars().next() {
        let starts_name = out
            .chars()
            .last()
            .is_none_or(|before| !before.is_ascii_alphanumeric());
        let name = (starts_name && next == 'n').then(|| {
            let digits = rest[1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - 1);
            (digits, rest[1..1 + digits].parse::<rafty::NodeId>().ok())
        });
        match name {
            Some((digits, Some(node))) => {
                out.push_str(&format!("n{}", rename(node)));
                rest = &rest[1 + digits..];
            }
            _ => {
                out.push(next);
                rest = &rest[next.len_utf8()..];
            }
        }
    }
    out
}

impl FaultSource for Listed {
    fn poll(&mut self, now: Duration, view: &dyn ClusterView, hands: &mut Hands<'_>) {
        while let Some((at, _, _)) = self.steps.front() {
            if *at > now {
                break;
            }
            let (_, index, step) = self.steps.pop_front().expect("front exists");
            let (kind, slot) = (self.faults[index].kind, self.faults[index].slot);
            if self.reacting[index].is_some() {
                // Its watcher takes its actions and says when it stops.
                continue;
            }
            match step {
                Step::Start => {
                    if self.follow_leader {
                        let watcher = kind.fault().replay_watcher(&self.faults[index]);
                        self.reacting[index] = watcher.map(|watcher| (watcher, now));
                    }
                    self.start_roles(index, view);
                    let description = self.roles[index].names(&self.faults[index].description);
                    let id = hands.start(kind, slot, description);
                    self.ids[index] = Some(id);
                    self.open.insert((slot, index));
                }
                Step::Act(step) => {
                    let id = self.ids[index].expect("a fault starts before it acts");
                    let action = self.aimed(index, &step, view);
                    hands.act(id, action);
                }
                Step::Stop(description) => {
                    let id = self.ids[index].expect("a fault starts before it stops");
                    let description = self.roles[index].names(&description);
                    hands.stop(id, description);
                    self.open.remove(&(slot, index));
                }
            }
        }
        self.react(now, view, hands);
    }

    fn open_faults(&mut self) -> Vec<FaultId> {
        let open = std::mem::take(&mut self.open);
        open.into_iter()
            .filter_map(|(_, index)| self.ids[index])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::nemesis::schedule::{Nemesis, NemesisOptions};
    use crate::run::config::LogKind;

    use crate::nemesis::test_support::{NoLeader, Recorder};

    fn drive(mut nemesis: Nemesis) -> (Vec<Action>, Nemesis) {
        let mut network = Recorder(Vec::new());
        for ms in 0..25_000 {
            nemesis.poll(Duration::from_millis(ms), &NoLeader, &mut network);
        }
        (network.0, nemesis)
    }

    /// The record of a drawn nemesis, replayed, takes the same actions and writes the same
    /// events at the same times, with one fault at a time and with overlapping ones.
    #[test]
    fn a_recorded_nemesis_replays_exactly() {
        let kinds: Vec<FaultKind> = FaultKind::every()
            .filter(|kind| kind.name() != "figure8")
            .collect();
        let mut faults_seen = 0;
        for seed in 0..20 {
            for overlap in [1, 3] {
                let options = NemesisOptions {
                    kinds: if overlap == 1 {
                        FaultKind::all(LogKind::Memory)
                    } else {
                        kinds.clone()
                    },
                    interval: Duration::from_secs(1),
                    start_after: Duration::from_secs(1),
                    heal_at: Duration::from_secs(20),
                    overlap,
                    drift_bound_ppm: 0,
                };
                let rng = ChaCha8Rng::seed_from_u64(seed);
                let (actions, drawn) = drive(Nemesis::new(options, (1..=5).collect(), rng));
                let recorded = drawn.recorded().to_vec();
                faults_seen += recorded.len();
                let listed = Listed::new(recorded.clone());
                let heal_at = Duration::from_secs(20);
                let (replayed, again) = drive(Nemesis::with_source(heal_at, Box::new(listed)));
                assert_eq!(actions, replayed, "seed {seed} overlap {overlap}");
                assert_eq!(drawn.events(), again.events(), "seed {seed}");
                assert_eq!(drawn.actions(), again.actions(), "seed {seed}");
                assert_eq!(recorded, again.recorded(), "seed {seed}");
            }
        }
        assert!(faults_seen > 200, "only {faults_seen} faults");
    }

    /// A fault left out of the list is not taken; the others still are, and the heal at the
    /// time limit undoes only what was done.
    #[test]
    fn a_fault_dropped_from_the_list_is_not_taken() {
        let options = NemesisOptions {
            kinds: vec![FaultKind::named("kill").unwrap()],
            interval: Duration::from_secs(1),
            start_after: Duration::from_secs(1),
            heal_at: Duration::from_secs(20),
            overlap: 1,
            drift_bound_ppm: 0,
        };
        let rng = ChaCha8Rng::seed_from_u64(3);
        let (_, drawn) = drive(Nemesis::new(options, (1..=5).collect(), rng));
        let mut faults = drawn.recorded().to_vec();
        let dropped = faults.remove(1);
        let heal_at = Duration::from_secs(20);
        let listed = Box::new(Listed::new(faults.clone()));
        let (actions, replayed) = drive(Nemesis::with_source(heal_at, listed));
        assert!(
            !replayed.events().iter().any(
                |e| e.value == dropped.description && e.time_ns == dropped.start_ms * 1_000_000
            )
        );
        assert_eq!(replayed.recorded(), faults);
        let kills = actions
            .iter()
            .filter(|a| matches!(a, Action::Kill(_)))
            .count();
        let restarts = actions
            .iter()
            .filter(|a| matches!(a, Action::Restart(_)))
            .count();
        let listed_kills = faults
            .iter()
            .flat_map(|fault| &fault.actions)
            .filter(|step| matches!(step.action, Action::Kill(_)))
            .count();
        let dropped_kills = dropped
            .actions
            .iter()
            .filter(|step| matches!(step.action, Action::Kill(_)))
            .count();
        assert!(dropped_kills > 0, "{dropped:?}");
        assert_eq!(kills, listed_kills);
        assert_eq!(kills, restarts, "{actions:?}");
    }

    /// A cluster whose leader is always the same node.
    struct LeaderIs(rafty::NodeId);

    impl ClusterView for LeaderIs {
        fn leader(&self) -> Option<rafty::NodeId> {
            Some(self.0)
        }
    }

    /// A partition of n1 and n2 from the rest, recorded with n1 leading, and a pause of n1.
    fn aimed_at_n1() -> FaultRecord {
        FaultRecord {
            kind: FaultKind::named("partition").unwrap(),
            slot: 0,
            start_ms: 5,
            description: "cut n1 n2 | n3 n4 n5, then pause n1 (not n12)".into(),
            actions: vec![
                TimedAction {
                    at_ms: 5,
                    action: Action::Partition(crate::nemesis::partition::Grudge::between(
                        &[1, 2],
                        &[3, 4, 5],
                    )),
                    leader: Some(1),
                },
                TimedAction {
                    at_ms: 6,
                    action: Action::Pause(1),
                    leader: Some(1),
                },
            ],
            stop: Some(FaultStop {
                at_ms: 8,
                description: "healed n1".into(),
            }),
            leader: Some(1),
        }
    }

    fn replay_with(listed: Listed, leader: rafty::NodeId) -> (Vec<Action>, Nemesis) {
        let mut nemesis = Nemesis::with_source(Duration::from_millis(10), Box::new(listed));
        let mut network = Recorder(Vec::new());
        for ms in 0..12 {
            nemesis.poll(Duration::from_millis(ms), &LeaderIs(leader), &mut network);
        }
        (network.0, nemesis)
    }

    /// Following the leader, a fault recorded against leader n1 in a run led by n4 cuts off
    /// and pauses n4 instead (n1 and n4 swap places, in its actions, its undoing and its
    /// description), and records n4 as its leader; led by n1, it is taken as recorded; and
    /// without following, as recorded whoever leads.
    #[test]
    fn a_fault_following_the_leader_swaps_the_recorded_leader_with_the_current_one() {
        let fault = aimed_at_n1();
        let (actions, nemesis) = replay_with(Listed::following_leader(vec![fault.clone()]), 4);
        let partition = Action::Partition(crate::nemesis::partition::Grudge::between(
            &[4, 2],
            &[3, 1, 5],
        ));
        assert_eq!(actions[0], partition);
        assert_eq!(actions[1], Action::Pause(4));
        assert!(actions.contains(&Action::Resume(4)), "{actions:?}");
        let record = &nemesis.recorded()[0];
        assert_eq!(record.leader, Some(4));
        assert_eq!(
            record.description,
            "cut n4 n2 | n3 n1 n5, then pause n4 (not n12)"
        );
        assert_eq!(
            record.stop.as_ref().map(|stop| stop.description.as_str()),
            Some("healed n4")
        );
        let (as_recorded, again) = replay_with(Listed::following_leader(vec![fault.clone()]), 1);
        assert_eq!(again.recorded(), std::slice::from_ref(&fault));
        let (literal, _) = replay_with(Listed::new(vec![fault.clone()]), 4);
        assert_eq!(as_recorded, literal);
        assert_eq!(literal[1], Action::Pause(1));
    }

    /// A Figure 8 style fault (a partition's kind, which replays its recorded actions): n1
    /// (leading) cut off with n2, then, once n3 leads, n1's side let back and n3 isolated.
    fn successor_isolated() -> FaultRecord {
        use crate::nemesis::partition::Grudge;
        let first = Grudge::between(&[1, 2], &[3, 4, 5]);
        let step = |at_ms, action, leader| TimedAction {
            at_ms,
            action,
            leader: Some(leader),
        };
        FaultRecord {
            kind: FaultKind::named("partition").unwrap(),
            slot: 0,
            start_ms: 5,
            description: "cut n1 n2 | n3 n4 n5, then n3 alone".into(),
            actions: vec![
                step(5, Action::Partition(first.clone()), 1),
                step(7, Action::Repair(first), 3),
                step(
                    7,
                    Action::Partition(Grudge::between(&[3], &[1, 2, 4, 5])),
                    3,
                ),
            ],
            stop: Some(FaultStop {
                at_ms: 9,
                description: "cut leader n1 off; isolate successor n3".into(),
            }),
            leader: Some(1),
        }
    }

    /// Following roles: the fault starts in a run led by n4 (n1 and n4 swap places), and
    /// by the time the recorded run's successor n3 is isolated this run's successor is n5:
    /// n5 is isolated instead of n3, the first cut is repaired as it was taken (n4 and n2),
    /// and the record says so. Where this run's leader has not changed by then (still n4),
    /// the first swap alone holds: n3 is isolated as recorded.
    #[test]
    fn a_fault_following_roles_isolates_this_runs_successor() {
        use crate::nemesis::partition::Grudge;
        let replay = |successor: rafty::NodeId| {
            let listed = Listed::following_leader(vec![successor_isolated()]);
            let mut nemesis = Nemesis::with_source(Duration::from_millis(10), Box::new(listed));
            let mut network = Recorder(Vec::new());
            for ms in 0..12 {
                let leader = if ms < 7 { 4 } else { successor };
                nemesis.poll(Duration::from_millis(ms), &LeaderIs(leader), &mut network);
            }
            (network.0, nemesis)
        };
        let (actions, nemesis) = replay(5);
        let first = Grudge::between(&[4, 2], &[3, 1, 5]);
        assert_eq!(
            actions[..3],
            [
                Action::Partition(first.clone()),
                Action::Repair(first),
                Action::Partition(Grudge::between(&[5], &[1, 2, 3, 4])),
            ]
        );
        let record = &nemesis.recorded()[0];
        assert_eq!(record.actions[2].leader, Some(5));
        assert_eq!(
            record.stop.as_ref().map(|stop| stop.description.as_str()),
            Some("cut leader n4 off; isolate successor n5")
        );
        let (unchanged, _) = replay(4);
        assert_eq!(
            unchanged[2],
            Action::Partition(Grudge::between(&[3], &[1, 2, 4, 5]))
        );
    }

    /// Node names are renamed whole: `n1` in `n12` or in `sn1` is left alone.
    #[test]
    fn node_names_are_renamed_whole() {
        let rename = |node: rafty::NodeId| if node == 1 { 4 } else { node };
        assert_eq!(
            renamed_names("n1 n12 sn1 (n1) n", &rename),
            "n4 n12 sn1 (n4) n"
        );
    }
}
