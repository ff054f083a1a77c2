//! `timeline.html`: a self-contained page (no network fetch, works from `file://`) that draws
//! every operation as a bar on its process's lane, on a zoomable canvas.
//!
//! The history is embedded as compact column-oriented JSON and drawn by a small inline
//! script that only draws what is in view, so 100,000 operations stay usable.

mod data;

use std::fmt::Write;

use rafty_checkers::Outcome;

use crate::extract::Extract;
use crate::input::RunReportInput;
use crate::{counterexample, escape};

const PAGE: &str = include_str!("timeline/page.html");
const CSS: &str = include_str!("timeline/timeline.css");
const JS: &str = include_str!("timeline/timeline.js");

/// Renders the page; an error says what in the input is inconsistent with the history.
pub(crate) fn render(input: &RunReportInput<'_>, extract: &Extract<'_>) -> Result<String, String> {
    let data = data::build(input, extract)?;
    let json = serde_json::to_string(&data).map_err(|e| format!("cannot encode data: {e}"))?;
    let title = escape::xml(&data.title);
    let cex_legend = if input.counterexample.is_some() {
        "<span><i style=\"border:2px solid #000\"></i>cannot be linearized</span>\
         <span><i style=\"border:2px dashed #ff7f0e\"></i>concurrent</span>\
         <span><i style=\"border:2px solid #1f77b4\"></i>linearizable prefix</span>\
         <span><i style=\"background:#ffdc00;opacity:.4\"></i>its window</span>"
    } else {
        ""
    };
    Ok(PAGE
        .replace("{{TITLE}}", &title)
        .replace("{{VERDICT}}", input.verdict.as_str())
        .replace("{{COUNTS}}", &escape::xml(&counts(extract)))
        .replace("{{CEX_LEGEND}}", cex_legend)
        .replace("{{CEX}}", &counterexample_text(input))
        .replace("{{CSS}}", CSS)
        .replace("{{JS}}", JS)
        .replace("{{DATA}}", &escape::json_for_script(&json)))
}

/// `1234 operations: 1200 ok, 20 fail, 14 info`.
fn counts(extract: &Extract<'_>) -> String {
    let count = |o: Outcome| extract.spans.iter().filter(|s| s.outcome == o).count();
    format!(
        "{} operations: {} ok, {} fail, {} info",
        extract.spans.len(),
        count(Outcome::Ok),
        count(Outcome::Fail),
        count(Outcome::Info)
    )
}

/// The counterexample in words, above the canvas, so it reads without the script.
fn counterexample_text(input: &RunReportInput<'_>) -> String {
    let Some(cex) = input.counterexample else {
        return String::new();
    };
    let mut html = format!(
        "<div id=\"cex\"><b>{}</b>.<br>{} operations were concurrent with it. Initial state {}; \
         the longest linearizable prefix has {} operations (last ones, with the state after \
         each):<ol>",
        escape::xml(&counterexample::headline(cex)),
        cex.concurrent.len(),
        escape::xml(&cex.initial_state),
        cex.linearized.len()
    );
    for (step, what, state) in counterexample::prefix_tail(cex) {
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
