//! `rafty check`: checks history files for linearizability, one verdict per file.
//!
//! It never answers about what it did not check: an op of a function the model does not
//! have, or a line it cannot read, is an error naming the first, unless `--skip-unsupported`
//! or `--skip-unreadable` asks to skip them, and then the verdict says how many were.
//!
//! Exit code (Jepsen's convention): 0 when every file is linearizable, 1 when any is not,
//! otherwise 2 when any is unknown (time limit) or could not be read or parsed.

mod direct;
mod files;
mod input;
mod progress;
mod txn;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rafty_checkers::direct::DirectModel;
use rafty_checkers::elle::{ConsistencyModel, TxnModel};
use rafty_checkers::import::{self, Format, Independent, ReadOptions, Unreadable};
use rafty_checkers::linearizability::{CheckOptions, CheckResult, OpSummary, Verdict};
use rafty_checkers::model::{Convention, ModelKind};
use rafty_checkers::stream::StreamOptions;
use rafty_checkers::{HistoryError, Outcome};

/// Arguments of `rafty check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The model: auto (inferred from each history: kv when ops carry keys or are get, put,
    /// append or delete; else cas-register when some op is a cas; else register; the choice
    /// is printed), register, cas-register or kv (a key-value map, checked per key); or a
    /// transactional model, list-append or rw-register (`:txn` ops of `[:append k v]`,
    /// `[:r k v]`, `[:w k v]` micro-ops), checked for isolation anomalies as Elle does; or a
    /// workload with a direct checker, bank (`:transfer`, `:read` of every balance), set
    /// (`:add`, `:read`), counter (`:add`, `:read`) or unique-ids (`:generate`).
    #[arg(long, default_value = "auto", value_parser = parse_model)]
    pub model: ModelChoice,
    /// With a transactional model: the consistency model the verdict is about
    /// (read-uncommitted, read-committed, repeatable-read, snapshot-isolation, serializable or
    /// strict-serializable, the default).
    #[arg(long, value_parser = parse_consistency_model)]
    pub consistency_model: Option<ConsistencyModel>,
    /// The history format: auto, jsonl, edn, edn-lines or jepsen-log.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: FormatChoice,
    /// How `fail` ops and `nil` reads are read: knossos, porcupine or native. Default: the
    /// format's (knossos for edn, porcupine for edn-lines and jepsen-log, native for jsonl).
    #[arg(long, value_parser = parse_convention)]
    pub convention: Option<Convention>,
    /// Read values as `jepsen.independent` `[key value]` tuples and check each key as its own
    /// register (or cas-register, or key-value key): auto (when some read is invoked with a
    /// tuple, such as `[3 nil]`), yes (`--independent` alone) or no (`--independent=no`).
    #[arg(
        long,
        default_value = "auto",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "yes",
        value_parser = parse_independent
    )]
    pub independent: Independent,
    /// Give up on a file after this long, with the verdict unknown (e.g. 60s, 500ms, 2m).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub time_limit: Duration,
    /// The memory budget of the search, in MiB (what bounds the checker's memory): keys
    /// wait their turn until their searches fit, and a search that outgrows it gives up with
    /// the verdict unknown, naming the key, its operations and the configurations it held.
    /// A search that rarely backtracks needs about 600 bytes per operation of its key. 0: no
    /// budget.
    #[arg(long, value_name = "MIB", default_value_t = rafty_checkers::linearizability::DEFAULT_MEMORY_BUDGET >> 20)]
    pub memory_budget: usize,
    /// Skip ops of functions the model does not have (instead of refusing the file naming
    /// the first); the verdict then says how many it did not check.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// Skip lines that cannot be read (jsonl, edn-lines and jepsen-log files; a last line
    /// cut mid-line included) instead of refusing the file naming the first; the verdict
    /// then says how many.
    #[arg(long)]
    pub skip_unreadable: bool,
    /// Print one JSON object a line (file, valid, millis, ...) instead of text.
    #[arg(long)]
    pub json: bool,
    /// The history files, or run folders (their `history.jsonl` is checked; a run's
    /// `results.json` leads to the `history.jsonl` next to it).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `--model`: a model, or inference from each history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// Infer each history's model ([`ModelKind::infer`]).
    Auto,
    /// This model.
    Given(ModelKind),
    /// This transactional model (checked for isolation anomalies).
    Txn(TxnModel),
    /// This workload's direct checker (bank, set, counter, unique-ids).
    Direct(DirectModel),
}

