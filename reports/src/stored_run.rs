//! [`write_stored_run_report`]: draws the report of a run from what the harness stored in its
//! folder (results.json, history.jsonl, nodes/*.log), without the run in memory.

use std::path::{Path, PathBuf};

use rafty_checkers::{CheckResult, Counterexample, History};
use serde_json::Value as Json;

use crate::error::ReportError;
use crate::events::Events;
use crate::input::{Annotation, CheckOutcome, LeaderChange, Minimal, RunReportInput, RunVerdict};
use crate::membership::{membership_events, seconds_to_ns};
use crate::run_report::draw;

/// The file a shrunk run's folder holds its counterexample in (`rafty shrink` writes it).
pub const COUNTEREXAMPLE_FILE: &str = "counterexample.txt";

/// The longest detail kept for one check in summary.txt.
const DETAIL_CHARS: usize = 300;

/// Writes the files of [`write_run_report`](crate::write_run_report) into the run folder `dir`
/// from its `results.json` (test, seed, verdict, checks, reproduction command, the client
/// concurrency (`config.concurrency`), and the linearizability checker's counterexample, the
/// invariant violations), `history.jsonl` (with the node that served each event, from its
/// `node` fields), and the leader changes, configurations and membership calls found in
/// `nodes/*.log`.
///
/// `history.jsonl` is read in two passes, a line at a time, and never held: what is kept is
/// what the report draws (see `extract.rs`), so a 24-hour run's report takes about 150 MB.
///
/// A missing or malformed results.json or history.jsonl is an error naming it; node logs
/// are optional.
pub fn write_stored_run_report(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let results_path = dir.join("results.json");
    let text = std::fs::read_to_string(&results_path)
        .map_err(|source| ReportError::read(&results_path, source))?;
    let results: Json = serde_json::from_str(&text)
        .map_err(|error| ReportError::invalid(&results_path, format!("not JSON: {error}")))?;
    let verdict = results
        .get("valid")
        .and_then(RunVerdict::from_json)
        .ok_or_else(|| {
            ReportError::invalid(
                &results_path,
                "no `valid` field (true, false or \"unknown\")",
            )
        })?;
    let history_path = dir.join("history.jsonl");
    let checks = checks(&results);
    let counterexample = counterexample(&results);
    let anomalies = results
        .get("checks")
        .and_then(|checks| checks.get("linearizability"))
        .and_then(crate::anomalies::text);
    let logs = node_logs(&dir.join("nodes"));
    let leaders = leader_changes(lines(&logs));
    let (configurations, membership_calls) = membership_events(lines(&logs));
    let annotations = violations(&results);
    let minimal_text = std::fs::read_to_string(dir.join(COUNTEREXAMPLE_FILE)).ok();
    let minimal = minimal_text
        .as_deref()
        .map(|text| minimal(text, &results, &annotations));
    // The history is read from history.jsonl by `draw`, in passes, never whole.
    let empty = History::new();
    let test = results.get("test").and_then(Json::as_str).unwrap_or("run");
    let input = RunReportInput {
        verdict,
        checks: &checks,
        counterexample: counterexample.as_ref(),
        anomalies: anomalies.as_deref(),
        leader_changes: &leaders,
        configurations: &configurations,
        membership_calls: &membership_calls,
        annotations: &annotations,
        reproduce: results
            .get("reproduce")
            .and_then(Json::as_str)
            .unwrap_or(""),
        concurrency: results
            .get("config")
            .and_then(|config| config.get("concurrency"))
            .and_then(Json::as_u64)
            .and_then(|c| usize::try_from(c).ok()),
        minimal,
        ..RunReportInput::new(
            test,
            results.get("seed").and_then(Json::as_u64).unwrap_or(0),
            &empty,
        )
    };
    draw(dir, &input, &Events::File(&history_path))
}

/// A shrunk run's marks from its counterexample `text` (first line `Counterexample: CHECK`):
/// its operations end at the time limit in results.json (`config.time_limit_ms`), and the
/// check fired at the first violation of that invariant, if it is one.
fn minimal<'t>(text: &'t str, results: &Json, annotations: &[Annotation]) -> Minimal<'t> {
    let limit_ms = results
        .get("config")
        .and_then(|config| config.get("time_limit_ms"))
        .and_then(Json::as_u64)
        .unwrap_or(0);
    let check = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("Counterexample: invariant "))
        .and_then(|rest| rest.split(' ').next());
    let violation_ns = check.and_then(|name| {
        annotations
            .iter()
            .find(|note| note.label == name)
            .map(|note| note.time_ns)
    });
    Minimal {
        text,
        operations_until_ns: limit_ms.saturating_mul(1_000_000),
        violation_ns,
    }
}

