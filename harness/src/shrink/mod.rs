//! Shrinking: the smallest schedule that still fails the same way.
//!
//! [`shrink`] edits a failing [`Schedule`] and reruns it, keeping an edit only when the run
//! still shows a violation of the same check (`invariant leader-completeness`,
//! `linearizability`, ...; [`target_check`] picks it). Passes, in order: cut the time limit
//! (bisection), drop faults (ddmin), shorten each fault left, cut the time limit again, drop
//! clients (ddmin), drop operations (ddmin), cut the time limit once more, fewer nodes. Every run is deterministic, so
//! the same schedule shrinks the same way; only the time limit can stop it early, and then the
//! answer is the smallest failing schedule found so far.

pub mod ddmin;
pub mod report;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::catalogue::search::{fired, from_outside};
use crate::run::plugins::Plugins;
use crate::run::runner::{self, Inputs, RunOptions, RunOutput};
use crate::schedule::{Schedule, Size};
use ddmin::{Verdict, ddmin};

/// How to shrink.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// No new run starts after this much wall time.
    pub time_limit: Duration,
    /// The check that must still fire; `None`: [`target_check`] of the first run.
    pub check: Option<String>,
    /// Whether to try fewer nodes.
    pub fewer_nodes: bool,
    /// Show a progress bar (drawn only on a terminal).
    pub progress: bool,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            time_limit: Duration::from_secs(120),
            check: None,
            fewer_nodes: true,
            progress: false,
        }
    }
}

/// What shrinking found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The check every kept edit still fails.
    pub check: String,
    /// The smallest failing schedule found.
    pub minimal: Schedule,
    /// The size before.
    pub before: Size,
    /// The size after.
    pub after: Size,
    /// Runs made, the first (of the schedule as given) included.
    pub runs: u64,
    /// Wall time.
    pub wall: Duration,
    /// Whether the time limit stopped it before every pass finished.
    pub out_of_time: bool,
}

/// The check a shrink keeps failing, from the checks a run fired (as
/// [`crate::catalogue::search::fired`] names them): an invariant judged from outside the
/// node first (it needs the fewest operations to show), then durability, then
/// linearizability, then whatever else fired (liveness, the node's own assertion).
pub fn target_check(checks: &[String]) -> Option<String> {
    let rank = |check: &String| {
        if !from_outside(std::slice::from_ref(check)) {
            3
        } else if check.starts_with("invariant ") {
            0
        } else if check == "durability" {
            1
        } else {
            2
        }
    };
    checks.iter().min_by_key(|check| rank(check)).cloned()
}

/// Shrink `schedule` (run with `plugins`). An error when it does not fail (or not with the
/// check asked for).
pub fn shrink(
    schedule: &Schedule,
    plugins: &Plugins,
    options: &ShrinkOptions,
) -> Result<Shrunk, String> {
    let start = Instant::now(); // outside the simulation: the shrink's wall time
    let first = run(schedule, plugins)
        .ok_or_else(|| "the schedule's run panicked the harness".to_owned())?;
    let (checks, _) = fired(&first.result);
    let check = match &options.check {
        Some(check) if checks.contains(check) => check.clone(),
        Some(check) => {
            return Err(format!(
                "the schedule's run does not fail `{check}` (it fails: {})",
                describe(&checks)
            ));
        }
        None => target_check(&checks).ok_or_else(|| {
            format!(
                "the schedule's run does not fail (its verdict: {})",
                first.result.valid.describe()
            )
        })?,
    };
    let bar = progress_bar(options.progress);
    let mut shrinker = Shrinker {
        plugins,
        check: check.clone(),
        deadline: start + options.time_limit,
        runs: 1,
        out_of_time: false,
        bar,
        best: schedule.clone(),
    };
    shrinker.all_passes(options.fewer_nodes);
    shrinker.bar.finish_and_clear();
    Ok(Shrunk {
        check,
        before: schedule.size(),
        after: shrinker.best.size(),
        minimal: shrinker.best,
        runs: shrinker.runs,
        wall: start.elapsed(),
        out_of_time: shrinker.out_of_time,
    })
}

fn describe(checks: &[String]) -> String {
    if checks.is_empty() {
        "nothing".into()
    } else {
        checks.join("; ")
    }
}

fn progress_bar(show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} shrinking [{elapsed_precise}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar
}

/// One run of `schedule`, a panic of the harness caught (`None`).
fn run(schedule: &Schedule, plugins: &Plugins) -> Option<RunOutput> {
    let inputs = Inputs::Listed {
        faults: &schedule.faults,
        client_ops: &schedule.clients,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let options = RunOptions::default();
        runner::run_inputs(&schedule.config, schedule.seed, plugins, options, inputs)
    }))
    .ok()
}

struct Shrinker<'p> {
    plugins: &'p Plugins,
    check: String,
    deadline: Instant,
    runs: u64,
    out_of_time: bool,
    bar: ProgressBar,
    /// The smallest failing schedule so far.
    best: Schedule,
}