/// `--format`: a format, or detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// Detect each file's format from its start.
    Auto,
    /// This format.
    Given(Format),
}

/// One file's outcome.
#[derive(Debug)]
struct FileReport {
    file: String,
    valid: Verdict,
    millis: f64,
    /// The process's peak resident memory once this file was checked, if the system says.
    peak_memory_kib: Option<u64>,
    format: Option<Format>,
    convention: Option<Convention>,
    independent: Option<bool>,
    /// Whether the file was streamed from disk rather than read whole.
    streamed: bool,
    /// The model used, and why when it was inferred.
    model: Option<(ModelKind, Option<String>)>,
    /// The history read, when not the path given (a run folder, a run's results), and why.
    target: Option<input::Target>,
    unreadable: Unreadable,
    error: Option<String>,
    result: Option<CheckResult>,
}

impl FileReport {
    /// The JSON line: the check result's fields (`valid`, `model`, `operations`, `skipped`,
    /// `unsupported`, `steps`, ..., `counterexample`) with `file`, `millis`, `peak_memory_kib`
    /// (the process's so far, where the system says), `format`, `convention`,
    /// `independent`, `streamed` (from disk, not read whole), `model_inferred_from`, `history` and `note` (when the path was a run
    /// folder or results), `unreadable` (lines skipped) and `first_unreadable`, `partial`
    /// (whether anything was skipped unchecked) and `error`.
    fn to_json(&self) -> serde_json::Value {
        let mut object = match &self.result {
            Some(result) => match serde_json::to_value(result) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => serde_json::Map::new(),
            },
            None => serde_json::Map::new(),
        };
        let mut put = |key: &str, value: serde_json::Value| {
            object.insert(key.to_owned(), value);
        };
        put("file", self.file.clone().into());
        put(
            "valid",
            serde_json::to_value(self.valid).unwrap_or_default(),
        );
        put("millis", self.millis.into());
        if let Some(kib) = self.peak_memory_kib {
            put("peak_memory_kib", kib.into());
        }
        if let Some(format) = self.format {
            put("format", format.name().into());
        }
        if let Some(convention) = self.convention {
            put("convention", convention.name().into());
        }
        if let Some(independent) = self.independent {
            put("independent", independent.into());
        }
        put("streamed", self.streamed.into());
        if let Some((kind, reason)) = &self.model {
            put("model", kind.name().into());
            if let Some(reason) = reason {
                put("model_inferred_from", reason.clone().into());
            }
        }
        if let Some(target) = &self.target {
            put("history", target.history.display().to_string().into());
            if let Some(note) = &target.note {
                put("note", note.clone().into());
            }
        }
        put("unreadable", self.unreadable.count.into());
        if let Some((location, reason)) = &self.unreadable.first {
            put("first_unreadable", format!("{location}: {reason}").into());
        }
        if self.result.is_some() {
            put("partial", self.partial().is_some().into());
        }
        if let Some(error) = &self.error {
            put("error", error.clone().into());
        }
        serde_json::Value::Object(object)
    }

    /// What the verdict does not cover, when something was skipped unchecked.
    fn partial(&self) -> Option<String> {
        let unsupported = self.result.as_ref().map_or(0, |result| result.unsupported);
        let model = self.model.as_ref().map_or("?", |(kind, _)| kind.name());
        let mut parts = Vec::new();
        if unsupported > 0 {
            parts.push(format!(
                "{unsupported} op{} of functions the {model} model does not have \
                 (--skip-unsupported)",
                plural(unsupported)
            ));
        }
        if self.unreadable.count > 0 {
            let first = match &self.unreadable.first {
                Some((location, reason)) => format!(", the first {location}: {reason}"),
                None => String::new(),
            };
            parts.push(format!(
                "{} unreadable line{} (--skip-unreadable{first})",
                self.unreadable.count,
                plural(self.unreadable.count)
            ));
        }
        (!parts.is_empty()).then(|| format!("not checked: {}", parts.join("; ")))
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Runs `rafty check`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    if let ModelChoice::Txn(model) = args.model {
        return txn::run(args, model);
    }
    if let ModelChoice::Direct(model) = args.model {
        return direct::run(args, model);
    }
    let mut stdout = std::io::stdout().lock();
    let mut tally = Tally::default();
    for file in &args.files {
        let report = check_file(args, file);
        tally.add(&report);
        let printed = if args.json {
            writeln!(stdout, "{}", report.to_json())
        } else {
            print_text(&mut stdout, &report)
        };
        if printed.is_err() {
            // Stdout is gone (a closed pipe): nobody reads the rest.
            return 2;
        }
    }
    let summary = tally.summary();
    if args.json {
        eprintln!("{summary}");
    } else {
        let _ = writeln!(stdout, "{summary}");
    }
    tally.exit_code()
}

