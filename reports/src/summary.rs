//! `summary.txt`: the run in a page of plain text (verdict, checks, reproduction, operation
//! counts, latency quantiles, faults, leader changes, the counterexample).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::counterexample;
use crate::extract::{Clock, Extract};
use crate::input::RunReportInput;

/// At most this many faults and leader changes are listed one per line.
const LISTED: usize = 40;

/// Renders summary.txt.
pub(crate) fn render(input: &RunReportInput<'_>, extract: &Extract) -> String {
    let mut out = String::new();
    if let Some(minimal) = &input.minimal {
        // A shrunk run leads with its counterexample.
        out.push_str(minimal.text.trim_end());
        out.push_str("\n\n");
    }
    let _ = writeln!(out, "test:      {}", input.test);
    let _ = writeln!(out, "seed:      {}", input.seed);
    let _ = writeln!(out, "verdict:   {}", input.verdict.as_str());
    if !input.reproduce.is_empty() {
        let _ = writeln!(out, "reproduce: {}", input.reproduce);
    }
    if !input.checks.is_empty() {
        out.push_str("\nchecks:\n");
        for check in input.checks {
            let _ = writeln!(
                out,
                "  {:<24} {:<8} {}",
                check.name,
                check.verdict.as_str(),
                check.detail
            );
        }
    }
    if let Some(anomalies) = input.anomalies {
        out.push_str("\nanomalies:\n");
        out.push_str(anomalies);
    }
    operations(&mut out, extract);
    latency(&mut out, extract);
    faults(&mut out, input, extract);
    counterexample(&mut out, input, extract);
    out.push_str(
        "\nfiles: timeline.html latency-raw.svg latency-quantiles.svg rate.svg results.json \
         history.jsonl history.edn\n",
    );
    out
}

fn operations(out: &mut String, extract: &Extract) {
    let tally = &extract.tally;
    let [total, ok, fail, info] = tally.outcomes;
    let _ = writeln!(
        out,
        "\noperations: {total} ({ok} ok, {fail} fail, {info} info, of which {} never \
         completed) on {} processes, {} keys",
        tally.never_completed,
        tally.processes.len(),
        tally.keys.len()
    );
    for (f, [total, ok, fail, info]) in &tally.by_function {
        let _ = writeln!(
            out,
            "  {f:<10} {total:>8}  ok {ok}, fail {fail}, info {info}"
        );
    }
}

fn latency(out: &mut String, extract: &Extract) {
    let histogram = &extract.tally.ok_latencies;
    if histogram.is_empty() {
        out.push_str("latency of ok operations: none completed\n");
        return;
    }
    let (unit, scale) = match extract.clock {
        Clock::Nanos => ("ms", 1e6),
        Clock::Events => ("events", 1.0),
    };
    let q = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / scale;
    let _ = writeln!(
        out,
        "latency of ok operations ({unit}): p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
        q(0.5),
        q(0.95),
        q(0.99),
        histogram.max() as f64 / scale
    );
}

/// A time for people: seconds with milliseconds, or an event position.
pub(crate) fn time(time: u64, clock: Clock) -> String {
    match clock {
        Clock::Nanos => format!("{:.3} s", time as f64 / 1e9),
        Clock::Events => format!("event {time}"),
    }
}

fn faults(out: &mut String, input: &RunReportInput<'_>, extract: &Extract) {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in &extract.faults {
        *kinds.entry(&fault.name).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", kinds.join(", "))
    };
    let _ = writeln!(out, "\nfaults: {}{kinds}", extract.faults.len());
    list(out, &extract.faults, |fault| {
        format!(
            "{:>12} to {:>12}  {:<10} {}",
            time(fault.start, extract.clock),
            time(fault.end, extract.clock),
            fault.name,
            fault.detail
        )
    });
    let _ = writeln!(out, "leader changes: {}", input.leader_changes.len());
    list(out, input.leader_changes, |change| {
        format!(
            "{:>12}  n{} leader of term {}",
            time(change.time_ns, Clock::Nanos),
            change.node,
            change.term
        )
    });
    if !input.annotations.is_empty() {
        let _ = writeln!(
            out,
            "invariant violations marked: {}",
            input.annotations.len()
        );
    }
    list(out, input.annotations, |note| {
        let node = note.node.map(|n| format!(" n{n}")).unwrap_or_default();
        format!(
            "{:>12}  {}{node}: {}",
            time(note.time_ns, Clock::Nanos),
            note.label,
            note.detail
        )
    });
}

/// The first [`LISTED`] of `items`, one indented line each, then how many more there are.
fn list<T>(out: &mut String, items: &[T], line: impl Fn(&T) -> String) {
    for item in items.iter().take(LISTED) {
        let _ = writeln!(out, "  {}", line(item));
    }
    if items.len() > LISTED {
        let _ = writeln!(out, "  ... {} more", items.len() - LISTED);
    }
}

fn counterexample(out: &mut String, input: &RunReportInput<'_>, extract: &Extract) {
    let Some(cex) = input.counterexample else {
        return;
    };
    let _ = writeln!(out, "\n{}", counterexample::headline(cex, &extract.nodes));
    for op in &cex.concurrent {
        let _ = writeln!(
            out,
            "  concurrent: {}",
            counterexample::describe_op(op, &extract.nodes)
        );
    }
    let _ = writeln!(
        out,
        "  initial state {}; longest linearizable prefix: {} operations, ending:",
        cex.initial_state,
        cex.linearized.len()
    );
    for (step, what, state) in counterexample::prefix_tail(cex, &extract.nodes) {
        let _ = writeln!(out, "    {step:>5}. {what} => {state}");
    }
}
