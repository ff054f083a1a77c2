//! Times the checker on history files, in process (reading the file is outside the timing):
//! `cargo run --release -p rafty-checkers --example timing -- MODEL [--runs N] PATH...`
//! where MODEL is register, cas-register or kv and each PATH is a file or a folder (its
//! `.txt`, `.log`, `.edn` and `.jsonl` files). Prints one line per file (verdict, median
//! check time of N runs, default 3, steps, partitions, the key reported) and the total.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rafty_checkers::import;
use rafty_checkers::{CheckOptions, ModelKind};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let usage = "usage: timing MODEL [--runs N] PATH...";
    let Some(model) = args.next() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let Ok(model) = model.parse::<ModelKind>() else {
        eprintln!("unknown model '{model}'; {usage}");
        return ExitCode::from(2);
    };
    let mut runs = 3;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            match args.next().map(|n| n.parse::<usize>()) {
                Some(Ok(n)) if n > 0 => runs = n,
                _ => {
                    eprintln!("--runs: expected a count of at least 1");
                    return ExitCode::from(2);
                }
            }
        } else if let Err(error) = collect(Path::new(&arg), &mut files) {
            eprintln!("{arg}: {error}");
            return ExitCode::from(2);
        }
    }
    // The only error is the output closed (piped into `head`): stop quietly.
    let _ = time_files(model, runs, &files);
    ExitCode::SUCCESS
}

/// Checks and times each file, printing a line for each and the total.
fn time_files(model: ModelKind, runs: usize, files: &[PathBuf]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut total = Duration::ZERO;
    for path in files {
        let imported = match import::read_file(path, None) {
            Ok(imported) => imported,
            Err(error) => {
                writeln!(out, "{}\terror: {error}", path.display())?;
                continue;
            }
        };
        let convention = imported.format.default_convention();
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let started = Instant::now();
            let result = model.check(convention, &imported.history, &CheckOptions::default());
            times.push(started.elapsed());
            last = Some(result);
        }
        times.sort();
        let median = times[runs / 2];
        total += median;
        match last.expect("at least one run") {
            Ok(result) => {
                let key = result
                    .counterexample
                    .as_ref()
                    .and_then(|c| c.partition.as_ref())
                    .map(|key| format!(" key {key}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}\t{}\t{:.2} ms\t{} steps\t{} partitions{key}",
                    path.display(),
                    result.valid.describe(),
                    median.as_secs_f64() * 1e3,
                    result.steps,
                    result.partitions,
                )?;
            }
            Err(error) => writeln!(out, "{}\terror: {error}", path.display())?,
        }
    }
    writeln!(
        out,
        "total\t{} files\t{:.2} ms (sum of medians of {runs})",
        files.len(),
        total.as_secs_f64() * 1e3
    )
}

/// Adds `path`, or the history files in the folder `path`, sorted.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let path = entry?.path();
        let history = path
            .extension()
            .is_some_and(|ext| ["txt", "log", "edn", "jsonl"].iter().any(|e| ext == *e));
        if history {
            found.push(path);
        }
    }
    found.sort();
    files.extend(found);
    Ok(())
}
