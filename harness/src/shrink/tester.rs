//! Testing one candidate schedule: does it still fail the kept check? Each run stops at the
//! first violation of the kept invariant (nothing after it can matter), a candidate already
//! tried is answered from a cache, and what the runs cost is counted ([`Profile`]).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::catalogue::search::fired;
use crate::run::plugins::Plugins;
use crate::run::runner::{self, Inputs, RunOptions, RunOutput, StopEarly};
use crate::schedule::Schedule;
use crate::sim::recorder::spool_ops;
use rafty_checkers::linearizability::Counterexample;

use super::ddmin::Verdict;
use super::focus::{Focus, focus_of};

/// What the shrink's runs cost: where the wall time went, and how much the cache and the
/// early stops saved.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    /// Candidates answered from the cache (no run).
    pub cached: u64,
    /// Runs stopped at the kept invariant's first violation.
    pub stopped_at_violation: u64,
    /// Runs given up as passing (no violation long after the best schedule's).
    pub given_up: u64,
    /// Wall time spent simulating.
    pub simulation: Duration,
    /// Wall time spent after the simulation (judging the history, building the result).
    pub judging: Duration,
    /// Simulated time, all runs.
    pub simulated: Duration,
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "simulating {:.1}s wall ({:.0}s simulated), judging {:.1}s; {} stopped at the \
             violation, {} given up, {} answered from the cache",
            self.simulation.as_secs_f64(),
            self.simulated.as_secs_f64(),
            self.judging.as_secs_f64(),
            self.stopped_at_violation,
            self.given_up,
            self.cached
        )
    }
}

/// The invariant a check names (`invariant leader-completeness` → `leader-completeness`;
/// the node's own assertion → `node-panic`), `None` for the other checks.
pub fn invariant_of(check: &str) -> Option<&str> {
    let rest = check.strip_prefix("invariant ")?;
    rest.split(' ').next()
}

/// The shrink's state: the kept check, the smallest failing schedule so far, the budget.
pub struct Tester<'p> {
    pub plugins: &'p Plugins,
    /// The check every kept edit still fails.
    pub check: String,
    pub deadline: Instant,
    /// Runs made, the first included.
    pub runs: u64,
    pub out_of_time: bool,
    pub bar: ProgressBar,
    /// Print a line per candidate.
    pub trace: bool,
    pub profile: Profile,
    /// The smallest failing schedule so far.
    pub best: Schedule,
    /// When `best` first violates the kept invariant, in simulated milliseconds.
    pub best_violation_ms: Option<u64>,
    /// What `best`'s counterexample names (linearizability only).
    pub best_focus: Option<Focus>,
    /// Candidates tried: their hash and what their run showed.
    cache: BTreeMap<u64, Outcome>,
}

/// What a candidate's run showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Whether it failed the kept check.
    pub fails: bool,
    /// When it first failed it, in simulated milliseconds (see [`violation_ms`]).
    pub violation_ms: Option<u64>,
    /// What its counterexample names, when it failed linearizability.
    pub focus: Option<Focus>,
}

impl Outcome {
    fn passes() -> Outcome {
        Outcome {
            fails: false,
            violation_ms: None,
            focus: None,
        }
    }
}

impl<'p> Tester<'p> {
    /// A tester of `check` starting from `best`, whose run showed `outcome` (a failure).
    pub fn new(
        plugins: &'p Plugins,
        check: String,
        best: Schedule,
        outcome: Outcome,
        deadline: Instant,
    ) -> Self {
        let mut cache = BTreeMap::new();
        cache.insert(hash(&best), outcome.clone());
        Tester {
            plugins,
            check,
            deadline,
            runs: 1,
            out_of_time: false,
            bar: ProgressBar::hidden(),
            trace: false,
            profile: Profile::default(),
            best,
            best_violation_ms: outcome.violation_ms,
            best_focus: outcome.focus,
            cache,
        }
    }

