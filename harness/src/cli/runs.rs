//! `rafty runs [--store DIR] [--not-valid]`: the runs of a store and their top-level verdicts,
//! one a line, for scripts (`reports/ci/collect-failing.sh` keeps the failing ones) and people.
//!
//! Each line is `VERDICT<TAB>TEST/RUN`, plus `<TAB>WHY` for a run whose results.json is
//! missing or unreadable. `VERDICT` is `valid`, `invalid`, `unknown` or `unreadable`, read
//! from results.json's top-level `valid` field by a JSON parser (the nested checks have `valid`
//! fields of their own). Exit code 0 when the store could be listed, 2 when it could not.

use std::path::{Path, PathBuf};

use rafty_reports::{RunEntry, scan_store};

/// Arguments of `rafty runs`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The store folder to list.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// List only the runs that are not valid: invalid, unknown, or with a missing or unreadable
    /// results.json.
    #[arg(long)]
    pub not_valid: bool,
}

/// Run `rafty runs`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    match listing(&args.store, args.not_valid) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Err(error) => {
            eprintln!("rafty runs: {error}");
            2
        }
    }
}

/// The lines `rafty runs` prints for `store`, newest run first.
pub fn listing(store: &Path, not_valid_only: bool) -> Result<Vec<String>, String> {
    if !store.is_dir() {
        let problem = if store.exists() {
            "is not a directory"
        } else {
            "no such folder"
        };
        return Err(format!("--store {}: {problem}", store.display()));
    }
    let runs = scan_store(store).map_err(|error| format!("--store {error}"))?;
    Ok(runs
        .iter()
        .filter(|run| !not_valid_only || !is_valid(run))
        .map(line)
        .collect())
}

fn is_valid(run: &RunEntry) -> bool {
    run.verdict == Ok(rafty_reports::RunVerdict::Valid)
}

/// One run's line; tabs and line breaks in the reason become spaces, so a line is a run.
fn line(run: &RunEntry) -> String {
    let folder = format!("{}/{}", run.test, run.run);
    match &run.verdict {
        Ok(verdict) => format!("{}\t{folder}", verdict.as_str()),
        Err(why) => {
            let why: String = why
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("unreadable\t{folder}\t{why}")
        }
    }
}
