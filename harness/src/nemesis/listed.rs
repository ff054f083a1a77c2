//! Faults replayed from a list (a schedule's, [`crate::schedule`]) instead of drawn from the
//! seed: each fault's start, actions and stop at the times recorded when it was applied.
//!
//! The drawn nemesis records every fault as it applies it ([`super::schedule::Hands`]); given
//! that record back, [`Listed`] takes the same actions at the same steps in the same order, so
//! the run repeats exactly. Within one step the drawn nemesis goes slot by slot, each slot
//! starting its fault, then acting, then stopping it; the list is replayed in that order:
//! by time, then slot, then the order of the faults, then the order within a fault.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::action::{Action, ClusterView};
use super::kind::FaultKind;
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
}

/// One primitive action of a fault and when it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedAction {
    /// Simulated milliseconds since the start of the run.
    pub at_ms: u64,
    /// The action.
    pub action: Action,
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
    Act(Action),
    Stop(String),
}

/// Faults replayed from a list.
pub struct Listed {
    faults: Vec<FaultRecord>,
    /// Steps not yet taken: (time, fault index, step), in replay order.
    steps: VecDeque<(Duration, usize, Step)>,
    /// The book's id of each fault once started.
    ids: Vec<Option<FaultId>>,
    /// Faults started and not stopped, by (slot, index).
    open: BTreeSet<(usize, usize)>,
}

impl Listed {
    /// Replay `faults` (in any order; a fault's actions in the order listed).
    pub fn new(faults: Vec<FaultRecord>) -> Listed {
        let mut keyed = Vec::new();
        for (index, fault) in faults.iter().enumerate() {
            let key = |at_ms: u64, within: usize| (at_ms, fault.slot, index, within);
            keyed.push((key(fault.start_ms, 0), Step::Start));
            for (within, step) in fault.actions.iter().enumerate() {
                keyed.push((key(step.at_ms, within + 1), Step::Act(step.action.clone())));
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
            faults,
            steps,
            open: BTreeSet::new(),
        }
    }
}

impl FaultSource for Listed {
    fn poll(&mut self, now: Duration, _view: &dyn ClusterView, hands: &mut Hands<'_>) {
        while let Some((at, _, _)) = self.steps.front() {
            if *at > now {
                break;
            }
            let (_, index, step) = self.steps.pop_front().expect("front exists");
            let fault = &self.faults[index];
            match step {
                Step::Start => {
                    let id = hands.start(fault.kind, fault.slot, fault.description.clone());
                    self.ids[index] = Some(id);
                    self.open.insert((fault.slot, index));
                }
                Step::Act(action) => {
                    let id = self.ids[index].expect("a fault starts before it acts");
                    hands.act(id, action);
                }
                Step::Stop(description) => {
                    let id = self.ids[index].expect("a fault starts before it stops");
                    hands.stop(id, description);
                    self.open.remove(&(fault.slot, index));
                }
            }
        }
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
}
