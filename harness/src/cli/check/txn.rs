//! `rafty check --model list-append|rw-register`: transactional histories checked for
//! isolation anomalies (the Elle-style checker), one verdict per file against the
//! `--consistency-model` (strict-serializable unless given).

use std::io::Write;
use std::path::Path;

use rafty_checkers::elle::{self, ConsistencyModel, ElleOptions, ElleResult, TxnModel};

use super::files::{self, Outcome};
use super::{Args, peak_memory_kib};

/// Checks every file of `args` under `model`; returns the exit code (0 all valid, 1 any
/// invalid, else 2 when any could not be read).
pub fn run(args: &Args, model: TxnModel) -> u8 {
    let options = ElleOptions {
        target: args
            .consistency_model
            .unwrap_or(ConsistencyModel::StrictSerializable),
        ..ElleOptions::default()
    };
    let mut stdout = std::io::stdout().lock();
    let check = |file: &Path| {
        let imported = files::read_history(args, file)?;
        elle::check(model, &imported.history, &options).map_err(|error| error.to_string())
    };
    let outcome = |result: &ElleResult| {
        if result.valid {
            Outcome::Valid
        } else {
            Outcome::Invalid
        }
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
        "{} files: {} valid, {} invalid, {} errors ({} against {})",
        tally.files(),
        tally.valid,
        tally.invalid,
        tally.errors,
        model,
        options.target
    );
    files::summarize(args, &mut stdout, &summary);
    tally.exit_code()
}

fn print(
    out: &mut dyn Write,
    json: bool,
    file: &Path,
    result: &ElleResult,
    millis: f64,
) -> std::io::Result<()> {
    if json {
        let mut value = serde_json::to_value(result).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("file".into(), file.display().to_string().into());
            object.insert("millis".into(), millis.into());
            if let Some(kib) = peak_memory_kib() {
                object.insert("peak_memory_kib".into(), kib.into());
            }
        }
        return writeln!(out, "{value}");
    }
    let edges = result.edges;
    writeln!(
        out,
        "{}: {} ({}; {} transactions: {} ok, {} failed, {} indeterminate; edges ww {} wr {} \
         rw {} process {} realtime {}) in {millis:.1} ms",
        file.display(),
        result.describe(),
        result.model,
        result.transactions,
        result.ok,
        result.failed,
        result.indeterminate,
        edges.ww,
        edges.wr,
        edges.rw,
        edges.process,
        edges.realtime
    )?;
    for (kind, count) in &result.anomaly_counts {
        writeln!(out, "  {kind}: {count} found")?;
    }
    for anomaly in &result.anomalies {
        let text = anomaly.to_string();
        for line in text.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}
