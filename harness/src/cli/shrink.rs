//! `rafty shrink <run folder | schedule.json>`: the smallest schedule that still fails the same
//! check, stored as a run of its own with its history, report and `counterexample.txt`.
//!
//! `--catalogue NAME [--seed N]` shrinks a catalogue bug's failing run (at its recorded seed by
//! default; needs `--features mutations` for core bugs); `--catalogue all` shrinks every bug of
//! `harness/catalogue-seeds.tsv` and prints the before-and-after table of CATALOGUE.md.
//!
//! Exit code: 0 when a failing schedule was shrunk, 2 on a bad schedule or one that does not
//! fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalogue::entry::entries;
use crate::catalogue::recorded::{self, RECORDED};
use crate::catalogue::search::setup;
use crate::cli::check::parse_duration;
use crate::cli::number::whole_number;
use crate::cli::replay::run_and_store;
use crate::run::plugins::Plugins;
use crate::run::runner;
use crate::run::store;
use crate::schedule::{self, Schedule};
use crate::shrink::{self, ShrinkOptions, Shrunk, report};

/// Arguments of `rafty shrink`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A failing run's folder, or its `schedule.json` (or nothing, with --catalogue).
    pub schedule: Option<PathBuf>,
    /// No new run starts after this much wall time (e.g. 2m, 30s); the smallest failing
    /// schedule found by then is the answer.
    #[arg(long, default_value = "2m", value_parser = parse_duration, allow_hyphen_values = true)]
    pub time_limit: Duration,
    /// The check that must still fire (as results name it, e.g. `invariant election-safety`,
    /// `linearizability`). Default: an invariant judged from outside the node, then
    /// durability, then linearizability, then whatever fired.
    #[arg(long)]
    pub check: Option<String>,
    /// Keep the number of nodes (by default 7 and 5 are tried smaller when no fault needs them).
    #[arg(long)]
    pub keep_nodes: bool,
    /// Shrink a catalogue bug's failing run: its name, or `all` for every bug recorded in
    /// catalogue-seeds.tsv (prints a table of sizes before and after).
    #[arg(long)]
    pub catalogue: Option<String>,
    /// With --catalogue NAME: the seed to run (default: the recorded one).
    #[arg(long, value_parser = whole_number(0, u64::MAX), allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Where the minimal run goes: STORE/TEST/TIME-shrunk-SEED/.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Write nothing to the store.
    #[arg(long)]
    pub no_store: bool,
    /// Print a line per run: the pass, the candidate's size, its verdict, what it cost.
    #[arg(long)]
    pub trace_runs: bool,
}

impl Args {
    fn options(&self) -> ShrinkOptions {
        ShrinkOptions {
            time_limit: self.time_limit,
            check: self.check.clone(),
            fewer_nodes: !self.keep_nodes,
            progress: true,
            trace: self.trace_runs,
        }
    }
}

/// Run `rafty shrink`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let store_root = (!args.no_store).then_some(args.store.as_path());
    if let Some(root) = store_root {
        if let Err(error) = store::check_writable(root) {
            eprintln!("rafty shrink: --store {error}");
            return 2;
        }
    }
    let result = match (&args.schedule, args.catalogue.as_deref()) {
        (Some(_), Some(_)) => Err("give a schedule or --catalogue, not both".to_owned()),
        (None, None) => Err("give a failing run's folder or schedule.json, or --catalogue".into()),
        (None, Some("all")) => catalogue_table(args, store_root),
        (None, Some(name)) => catalogue_schedule(name, args.seed)
            .and_then(|schedule| shrink_and_store(&schedule, &args.options(), store_root))
            .map(|_| ()),
        (Some(path), None) => schedule::load(path)
            .map_err(|error| error.to_string())
            .and_then(|schedule| shrink_and_store(&schedule, &args.options(), store_root))
            .map(|_| ()),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rafty shrink: {error}");
            2
        }
    }
}

/// Shrink `schedule`, print the sizes before and after and the counterexample, and store the
/// minimal run (its folder holds `counterexample.txt`).
pub fn shrink_and_store(
    schedule: &Schedule,
    options: &ShrinkOptions,
    store_root: Option<&Path>,
) -> Result<(Shrunk, Option<PathBuf>), String> {
    let plugins = schedule::plugins_for(schedule)?;
    eprintln!("rafty shrink: before: {}", schedule.size());
    let shrunk = shrink::shrink(schedule, &plugins, options)?;
    println!(
        "shrunk `{}`: {} -> {} ({} runs, {:.1}s{})",
        shrunk.check,
        shrunk.before,
        shrunk.after,
        shrunk.runs,
        shrunk.wall.as_secs_f64(),
        if shrunk.out_of_time {
            ", stopped by --time-limit"
        } else {
            ""
        }
    );
    println!("the runs: {}", shrunk.profile);
    let dir = store_minimal(&shrunk, &plugins, store_root)?;
    Ok((shrunk, dir))
}

