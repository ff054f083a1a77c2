//! The nemesis schedule: when faults start and stop, polled from the outer step loop.
//!
//! `overlap` schedules (slots) run side by side; each is a healthy gap, a fault, a healthy
//! gap..., drawn from its own generator. Slot 0 draws from the nemesis's generator exactly as
//! the one-fault-at-a-time schedule did, so `overlap` 1 reproduces it; the other slots'
//! generators are seeded from it. A slot whose turn comes draws its fault only from what the
//! faults in effect leave unclaimed ([`super::claims`]); when nothing is left it waits another
//! gap.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use rafty::NodeId;

use super::action::{Action, ClusterView, Network};
use super::claims::{self, Resource};
use super::kind::{Draw, FaultKind, Watch, Watcher};
use super::listed::{FaultRecord, FaultStop, TimedAction};
use super::plan::Plan;

/// How the nemesis behaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NemesisOptions {
    /// The kinds of fault to draw from; empty for a fault-free run.
    pub kinds: Vec<FaultKind>,
    /// The typical fault length and healthy gap: faults last `interval / 2 ..= 2 * interval`,
    /// gaps `interval / 2 ..= 3 * interval / 2`.
    pub interval: Duration,
    /// No fault starts before this (the cluster elects its first leader).
    pub start_after: Duration,
    /// No fault starts after this, and everything is healed here.
    pub heal_at: Duration,
    /// At most this many faults in effect at once, each on its own schedule (at least 1).
    pub overlap: usize,
    /// See [`super::kind::Draw::drift_bound_ppm`].
    pub drift_bound_ppm: i64,
}

/// A nemesis operation for the history: Jepsen records these as `:info` operations of the
/// `:nemesis` process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NemesisEvent {
    /// Simulated time since the start of the run, in nanoseconds.
    pub time_ns: u64,
    /// `start-partition`, `stop-kill`, ... or `heal-all`.
    pub f: String,
    /// What it did.
    pub value: String,
}

/// The most faults in effect at once in `events`: each `start-` opens one, each `stop-` ends
/// one.
pub fn most_faults_at_once(events: &[NemesisEvent]) -> usize {
    let mut now = 0usize;
    let mut most = 0;
    for event in events {
        if event.f.starts_with("start-") {
            now += 1;
            most = most.max(now);
        } else if event.f.starts_with("stop-") {
            now = now.saturating_sub(1);
        }
    }
    most
}

/// A fault in progress: its plan, the steps still to take, and its watcher if it reacts.
struct Active {
    kind: FaultKind,
    /// Its record in the book ([`Hands::start`]).
    fault: FaultId,
    plan: Plan,
    started_at: Duration,
    remaining: VecDeque<(Duration, Action)>,
    watcher: Option<Box<dyn Watcher>>,
    /// What this fault holds until it stops.
    claims: BTreeSet<Resource>,
}

/// One schedule of faults, one at a time.
struct Slot {
    rng: ChaCha8Rng,
    next_fault_at: Duration,
    active: Option<Active>,
}

/// A fault as the nemesis's book knows it: an index into [`Nemesis::recorded`].
pub type FaultId = usize;

/// Where a nemesis's faults come from: drawn from the seed as the run goes ([`Drawn`]), or
/// replayed from a schedule's list ([`super::listed::Listed`]). A source starts, acts and
/// stops only through the [`Hands`] it is given, which carry out and record everything.
pub trait FaultSource {
    /// Start the faults and take the steps due at `now` (before the time limit).
    fn poll(&mut self, now: Duration, view: &dyn ClusterView, hands: &mut Hands<'_>);

    /// The faults still in effect when everything is healed at the time limit, in the order
    /// their stops are recorded (by slot).
    fn open_faults(&mut self) -> Vec<FaultId>;
}

/// What the nemesis did: the actions in effect, the history's events, the timed log and the
/// record of every fault (the schedule's nemesis part).
#[derive(Default)]
struct Book {
    /// Actions taken and not yet undone, oldest first.
    in_effect: Vec<Action>,
    events: Vec<NemesisEvent>,
    actions: Vec<(Duration, String)>,
    faults: Vec<FaultRecord>,
}

/// A source's hands at one poll: they take actions on the network and record each fault's
/// start, actions and stop, as applied.
pub struct Hands<'a> {
    now: Duration,
    network: &'a mut dyn Network,
    book: &'a mut Book,
    /// What the nodes report (the leader each fault's record names).
    view: &'a dyn ClusterView,
}

