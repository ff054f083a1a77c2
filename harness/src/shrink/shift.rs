//! Starting later: the schedule with its first seconds cut off and the rest moved earlier,
//! so that a late fault (a figure-8 sequence at 6.5 s, a pause of the leader at 5.4 s) comes
//! a second after the start with only the operations around it.
//!
//! The bugs whose violation comes late in a busy run keep hundreds of operations through
//! ddmin: each one dropped moves every later message's delay, and with it the timing the
//! violation needs. What comes long before the fault that matters mostly builds up a log;
//! cutting it all in one step, with a few seeds (the cluster must elect a leader again, and
//! which node it is changes with the seed), removes it without learning it chunk by chunk.

use crate::schedule::Schedule;

use super::ddmin::Verdict;
use super::tester::Tester;

/// Seeds tried for each cut.
const SHIFT_SEEDS: u64 = 6;

/// Simulated time spent on each cut just before the fault the violation falls in (the
/// latest that started before it), in milliseconds: its seeds are as many as fit, between
/// [`SHIFT_SEEDS`] and [`MOST_SHIFT_SEEDS`]. That cut leaves the shortest run that may still
/// fail, so a seed costs little there, and a timing bug whose window closes soon after that
/// fault (a stale read just before the time limit) fails for few of them.
const VIOLATING_CUT_BUDGET_MS: u64 = 40_000;

/// The most seeds tried for one cut.
const MOST_SHIFT_SEEDS: u64 = 24;

/// What a candidate's run simulates past its time limit, at most, in milliseconds (the
/// settle check's quiet period, or the shrinker's give-up margin): a seed's cost is its time
/// limit plus this.
const PAST_LIMIT_MS: u64 = 1_500;

/// How long before a fault a cut leaves, in simulated milliseconds: room for the first
/// election (the harness's election timeouts are 100 to 300 ms) and for operations in flight
/// when the fault starts. The shortest first: it leaves the fewest operations.
const LEADS_MS: [u64; 3] = [500, 1_000, 2_000];

impl Tester<'_> {
    /// Cut the schedule's start off just before a fault (the latest fault first, then
    /// earlier ones; half a second, one, then two seconds before it), keeping the first cut
    /// that still fails. The cuts before the fault the violation falls in are tried with
    /// more seeds when their runs are short ([`VIOLATING_CUT_BUDGET_MS`]).
    pub fn start_later(&mut self) {
        let mut starts: Vec<u64> = self.best.faults.iter().map(|f| f.start_ms).collect();
        starts.sort_unstable_by(|a, b| b.cmp(a));
        let violating = self
            .best_violation_ms
            .and_then(|at_ms| starts.iter().copied().find(|&start| start <= at_ms));
        let mut tried = Vec::new();
        for start in starts {
            for lead in LEADS_MS {
                let Some(shift) = start.checked_sub(lead).filter(|&shift| shift > 0) else {
                    continue;
                };
                if tried.contains(&shift) {
                    continue;
                }
                tried.push(shift);
                let candidate = shifted(&self.best, shift);
                let seeds = match violating {
                    Some(violating) if violating == start => seeds_within(&candidate),
                    _ => SHIFT_SEEDS,
                };
                match self.test_seeds("start later", &candidate, seeds) {
                    Verdict::Fails | Verdict::OutOfTime => return,
                    Verdict::Passes => {}
                }
            }
        }
    }
}

/// How many seeds of `candidate` fit in [`VIOLATING_CUT_BUDGET_MS`] of simulated time,
/// between [`SHIFT_SEEDS`] and [`MOST_SHIFT_SEEDS`].
fn seeds_within(candidate: &Schedule) -> u64 {
    let run_ms = candidate.size().time_limit_ms + PAST_LIMIT_MS;
    (VIOLATING_CUT_BUDGET_MS / run_ms.max(1)).clamp(SHIFT_SEEDS, MOST_SHIFT_SEEDS)
}

