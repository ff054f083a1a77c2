//! `timeline.html`: a self-contained page (no network fetch, works from `file://`) that draws
//! every operation as a bar on its client thread's lane (or its process's, when the run's
//! concurrency is not known), faults in rows of their own, on a zoomable canvas.
//!
//! The history is embedded as compact column-oriented JSON and drawn by a small inline
//! script that only draws what is in view, so 100,000 operations stay usable. A longer history
//! is sampled as it is read ([`Sample`]): every fault, every `info` operation and every
//! counterexample operation is drawn, and the `ok` or `fail` ones among every n-th operation,
//! so that the page stays about that size whatever the run's length; the page's header says
//! what was drawn.

mod data;
mod fault_rows;
mod lanes;

pub(crate) use data::{Sample, Sampled};
pub(crate) use lanes::LaneFold;

use std::fmt::Write;

use crate::extract::Extract;
use crate::input::RunReportInput;
use crate::{counterexample, escape};

const PAGE: &str = include_str!("timeline/page.html");
const CSS: &str = include_str!("timeline/timeline.css");
const JS: &str = include_str!("timeline/timeline.js");

/// Renders the page; an error says what in the input is inconsistent with the history.
pub(crate) fn render(input: &RunReportInput<'_>, extract: &Extract) -> Result<String, String> {
    let data = data::build(input, extract)?;
    let json = serde_json::to_string(&data).map_err(|e| format!("cannot encode data: {e}"))?;
    let title = escape::xml(&data.title);
    let legend = legend(&data);
    let mut counts = counts(extract);
    if let Some(sampled) = &data.sampled {
        counts = format!("{counts}; {}", sampled.describe());
    }
    let counts = escape::xml(&counts);
    let cex = counterexample_text(input, extract) + &anomalies_text(input);
    let shrunk = shrunk_text(input);
    let data = escape::json_for_script(&json);
    Ok(fill(
        PAGE,
        &[
            ("TITLE", &title),
            ("VERDICT", input.verdict.as_str()),
            ("COUNTS", &counts),
            ("LEGEND", &legend),
            ("CEX", &cex),
            ("SHRUNK", &shrunk),
            ("CSS", CSS),
            ("JS", JS),
            ("DATA", &data),
        ],
    ))
}

/// The legend: the outcomes, then only what this page draws.
fn legend(data: &data::Data<'_>) -> String {
    let item = |style: &str, label: &str| format!("<span><i style=\"{style}\"></i>{label}</span>");
    let mut html = [
        ("background:#2e9e44", "ok"),
        ("background:#d62728", "fail"),
        ("background:#f0a500", "info"),
    ]
    .map(|(style, label)| item(style, label))
    .concat();
    if data.ops.e.contains(&-1) {
        html += &item("background:#f0a500;opacity:.4", "never completed");
    }
    if !data.faults.is_empty() {
        html += &item("background:#9467bd;opacity:.35", "fault");
    }
    if !data.leaders.is_empty() {
        html += &item("background:#1f77b4;width:3px", "leader change");
    }
    if !data.notes.is_empty() {
        let triangle = "background:#d62728;width:8px;clip-path:polygon(50% 0,100% 100%,0 100%)";
        html += &item(triangle, "invariant violation");
    }
    if data.minimal.is_some() {
        html += &item("border:2px solid #1f3fbf", "kept by shrinking");
        html += &item("background:#888;opacity:.3", "final reads (not shrunk)");
    }
    if data.cex.is_some() {
        html += &item("border:2px solid #000", "cannot be linearized");
        html += &item("border:2px dashed #ff7f0e", "concurrent");
        html += &item("border:2px solid #1f77b4", "linearizable prefix");
        html += &item("background:#ffdc00;opacity:.4", "its window");
    }
    html
}

/// Replaces each `{{NAME}}` of `template` by its value, in one pass over the template only
/// (so a value that happens to contain a marker is left as it is).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            values
                .iter()
                .find(|(name, _)| *name == &after[..end])
                .map(|v| (end, v.1))
        });
        match value {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `1234 operations: 1200 ok, 20 fail, 14 info`.
fn counts(extract: &Extract) -> String {
    let [total, ok, fail, info] = extract.tally.outcomes;
    format!("{total} operations: {ok} ok, {fail} fail, {info} info")
}

/// A shrunk run's counterexample in words, first on the page (its header), so it reads
/// without the script.
fn shrunk_text(input: &RunReportInput<'_>) -> String {
    let Some(minimal) = &input.minimal else {
        return String::new();
    };
    let mut lines = minimal.text.trim_end().lines();
    let headline = lines.next().unwrap_or("Counterexample");
    let rest: Vec<&str> = lines.collect();
    format!(
        "<div id=\"shrunk\"><b>{}</b> (a shrunk schedule: every operation and fault left is \
         needed for the failure; the operations it kept are outlined on the timeline)<pre>{}</pre></div>\n",
        escape::xml(headline),
        escape::xml(&rest.join("\n"))
    )
}

/// A transactional check's anomalies in words, above the canvas.
fn anomalies_text(input: &RunReportInput<'_>) -> String {
    input.anomalies.map_or_else(String::new, |text| {
        format!(
            "<div id=\"anomalies\"><b>Anomalies</b><pre>{}</pre></div>\n",
            escape::xml(text)
        )
    })
}

/// The counterexample in words, above the canvas, so it reads without the script.
fn counterexample_text(input: &RunReportInput<'_>, extract: &Extract) -> String {
    let Some(cex) = input.counterexample else {
        return String::new();
    };
    let mut html = format!(
        "<div id=\"cex\"><b>{}</b>.<br>{} operations were concurrent with it. Initial state {}; \
         the longest linearizable prefix has {} operations (last ones, with the state after \
         each):<ol>",
        escape::xml(&counterexample::headline(cex, &extract.nodes)),
        cex.concurrent.len(),
        escape::xml(&cex.initial_state),
        cex.linearized.len()
    );
    for (step, what, state) in counterexample::prefix_tail(cex, &extract.nodes) {
        let _ = write!(
            html,
            "<li value=\"{step}\">{} =&gt; {}</li>",
            escape::xml(&what),
            escape::xml(state)
        );
    }
    html.push_str("</ol></div>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shrunk run's page leads with its counterexample (before the controls), escaped.
    #[test]
    fn a_shrunk_run_leads_with_its_counterexample() {
        let history = rafty_checkers::History::new();
        let text = "Counterexample: invariant leader-completeness\n  entry <3> missing\n";
        let input = RunReportInput {
            minimal: Some(crate::input::Minimal {
                text,
                operations_until_ns: 1_000,
                violation_ns: Some(900),
            }),
            ..RunReportInput::new("kv", 7, &history)
        };
        let shrunk = shrunk_text(&input);
        assert!(shrunk.starts_with("<div id=\"shrunk\"><b>Counterexample: invariant"));
        assert!(shrunk.contains("entry &lt;3&gt; missing"), "{shrunk}");
        let page = PAGE.replace("{{SHRUNK}}", &shrunk);
        assert!(page.find("id=\"shrunk\"") < page.find("id=\"controls\""));
        assert_eq!(shrunk_text(&RunReportInput::new("kv", 7, &history)), "");
    }

    #[test]
    fn markers_are_filled_from_the_template_only() {
        let filled = fill("<{{A}}|{{B}}|{{C}}>", &[("A", "{{B}}"), ("B", "b")]);
        assert_eq!(filled, "<{{B}}|b|{{C}}>");
    }
}