/// Run the minimal schedule once more into the store and write its counterexample there.
fn store_minimal(
    shrunk: &Shrunk,
    plugins: &Plugins,
    store_root: Option<&Path>,
) -> Result<Option<PathBuf>, String> {
    let Some(root) = store_root else {
        return Ok(None);
    };
    let (output, dir) = run_and_store(&shrunk.minimal, plugins, Some(root), "-shrunk")?;
    let dir = dir.expect("a store was given");
    let history = dir.join("history.jsonl");
    // The faults as the run applied them (aimed at its own leaders when the schedule follows
    // the leader), as its history and its stored schedule.json name them.
    let applied = Shrunk {
        minimal: Schedule {
            faults: output.faults.clone(),
            ..shrunk.minimal.clone()
        },
        ..shrunk.clone()
    };
    let text = report::counterexample(&applied, &output.result, &history)
        .map_err(|error| format!("could not write the counterexample: {error}"))?;
    std::fs::write(dir.join(rafty_reports::COUNTEREXAMPLE_FILE), &text)
        .map_err(|error| format!("could not write the counterexample: {error}"))?;
    // Drawn again: the report leads with the counterexample now beside it.
    if let Err(error) = rafty_reports::write_stored_run_report(&dir) {
        eprintln!("could not draw the report in {}: {error}", dir.display());
    }
    print!("{text}");
    println!("minimal run: {}", dir.display());
    Ok(Some(dir))
}

/// The schedule of catalogue bug `name`'s run at `seed` (default: its recorded seed).
pub fn catalogue_schedule(name: &str, seed: Option<u64>) -> Result<Schedule, String> {
    let entry = entries()
        .into_iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| format!("--catalogue: no bug is named `{name}`"))?;
    let seed = match seed {
        Some(seed) => seed,
        None => recorded::parse(RECORDED)?
            .into_iter()
            .find(|recorded| recorded.name == name)
            .map(|recorded| recorded.seed)
            .ok_or_else(|| format!("--catalogue {name}: no recorded seed; give --seed"))?,
    };
    let (config, plugins) = setup(&entry)?;
    let output = runner::run(&config, seed, &plugins);
    Ok(Schedule::of_run(
        &output,
        seed,
        Some(name.to_owned()),
        false,
    ))
}

/// Shrink every recorded catalogue bug and print the markdown table of CATALOGUE.md: with each
/// shrink's wall time, the processor time it took (on a shared machine, what it would take
/// alone) and the load average at its end.
fn catalogue_table(args: &Args, store_root: Option<&Path>) -> Result<(), String> {
    let mut rows = Vec::new();
    for recorded in recorded::parse(RECORDED)? {
        let schedule = catalogue_schedule(&recorded.name, Some(recorded.seed))?;
        let cpu_before = process_cpu_seconds();
        let row = match shrink_and_store(&schedule, &args.options(), store_root) {
            Ok((shrunk, _)) => {
                let cpu = process_cpu_seconds()
                    .zip(cpu_before)
                    .map_or("?".to_owned(), |(after, before)| {
                        format!("{:.0}", after - before)
                    });
                let load = crate::bench::machine::load_average()
                    .map_or("?".to_owned(), |load| format!("{:.1}", load.one));
                format!(
                    "{} {cpu} | {load} |",
                    table_row(&recorded.name, recorded.seed, &shrunk)
                )
            }
            Err(error) => format!(
                "| {} | {} | not shrunk: {error} |||||||",
                recorded.name, recorded.seed
            ),
        };
        eprintln!("{row}");
        rows.push(row);
    }
    println!(
        "| bug | seed | check kept | faults | operations | simulated s | nodes | runs | shrink wall s | cpu s | load |\n\
         |---|---|---|---|---|---|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// This process's processor time so far (user and system, all threads), in seconds, from
/// `/proc/self/stat` (in clock ticks of 1/100 s, Linux's `USER_HZ`); `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command's closing parenthesis: state is the first, utime the 12th.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

fn table_row(name: &str, seed: u64, shrunk: &Shrunk) -> String {
    let (before, after) = (&shrunk.before, &shrunk.after);
    format!(
        "| {name} | {seed} | {} | {} → {} | {} → {} | {:.1} → {:.1} | {} → {} | {} | {:.0}{} |",
        shrunk.check,
        before.faults,
        after.faults,
        before.operations,
        after.operations,
        before.time_limit_ms as f64 / 1000.0,
        after.time_limit_ms as f64 / 1000.0,
        before.nodes,
        after.nodes,
        shrunk.runs,
        shrunk.wall.as_secs_f64(),
        if shrunk.out_of_time { " (limit)" } else { "" }
    )
}
