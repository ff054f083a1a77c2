//! `rafty catalogue`: list the bug catalogue, or (`--run`) measure which bugs the default
//! chaos run catches.
//!
//! Exit code: 0 when the list printed or the measurement ran with the unplanted reference
//! valid on every seed; 1 when the reference had an invalid run (the measurement then means
//! nothing); 2 for bad arguments, or `--run` of core mutations without the `mutations` feature.

use std::time::Duration;

use crate::catalogue::search::{self, SearchOptions};
use crate::catalogue::{Entry, Outcome, Plant, entries, table};
use crate::cli::check::parse_duration;
use crate::run::config::LogKind;

/// How `--run` must be built when the core mutations are not compiled in.
pub const BUILD_WITH_MUTATIONS: &str =
    "cargo run --release -p rafty-harness --features mutations -- catalogue --run";

/// Arguments of `rafty catalogue`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "List the bug catalogue (a markdown table), or with --run measure it: \
    each bug is planted in turn and the DEFAULT `rafty test` (kv workload, every fault kind) \
    runs seed after seed with the core's own assertions off, until a run is invalid or the \
    budget is spent; the unplanted reference runs over the same seeds and must stay valid. \
    Planting the core's bugs needs rafty's `mutations` feature, never in a normal build: \
    cargo run --release -p rafty-harness --features mutations -- catalogue --run"
)]
pub struct Args {
    /// Run the catalogue (else only list it).
    #[arg(long)]
    pub run: bool,
    /// The most seeds per bug.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs at once, each on its own thread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// Wall time per bug (and for the reference): no new run starts after it (e.g. 60s, 2m).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub budget: Duration,
    /// With --run: refresh this table file of first failing seeds (the regression test's,
    /// harness/catalogue-seeds.tsv) with the bugs measured; other lines are kept.
    #[arg(long)]
    pub record: Option<std::path::PathBuf>,
    /// Only these bugs, comma-separated names (see the list).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// With --run: count a run as a catch only when a check from outside fired, not the
    /// node's own assertion (node-panic) or liveness alone (the weak catches).
    #[arg(long)]
    pub from_outside: bool,
}

/// The entries `only` names (all when empty); an error names any unknown one.
pub fn select(only: &[String]) -> Result<Vec<Entry>, String> {
    let all = entries();
    if only.is_empty() {
        return Ok(all);
    }
    if let Some(unknown) = only
        .iter()
        .find(|name| !all.iter().any(|entry| entry.name == name.as_str()))
    {
        let names: Vec<&str> = all.iter().map(|entry| entry.name).collect();
        return Err(format!(
            "--only: no bug `{unknown}` in the catalogue; expected one of: {}",
            names.join(", ")
        ));
    }
    Ok(all
        .into_iter()
        .filter(|entry| only.iter().any(|name| name == entry.name))
        .collect())
}

/// Run `rafty catalogue`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let selected = match select(&args.only) {
        Ok(selected) => selected,
        Err(error) => {
            eprintln!("rafty catalogue: {error}");
            return 2;
        }
    };
    if !args.run {
        print!("{}", table::list(&selected));
        return 0;
    }
    let needs_mutations = selected
        .iter()
        .any(|entry| matches!(entry.plant, Plant::Core(_)));
    if needs_mutations && !cfg!(feature = "mutations") {
        eprintln!(
            "rafty catalogue: --run plants core mutations, which a normal build leaves out; \
             build with the feature: {BUILD_WITH_MUTATIONS}"
        );
        return 2;
    }
    let options = SearchOptions {
        first_seed: args.seed,
        seeds: args.seeds,
        jobs: args.jobs as usize,
        budget: args.budget,
        from_outside: args.from_outside,
    };
    match measure(&selected, &options) {
        Ok((reference, bugs)) => {
            print!("{}", table::results(&options, &reference, &bugs));
            if let Some(path) = &args.record
                && let Err(error) = record(path, &bugs)
            {
                eprintln!("rafty catalogue: --record {}: {error}", path.display());
                return 2;
            }
            if reference.iter().any(|outcome| outcome.caught.is_some()) {
                eprintln!("rafty catalogue: the unplanted reference had an invalid run");
                return 1;
            }
            0
        }
        Err(error) => {
            eprintln!("rafty catalogue: {error}");
            2
        }
    }
}

/// Refresh the table file at `path` (created if missing) with `bugs`.
fn record(path: &std::path::Path, bugs: &[Outcome]) -> Result<(), String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error.to_string()),
    };
    let text = crate::catalogue::recorded::refresh(&existing, bugs)?;
    std::fs::write(path, text).map_err(|error| error.to_string())
}

/// Search every entry in `selected`, then the reference on each log they use.
pub fn measure(
    selected: &[Entry],
    options: &SearchOptions,
) -> Result<(Vec<Outcome>, Vec<Outcome>), String> {
    let mut bugs = Vec::new();
    for entry in selected {
        let (config, plugins) =
            search::setup(entry).map_err(|error| format!("{}: {error}", entry.name))?;
        let outcome = search::search(entry.name, &config, &plugins, options);
        eprintln!("{}", progress_line(&outcome));
        bugs.push(outcome);
    }
    let mut reference = Vec::new();
    for log in [LogKind::Memory, LogKind::File] {
        if !selected.iter().any(|entry| entry.log == log) {
            continue;
        }
        let (config, plugins) = search::reference_setup(log)?;
        let name = format!("reference (`--log {}`)", log.name());
        let outcome = search::search(&name, &config, &plugins, options);
        eprintln!("{}", progress_line(&outcome));
        reference.push(outcome);
    }
    Ok((reference, bugs))
}

fn progress_line(outcome: &Outcome) -> String {
    match &outcome.caught {
        Some(caught) => format!(
            "{}: invalid at seed {} ({} seeds, {:.1}s): {}",
            outcome.name,
            caught.seed,
            caught.seeds_to_catch,
            caught.wall.as_secs_f64(),
            caught.checks.join(", ")
        ),
        None => format!(
            "{}: no invalid run in {} runs ({} unknown, {:.1}s)",
            outcome.name,
            outcome.runs,
            outcome.unknown,
            outcome.wall.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picks_entries_and_names_an_unknown_one() {
        let picked = select(&["stale-leader-reads".to_owned()]).unwrap();
        assert_eq!(picked.len(), 1);
        let error = select(&["no-such-bug".to_owned()]).unwrap_err();
        assert!(error.contains("no bug `no-such-bug`"), "{error}");
        assert!(error.contains("vote-twice-in-term"), "{error}");
        assert_eq!(select(&[]).unwrap().len(), entries().len());
    }
}
