//! Many runs: a range of seeds (or a deterministic shard of it), each run judged and stored,
//! with a progress bar and a summary.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::config::TestConfig;
use super::plugins::Plugins;
use super::pool::run_seeds;
use super::progress::RunProgress;
use super::results::Validity;
use super::runner::{self, RunOptions};
use super::store::{self, Artifacts};
use crate::schedule::Schedule;

/// `--shard i/n`: the i-th of n deterministic slices of the seeds (1-based): seed number `k`
/// of the range (0-based) belongs to shard `k % n + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad shard `{text}`: expected i/n with 1 <= i <= n, e.g. 3/8");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seeds `first..first + count`, restricted to `shard` if given. Never wraps: seeds past
/// `u64::MAX` do not exist and are left out (`rafty test` refuses such a range up front, see
/// [`seed_range_overflows`]).
pub fn seeds(first: u64, count: u64, shard: Option<Shard>) -> Vec<u64> {
    (0..count)
        .filter(|k| shard.is_none_or(|shard| k % shard.count == shard.index - 1))
        .map_while(|k| first.checked_add(k))
        .collect()
}

/// Whether the `count` seeds from `first` on would run past `u64::MAX`.
pub fn seed_range_overflows(first: u64, count: u64) -> bool {
    count > 0 && first.checked_add(count - 1).is_none()
}

/// How to run a suite.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    /// The seeds to run.
    pub seeds: Vec<u64>,
    /// The store's root folder (`store`); `None` writes nothing.
    pub store: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// Runs at once, on separate threads (each simulation is single-threaded and isolated).
    pub jobs: usize,
}

/// One run's outcome, as the summary lists it.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The seed.
    pub seed: u64,
    /// The verdict.
    pub valid: Validity,
    /// `safety`, `liveness` or `none`.
    pub failure: &'static str,
    /// Where it was stored, if it was.
    pub dir: Option<PathBuf>,
    /// The command that reproduces it.
    pub reproduce: String,
    /// Simulated and wall milliseconds.
    pub simulated_ms: u64,
    /// Wall-clock milliseconds.
    pub wall_ms: u64,
    /// Why the run is not valid, in one line.
    pub reason: String,
    /// Why the run's folder could not be written, if a store was asked for and failed.
    pub store_error: Option<String>,
}

/// The outcome of a suite.
#[derive(Clone, Debug, Default)]
pub struct SuiteSummary {
    /// Every run, in seed order.
    pub runs: Vec<RunSummary>,
}

impl SuiteSummary {
    /// The suite's verdict: invalid if any run is, else unknown if any is, else valid.
    pub fn validity(&self) -> Validity {
        self.runs
            .iter()
            .fold(Validity::Valid, |all, run| all.and(run.valid))
    }

    /// The runs whose results could not be written to the store.
    pub fn unstored(&self) -> impl Iterator<Item = &RunSummary> {
        self.runs.iter().filter(|run| run.store_error.is_some())
    }

    /// How many runs had `validity`.
    pub fn count(&self, validity: Validity) -> usize {
        self.runs.iter().filter(|run| run.valid == validity).count()
    }
}

/// Run `config` once per seed.
pub fn run_suite(config: &TestConfig, plugins: &Plugins, options: &SuiteOptions) -> SuiteSummary {
    let reproduce = |seed| match &plugins.reproduce {
        // A user's own parts are rerun by their own test, not by `rafty test`.
        Some(command) => command(seed),
        None => super::judge::reproduce_command(config, seed),
    };
    run_suite_with(
        config,
        &config.name(),
        options,
        reproduce,
        |seed, run_options| runner::run_caught(config, seed, plugins, run_options),
    )
}