    /// Whether `candidate` still fails the check; the best so far when it does and is no
    /// bigger.
    pub fn test(&mut self, pass: &str, candidate: &Schedule) -> Verdict {
        let key = hash(candidate);
        let outcome = match self.cache.get(&key) {
            Some(known) => {
                self.profile.cached += 1;
                known.clone()
            }
            None => {
                if self.out_of_time || Instant::now() >= self.deadline {
                    self.out_of_time = true;
                    return Verdict::OutOfTime;
                }
                let outcome = self.run(pass, candidate);
                self.cache.insert(key, outcome.clone());
                outcome
            }
        };
        if !outcome.fails {
            return Verdict::Passes;
        }
        let (size, best) = (candidate.size(), self.best.size());
        if size.operations + size.faults <= best.operations + best.faults {
            self.best = candidate.clone();
            self.best_violation_ms = outcome.violation_ms;
            self.best_focus = outcome.focus;
        }
        Verdict::Fails
    }

    /// Whether `candidate` fails with its own seed or one of the `seeds - 1` after it (the
    /// first that fails is kept). A timing bug fails for few seeds of a schedule, and for
    /// which ones changes with every edit: a bold edit (no operations at all) is worth a few.
    pub fn test_seeds(&mut self, pass: &str, candidate: &Schedule, seeds: u64) -> Verdict {
        for offset in 0..seeds.max(1) {
            let mut reseeded = candidate.clone();
            reseeded.seed = candidate.seed.wrapping_add(offset);
            match self.test(pass, &reseeded) {
                Verdict::Passes => {}
                decided => return decided,
            }
        }
        Verdict::Passes
    }

    /// Run `candidate`: whether it fails the check, when, and what its counterexample names.
    fn run(&mut self, pass: &str, candidate: &Schedule) -> Outcome {
        self.runs += 1;
        self.bar.set_message(format!(
            "{pass}: run {}, smallest failing: {}",
            self.runs,
            self.best.size()
        ));
        self.bar.tick();
        let invariant = invariant_of(&self.check).map(str::to_owned);
        // A run with no violation long after the best schedule's is given up as passing: a
        // candidate that would fail later still is lost, never a wrong one kept. The
        // linearizability checker judges only once the run stops, so its runs stop a margin
        // after the best schedule's first unlinearizable operation returned, and their history
        // so far is judged (operations still open count as indeterminate: a prefix that is
        // not linearizable makes every longer history fail too).
        let give_up_at = match (&invariant, self.best_violation_ms) {
            (Some(_), Some(at_ms)) => Some(Duration::from_millis(at_ms) + INVARIANT_MARGIN),
            (None, Some(at_ms)) if self.check == LINEARIZABILITY => {
                Some(Duration::from_millis(at_ms) + LINEARIZABILITY_MARGIN)
            }
            _ => None,
        };
        let stop = StopEarly {
            at_violation_of: invariant.clone(),
            give_up_at,
        };
        let started = Instant::now(); // outside the simulation: the profile's wall time
        let output = run_stopping(candidate, self.plugins, Some(&stop));
        let wall = started.elapsed();
        let Some(output) = output else {
            self.trace_line(pass, candidate, "the harness panicked", wall);
            return Outcome::passes();
        };
        let simulation = &output.result.checks.simulation;
        let simulation_wall = Duration::from_millis(simulation.wall_ms);
        let simulated = Duration::from_millis(simulation.simulated_ms);
        self.profile.simulation += simulation_wall;
        self.profile.judging += wall.saturating_sub(simulation_wall);
        self.profile.simulated += simulated;
        let violation_ms = violation_ms(&output, &self.check);
        let fails = match &invariant {
            Some(_) => violation_ms.is_some(),
            None => fired(&output.result).0.contains(&self.check),
        };
        if invariant.is_some() && violation_ms.is_some() {
            self.profile.stopped_at_violation += 1;
        } else if give_up_at.is_some_and(|at| simulated >= at) {
            if fails {
                self.profile.stopped_at_violation += 1;
            } else {
                self.profile.given_up += 1;
            }
        }
        let verdict = match violation_ms {
            Some(at_ms) => format!("fails at {:.3}s", at_ms as f64 / 1000.0),
            None if fails => "fails".to_owned(),
            None => "passes".to_owned(),
        };
        let line = format!(
            "{verdict}; simulated {:.1}s in {:.2}s, judged in {:.2}s",
            simulated.as_secs_f64(),
            simulation_wall.as_secs_f64(),
            wall.saturating_sub(simulation_wall).as_secs_f64()
        );
        self.trace_line(pass, candidate, &line, wall);
        let concurrency = candidate.config.workload.concurrency;
        Outcome {
            fails,
            violation_ms,
            focus: fails
                .then(|| focus_of(&output, &self.check, concurrency))
                .flatten(),
        }
    }

