//! The index page's HTML: totals, each `rafty test` invocation's files, a filter, and one row per run.

use std::fmt::Write;

use super::{RunEntry, RunFacts};
use crate::escape;
use crate::input::RunVerdict;
use crate::static_files::percent_encode;

const CSS: &str = include_str!("index.css");
const JS: &str = include_str!("index.js");

/// What a missing figure shows.
const DASH: &str = "-";

/// The columns after the verdict and the test, in order.
const FACT_COLUMNS: [&str; 7] = [
    "workload", "nemesis", "log", "seed", "ops", "p99 ms", "faults",
];

/// The index page: every run, in the order given, and the files (`junit.xml`,
/// `summary.json`) of each `rafty test` invocation, as `(folder relative to the store, file
/// names)`. A text box and
/// verdict toggles filter the rows (plain JavaScript embedded in the page; `#q=kill&hide=valid`
/// in the address sets them).
pub fn render(runs: &[RunEntry], suites: &[(String, Vec<&str>)]) -> String {
    let count = |v: RunVerdict| runs.iter().filter(|r| r.verdict == Ok(v)).count();
    let unreadable = runs.iter().filter(|r| r.verdict.is_err()).count();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>rafty runs</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>rafty runs</h1>\n"
    );
    let _ = writeln!(
        html,
        "<p id=\"totals\">{} runs: {} valid, {} invalid, {} unknown, {} unreadable</p>",
        runs.len(),
        count(RunVerdict::Valid),
        count(RunVerdict::Invalid),
        count(RunVerdict::Unknown),
        unreadable
    );
    suite_links(&mut html, suites);
    html.push_str(
        "<div id=\"filters\"><input id=\"filter\" type=\"search\" size=\"40\" \
         placeholder=\"filter: words in the row (test, workload, nemesis, seed...)\">\
         <span id=\"verdicts\">",
    );
    for (verdict, label) in [
        ("invalid", "invalid"),
        ("unknown", "unknown"),
        ("error", "unreadable"),
        ("valid", "valid"),
    ] {
        let _ = write!(
            html,
            "<label><input type=\"checkbox\" value=\"{verdict}\" checked> {label}</label>"
        );
    }
    html.push_str("</span> <span id=\"shown\"></span></div>\n");
    html.push_str("<table id=\"runs\">\n<thead><tr><th>verdict</th><th>test</th>");
    for column in FACT_COLUMNS {
        let _ = write!(html, "<th>{column}</th>");
    }
    html.push_str("<th>run</th><th>files</th></tr></thead>\n<tbody>\n");
    for run in runs {
        row(&mut html, run);
    }
    let _ = write!(
        html,
        "</tbody>\n</table>\n<script>\n{JS}</script>\n</body>\n</html>\n"
    );
    html
}

fn suite_links(html: &mut String, suites: &[(String, Vec<&str>)]) {
    if suites.is_empty() {
        return;
    }
    html.push_str("<p id=\"suites\">rafty test invocations: ");
    for (folder, files) in suites {
        let _ = write!(html, "{} (", escape::xml(folder));
        let href: Vec<String> = folder.split('/').map(percent_encode).collect();
        for file in files {
            let _ = write!(html, "<a href=\"{}/{file}\">{file}</a>", href.join("/"));
        }
        html.push_str(") ");
    }
    html.push_str("</p>\n");
}

fn row(html: &mut String, run: &RunEntry) {
    let base = format!(
        "{}/{}/",
        percent_encode(&run.test),
        percent_encode(&run.run)
    );
    let (class, verdict) = match &run.verdict {
        Ok(v) => (v.as_str(), v.as_str().to_owned()),
        Err(reason) => ("error", reason.clone()),
    };
    let _ = write!(
        html,
        "<tr data-verdict=\"{class}\"><td class=\"{class}\">{}</td><td>{}</td>",
        escape::xml(&verdict),
        escape::xml(&run.test),
    );
    for cell in facts(&run.about, run.seed) {
        let _ = write!(html, "<td>{}</td>", escape::xml(&cell));
    }
    let _ = write!(
        html,
        "<td><a href=\"{base}\">{}</a></td><td>",
        escape::xml(&run.run)
    );
    for file in &run.files {
        let _ = write!(html, "<a href=\"{base}{file}\">{file}</a>");
    }
    html.push_str("</td></tr>\n");
}

/// The cells of [`FACT_COLUMNS`], a dash for each figure not known.
fn facts(about: &RunFacts, seed: Option<u64>) -> [String; 7] {
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| DASH.to_owned());
    [
        or_dash(about.workload.clone()),
        or_dash(about.nemesis.clone()),
        or_dash(about.log.clone()),
        or_dash(seed.map(|s| s.to_string())),
        or_dash(about.ops.map(|n| n.to_string())),
        or_dash(about.latency_ms_p99.map(|ms| format!("{ms:.1}"))),
        or_dash(about.faults.map(|n| n.to_string())),
    ]
}
