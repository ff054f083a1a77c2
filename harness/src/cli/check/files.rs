//! The per-file loop the direct and transactional checks share: read each file of the
//! command line, check it, print its verdict (text or one JSON line), count the verdicts and
//! turn them into the exit code.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rafty_checkers::import::{self, Imported, ReadOptions};

use super::{Args, FormatChoice, input};

/// What one file's check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The history satisfies the model.
    Valid,
    /// The history violates the model.
    Invalid,
    /// The checker could not decide.
    Unknown,
}

/// How many files ended each way.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub valid: usize,
    pub invalid: usize,
    pub unknown: usize,
    pub errors: usize,
}

impl Tally {
    /// All files counted.
    pub fn files(&self) -> usize {
        self.valid + self.invalid + self.unknown + self.errors
    }

    /// 0 when every file was valid, 1 when any was invalid, else 2 (unknown or unreadable).
    pub fn exit_code(&self) -> u8 {
        if self.invalid > 0 {
            1
        } else if self.unknown > 0 || self.errors > 0 {
            2
        } else {
            0
        }
    }
}

/// Reads `file` (a history, or a run directory holding one) as `args` ask.
pub(super) fn read_history(args: &Args, file: &Path) -> Result<Imported, String> {
    let target = input::resolve(file)?;
    let format = match args.format {
        FormatChoice::Auto => None,
        FormatChoice::Given(format) => Some(format),
    };
    let read = ReadOptions {
        skip_unreadable: args.skip_unreadable,
    };
    import::read_file_with(&target.history, format, &read).map_err(|error| error.to_string())
}

/// Checks every file of `args` with `check`, printing each result with `print` (given the
/// milliseconds the file took) and each error as a line of its own; `None` when stdout
/// could not be written.
pub(super) fn check_each<R>(
    args: &Args,
    out: &mut impl Write,
    mut check: impl FnMut(&Path) -> Result<R, String>,
    outcome: impl Fn(&R) -> Outcome,
    mut print: impl FnMut(&mut dyn Write, &Path, &R, f64) -> std::io::Result<()>,
) -> Option<Tally> {
    let mut tally = Tally::default();
    for file in &args.files {
        let started = Instant::now();
        let checked = check(file);
        let millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let printed = match &checked {
            Ok(result) => {
                match outcome(result) {
                    Outcome::Valid => tally.valid += 1,
                    Outcome::Invalid => tally.invalid += 1,
                    Outcome::Unknown => tally.unknown += 1,
                }
                print(out, file, result, millis)
            }
            Err(error) => {
                tally.errors += 1;
                if args.json {
                    let line = serde_json::json!({
                        "file": file.display().to_string(),
                        "error": error,
                    });
                    writeln!(out, "{line}")
                } else {
                    eprintln!("error: {error}");
                    Ok(())
                }
            }
        };
        printed.ok()?;
    }
    Some(tally)
}

/// Prints the summary line: on stderr under `--json` (stdout is one JSON value a line), else
/// on stdout.
pub(super) fn summarize(args: &Args, out: &mut impl Write, summary: &str) {
    if args.json {
        eprintln!("{summary}");
    } else {
        let _ = writeln!(out, "{summary}");
    }
}