impl Hands<'_> {
    /// The network, for a watcher's questions.
    pub fn network(&mut self) -> &mut dyn Network {
        &mut *self.network
    }

    /// Record the start of a fault of `kind` in `slot`, described for the history.
    pub fn start(&mut self, kind: FaultKind, slot: usize, description: String) -> FaultId {
        self.book.faults.push(FaultRecord {
            kind,
            slot,
            start_ms: whole_ms(self.now),
            description: description.clone(),
            actions: Vec::new(),
            stop: None,
            leader: self.view.leader(),
        });
        self.book
            .record(self.now, format!("start-{kind}"), description);
        self.book.faults.len() - 1
    }

    /// Take `action` now, as a step of `fault`.
    pub fn act(&mut self, fault: FaultId, action: Action) {
        let at_ms = whole_ms(self.now);
        self.book.faults[fault].actions.push(TimedAction {
            at_ms,
            action: action.clone(),
            leader: self.view.leader(),
        });
        self.book.take(self.now, action, self.network);
    }

    /// Record the stop of `fault`, described (what it did, or what it came to).
    pub fn stop(&mut self, fault: FaultId, description: String) {
        let record = &mut self.book.faults[fault];
        record.stop = Some(FaultStop {
            at_ms: whole_ms(self.now),
            description: description.clone(),
        });
        let kind = record.kind;
        self.book
            .record(self.now, format!("stop-{kind}"), description);
    }
}

/// `time` in whole milliseconds: the simulation steps by 1 ms, so nothing is lost.
fn whole_ms(time: Duration) -> u64 {
    debug_assert_eq!(time.subsec_nanos() % 1_000_000, 0, "{time:?}");
    time.as_millis() as u64
}

impl Book {
    fn take(&mut self, now: Duration, action: Action, network: &mut dyn Network) {
        network.apply(&action);
        self.actions.push((now, action.to_string()));
        match action.inverse() {
            Some(_) => self.in_effect.push(action.clone()),
            None => {
                if let Some(index) = self
                    .in_effect
                    .iter()
                    .position(|done| done.inverse().as_ref() == Some(&action))
                {
                    self.in_effect.remove(index);
                }
            }
        }
        if let Some(node) = action.stops_host() {
            self.reassert_links_of(now, node, network);
        }
    }

    /// A stopping host's links were cut and repaired while it died, which reset what a
    /// partition or clog in effect (another fault's) cut or held on them: cut or hold them
    /// again. Only with overlapping faults is a link fault in effect then.
    fn reassert_links_of(&mut self, now: Duration, node: NodeId, network: &mut dyn Network) {
        let cut: Vec<Action> = self
            .in_effect
            .iter()
            .filter(|done| done.touches_links_of(node))
            .cloned()
            .collect();
        for action in cut {
            network.apply(&action);
            let line = format!("re-assert {action} (the stop of n{node} reset its links)");
            self.actions.push((now, line));
        }
    }

    fn record(&mut self, now: Duration, f: String, value: String) {
        self.events.push(NemesisEvent {
            time_ns: now.as_nanos() as u64,
            f,
            value,
        });
    }
}

/// The fault scheduler. Call [`Nemesis::poll`] before every simulation step.
pub struct Nemesis {
    heal_at: Duration,
    source: Box<dyn FaultSource>,
    book: Book,
    healed: bool,
}

impl Nemesis {
    /// A nemesis over `nodes` drawing every choice from `rng`.
    pub fn new(options: NemesisOptions, nodes: Vec<NodeId>, rng: ChaCha8Rng) -> Self {
        let heal_at = options.heal_at;
        Nemesis::with_source(heal_at, Box::new(Drawn::new(options, nodes, rng)))
    }

    /// A nemesis taking its faults from `source`, healing everything at `heal_at`.
    pub fn with_source(heal_at: Duration, source: Box<dyn FaultSource>) -> Self {
        Nemesis {
            heal_at,
            source,
            book: Book::default(),
            healed: false,
        }
    }

    /// Take every action due at `now` (simulated time since the start).
    pub fn poll(&mut self, now: Duration, view: &dyn ClusterView, network: &mut dyn Network) {
        if self.healed {
            return;
        }
        if now >= self.heal_at {
            self.heal_all(now, network);
            return;
        }
        let mut hands = Hands {
            now,
            network,
            book: &mut self.book,
            view,
        };
        self.source.poll(now, view, &mut hands);
    }

    /// The nemesis operations recorded so far.
    pub fn events(&self) -> &[NemesisEvent] {
        &self.book.events
    }