/// Each entry of `checks` with its verdict, and for a check that did not pass, what it says
/// (its fields but `valid`, as compact JSON).
fn checks(results: &Json) -> Vec<CheckOutcome> {
    let Some(Json::Object(checks)) = results.get("checks") else {
        return Vec::new();
    };
    checks
        .iter()
        .map(|(name, check)| {
            let verdict = check
                .get("valid")
                .and_then(RunVerdict::from_json)
                .unwrap_or(RunVerdict::Unknown);
            let detail = match (verdict, check) {
                (RunVerdict::Valid, _) => String::new(),
                (_, Json::Object(fields)) => {
                    let mut fields = fields.clone();
                    fields.remove("valid");
                    fields.remove("counterexample");
                    fields.remove("observed");
                    let mut text = Json::Object(fields).to_string();
                    if text.len() > DETAIL_CHARS {
                        let cut = (0..=DETAIL_CHARS).rev().find(|i| text.is_char_boundary(*i));
                        text.truncate(cut.unwrap_or(0));
                        text.push_str("...");
                    }
                    text
                }
                (_, other) => other.to_string(),
            };
            CheckOutcome {
                name: name.clone(),
                verdict,
                detail,
            }
        })
        .collect()
}

/// The invariant violations results.json lists (`checks.invariants.violations`: `time_ns`,
/// `node`, `invariant`, `detail`), in time order.
fn violations(results: &Json) -> Vec<Annotation> {
    let Some(Json::Array(violations)) = results
        .get("checks")
        .and_then(|checks| checks.get("invariants"))
        .and_then(|invariants| invariants.get("violations"))
    else {
        return Vec::new();
    };
    let mut annotations: Vec<Annotation> = violations
        .iter()
        .filter_map(|violation| {
            Some(Annotation {
                time_ns: violation.get("time_ns")?.as_u64()?,
                node: violation.get("node").and_then(Json::as_u64),
                label: violation
                    .get("invariant")
                    .and_then(Json::as_str)
                    .unwrap_or("violation")
                    .to_owned(),
                detail: violation
                    .get("detail")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned(),
            })
        })
        .collect();
    annotations.sort_by_key(|a| a.time_ns);
    annotations
}

/// The linearizability checker's counterexample, when results.json holds one.
fn counterexample(results: &Json) -> Option<Counterexample> {
    let check = results.get("checks")?.get("linearizability")?;
    serde_json::from_value::<CheckResult>(check.clone())
        .ok()?
        .counterexample
}

/// The node logs' texts (none when there is no `nodes` folder).
fn node_logs(nodes: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(nodes) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect()
}

/// Every line of the node logs `logs`.
fn lines(logs: &[String]) -> impl Iterator<Item = &str> {
    logs.iter().flat_map(|log| log.lines())
}

/// Leader changes from node log lines `<seconds>s n<node> role Leader term <term> ...`.
fn leader_changes<'l>(lines: impl Iterator<Item = &'l str>) -> Vec<LeaderChange> {
    let mut changes: Vec<LeaderChange> = lines.filter_map(leader_line).collect();
    changes.sort_by_key(|c| (c.time_ns, c.term, c.node));
    changes.dedup();
    changes
}

/// Parses `   5.441000s n1 role Leader term 2 leader Some(1)`.
fn leader_line(line: &str) -> Option<LeaderChange> {
    let mut words = line.split_whitespace();
    let time = words.next()?.strip_suffix('s')?;
    let node = words.next()?.strip_prefix('n')?.parse().ok()?;
    if (words.next()?, words.next()?, words.next()?) != ("role", "Leader", "term") {
        return None;
    }
    let term = words.next()?.parse().ok()?;
    Some(LeaderChange {
        time_ns: seconds_to_ns(time)?,
        node,
        term,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_lines_are_parsed_exactly() {
        assert_eq!(
            leader_line("   5.441000s n1 role Leader term 2 leader Some(1)"),
            Some(LeaderChange {
                time_ns: 5_441_000_000,
                node: 1,
                term: 2
            })
        );
        assert_eq!(
            leader_line("   0.167000s n1 role Follower term 1 leader None"),
            None
        );
        assert_eq!(leader_line("garbage"), None);
        assert_eq!(seconds_to_ns("0.000000001"), Some(1));
        assert_eq!(seconds_to_ns("12"), Some(12_000_000_000));
    }

    #[test]
    fn failed_checks_carry_their_fields() {
        let results: Json = serde_json::from_str(
            r#"{"checks":{"durability":{"valid":false,"missing":["put k1 3"]},
                "simulation":{"valid":true,"wall_ms":3}}}"#,
        )
        .unwrap();
        let checks = checks(&results);
        assert_eq!(checks[0].name, "durability");
        assert_eq!(checks[0].verdict, RunVerdict::Invalid);
        assert_eq!(checks[0].detail, r#"{"missing":["put k1 3"]}"#);
        assert_eq!(checks[1].detail, "");
    }
}