impl Shrinker<'_> {
    fn all_passes(&mut self, fewer_nodes: bool) {
        // The time limit first: a shorter run drops the faults and operations after it and
        // makes every later run cheaper.
        self.time_limit();
        self.faults();
        self.shorten_faults();
        self.time_limit();
        self.clients();
        self.operations();
        self.time_limit();
        if fewer_nodes {
            self.nodes();
        }
    }

    /// Whether `candidate` still fails the check; the best so far when it does.
    fn test(&mut self, pass: &str, candidate: &Schedule) -> Verdict {
        if self.out_of_time || Instant::now() >= self.deadline {
            self.out_of_time = true;
            return Verdict::OutOfTime;
        }
        self.runs += 1;
        self.bar.set_message(format!(
            "{pass}: run {}, smallest failing: {}",
            self.runs,
            self.best.size()
        ));
        self.bar.tick();
        let fails = run(candidate, self.plugins).is_some_and(|output| {
            let (checks, _) = fired(&output.result);
            checks.contains(&self.check)
        });
        if fails {
            if candidate.size().operations + candidate.size().faults
                <= self.best.size().operations + self.best.size().faults
            {
                self.best = candidate.clone();
            }
            Verdict::Fails
        } else {
            Verdict::Passes
        }
    }

    /// Drop faults.
    fn faults(&mut self) {
        let base = self.best.clone();
        let indices: Vec<usize> = (0..base.faults.len()).collect();
        let kept = ddmin(indices, &mut |keep: &[usize]| {
            let mut candidate = base.clone();
            candidate.faults = keep.iter().map(|&i| base.faults[i].clone()).collect();
            self.test("faults", &candidate)
        });
        self.best.faults = kept.iter().map(|&i| base.faults[i].clone()).collect();
    }

    /// Halve each fault's length (its later steps move toward its start), while it fails.
    fn shorten_faults(&mut self) {
        for index in 0..self.best.faults.len() {
            loop {
                let mut candidate = self.best.clone();
                let fault = &mut candidate.faults[index];
                let start = fault.start_ms;
                let halve = |at: u64| start + (at - start) / 2;
                if fault.end_ms() - start < 20 {
                    break;
                }
                for step in &mut fault.actions {
                    step.at_ms = halve(step.at_ms);
                }
                if let Some(stop) = &mut fault.stop {
                    stop.at_ms = halve(stop.at_ms);
                }
                if self.test("shorten faults", &candidate) != Verdict::Fails {
                    break;
                }
                self.best = candidate;
            }
        }
    }

    /// The shortest time limit (to 100 ms) that still fails, by bisection.
    fn time_limit(&mut self) {
        const STEP_MS: u64 = 100;
        let mut high = self.best.config.workload.time_limit.as_millis() as u64;
        let mut low = 0;
        while high - low > STEP_MS {
            let middle = ((low + high) / 2).div_ceil(STEP_MS) * STEP_MS;
            if middle >= high {
                break;
            }
            let candidate = cut(&self.best, middle);
            match self.test("time limit", &candidate) {
                Verdict::Fails => {
                    high = middle;
                    self.best = candidate;
                }
                Verdict::Passes => low = middle,
                Verdict::OutOfTime => return,
            }
        }
    }

    /// Drop clients.
    fn clients(&mut self) {
        let base = self.best.clone();
        let ids: Vec<u64> = base.clients.keys().copied().collect();
        let kept = ddmin(ids, &mut |keep: &[u64]| {
            let mut candidate = base.clone();
            candidate.clients.retain(|client, _| keep.contains(client));
            self.test("clients", &candidate)
        });
        self.best.clients.retain(|client, _| kept.contains(client));
    }

    /// Drop operations.
    fn operations(&mut self) {
        let base = self.best.clone();
        let all: Vec<(u64, usize)> = base
            .clients
            .iter()
            .flat_map(|(client, ops)| (0..ops.len()).map(move |i| (*client, i)))
            .collect();
        let only = |keep: &[(u64, usize)]| {
            let mut candidate = base.clone();
            for (client, ops) in &mut candidate.clients {
                let source = &base.clients[client];
                *ops = keep
                    .iter()
                    .filter(|(c, _)| c == client)
                    .map(|&(_, i)| source[i].clone())
                    .collect();
            }
            candidate.clients.retain(|_, ops| !ops.is_empty());
            candidate
        };
        let kept = ddmin(all, &mut |keep: &[(u64, usize)]| {
            self.test("operations", &only(keep))
        });
        let candidate = only(&kept);
        if candidate.size().operations <= self.best.size().operations {
            self.best = candidate;
        }
    }

    /// Fewer nodes (7 to 5 to 3), when no fault names a node past the new count.
    fn nodes(&mut self) {
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
            self.best = candidate;
        }
    }
}

/// `schedule` with its time limit at `limit_ms`: operations and fault steps at or after it
/// dropped (faults then still in effect are healed at the new limit).
pub fn cut(schedule: &Schedule, limit_ms: u64) -> Schedule {
    let mut cut = schedule.clone();
    cut.config.workload.time_limit = Duration::from_millis(limit_ms);
    cut.faults.retain(|fault| fault.start_ms < limit_ms);
    for fault in &mut cut.faults {
        fault.actions.retain(|step| step.at_ms < limit_ms);
        if fault
            .stop
            .as_ref()
            .is_some_and(|stop| stop.at_ms >= limit_ms)
        {
            fault.stop = None;
        }
    }
    for ops in cut.clients.values_mut() {
        ops.retain(|op| op.at_ms < limit_ms);
    }
    cut.clients.retain(|_, ops| !ops.is_empty());
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_an_invariant_from_outside_before_linearizability() {
        let checks =
            |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        assert_eq!(
            target_check(&checks(&["linearizability", "invariant one-vote-per-term"])),
            Some("invariant one-vote-per-term".into())
        );
        assert_eq!(
            target_check(&checks(&["liveness", "linearizability"])),
            Some("linearizability".into())
        );
    }

    #[test]
    fn the_target_is_the_first_check_from_outside() {
        let checks =
            |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        assert_eq!(
            target_check(&checks(&[
                "invariant node-panic (the node's own assertion)",
                "liveness",
                "invariant log-matching"
            ])),
            Some("invariant log-matching".into())
        );
        assert_eq!(
            target_check(&checks(&["liveness"])),
            Some("liveness".into())
        );
        assert_eq!(target_check(&[]), None);
    }
}