    /// Every primitive action taken, with its time, for the per-run log.
    pub fn actions(&self) -> &[(Duration, String)] {
        &self.book.actions
    }

    /// Every fault started so far, as applied: its start, its actions and its stop (none for
    /// a fault healed at the time limit). Replayed by [`super::listed::Listed`], they repeat
    /// the run's nemesis exactly.
    pub fn recorded(&self) -> &[FaultRecord] {
        &self.book.faults
    }

    /// True once the nemesis has healed everything for good.
    pub fn is_healed(&self) -> bool {
        self.healed
    }

    fn heal_all(&mut self, now: Duration, network: &mut dyn Network) {
        let undo: Vec<Action> = self
            .book
            .in_effect
            .iter()
            .rev()
            .filter_map(Action::inverse)
            .collect();
        let description: Vec<String> = undo.iter().map(Action::to_string).collect();
        for action in undo {
            self.book.take(now, action, network);
        }
        for fault in self.source.open_faults() {
            let record = &self.book.faults[fault];
            let (f, value) = (
                format!("stop-{}", record.kind),
                format!("{} (healed at the time limit)", record.description),
            );
            self.book.record(now, f, value);
        }
        self.book
            .record(now, "heal-all".into(), description.join(", "));
        self.healed = true;
    }
}

/// The faults drawn from the seed as the run goes: `overlap` slots side by side, each a
/// healthy gap, a fault, a healthy gap...
pub struct Drawn {
    options: NemesisOptions,
    nodes: Vec<NodeId>,
    slots: Vec<Slot>,
}

impl Drawn {
    /// Faults over `nodes` drawing every choice from `rng`.
    pub fn new(mut options: NemesisOptions, nodes: Vec<NodeId>, mut rng: ChaCha8Rng) -> Self {
        // The order kinds are listed in must not matter (`--nemesis kill,partition` is
        // `--nemesis partition,kill`).
        options.kinds.sort_unstable();
        options.kinds.dedup();
        options.overlap = options.overlap.max(1);
        let first = options.start_after + jitter(options.interval / 2, &mut rng);
        let mut others = Vec::new();
        for _ in 1..options.overlap {
            let mut slot_rng = ChaCha8Rng::seed_from_u64(rng.random());
            let first = options.start_after + jitter(options.interval, &mut slot_rng);
            others.push(Slot {
                rng: slot_rng,
                next_fault_at: first,
                active: None,
            });
        }
        let mut slots = vec![Slot {
            rng,
            next_fault_at: first,
            active: None,
        }];
        slots.extend(others);
        Drawn {
            options,
            nodes,
            slots,
        }
    }

    /// What the faults in effect in every slot but `index` claim.
    fn claimed_by_others(&self, index: usize) -> BTreeSet<Resource> {
        let others = self.slots.iter().enumerate().filter(|(i, _)| *i != index);
        others
            .filter_map(|(_, slot)| slot.active.as_ref())
            .flat_map(|active| active.claims.iter().copied())
            .collect()
    }

    fn start_fault(
        &mut self,
        index: usize,
        now: Duration,
        view: &dyn ClusterView,
        hands: &mut Hands<'_>,
    ) {
        let claimed = self.claimed_by_others(index);
        let (kinds, free) = claims::eligible(&self.options.kinds, &claimed, &self.nodes);
        let interval = self.options.interval;
        let slot = &mut self.slots[index];
        if kinds.is_empty() {
            slot.next_fault_at = now + interval / 2 + jitter(interval, &mut slot.rng);
            return;
        }
        let kind = kinds[slot.rng.random_range(0..kinds.len())];
        let duration = interval / 2 + jitter(interval * 3 / 2, &mut slot.rng);
        let targets = match claims::shared_resource(kind) {
            Some(_) => &self.nodes,
            None => &free,
        };
        let leader = view.leader().filter(|leader| targets.contains(leader));
        let draw = Draw {
            duration,
            nodes: targets,
            leader,
            drift_bound_ppm: self.options.drift_bound_ppm,
        };
        let plan = kind.plan(draw, &mut slot.rng);
        let remaining = plan.steps.iter().cloned().collect();
        let watcher = kind.fault().watcher(&plan);
        let fault = hands.start(kind, index, plan.description.clone());
        slot.active = Some(Active {
            kind,
            fault,
            claims: claims::claims(kind, &plan),
            plan,
            started_at: now,
            remaining,
            watcher,
        });
    }