/// Run `config` once per seed with `run` (a simulated run, or a real-process one): each seed's
/// output, or why it has none (the run is then reported unknown). Every run's reproduction
/// command is `reproduce(seed)`, whether it ran or not. The suite's reports go under the test
/// `name`.
pub fn run_suite_with(
    config: &TestConfig,
    name: &str,
    options: &SuiteOptions,
    reproduce: impl Fn(u64) -> String + Sync,
    run: impl Fn(u64, RunOptions) -> Result<runner::RunOutput, String> + Sync,
) -> SuiteSummary {
    if let Some(root) = &options.store {
        // Runs spool their histories into the store: it must exist (an unwritable one makes
        // each run unknown, naming the path).
        let _ = std::fs::create_dir_all(root);
    }
    let stamp = store::timestamp();
    let multi = MultiProgress::new();
    let bar = if options.progress && options.seeds.len() > 1 {
        let bar = multi.add(ProgressBar::new(options.seeds.len() as u64));
        let style = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    } else {
        ProgressBar::hidden()
    };
    let not_valid = AtomicUsize::new(0);
    let finished = run_seeds(
        &options.seeds,
        options.jobs,
        || false,
        |seed| {
            let progress = if options.progress {
                RunProgress::new(&multi, seed, config.workload.time_limit)
            } else {
                RunProgress::hidden()
            };
            let run_options = RunOptions {
                spool_dir: options.store.clone(),
                progress,
            };
            let summary = run_one(
                seed,
                reproduce(seed),
                run(seed, run_options),
                &stamp,
                options.store.as_deref(),
            );
            if summary.valid != Validity::Valid {
                bar.println(format!(
                    "seed {seed}: {} ({}) {}",
                    summary.valid.describe(),
                    summary.failure,
                    summary.reason
                ));
                not_valid.fetch_add(1, Ordering::SeqCst);
            }
            bar.set_message(format!("{} not valid", not_valid.load(Ordering::SeqCst)));
            bar.inc(1);
            summary
        },
    );
    bar.finish_and_clear();
    let runs = finished.into_iter().map(|(_, summary)| summary).collect();
    let summary = SuiteSummary { runs };
    if let Some(root) = &options.store {
        write_suite_reports(root, name, &stamp, &summary);
    }
    summary
}

/// `junit.xml` and `summary.json` for the suite in a new folder
/// `store/<test>/suites/<stamp>/` (see [`store::reserve_suite_dir`]), and `store/index.html`.
fn write_suite_reports(root: &std::path::Path, test: &str, stamp: &str, summary: &SuiteSummary) {
    let seeds: Vec<rafty_reports::SeedResult> = summary
        .runs
        .iter()
        .map(|run| rafty_reports::SeedResult {
            seed: run.seed,
            verdict: match run.valid {
                Validity::Valid => rafty_reports::RunVerdict::Valid,
                Validity::Invalid => rafty_reports::RunVerdict::Invalid,
                Validity::Unknown => rafty_reports::RunVerdict::Unknown,
            },
            millis: run.wall_ms,
            report: run.dir.clone().unwrap_or_default(),
            reproduce: run.reproduce.clone(),
            message: run.reason.clone(),
        })
        .collect();
    match store::reserve_suite_dir(root, test, stamp) {
        Ok(dir) => {
            if let Err(error) = rafty_reports::write_junit(&dir, test, &seeds) {
                eprintln!("could not write junit.xml: {error}");
            }
        }
        Err(error) => eprintln!("could not write junit.xml: {error}"),
    }
    if let Err(error) = rafty_reports::write_store_index(root) {
        eprintln!("could not write the store index: {error}");
    }
}

fn run_one(
    seed: u64,
    reproduce: String,
    output: Result<runner::RunOutput, String>,
    stamp: &str,
    store_root: Option<&std::path::Path>,
) -> RunSummary {
    // A panic outside the nodes (in the harness or the simulator) is a bug of the harness; the
    // other seeds still run, and this one is reported unknown with its reproduction command.
    let mut output = match output {
        Ok(output) => output,
        Err(reason) => {
            return RunSummary {
                seed,
                valid: Validity::Unknown,
                failure: "none",
                dir: None,
                reproduce,
                simulated_ms: 0,
                wall_ms: 0,
                reason,
                store_error: None,
            };
        }
    };
    output.result.reproduce = reproduce;
    let result = &output.result;
    let mut store_error = None;
    // A run that is not valid keeps its inputs, to replay and shrink.
    let schedule = (result.valid != Validity::Valid && output.replayable)
        .then(|| Schedule::of_run(&output, seed, None, true));
    let dir = store_root.and_then(|root| {
        let artifacts = Artifacts {
            node_logs: &output.node_logs,
            nemesis_log: &output.nemesis_log,
            spooled_history: output.history_spool.as_ref().map(|spool| spool.path()),
            schedule: schedule.as_ref(),
        };
        match store::write_run(root, stamp, result, &artifacts) {
            Ok(dir) => {
                if let Err(error) = rafty_reports::write_stored_run_report(&dir) {
                    store_error = Some(format!(
                        "could not draw the report in {}: {error}",
                        dir.display()
                    ));
                }
                Some(dir)
            }
            Err(error) => {
                store_error = Some(format!(
                    "could not write the store under {}: {error}",
                    root.display()
                ));
                None
            }
        }
    });
    RunSummary {
        seed,
        valid: result.valid,
        failure: result.failure,
        dir,
        reproduce: result.reproduce.clone(),
        simulated_ms: result.checks.simulation.simulated_ms,
        wall_ms: result.checks.simulation.wall_ms,
        reason: reason(result),
        store_error,
    }
}