    fn trace_line(&self, pass: &str, candidate: &Schedule, what: &str, wall: Duration) {
        if self.trace {
            self.bar.suspend(|| {
                eprintln!(
                    "run {:>4} {pass:<16} {}: {what} ({:.2}s wall)",
                    self.runs,
                    candidate.size(),
                    wall.as_secs_f64()
                )
            });
        }
    }
}

/// The check named `linearizability` (as [`fired`] names it).
pub const LINEARIZABILITY: &str = "linearizability";

/// How long after the best schedule's first violation of the kept invariant a candidate's
/// run goes on before it is given up as passing: room for an edit that moved an election or
/// a heal a little later. The run would otherwise go on to its time limit and the settle
/// check's quiet period after it (3 s), and most candidates pass: this is most of what a
/// shrink simulates.
const INVARIANT_MARGIN: Duration = Duration::from_millis(1_500);

/// How long after the best schedule's first unlinearizable operation returned a candidate's
/// run goes on before it is judged: room for the same operation to return a little later
/// when an edit moved the timing (at least a pinned client's request timeout).
const LINEARIZABILITY_MARGIN: Duration = Duration::from_millis(1_000);

/// When `output`'s run first failed `check`, in simulated milliseconds: an invariant's first
/// violation, or for `linearizability` the return of the operation the checker could not
/// linearize (its invocation, if it never returned); `None` for other checks.
pub fn violation_ms(output: &RunOutput, check: &str) -> Option<u64> {
    if check == LINEARIZABILITY {
        return unlinearizable_ms(output);
    }
    let invariant = invariant_of(check)?;
    let violations = &output.result.checks.invariants.violations;
    violations
        .iter()
        .filter(|violation| violation.invariant == invariant)
        .map(|violation| violation.time_ns / 1_000_000)
        .min()
}

/// When the operation of the linearizability checker's counterexample returned (or was
/// invoked, if it never returned), in simulated milliseconds, read from the run's history.
fn unlinearizable_ms(output: &RunOutput) -> Option<u64> {
    let counterexample = output
        .result
        .checks
        .linearizability
        .get("counterexample")
        .cloned()
        .and_then(|value| serde_json::from_value::<Counterexample>(value).ok())?;
    let operation = &counterexample.operation;
    let index = operation.completion_index.unwrap_or(operation.invoke_index);
    let spool = output.history_spool.as_ref()?;
    let mut ops = spool_ops(spool.path()).ok()?;
    let event = ops.find_map(|event| event.ok().filter(|event| event.op.index == index))?;
    event.op.time.map(|ns| ns / 1_000_000)
}

/// One run of `schedule`, stopped as `stop` says; a panic of the harness caught (`None`).
pub fn run_stopping(
    schedule: &Schedule,
    plugins: &Plugins,
    stop: Option<&StopEarly>,
) -> Option<RunOutput> {
    let inputs = Inputs::Listed {
        faults: &schedule.faults,
        client_ops: &schedule.clients,
        follow_leader: schedule.follow_leader,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let options = RunOptions::default();
        let config = &schedule.config;
        runner::run_inputs_stopping(config, schedule.seed, plugins, options, inputs, stop)
    }))
    .ok()
}

/// A schedule's hash (its file's text, hashed the same way on every run and machine).
fn hash(schedule: &Schedule) -> u64 {
    // `DefaultHasher::new()` has fixed keys: the same text always gives the same hash.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    schedule.to_json().hash(&mut hasher);
    schedule.plant.hash(&mut hasher);
    hasher.finish()
}