    fn run_due_steps(
        &mut self,
        index: usize,
        now: Duration,
        view: &dyn ClusterView,
        hands: &mut Hands<'_>,
    ) {
        let drift_bound_ppm = self.options.drift_bound_ppm;
        let slot = &mut self.slots[index];
        let Some(active) = &mut slot.active else {
            return;
        };
        // The watcher reacts first (a power cut goes the moment its disk froze, before
        // anything else due), then the steps due.
        let mut due = match &mut active.watcher {
            Some(watcher) => watcher.poll(Watch {
                elapsed: now - active.started_at,
                view,
                network: hands.network(),
                nodes: &self.nodes,
                rng: &mut slot.rng,
                drift_bound_ppm,
            }),
            None => Vec::new(),
        };
        while let Some((offset, _)) = active.remaining.front() {
            if active.started_at + *offset > now {
                break;
            }
            due.push(active.remaining.pop_front().expect("front exists").1);
        }
        let watcher_done = active.watcher.as_ref().is_none_or(|w| w.is_done());
        let finished = active.remaining.is_empty() && watcher_done;
        let (kind, fault) = (active.kind, active.fault);
        // The stop names the fault it ends, as its start did, so that a reader of the history
        // can pair them when two faults of one kind overlap (`--nemesis-overlap`); a watcher
        // may say what the fault came to instead.
        let outcome = active.watcher.as_ref().and_then(|w| w.outcome());
        let description = outcome.unwrap_or_else(|| active.plan.description.clone());
        debug_assert_eq!(hands.book.faults[fault].kind, kind);
        for action in due {
            hands.act(fault, action);
        }
        if finished {
            slot.active = None;
            let interval = self.options.interval;
            slot.next_fault_at = now + interval / 2 + jitter(interval, &mut slot.rng);
            hands.stop(fault, description);
        }
    }
}

impl FaultSource for Drawn {
    fn poll(&mut self, now: Duration, view: &dyn ClusterView, hands: &mut Hands<'_>) {
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.active.is_none() && now >= slot.next_fault_at && !self.options.kinds.is_empty()
            {
                self.start_fault(index, now, view, hands);
            }
            self.run_due_steps(index, now, view, hands);
        }
    }

    fn open_faults(&mut self) -> Vec<FaultId> {
        self.slots
            .iter_mut()
            .filter_map(|slot| slot.active.take())
            .map(|active| active.fault)
            .collect()
    }
}

