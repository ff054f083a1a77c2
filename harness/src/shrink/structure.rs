//! The structural passes: what a schedule holds (faults, clients, operations, time, nodes),
//! each pass keeping only edits under which the kept check still fails.

use crate::schedule::Schedule;

use super::cut;
use super::ddmin::{Verdict, ddmin, remove_chunks};
use super::tester::Tester;

/// The time limit's grain, in simulated milliseconds.
const STEP_MS: u64 = 100;

/// Seeds tried for the boldest edits (no operations, no faults).
const BOLD_SEEDS: u64 = 8;

/// Seeds tried for each earlier heal ([`Tester::heal_sooner`]).
const HEAL_SEEDS: u64 = 3;

/// Seeds tried for each thinning of the operations.
const THINNING_SEEDS: u64 = 4;

/// Seeds tried for leaving out a run of operations at least [`COARSE_CHUNK`] long.
const CHUNK_SEEDS: u64 = 3;

/// The shortest run of operations whose removal is tried with [`CHUNK_SEEDS`] seeds; shorter
/// ones are tried with the schedule's own seed only.
const COARSE_CHUNK: usize = 4;

impl Tester<'_> {
    /// Drop what comes after the best schedule's violation: a run is the same up to it
    /// without them. Operations and fault steps after it go, and the time limit comes down to
    /// just after it (when it fires before the time limit).
    pub fn truncate(&mut self) {
        let Some(at_ms) = self.best_violation_ms else {
            return;
        };
        let limit_ms = self.best.size().time_limit_ms;
        let new_limit_ms = (at_ms + 1).div_ceil(STEP_MS) * STEP_MS;
        let candidate = if new_limit_ms < limit_ms {
            cut(&self.best, new_limit_ms)
        } else {
            after_dropped(&self.best, at_ms)
        };
        if candidate != self.best {
            self.test("truncate", &candidate);
        }
    }

    /// Every operation dropped at once (the first-election bugs need none), with a few seeds.
    pub fn no_operations(&mut self) {
        if self.best.size().operations == 0 {
            return;
        }
        let mut candidate = self.best.clone();
        candidate.clients.clear();
        self.test_seeds("no operations", &candidate, BOLD_SEEDS);
    }

    /// Every fault dropped at once, with a few seeds.
    pub fn no_faults(&mut self) {
        if self.best.faults.is_empty() {
            return;
        }
        let mut candidate = self.best.clone();
        candidate.faults.clear();
        self.test_seeds("no faults", &candidate, BOLD_SEEDS);
    }

    /// Thin the operations out evenly (every second one kept, then every fourth...), with a
    /// few seeds each, while it still fails: a bug that needs writes in flight around a fault
    /// keeps failing with fewer, spread as before.
    pub fn thin_operations(&mut self) {
        while self.best.size().operations >= 2 && !self.out_of_time {
            let base = self.best.clone();
            let all = by_time(&base);
            let kept: Vec<(u64, u64, usize)> = all.iter().copied().step_by(2).collect();
            if self.test_seeds("thin operations", &only(&base, &kept), THINNING_SEEDS)
                != Verdict::Fails
            {
                return;
            }
        }
    }

    /// Drop faults.
    pub fn faults(&mut self) {
        let base = self.best.clone();
        let indices: Vec<usize> = (0..base.faults.len()).collect();
        // Every failing candidate is kept as the best as it is found (`test`).
        ddmin(indices, &mut |keep: &[usize]| {
            let mut candidate = base.clone();
            candidate.faults = keep.iter().map(|&i| base.faults[i].clone()).collect();
            self.test("faults", &candidate)
        });
    }

    /// When the best schedule's violation comes at or after its time limit (the heal there
    /// set it off: a killed node restarted, a partition repaired), heal sooner: the time limit
    /// just after a fault's last step, the latest fault first, with a few seeds. Failing is
    /// not monotone in the time limit, so the bisection alone misses these.
    ///
    /// At each such moment the heal alone is moved first, the run kept as long (the faults
    /// still open stopped there, the operations after it still run: a restarted node may
    /// need writes after its restart to show the violation), and only then is the run cut
    /// there; once the heal moved, the violation comes before the time limit and the next
    /// [`Tester::truncate`] cuts what follows it.
    pub fn heal_sooner(&mut self) {
        let limit_ms = self.best.size().time_limit_ms;
        if self.best_violation_ms.is_none_or(|at_ms| at_ms < limit_ms) {
            return;
        }
        let mut ends: Vec<u64> = self.best.faults.iter().map(|f| f.end_ms()).collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        ends.dedup();
        for end_ms in ends {
            let new_limit_ms = (end_ms + 1).div_ceil(STEP_MS) * STEP_MS + STEP_MS;
            if new_limit_ms >= self.best.size().time_limit_ms {
                continue;
            }
            let healed = healed_at(&self.best, new_limit_ms);
            if healed != self.best {
                match self.test_seeds("heal earlier", &healed, HEAL_SEEDS) {
                    Verdict::Fails | Verdict::OutOfTime => return,
                    Verdict::Passes => {}
                }
            }
            let candidate = cut(&self.best, new_limit_ms);
            match self.test_seeds("heal sooner", &candidate, HEAL_SEEDS) {
                Verdict::Fails | Verdict::OutOfTime => return,
                Verdict::Passes => {}
            }
        }
    }

    /// The shortest time limit (to 100 ms) that still fails, by bisection.
    pub fn time_limit(&mut self) {
        let mut high = self.best.size().time_limit_ms;
        let mut low = 0;
        while high - low > STEP_MS {
            let middle = ((low + high) / 2).div_ceil(STEP_MS) * STEP_MS;
            if middle >= high {
                break;
            }
            let candidate = cut(&self.best, middle);
            match self.test("time limit", &candidate) {
                Verdict::Fails => high = middle,
                Verdict::Passes => low = middle,
                Verdict::OutOfTime => return,
            }
        }
    }

    /// Drop clients, a client's operations all at once: half of them, then a quarter...,
    /// then one at a time. Leaving out two or more clients is tried with a few seeds (like a
    /// coarse run of operations, it moves the timing of everything after it).
    pub fn clients(&mut self) {
        let base = self.best.clone();
        let ids: Vec<u64> = base.clients.keys().copied().collect();
        let mut size = ids.len().div_ceil(2);
        let mut kept = ids;
        while size >= 1 && kept.len() > 1 && !self.out_of_time {
            let seeds = if size >= 2 { CHUNK_SEEDS } else { 1 };
            kept = remove_chunks(kept, size, &mut |keep: &[u64]| {
                let mut candidate = base.clone();
                candidate.clients.retain(|client, _| keep.contains(client));
                // With the seed of the last removal kept (it may have needed another one).
                candidate.seed = self.best.seed;
                self.test_seeds("clients", &candidate, seeds)
            });
            size /= 2;
        }
    }

    /// Drop operations: runs of operations close in time, in sweeps of halving size, from
    /// the latest to the earliest; what comes after the violation is cut between sweeps.
    /// Leaving out a run of [`COARSE_CHUNK`] or more is tried with a few seeds: it moves the
    /// timing of everything after it, and a timing bug fails for few seeds of each edit (the
    /// coarse sweeps are few runs, so this costs about as many as one fine sweep).
    pub fn operations(&mut self) {
        let mut size = usize::MAX;
        while !self.out_of_time {
            self.truncate();
            let base = self.best.clone();
            let all = by_time(&base);
            if all.is_empty() {
                return;
            }
            size = size.min(all.len().div_ceil(2));
            let seeds = if size >= COARSE_CHUNK { CHUNK_SEEDS } else { 1 };
            remove_chunks(all, size, &mut |keep: &[(u64, u64, usize)]| {
                // With the seed of the last removal kept (it may have needed another one).
                let mut candidate = only(&base, keep);
                candidate.seed = self.best.seed;
                self.test_seeds("operations", &candidate, seeds)
            });
            if size == 1 {
                return;
            }
            size /= 2;
        }
    }

    /// Fewer nodes (7 to 5 to 3), when no fault names a node past the new count.
    pub fn nodes(&mut self) {
        for nodes in [5, 3] {
            if nodes >= self.best.config.nodes {
                continue;
            }
            let names_more = self.best.faults.iter().any(|fault| {
                let actions = fault.actions.iter();
                actions
                    .flat_map(|step| crate::schedule::nodes_of(&step.action))
                    .any(|node| node as usize > nodes)
            });
            if names_more {
                return;
            }
            let mut candidate = self.best.clone();
            candidate.config.nodes = nodes;
            if self.test("nodes", &candidate) != Verdict::Fails {
                return;
            }
        }
    }
}

