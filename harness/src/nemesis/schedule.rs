//! The nemesis schedule: when faults start and stop, polled from the outer step loop.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use rafty::NodeId;

use super::action::{Action, ClusterView, Network};
use super::fault::FaultKind;
use super::figure8::Figure8;
use super::plan::{self, Plan};

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

/// A fault in progress: its plan and the steps still to take, or the reactive Figure 8
/// sequence.
struct Active {
    plan: Plan,
    started_at: Duration,
    remaining: VecDeque<(Duration, Action)>,
    reactive: Option<Figure8>,
    /// The node whose armed power cut ([`Action::ArmPowerCut`]) has not come yet.
    armed: Option<NodeId>,
}

/// The fault scheduler. Call [`Nemesis::poll`] before every simulation step.
pub struct Nemesis {
    options: NemesisOptions,
    nodes: Vec<NodeId>,
    rng: ChaCha8Rng,
    next_fault_at: Duration,
    active: Option<Active>,
    /// Actions taken and not yet undone, oldest first.
    in_effect: Vec<Action>,
    healed: bool,
    events: Vec<NemesisEvent>,
    actions: Vec<(Duration, String)>,
}

impl Nemesis {
    /// A nemesis over `nodes` drawing every choice from `rng`.
    pub fn new(mut options: NemesisOptions, nodes: Vec<NodeId>, mut rng: ChaCha8Rng) -> Self {
        // The order kinds are listed in must not matter (`--nemesis kill,partition` is
        // `--nemesis partition,kill`).
        options.kinds.sort_unstable();
        options.kinds.dedup();
        let first = options.start_after + jitter(options.interval / 2, &mut rng);
        Nemesis {
            options,
            nodes,
            rng,
            next_fault_at: first,
            active: None,
            in_effect: Vec::new(),
            healed: false,
            events: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Take every action due at `now` (simulated time since the start).
    pub fn poll(&mut self, now: Duration, view: &dyn ClusterView, network: &mut dyn Network) {
        if self.healed {
            return;
        }
        if now >= self.options.heal_at {
            self.heal_all(now, network);
            return;
        }
        if self.active.is_none() && now >= self.next_fault_at && !self.options.kinds.is_empty() {
            self.start_fault(now, view);
        }
        self.run_due_steps(now, view, network);
    }

    /// The nemesis operations recorded so far.
    pub fn events(&self) -> &[NemesisEvent] {
        &self.events
    }

    /// Every primitive action taken, with its time, for the per-run log.
    pub fn actions(&self) -> &[(Duration, String)] {
        &self.actions
    }

    /// True once the nemesis has healed everything for good.
    pub fn is_healed(&self) -> bool {
        self.healed
    }

    fn start_fault(&mut self, now: Duration, view: &dyn ClusterView) {
        let kinds = &self.options.kinds;
        let kind = kinds[self.rng.random_range(0..kinds.len())];
        let interval = self.options.interval;
        let duration = interval / 2 + jitter(interval * 3 / 2, &mut self.rng);
        let plan = plan::plan(kind, duration, &self.nodes, view.leader(), &mut self.rng);
        self.record(now, format!("start-{kind}"), plan.description.clone());
        let remaining = plan.steps.iter().cloned().collect();
        let reactive = (kind == FaultKind::Figure8).then(|| Figure8::new(now));
        self.active = Some(Active {
            plan,
            started_at: now,
            remaining,
            reactive,
            armed: None,
        });
    }

    fn run_due_steps(&mut self, now: Duration, view: &dyn ClusterView, network: &mut dyn Network) {
        let Some(active) = &mut self.active else {
            return;
        };
        if let Some(figure8) = &mut active.reactive {
            let actions = figure8.poll(now, view, &self.nodes, &mut self.rng);
            let done = figure8.is_done().then(|| figure8.steps.join("; "));
            for action in actions {
                self.take(now, action, network);
            }
            if let Some(steps) = done {
                self.active = None;
                self.record(now, "stop-figure8".into(), steps);
                let interval = self.options.interval;
                self.next_fault_at = now + interval / 2 + jitter(interval, &mut self.rng);
            }
            return;
        }
        let mut due = Vec::new();
        // An armed power cut goes the moment its disk froze, before anything else due.
        if let Some(node) = active.armed.filter(|&node| network.power_cut_due(node)) {
            active.armed = None;
            due.push(Action::CutArmedPower(node));
        }
        while let Some((offset, _)) = active.remaining.front() {
            if active.started_at + *offset > now {
                break;
            }
            let action = active.remaining.pop_front().expect("front exists").1;
            if let Action::ArmPowerCut(node, _) = action {
                active.armed = Some(node);
            }
            due.push(action);
        }
        let finished = active.remaining.is_empty();
        let kind = active.plan.kind;
        for action in due {
            self.take(now, action, network);
        }
        if finished {
            self.active = None;
            self.record(now, format!("stop-{kind}"), String::new());
            let interval = self.options.interval;
            self.next_fault_at = now + interval / 2 + jitter(interval, &mut self.rng);
        }
    }

    fn take(&mut self, now: Duration, action: Action, network: &mut dyn Network) {
        network.apply(&action);
        self.actions.push((now, action.to_string()));
        match action.inverse() {
            Some(_) => self.in_effect.push(action),
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
    }

    fn heal_all(&mut self, now: Duration, network: &mut dyn Network) {
        let undo: Vec<Action> = self
            .in_effect
            .iter()
            .rev()
            .filter_map(Action::inverse)
            .collect();
        let description: Vec<String> = undo.iter().map(Action::to_string).collect();
        for action in undo {
            self.take(now, action, network);
        }
        if let Some(active) = self.active.take() {
            self.record(
                now,
                format!("stop-{}", active.plan.kind),
                "healed at the time limit".into(),
            );
        }
        self.record(now, "heal-all".into(), description.join(", "));
        self.healed = true;
    }

    fn record(&mut self, now: Duration, f: String, value: String) {
        self.events.push(NemesisEvent {
            time_ns: now.as_nanos() as u64,
            f,
            value,
        });
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

    struct Recorder(Vec<Action>);
    impl Network for Recorder {
        fn apply(&mut self, action: &Action) {
            self.0.push(action.clone());
        }
    }
    struct NoLeader;
    impl ClusterView for NoLeader {
        fn leader(&self) -> Option<NodeId> {
            None
        }
    }

    fn run(seed: u64) -> (Vec<Action>, Vec<NemesisEvent>) {
        let options = NemesisOptions {
            kinds: FaultKind::ALL.to_vec(),
            interval: Duration::from_secs(1),
            start_after: Duration::from_secs(1),
            heal_at: Duration::from_secs(20),
        };
        let mut nemesis = Nemesis::new(options, (1..=5).collect(), ChaCha8Rng::seed_from_u64(seed));
        let mut network = Recorder(Vec::new());
        for ms in 0..25_000 {
            nemesis.poll(Duration::from_millis(ms), &NoLeader, &mut network);
        }
        (network.0, nemesis.events.clone())
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
