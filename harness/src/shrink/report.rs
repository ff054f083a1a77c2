//! The shrunk run's report, `counterexample.txt`: the violated check in words first, then the
//! few faults and operations in time order, then how much shrinking removed.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::run::results::RunResult;
use crate::sim::recorder;

use super::Shrunk;

/// The counterexample of `shrunk`, whose minimal schedule ran to `result` with its history at
/// `history` (a `history.jsonl`).
pub fn counterexample(shrunk: &Shrunk, result: &RunResult, history: &Path) -> io::Result<String> {
    let mut text = String::new();
    let _ = writeln!(text, "Counterexample: {}", shrunk.check);
    for line in explain(result) {
        let _ = writeln!(text, "  {line}");
    }
    let _ = writeln!(
        text,
        "\nWhat happened, in order (faults, then every operation: invoke and completion):"
    );
    for recorded in recorder::spool_ops(history)? {
        let op = recorded?.op;
        let seconds = op.time.unwrap_or(0) as f64 / 1e9;
        let key = op
            .key
            .as_ref()
            .map_or(String::new(), |key| format!(" {key}"));
        let _ = writeln!(
            text,
            "  {seconds:>9.3}s  {:<10} {:<6} {}{key} {}",
            op.process.to_string(),
            op.kind.to_string(),
            op.f,
            op.value
        );
    }
    let schedule = &shrunk.minimal;
    let _ = writeln!(
        text,
        "\nShrunk from {} to {} in {} runs, {:.1}s{}.",
        shrunk.before,
        shrunk.after,
        shrunk.runs,
        shrunk.wall.as_secs_f64(),
        if shrunk.out_of_time {
            " (stopped by the time limit: smaller may exist)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        text,
        "Replay: rafty replay schedule.json (seed {}{}).",
        schedule.seed,
        schedule
            .plant
            .as_ref()
            .map_or(String::new(), |plant| format!(", planted bug {plant}"))
    );
    Ok(text)
}

/// The violations of `result`, each in a line.
fn explain(result: &RunResult) -> Vec<String> {
    let checks = &result.checks;
    let mut lines = Vec::new();
    for violation in checks.invariants.violations.iter().take(5) {
        lines.push(format!("{}: {}", violation.invariant, violation.detail));
    }
    if checks.linearizability["valid"] == serde_json::Value::Bool(false) {
        let mut line = "linearizability: no order of the operations explains what the clients \
                        saw"
        .to_owned();
        if let Some(key) = checks.linearizability.get("key") {
            let _ = write!(line, " (key {key})");
        }
        lines.push(line);
    }
    for missing in checks.durability.missing.iter().take(5) {
        lines.push(format!("durability: acknowledged write lost: {missing}"));
    }
    if !checks.liveness.valid {
        lines.push("liveness: the cluster made no progress in a healthy window".into());
    }
    lines
}
