//! `rafty check --model list-append|rw-register`: transactional histories checked for
//! isolation anomalies (the Elle-style checker), one verdict per file against the
//! `--consistency-model` (strict-serializable unless given).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rafty_checkers::elle::{self, ConsistencyModel, ElleOptions, ElleResult, TxnModel};
use rafty_checkers::import::{self, ReadOptions};

use super::{Args, FormatChoice, input, peak_memory_kib};

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
    let (mut valid, mut invalid, mut errors) = (0, 0, 0);
    for file in &args.files {
        let started = Instant::now();
        let checked = check_one(args, file, model, &options);
        let millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let printed = match &checked {
            Ok(result) => {
                if result.valid {
                    valid += 1;
                } else {
                    invalid += 1;
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
        "{} files: {valid} valid, {invalid} invalid, {errors} errors ({} against {})",
        valid + invalid + errors,
        model,
        options.target
    );
    if args.json {
        eprintln!("{summary}");
    } else {
        let _ = writeln!(stdout, "{summary}");
    }
    if invalid > 0 {
        1
    } else if errors > 0 {
        2
    } else {
        0
    }
}

fn check_one(
    args: &Args,
    file: &Path,
    model: TxnModel,
    options: &ElleOptions,
) -> Result<ElleResult, String> {
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
    elle::check(model, &imported.history, options).map_err(|error| error.to_string())
}

fn print(
    out: &mut impl Write,
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
