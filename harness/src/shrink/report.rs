//! The shrunk run's report, `counterexample.txt`: the violated check in words first, then the
//! few faults (with their times after moving) and operations the schedule kept, then what
//! the run did in time order, then how much shrinking removed. The run's timeline and
//! summary.txt lead with it (`rafty_reports::Minimal`).

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
    let _ = writeln!(text, "  {}", super::words::rule(&shrunk.check));
    for line in explain(result, &shrunk.check) {
        let _ = writeln!(text, "  {line}");
    }
    schedule_left(&mut text, &shrunk.minimal);
    let _ = writeln!(
        text,
        "\nWhat happened, in order (faults, then every operation: invoke and completion):"
    );
    let limit_ns = shrunk.minimal.size().time_limit_ms * 1_000_000;
    let mut past_limit = false;
    for recorded in recorder::spool_ops(history)? {
        let op = recorded?.op;
        if !past_limit && op.time.is_some_and(|time| time >= limit_ns) {
            past_limit = true;
            let _ = writeln!(
                text,
                "  -- the time limit: faults healed; what follows is the harness's recovery \
                 and final reads, not the schedule's --"
            );
        }
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

/// The faults and operations the shrunk `schedule` kept, in time order.
fn schedule_left(text: &mut String, schedule: &crate::schedule::Schedule) {
    let seconds = |ms: u64| ms as f64 / 1000.0;
    let size = schedule.size();
    let _ = writeln!(
        text,
        "\nThe schedule left: {} faults, {} operations, a {:.1}s time limit, {} nodes.",
        size.faults,
        size.operations,
        seconds(size.time_limit_ms),
        size.nodes
    );
    for fault in &schedule.faults {
        let until = fault.stop.as_ref().map_or_else(
            || {
                format!(
                    "healed at the time limit {:.3}s",
                    seconds(size.time_limit_ms)
                )
            },
            |stop| format!("to {:.3}s ({})", seconds(stop.at_ms), stop.description),
        );
        let _ = writeln!(
            text,
            "  fault {:>9.3}s {until}: {} {}",
            seconds(fault.start_ms),
            fault.kind.name(),
            fault.description
        );
    }
    let mut ops: Vec<_> = schedule
        .clients
        .iter()
        .flat_map(|(client, ops)| ops.iter().map(move |op| (op.at_ms, *client, &op.op)))
        .collect();
    ops.sort_by_key(|&(at_ms, client, _)| (at_ms, client));
    for (at_ms, client, op) in ops {
        let _ = writeln!(
            text,
            "  op    {:>9.3}s client {client}: {} {} {}",
            seconds(at_ms),
            op.function(),
            op.key(),
            op.invoke_value()
        );
    }
}

/// The violations of `result`, each in a line: the first few of the kept `check` first.
fn explain(result: &RunResult, check: &str) -> Vec<String> {
    const SHOWN: usize = 3;
    let checks = &result.checks;
    let mut lines = Vec::new();
    let kept = super::tester::invariant_of(check);
    let violations = &checks.invariants.violations;
    let (first, others): (Vec<_>, Vec<_>) = violations
        .iter()
        .partition(|violation| Some(violation.invariant) == kept);
    for violation in first.iter().chain(&others).take(SHOWN) {
        lines.push(format!(
            "{} at {:.3}s on node {}: {}",
            violation.invariant,
            violation.time_ns as f64 / 1e9,
            violation.node,
            violation.detail
        ));
    }
    let count = checks.invariants.violation_count;
    if count > SHOWN {
        lines.push(format!(
            "... and {} more invariant violations",
            count - SHOWN
        ));
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