/// `schedule` starting `shift_ms` later: what came before dropped (operations, and faults
/// that started before), the rest moved `shift_ms` earlier, the time limit with it.
pub fn shifted(schedule: &Schedule, shift_ms: u64) -> Schedule {
    let mut candidate = schedule.clone();
    let limit = candidate.config.workload.time_limit;
    candidate.config.workload.time_limit =
        limit.saturating_sub(std::time::Duration::from_millis(shift_ms));
    candidate.faults.retain(|fault| fault.start_ms >= shift_ms);
    for fault in &mut candidate.faults {
        fault.start_ms -= shift_ms;
        for step in &mut fault.actions {
            step.at_ms = step.at_ms.saturating_sub(shift_ms);
        }
        if let Some(stop) = &mut fault.stop {
            stop.at_ms = stop.at_ms.saturating_sub(shift_ms);
        }
    }
    for ops in candidate.clients.values_mut() {
        ops.retain(|op| op.at_ms >= shift_ms);
        for op in ops.iter_mut() {
            op.at_ms -= shift_ms;
        }
    }
    candidate.clients.retain(|_, ops| !ops.is_empty());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::{Action, FaultKind, FaultRecord, FaultStop, TimedAction};
    use crate::sim::client::OpRecord;
    use rafty_workloads::ClientOp;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn fault(start_ms: u64, stop_ms: u64) -> FaultRecord {
        FaultRecord {
            kind: FaultKind::named("kill").expect("kill"),
            slot: 0,
            start_ms,
            description: "kill".into(),
            actions: vec![TimedAction {
                at_ms: start_ms,
                action: Action::Kill(1),
                leader: None,
            }],
            stop: Some(FaultStop {
                at_ms: stop_ms,
                description: "restart".into(),
            }),
            leader: None,
        }
    }

    fn read_at(at_ms: u64) -> OpRecord {
        OpRecord {
            at_ms,
            op: ClientOp::Read { key: "k1".into() },
            pause_us: 0,
        }
    }

    /// A cut drops the faults that started before it and the operations before it, and
    /// moves everything after it (fault steps, stops, operations, the time limit) earlier.
    #[test]
    fn a_later_start_drops_what_came_before_and_moves_the_rest() {
        let mut schedule = Schedule {
            faults: vec![fault(1_000, 3_000), fault(5_000, 6_000)],
            clients: BTreeMap::from([(0, vec![read_at(500)]), (1, vec![read_at(4_500)])]),
            ..crate::shrink::kv_schedule()
        };
        schedule.config.workload.time_limit = Duration::from_secs(7);
        let cut = shifted(&schedule, 4_000);
        assert_eq!(cut.config.workload.time_limit, Duration::from_secs(3));
        assert_eq!(cut.faults.len(), 1);
        assert_eq!(cut.faults[0].start_ms, 1_000);
        assert_eq!(cut.faults[0].actions[0].at_ms, 1_000);
        assert_eq!(
            cut.faults[0].stop.as_ref().map(|stop| stop.at_ms),
            Some(2_000)
        );
        assert_eq!(cut.clients.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(cut.clients[&1][0].at_ms, 500);
    }

    /// A short cut gets as many seeds as fit in the budget, a long one the usual few.
    #[test]
    fn a_short_cut_gets_more_seeds() {
        let mut schedule = crate::shrink::kv_schedule();
        schedule.config.workload.time_limit = Duration::from_millis(100);
        assert_eq!(seeds_within(&schedule), MOST_SHIFT_SEEDS);
        schedule.config.workload.time_limit = Duration::from_millis(500);
        assert_eq!(seeds_within(&schedule), 20);
        schedule.config.workload.time_limit = Duration::from_millis(2_500);
        assert_eq!(seeds_within(&schedule), 10);
        schedule.config.workload.time_limit = Duration::from_secs(8);
        assert_eq!(seeds_within(&schedule), SHIFT_SEEDS);
    }
}
