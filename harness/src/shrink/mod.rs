//! Shrinking: the smallest schedule that still fails the same way.
//!
//! [`shrink`] edits a failing [`Schedule`] and reruns it, keeping an edit only when the run
//! still shows a violation of the same check (`invariant leader-completeness`,
//! `linearizability`, ...; [`target_check`] picks it).
//!
//! What makes it fast ([`tester`]): a candidate's run stops at the first violation of the
//! kept invariant, and one with none long after the best schedule's is given up; a candidate
//! tried before is answered from a cache; and what comes after the violation is cut first
//! (the run is the same up to it without it), so every later run is short.
//!
//! Passes, in order: cut after the violation; for a workload whose clients draw their own
//! operations (the registry's), fewer clients ([`settings`]); cut the first seconds off, to
//! half a second, one or two seconds before a fault, and move the rest earlier ([`shift`],
//! the latest fault first, with a few seeds, more for the short runs of the cuts before the
//! fault the violation falls in); for linearizability, every operation moved
//! onto the counterexample's key (a stale read then no longer needs a lucky draw of keys),
//! then only the operations on that key, then only the clients of its operation and of those
//! concurrent with it ([`focus`], one step each, with a few seeds); drop every operation,
//! then every fault (each with a few seeds: see below); snapshots off, else a smaller
//! snapshot threshold ([`settings`]: a snapshot bug needs a dozen writes, not a hundred); drop
//! faults (ddmin); cut again; heal sooner when the heal at the time limit set the violation
//! off (the heal alone moved earlier first, then the run cut there); cut the time limit
//! (bisection); drop clients (whole clients before single operations, two or more at once
//! with a few seeds); thin the operations out evenly (every second one, with a few seeds); drop
//! operations close in time in sweeps of halving size, from the latest
//! ([`ddmin::remove_chunks`], the longer runs with a few seeds); move each fault (start later,
//! end earlier); fewer keys; values renumbered 1, 2, 3...; the time limit again; fewer nodes.
//! Then every pass again, while a round still shrinks.
//!
//! Every candidate's faults follow the leader
//! ([`crate::nemesis::Listed::following_leader`]): an edit elects other leaders, and a fault
//! recorded against the leader would otherwise hit a follower.
//!
//! The seed is part of the schedule, and the boldest edits try a few: a timing bug fails for
//! few seeds, and which ones changes with every edit (dropping one operation moves every
//! later message's delay), so without them it keeps most operations. The minimal schedule
//! names the seed it fails with. Every run is deterministic, so the same schedule shrinks the same way; only the
//! wall-time limit can stop it early, and then the answer is the smallest failing schedule
//! found so far.

pub mod ddmin;
mod focus;
pub mod report;
mod settings;
mod shift;
mod simplify;
mod structure;
mod tester;
mod words;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::catalogue::search::{fired, from_outside};
use crate::run::plugins::Plugins;
use crate::schedule::{Schedule, Size};
pub use tester::Profile;
use tester::{Outcome, Tester, run_stopping, violation_ms};

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
    /// Print a line per run (the pass, the candidate's size, its verdict and cost).
    pub trace: bool,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            time_limit: Duration::from_secs(120),
            check: None,
            fewer_nodes: true,
            progress: false,
            trace: false,
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
    /// What the runs cost.
    pub profile: Profile,
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
    // Every candidate's faults are aimed at its own run's leader (an edit elects others);
    // the schedule as given runs the same so when its leaders are those recorded. If the
    // schedule was edited by hand so that following changes what it does, it is shrunk as
    // it is written.
    let mut given = Schedule {
        follow_leader: true,
        ..schedule.clone()
    };
    let mut first = run_stopping(&given, plugins, None)
        .ok_or_else(|| "the schedule's run panicked the harness".to_owned())?;
    if !schedule.follow_leader && !fails_as_asked(&first, options) {
        given = schedule.clone();
        first = run_stopping(&given, plugins, None)
            .ok_or_else(|| "the schedule's run panicked the harness".to_owned())?;
    }
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
    let outcome = Outcome {
        fails: true,
        violation_ms: violation_ms(&first, &check),
        focus: focus::focus_of(&first, &check, schedule.config.workload.concurrency),
    };
    let deadline = start + options.time_limit;
    let mut tester = Tester::new(plugins, check.clone(), given, outcome, deadline);
    tester.bar = progress_bar(options.progress);
    tester.trace = options.trace;
    // Every pass again while a round still shrinks and time is left: each edit kept moves
    // the timing, so an edit refused in one round may fail in the next.
    loop {
        let size = tester.best.size();
        all_passes(&mut tester, options.fewer_nodes);
        if tester.out_of_time || tester.best.size() == size {
            break;
        }
    }
    tester.bar.finish_and_clear();
    Ok(Shrunk {
        check,
        before: schedule.size(),
        after: tester.best.size(),
        minimal: tester.best,
        runs: tester.runs,
        wall: start.elapsed(),
        out_of_time: tester.out_of_time,
        profile: tester.profile,
    })
}

/// Whether `output`'s run fails the check `options` asks for (any check, when none is asked).
fn fails_as_asked(output: &crate::run::runner::RunOutput, options: &ShrinkOptions) -> bool {
    let (checks, _) = fired(&output.result);
    match &options.check {
        Some(check) => checks.contains(check),
        None => target_check(&checks).is_some(),
    }
}

/// Every pass, in order (see the module's doc).
fn all_passes(tester: &mut Tester<'_>, fewer_nodes: bool) {
    tester.truncate();
    tester.fewer_drawing_clients();
    tester.start_later();
    tester.onto_focus_key();
    tester.project_keys();
    tester.project_clients();
    tester.no_operations();
    tester.no_faults();
    tester.smaller_snapshots();
    tester.faults();
    tester.truncate();
    tester.heal_sooner();
    tester.time_limit();
    tester.clients();
    tester.thin_operations();
    tester.operations();
    tester.move_faults();
    tester.fewer_keys();
    tester.simpler_values();
    tester.truncate();
    tester.time_limit();
    if fewer_nodes {
        tester.nodes();
    }
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

/// A schedule for the shrinker's unit tests: seed 1, the default key-value test, no fault,
/// no operation, faults not following the leader.
#[cfg(test)]
fn kv_schedule() -> Schedule {
    Schedule {
        seed: 1,
        plant: None,
        core_assertions: true,
        config: crate::run::config::TestConfig::new(
            rafty_workloads::WorkloadKind::named("kv").expect("kv"),
        ),
        faults: Vec::new(),
        clients: std::collections::BTreeMap::new(),
        follow_leader: false,
    }
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
