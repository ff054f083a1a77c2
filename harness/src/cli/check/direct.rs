//! `rafty check --model bank|set|counter|unique-ids`: histories of Jepsen's bank, set,
//! counter and unique-ids workloads checked by the direct checkers, one verdict per file.

use std::io::Write;
use std::path::Path;

use rafty_checkers::direct::{self, DirectModel, DirectOptions, DirectResult, DirectVerdict};

use super::Args;
use super::files::{self, Outcome};

/// Checks every file of `args` under `model`; returns the exit code (0 all valid, 1 any
/// invalid, else 2 when any was unknown or could not be read).
pub fn run(args: &Args, model: DirectModel) -> u8 {
    let mut stdout = std::io::stdout().lock();
    let check = |file: &Path| {
        let imported = files::read_history(args, file)?;
        direct::check(model, &imported.history, &DirectOptions::default())
            .map_err(|error| error.to_string())
    };
    let outcome = |result: &DirectResult| match result.valid {
        DirectVerdict::Valid => Outcome::Valid,
        DirectVerdict::Invalid => Outcome::Invalid,
        DirectVerdict::Unknown => Outcome::Unknown,
    };
    let printed = files::check_each(
        args,
        &mut stdout,
        check,
        outcome,
        |out, file, result, ms| print(out, args.json, file, result, ms),
    );
    let Some(tally) = printed else {
        return 2;
    };
    let summary = format!(
        "{} files: {} valid, {} invalid, {} unknown, {} errors ({model})",
        tally.files(),
        tally.valid,
        tally.invalid,
        tally.unknown,
        tally.errors,
    );
    files::summarize(args, &mut stdout, &summary);
    tally.exit_code()
}

fn print(
    out: &mut dyn Write,
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