fn check_file(args: &Args, file: &Path) -> FileReport {
    let started = Instant::now();
    let mut report = FileReport {
        file: file.display().to_string(),
        valid: Verdict::Unknown,
        millis: 0.0,
        peak_memory_kib: None,
        format: None,
        convention: None,
        independent: None,
        streamed: false,
        model: None,
        target: None,
        unreadable: Unreadable::default(),
        error: None,
        result: None,
    };
    match check_target(args, file, &mut report) {
        Ok(result) => {
            report.valid = result.valid;
            report.result = Some(result);
        }
        Err(error) => report.error = Some(error),
    }
    report.millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    report.peak_memory_kib = peak_memory_kib();
    report
}

/// The process's peak resident memory in KiB (`VmHWM` of `/proc/self/status`), where the
/// system has it: a high-water mark over the whole run, so for the files checked so far.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resolves, reads and checks one path, filling `report` on the way.
fn check_target(args: &Args, file: &Path, report: &mut FileReport) -> Result<CheckResult, String> {
    let target = input::resolve(file)?;
    let history_file = target.history.clone();
    if target.note.is_some() {
        report.target = Some(target);
    }
    let format = match args.format {
        FormatChoice::Auto => import::detect_file(&history_file).map_err(|e| e.to_string())?,
        FormatChoice::Given(format) => format,
    };
    let read_options = ReadOptions {
        skip_unreadable: args.skip_unreadable,
    };
    let read_error = |error: HistoryError| match error {
        HistoryError::Malformed { .. } if format != Format::Edn && !args.skip_unreadable => {
            format!("{error} (--skip-unreadable skips such lines)")
        }
        _ => error.to_string(),
    };
    let options = CheckOptions {
        time_limit: Some(args.time_limit),
        skip_unsupported: args.skip_unsupported,
        memory_budget: (args.memory_budget > 0).then(|| args.memory_budget.saturating_mul(1 << 20)),
    };
    if let Some(plan) = streamable(args, &history_file, format, &read_options)? {
        report.format = Some(format);
        let convention = args.convention.unwrap_or(format.default_convention());
        report.convention = Some(convention);
        report.model = Some(plan.model.clone());
        report.independent = Some(plan.independent);
        let bytes = std::fs::metadata(&history_file).map_or(0, |m| m.len());
        let bar = progress::CheckProgress::new(&report.file, bytes);
        let stream = StreamOptions {
            read: read_options,
            buckets: None,
            format,
            independent: plan.independent,
        };
        let streamed = plan
            .model
            .0
            .check_file(convention, &history_file, &options, &stream, &bar);
        bar.finish();
        match streamed {
            Ok(streamed) => {
                report.streamed = true;
                report.unreadable = streamed.unreadable;
                return Ok(streamed.result);
            }
            // The model was inferred from the file's start and a later op is not one of
            // its functions: the whole file decides, as below.
            Err(HistoryError::Unsupported { .. }) if plan.from_head => {}
            Err(error @ HistoryError::Unsupported { .. }) => return Err(unsupported_hint(&error)),
            Err(error) => return Err(read_error(error)),
        }
    }
    let imported =
        import::read_file_with(&history_file, Some(format), &read_options).map_err(read_error)?;
    let convention = args
        .convention
        .unwrap_or_else(|| imported.format.default_convention());
    report.format = Some(imported.format);
    report.convention = Some(convention);
    report.unreadable = imported.unreadable;
    // Inferred before tuples are unwrapped into keys, which would read as a key-value map.
    let model = match args.model {
        ModelChoice::Txn(_) | ModelChoice::Direct(_) => {
            unreachable!("transactional models are checked by check::txn and check::direct")
        }
        ModelChoice::Given(kind) => (kind, None),
        ModelChoice::Auto => {
            let inferred = ModelKind::infer(&imported.history);
            (inferred.kind, Some(inferred.reason))
        }
    };
    report.model = Some(model.clone());
    let (history, independent) = args
        .independent
        .apply(imported.history)
        .map_err(|error| error.to_string())?;
    report.independent = Some(independent);
    let (kind, _) = model;
    let checked = if independent {
        kind.check_per_key(convention, &history, &options)
    } else {
        kind.check(convention, &history, &options)
    };
    checked.map_err(|error| match error {
        HistoryError::Unsupported { .. } => unsupported_hint(&error),
        _ => error.to_string(),
    })
}