/// A uniformly random duration in `0..=max`, at millisecond resolution.
fn jitter(max: Duration, rng: &mut ChaCha8Rng) -> Duration {
    Duration::from_millis(rng.random_range(0..=max.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::run::config::LogKind;

    use crate::nemesis::test_support::{NoLeader, Recorder};

    fn run(seed: u64) -> (Vec<Action>, Vec<NemesisEvent>) {
        run_with(seed, 1, FaultKind::all(LogKind::Memory))
    }

    fn run_with(
        seed: u64,
        overlap: usize,
        kinds: Vec<FaultKind>,
    ) -> (Vec<Action>, Vec<NemesisEvent>) {
        let options = NemesisOptions {
            kinds,
            interval: Duration::from_secs(1),
            start_after: Duration::from_secs(1),
            heal_at: Duration::from_secs(20),
            overlap,
            drift_bound_ppm: 0,
        };
        let mut nemesis = Nemesis::new(options, (1..=5).collect(), ChaCha8Rng::seed_from_u64(seed));
        let mut network = Recorder(Vec::new());
        for ms in 0..25_000 {
            nemesis.poll(Duration::from_millis(ms), &NoLeader, &mut network);
        }
        (network.0, nemesis.events().to_vec())
    }

    /// Every kind but the reactive Figure 8 (which needs a cluster to aim at) and those that
    /// may not overlap (`Fault::overlaps`).
    fn planned_kinds() -> Vec<FaultKind> {
        FaultKind::every()
            .filter(|kind| kind.name() != "figure8" && kind.fault().overlaps())
            .collect()
    }

    /// Replays `actions` as a model of what is in effect, checking at every step the claim
    /// rule (no node held by two faults' actions at once, at most one partition or clog
    /// set on the links, at most one slowed node) and that each undo matches exactly one
    /// action in effect. Returns how many re-assertions of a link fault it saw.
    fn replay_checking_claims(seed: u64, actions: &[Action]) -> usize {
        let mut in_effect: Vec<Action> = Vec::new();
        let mut reasserted = 0;
        for action in actions.iter().filter(|action| !action.is_lasting()) {
            if action.inverse().is_some() {
                if in_effect.contains(action) {
                    assert!(
                        matches!(action, Action::Partition(_) | Action::Clog(..)),
                        "seed {seed}: {action} taken twice"
                    );
                    reasserted += 1;
                    continue;
                }
                in_effect.push(action.clone());
            } else {
                let matching: Vec<usize> = (0..in_effect.len())
                    .filter(|&i| in_effect[i].inverse().as_ref() == Some(action))
                    .collect();
                assert_eq!(
                    matching.len(),
                    1,
                    "seed {seed}: {action} undoes {matching:?} of {in_effect:?}"
                );
                in_effect.remove(matching[0]);
            }
            let mut nodes: Vec<NodeId> = in_effect
                .iter()
                .filter(|done| !matches!(done, Action::Slow(..)))
                .filter_map(Action::node)
                .collect();
            let held = nodes.len();
            nodes.sort_unstable();
            nodes.dedup();
            assert_eq!(
                nodes.len(),
                held,
                "seed {seed}: two faults on one node: {in_effect:?}"
            );
            let partitions = in_effect
                .iter()
                .filter(|d| matches!(d, Action::Partition(_)))
                .count();
            let clogs = in_effect
                .iter()
                .filter(|d| matches!(d, Action::Clog(..)))
                .count();
            assert!(
                partitions <= 1,
                "seed {seed}: two partitions: {in_effect:?}"
            );
            assert!(
                partitions == 0 || clogs == 0,
                "seed {seed}: partition and clog: {in_effect:?}"
            );
            let slow = in_effect
                .iter()
                .filter(|d| matches!(d, Action::Slow(..)))
                .count();
            assert!(slow <= 1, "seed {seed}: two slowed nodes: {in_effect:?}");
        }
        assert!(
            in_effect.is_empty(),
            "seed {seed}: left in effect: {in_effect:?}"
        );
        reasserted
    }

    /// With overlap, faults do run at once, never on the same node or links, every undo
    /// undoes exactly its own fault's action, a stop re-asserts the link fault in effect, and
    /// everything is healed at the end.
    #[test]
    fn overlapping_faults_never_share_a_claim_and_all_heal() {
        let mut overlapped = 0;
        let mut reasserted = 0;
        for seed in 0..60 {
            for overlap in [2, 3] {
                let (actions, events) = run_with(seed, overlap, planned_kinds());
                assert_eq!(events.last().unwrap().f, "heal-all");
                let most = most_faults_at_once(&events);
                assert!(
                    most <= overlap,
                    "seed {seed}: {most} faults at once: {events:?}"
                );
                overlapped += usize::from(most >= 2);
                reasserted += replay_checking_claims(seed, &actions);
            }
        }
        assert!(
            overlapped > 60,
            "only {overlapped} of 120 schedules overlapped faults"
        );
        assert!(
            reasserted > 0,
            "no stop ever happened under a partition or clog"
        );
    }

    /// Overlap 1 never has two faults at once: the count of [`most_faults_at_once`] can tell.
    #[test]
    fn overlap_one_runs_one_fault_at_a_time() {
        for seed in 0..30 {
            let (actions, events) = run_with(seed, 1, planned_kinds());
            assert_eq!(most_faults_at_once(&events), 1, "seed {seed}: {events:?}");
            replay_checking_claims(seed, &actions);
        }
    }

    #[test]
    fn same_seed_same_overlapping_schedule() {
        assert_eq!(
            run_with(5, 3, planned_kinds()),
            run_with(5, 3, planned_kinds())
        );
        assert_ne!(
            run_with(5, 3, planned_kinds()).0,
            run_with(6, 3, planned_kinds()).0
        );
    }

    #[test]
    fn same_seed_same_schedule_and_other_seed_another() {
        assert_eq!(run(1), run(1));
        assert_ne!(run(1).0, run(2).0);
    }

    #[test]
    fn everything_is_healed_at_the_end() {
        for seed in 0..20 {
            let (actions, events) = run(seed);
            assert!(events.len() >= 4, "{events:?}");
            assert_eq!(events.last().unwrap().f, "heal-all");
            let mut in_effect: Vec<Action> = Vec::new();
            for action in actions {
                match action.inverse() {
                    Some(_) => in_effect.push(action),
                    None => {
                        let i = in_effect
                            .iter()
                            .position(|d| d.inverse() == Some(action.clone()))
                            .unwrap();
                        in_effect.remove(i);
                    }
                }
            }
            assert!(in_effect.is_empty());
        }
    }
}