/// Why a run is not valid, in one line.
fn reason(result: &super::results::RunResult) -> String {
    let checks = &result.checks;
    let mut reasons = Vec::new();
    if checks.linearizability["valid"] != serde_json::Value::Bool(true) {
        let checker = checks.linearizability["checker"]
            .as_str()
            .unwrap_or("linearizability");
        match checks.linearizability["describe"].as_str() {
            Some(describe) => reasons.push(format!("{checker}: {describe}")),
            None => reasons.push(format!("{checker}: {}", checks.linearizability["valid"])),
        }
    }
    if let Some(violation) = checks.invariants.violations.first() {
        reasons.push(format!(
            "{} violation(s), first: {}: {}",
            checks.invariants.violation_count, violation.invariant, violation.detail
        ));
    }
    if !checks.durability.missing.is_empty() {
        reasons.push(format!(
            "{} acknowledged write(s) missing from the final state",
            checks.durability.missing.len()
        ));
    }
    if !checks.liveness.stalled_windows_ns.is_empty() {
        reasons.push(format!(
            "no progress in {} healthy window(s)",
            checks.liveness.stalled_windows_ns.len()
        ));
    }
    if !checks.liveness.keys_never_read.is_empty() {
        reasons.push(format!(
            "final reads failed for {:?}",
            checks.liveness.keys_never_read
        ));
    }
    if let Some(unanswered) = checks.liveness.unanswered.first() {
        reasons.push(format!(
            "{} node(s) answered nothing of a kind in a healthy window, first: {unanswered}",
            checks.liveness.unanswered.len()
        ));
    }
    if let Some(unsettled) = checks.liveness.unsettled.first() {
        reasons.push(format!(
            "{} problem(s) after the final heal, first: {unsettled}",
            checks.liveness.unsettled.len()
        ));
    }
    if let Some(admin) = checks.liveness.admin.first() {
        reasons.push(format!(
            "{} admin call(s) accepted and not in effect, first: {admin}",
            checks.liveness.admin.len()
        ));
    }
    if let Some(error) = &checks.simulation.error {
        reasons.push(error.clone());
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `u64` seed per run, never wrapped: `u64::MAX` is the last seed there is.
    #[test]
    fn seeds_never_wrap_past_u64_max() {
        assert_eq!(seeds(u64::MAX, 3, None), [u64::MAX]);
        assert!(seed_range_overflows(u64::MAX, 2));
        assert!(seed_range_overflows(u64::MAX - 1, 3));
        assert!(!seed_range_overflows(u64::MAX - 2, 3));
        assert!(!seed_range_overflows(u64::MAX, 1));
        assert!(!seed_range_overflows(u64::MAX, 0));
    }

    #[test]
    fn shards_split_the_seeds_without_overlap() {
        let all = seeds(10, 10, None);
        assert_eq!(all, (10..20).collect::<Vec<_>>());
        let mut union: Vec<u64> = (1..=3)
            .flat_map(|i| seeds(10, 10, Some(Shard { index: i, count: 3 })))
            .collect();
        union.sort_unstable();
        assert_eq!(union, all);
        assert_eq!(seeds(1, 8, Some("3/8".parse().unwrap())), [3]);
    }

    #[test]
    fn bad_shards_are_refused_clearly() {
        for bad in ["0/8", "9/8", "3", "a/b", "1/0"] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(error.contains("expected i/n"), "{bad}: {error}");
        }
    }
}