/// Every operation of `schedule` as (time, client, index in the client's list), in time order.
fn by_time(schedule: &Schedule) -> Vec<(u64, u64, usize)> {
    let mut all: Vec<(u64, u64, usize)> = schedule
        .clients
        .iter()
        .flat_map(|(client, ops)| {
            ops.iter()
                .enumerate()
                .map(move |(index, op)| (op.at_ms, *client, index))
        })
        .collect();
    all.sort_unstable();
    all
}

/// `schedule` with only the operations `keep` lists (see [`by_time`]).
fn only(schedule: &Schedule, keep: &[(u64, u64, usize)]) -> Schedule {
    let mut candidate = schedule.clone();
    for (client, ops) in &mut candidate.clients {
        let source = &schedule.clients[client];
        let mut indices: Vec<usize> = keep
            .iter()
            .filter(|(_, c, _)| c == client)
            .map(|&(_, _, index)| index)
            .collect();
        indices.sort_unstable();
        *ops = indices.iter().map(|&index| source[index].clone()).collect();
    }
    candidate.clients.retain(|_, ops| !ops.is_empty());
    candidate
}

/// `schedule` with every fault still open at `heal_ms` (no stop, every step before it)
/// stopped there; the time limit and the operations kept.
fn healed_at(schedule: &Schedule, heal_ms: u64) -> Schedule {
    let mut candidate = schedule.clone();
    for fault in &mut candidate.faults {
        if fault.stop.is_none() && fault.start_ms < heal_ms && fault.end_ms() < heal_ms {
            fault.stop = Some(crate::nemesis::FaultStop {
                at_ms: heal_ms,
                description: format!("{} (healed early by the shrinker)", fault.description),
            });
        }
    }
    candidate
}