fn unsupported_hint(error: &HistoryError) -> String {
    format!(
        "{error}; give the --model that has it, or --skip-unsupported to check only the other \
         ops"
    )
}

/// EDN files up to this size are read whole: faster for the small files Jepsen and Porcupine
/// write (no spill files, no second pass), and their memory is small anyway.
const STREAM_EDN_ABOVE: u64 = 32 << 20;

/// How to stream a history file: its model (and why, when inferred) and whether it is a
/// `jepsen.independent` one.
struct StreamPlan {
    model: (ModelKind, Option<String>),
    independent: bool,
    /// The model was inferred from the file's first mebibyte, not from a key: a later op
    /// the model does not have sends the file to be read whole.
    from_head: bool,
}

/// How to check a history by streaming it from disk, or `None` to read it whole.
///
/// JSON lines: not one `jepsen.independent` history (its independence is decided on the
/// whole history); without a given model and `--independent=no`, its first op with a key
/// decides: a key-value history, inferred as [`ModelKind::infer`] would (any key makes it
/// kv) and not independent (tuples never come with keys). A JSON-lines file without keys is
/// read whole. EDN and EDN lines larger than [`STREAM_EDN_ABOVE`]: the file's first mebibyte
/// decides what it does not give
/// (the model, as [`ModelKind::infer`] infers it; independence, as
/// [`import::looks_independent`] says). The old jepsen-log format is streamed as EDN is.
fn streamable(
    args: &Args,
    file: &Path,
    format: Format,
    read: &ReadOptions,
) -> Result<Option<StreamPlan>, String> {
    if !rafty_checkers::stream::streams(format) {
        return Ok(None);
    }
    if format != Format::Jsonl {
        let bytes = std::fs::metadata(file).map_or(0, |meta| meta.len());
        if bytes <= STREAM_EDN_ABOVE {
            return Ok(None);
        }
        return streamable_edn(args, file, format, read).map(Some);
    }
    if let (ModelChoice::Given(kind), Independent::No) = (args.model, args.independent) {
        return Ok(Some(StreamPlan {
            model: (kind, None),
            independent: false,
            from_head: false,
        }));
    }
    if args.independent == Independent::Yes {
        return Ok(None);
    }
    let first = import::first_keyed_client_op(file).map_err(|error| error.to_string())?;
    Ok(first.map(|(op, line)| StreamPlan {
        model: match args.model {
            ModelChoice::Txn(_) | ModelChoice::Direct(_) => {
                unreachable!("transactional models are checked by check::txn and check::direct")
            }
            ModelChoice::Given(kind) => (kind, None),
            ModelChoice::Auto => (
                ModelKind::Kv,
                Some(format!(":{} with a key at line {line}", op.f)),
            ),
        },
        independent: false,
        from_head: false,
    }))
}

/// [`streamable`] for an EDN file: decided on its first mebibyte.
fn streamable_edn(
    args: &Args,
    file: &Path,
    format: Format,
    read: &ReadOptions,
) -> Result<StreamPlan, String> {
    let head = rafty_checkers::stream::head(file, format, read).map_err(|e| e.to_string())?;
    let independent = match args.independent {
        Independent::Auto => import::looks_independent(&head),
        Independent::Yes => true,
        Independent::No => false,
    };
    Ok(match args.model {
        ModelChoice::Txn(_) | ModelChoice::Direct(_) => {
            unreachable!("transactional models are checked by check::txn and check::direct")
        }
        ModelChoice::Given(kind) => StreamPlan {
            model: (kind, None),
            independent,
            from_head: false,
        },
        ModelChoice::Auto => {
            let inferred = ModelKind::infer(&head);
            let from_head = inferred.kind != ModelKind::Kv;
            StreamPlan {
                model: (inferred.kind, Some(inferred.reason)),
                independent,
                from_head,
            }
        }
    })
}

