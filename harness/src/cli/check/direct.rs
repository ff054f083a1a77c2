//! `rafty check --model bank|set|counter|unique-ids`: histories of Jepsen's bank, set,
//! counter and unique-ids workloads checked by the direct checkers, one verdict per file.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rafty_checkers::direct::{self, DirectModel, DirectOptions, DirectResult, DirectVerdict};
use rafty_checkers::import::{self, ReadOptions};

use super::{Args, FormatChoice, input};

/// Checks every file of `args` under `model`; returns the exit code (0 all valid, 1 any
/// invalid, else 2 when any was unknown or could not be read).
pub fn run(args: &Args, model: DirectModel) -> u8 {
    let mut stdout = std::io::stdout().lock();
    let (mut valid, mut invalid, mut unknown, mut errors) = (0, 0, 0, 0);
    for file in &args.files {
        let started = Instant::now();
        let checked = check_one(args, file, model);
        let millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let printed = match &checked {
            Ok(result) => {
                match result.valid {
                    DirectVerdict::Valid => valid += 1,
                    DirectVerdict::Invalid => invalid += 1,
                    DirectVerdict::Unknown => unknown += 1,
                }
                print(&mut stdout, args.json, file, result, millis)
            }
            Err(error) => {
                errors += 1;
                if args.json {
                    let line = serde_json::json!({
                        "file": file.display().to_string(),
                        "error": error,
                    });
                    writeln!(stdout, "{line}")
                } else {
                    eprintln!("error: {error}");
                    Ok(())
                }
            }
        };
        if printed.is_err() {
            return 2;
        }
    }
    let summary = format!(
        "{} files: {valid} valid, {invalid} invalid, {unknown} unknown, {errors} errors ({model})",
        valid + invalid + unknown + errors,
    );
    if args.json {
        eprintln!("{summary}");
    } else {
        let _ = writeln!(stdout, "{summary}");
    }
    if invalid > 0 {
        1
    } else if unknown > 0 || errors > 0 {
        2
    } else {
        0
    }
}

fn check_one(args: &Args, file: &Path, model: DirectModel) -> Result<DirectResult, String> {
    let target = input::resolve(file)?;
    let format = match args.format {
        FormatChoice::Auto => None,
        FormatChoice::Given(format) => Some(format),
    };
    let read = ReadOptions {
        skip_unreadable: args.skip_unreadable,
    };
    let imported = import::read_file_with(&target.history, format, &read)
        .map_err(|error| error.to_string())?;
    direct::check(model, &imported.history, &DirectOptions::default())
        .map_err(|error| error.to_string())
}

fn print(
    out: &mut impl Write,
    json: bool,
    file: &Path,
    result: &DirectResult,
    millis: f64,
) -> std::io::Result<()> {
    if json {
        let mut value = serde_json::to_value(result).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("file".into(), file.display().to_string().into());
            object.insert("millis".into(), millis.into());
        }
        return writeln!(out, "{value}");
    }
    writeln!(
        out,
        "{}: {} ({} ok, {} failed, {} indeterminate) in {millis:.1} ms",
        file.display(),
        result.describe(),
        result.ok,
        result.failed,
        result.indeterminate
    )?;
    for finding in &result.findings {
        writeln!(
            out,
            "  line {}: {}: {}",
            finding.line, finding.kind, finding.message
        )?;
    }
    if result.finding_count > result.findings.len() {
        writeln!(
            out,
            "  ... {} more",
            result.finding_count - result.findings.len()
        )?;
    }
    Ok(())
}