/// `schedule` without the operations and fault steps after `at_ms` (its time limit kept).
fn after_dropped(schedule: &Schedule, at_ms: u64) -> Schedule {
    let mut candidate = schedule.clone();
    candidate.faults.retain(|fault| fault.start_ms <= at_ms);
    for ops in candidate.clients.values_mut() {
        ops.retain(|op| op.at_ms <= at_ms);
    }
    candidate.clients.retain(|_, ops| !ops.is_empty());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::{Action, FaultKind, FaultRecord, FaultStop, TimedAction};
    use std::collections::BTreeMap;

    fn kill(start_ms: u64, stop_ms: Option<u64>) -> FaultRecord {
        FaultRecord {
            kind: FaultKind::named("kill").expect("kill"),
            slot: 0,
            start_ms,
            description: "kill n1".into(),
            actions: vec![TimedAction {
                at_ms: start_ms,
                action: Action::Kill(1),
                leader: None,
            }],
            stop: stop_ms.map(|at_ms| FaultStop {
                at_ms,
                description: "restart n1".into(),
            }),
            leader: None,
        }
    }

    /// Healing earlier stops only the faults still open then (no stop, every step before
    /// it), and keeps the time limit and every operation.
    #[test]
    fn healing_earlier_stops_the_open_faults_and_keeps_the_run() {
        let mut schedule = Schedule {
            faults: vec![
                kill(1_000, Some(1_500)),
                kill(2_000, None),
                kill(4_000, None),
            ],
            clients: BTreeMap::new(),
            ..crate::shrink::kv_schedule()
        };
        schedule.clients.insert(
            0,
            vec![crate::sim::client::OpRecord {
                at_ms: 3_500,
                op: rafty_workloads::ClientOp::Read { key: "k".into() },
                pause_us: 0,
            }],
        );
        let healed = healed_at(&schedule, 2_100);
        let stops: Vec<Option<u64>> = healed
            .faults
            .iter()
            .map(|fault| fault.stop.as_ref().map(|stop| stop.at_ms))
            .collect();
        assert_eq!(stops, [Some(1_500), Some(2_100), None]);
        assert_eq!(healed.clients, schedule.clients);
        assert_eq!(healed.size().time_limit_ms, schedule.size().time_limit_ms);
    }
}