fn print_text(out: &mut impl Write, report: &FileReport) -> std::io::Result<()> {
    let Some(result) = &report.result else {
        // The error names the file (and the line, for malformed input).
        let error = report.error.as_deref().unwrap_or("could not be checked");
        eprintln!("error: {error}");
        return Ok(());
    };
    let model = match &report.model {
        Some((kind, Some(reason))) => format!("{kind}, inferred from {reason}"),
        Some((kind, None)) => kind.to_string(),
        None => "?".to_owned(),
    };
    let partial = report.partial();
    writeln!(
        out,
        "{}: {}{} ({model}; {} ops, {} skipped, {} partitions; {} as {}{}) in {:.1} ms",
        report.file,
        result.valid.describe(),
        if partial.is_some() {
            ", for the ops checked"
        } else {
            ""
        },
        result.operations,
        result.skipped,
        result.partitions,
        report.format.map_or("?", Format::name),
        report.convention.map_or("?", Convention::name),
        if report.independent == Some(true) {
            ", independent: one object per key"
        } else {
            ""
        },
        report.millis
    )?;
    if let Some(note) = report
        .target
        .as_ref()
        .and_then(|target| target.note.as_ref())
    {
        writeln!(out, "  {note}")?;
    }
    if let Some(partial) = &partial {
        writeln!(out, "  {partial}")?;
    }
    if let Some(reason) = &result.reason {
        writeln!(out, "  {reason}")?;
    }
    if let Some(counterexample) = &result.counterexample {
        if let Some(key) = &counterexample.partition {
            writeln!(out, "  key {key}")?;
        }
        writeln!(
            out,
            "  cannot linearize {} in state {}, after {} linearized ops",
            describe(&counterexample.operation),
            counterexample.state,
            counterexample.linearized.len()
        )?;
        for op in &counterexample.concurrent {
            writeln!(out, "    concurrent: {}", describe(op))?;
        }
    }
    Ok(())
}

fn describe(op: &OpSummary) -> String {
    let outcome = match op.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    };
    format!(
        "process {} {} ({outcome}, line {})",
        op.process, op.description, op.line
    )
}

#[derive(Debug, Default)]
struct Tally {
    linearizable: usize,
    not_linearizable: usize,
    unknown: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, report: &FileReport) {
        match (&report.error, report.valid) {
            (Some(_), _) => self.errors += 1,
            (None, Verdict::Linearizable) => self.linearizable += 1,
            (None, Verdict::NotLinearizable) => self.not_linearizable += 1,
            (None, Verdict::Unknown) => self.unknown += 1,
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} files: {} linearizable, {} not linearizable, {} unknown, {} errors",
            self.linearizable + self.not_linearizable + self.unknown + self.errors,
            self.linearizable,
            self.not_linearizable,
            self.unknown,
            self.errors
        )
    }

    /// An invalid file settles the verdict (as in Jepsen, false beats unknown).
    fn exit_code(&self) -> u8 {
        if self.not_linearizable > 0 {
            1
        } else if self.unknown > 0 || self.errors > 0 {
            2
        } else {
            0
        }
    }
}

fn parse_model(name: &str) -> Result<ModelChoice, String> {
    if let Ok(model) = name.parse::<TxnModel>() {
        return Ok(ModelChoice::Txn(model));
    }
    if let Ok(model) = name.parse::<DirectModel>() {
        return Ok(ModelChoice::Direct(model));
    }
    match name {
        "auto" => Ok(ModelChoice::Auto),
        _ => name.parse().map(ModelChoice::Given).map_err(|_| {
            format!(
                "unknown model '{name}' (expected auto, register, cas-register, kv, \
                 list-append, rw-register, bank, set, counter or unique-ids)"
            )
        }),
    }
}

fn parse_consistency_model(name: &str) -> Result<ConsistencyModel, String> {
    name.parse()
}

fn parse_format(name: &str) -> Result<FormatChoice, String> {
    match name {
        "auto" => Ok(FormatChoice::Auto),
        _ => name.parse().map(FormatChoice::Given),
    }
}

fn parse_independent(name: &str) -> Result<Independent, String> {
    name.parse()
}

fn parse_convention(name: &str) -> Result<Convention, String> {
    name.parse()
}

/// `60s`, `500ms`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 60s, 500ms, 2m)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{text}' (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("'{text}': {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 days").is_err());
    }

    #[test]
    fn an_invalid_file_beats_an_unknown_one() {
        let tally = Tally {
            linearizable: 1,
            not_linearizable: 1,
            unknown: 1,
            errors: 1,
        };
        assert_eq!(tally.exit_code(), 1);
        let tally = Tally {
            linearizable: 1,
            errors: 1,
            ..Tally::default()
        };
        assert_eq!(tally.exit_code(), 2);
        assert_eq!(Tally::default().exit_code(), 0);
    }
}
