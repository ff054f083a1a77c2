//! write_run_report on small generated histories: every file written, SVGs well-formed with
//! their expected elements, the timeline's embedded data complete, bad input a typed error.

mod common;

use std::path::Path;

use rafty_checkers::{History, Op, OpType, Process, Value};
use rafty_reports::{RUN_REPORT_FILES, ReportError, write_run_report};

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The JSON the timeline page embeds.
fn timeline_data(html: &str) -> serde_json::Value {
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .unwrap();
    let rest = &html[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_passing_run_writes_every_file() {
    let history = common::kv_history(400, 5, 3, 1);
    assert!(
        common::counterexample(&history).is_none(),
        "generated history is linearizable"
    );
    let leaders = common::leader_changes(&history);
    let dir = tempfile::tempdir().unwrap();
    let written = write_run_report(dir.path(), &common::input(&history, None, &leaders)).unwrap();
    assert_eq!(written.len(), RUN_REPORT_FILES.len());
    for name in RUN_REPORT_FILES {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
    let html = read(dir.path(), "timeline.html");
    for id in [
        "id=\"timeline\"",
        "id=\"key\"",
        "id=\"verdict\"",
        "id=\"status\"",
    ] {
        assert!(html.contains(id), "{id}");
    }
    assert!(!html.contains("id=\"cex\""));
    assert!(
        !html.contains("cannot be linearized</span>"),
        "no counterexample legend"
    );
    assert!(
        !html.contains("invariant violation</span>"),
        "nothing to mark, no legend"
    );
    assert!(html.contains("leader change</span>") && html.contains("fault</span>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network fetch"
    );
    let data = timeline_data(&html);
    assert_eq!(data["ops"]["l"].as_array().unwrap().len(), 400);
    assert_eq!(data["keys"].as_array().unwrap().len(), 3);
    assert_eq!(data["lanes"].as_array().unwrap().len(), 5);
    assert!(!data["faults"].as_array().unwrap().is_empty());
    assert_eq!(data["leaders"].as_array().unwrap().len(), leaders.len());
    assert!(data["cex"].is_null());
    let summary = read(dir.path(), "summary.txt");
    assert!(summary.contains("verdict:   valid"), "{summary}");
    assert!(summary.contains("operations: 400"), "{summary}");
    assert!(summary.contains("partition"), "{summary}");
    // Generated latencies are 1 to 16 ms, with a few of 80 ms.
    let p50 = quantile(&summary, "p50");
    assert!((1.0..=16.0).contains(&p50), "{summary}");
    assert!(
        (16.0..=81.0).contains(&quantile(&summary, "max")),
        "{summary}"
    );
}

/// A quantile from summary.txt's latency line (`... p50 8.123  p95 ...`).
fn quantile(summary: &str, name: &str) -> f64 {
    let line = summary
        .lines()
        .find(|l| l.starts_with("latency of ok"))
        .unwrap();
    let rest = &line[line.find(&format!(" {name} ")).unwrap() + name.len() + 2..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn plots_are_well_formed_svg_with_their_series() {
    let history = common::kv_history(300, 4, 2, 2);
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    let raw = read(dir.path(), "latency-raw.svg");
    let elements = common::xml_elements(&raw);
    assert_eq!(elements[0], "svg");
    assert!(raw.contains("class=\"fault\""), "faults shaded");
    assert!(raw.contains("<path class=\"ok\""), "ok dots");
    assert!(raw.contains("latency (ms, log scale)"));
    let quantiles = read(dir.path(), "latency-quantiles.svg");
    common::xml_elements(&quantiles);
    for series in ["p50", "p95", "p99", "max"] {
        assert!(
            quantiles.contains(&format!("data-series=\"{series}\"")),
            "{series}"
        );
    }
    let rate = read(dir.path(), "rate.svg");
    common::xml_elements(&rate);
    for series in ["ok", "fail", "info"] {
        assert!(
            rate.contains(&format!("<polyline class=\"{series}\"")),
            "{series}"
        );
    }
    assert!(rate.contains("operations completed per second"));
}

#[test]
fn a_failing_run_draws_the_counterexample() {
    let history = common::break_one_read(&common::kv_history(400, 5, 3, 3));
    let cex = common::counterexample(&history).expect("broken history is not linearizable");
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, Some(&cex), &[])).unwrap();
    let html = read(dir.path(), "timeline.html");
    assert!(html.contains("id=\"cex\""));
    assert!(html.contains("cannot be linearized"));
    let data = timeline_data(&html);
    let op = data["cex"]["op"].as_u64().unwrap() as usize;
    assert_eq!(
        data["ops"]["p"][op].as_u64().unwrap() as usize,
        cex.operation.invoke_position
    );
    assert_eq!(
        data["cex"]["prefix"].as_array().unwrap().len(),
        cex.linearized.len()
    );
    assert_eq!(
        data["cex"]["concurrent"].as_array().unwrap().len(),
        cex.concurrent.len()
    );
    assert!(
        data["cex"]["key"].as_i64().unwrap() >= 0,
        "the key is selected"
    );
    let summary = read(dir.path(), "summary.txt");
    assert!(summary.contains("verdict:   invalid"));
    assert!(
        summary.contains("cannot be linearized in state"),
        "{summary}"
    );
    assert!(summary.contains("reproduce: cargo run"), "{summary}");
}

#[test]
fn a_history_without_times_is_drawn_by_position() {
    let p = Process::Client(0);
    let history = History::from_ops([
        Op::new(p.clone(), OpType::Invoke, "write", Value::Int(1)),
        Op::new(p.clone(), OpType::Ok, "write", Value::Int(1)),
        Op::new(p, OpType::Invoke, "read", Value::Nil),
    ]);
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    common::xml_elements(&read(dir.path(), "latency-raw.svg"));
    assert!(read(dir.path(), "rate.svg").contains("event position"));
    assert_eq!(
        timeline_data(&read(dir.path(), "timeline.html"))["clock"],
        "events"
    );
}

#[test]
fn an_empty_history_still_gives_well_formed_files() {
    let history = History::new();
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    for name in ["latency-raw.svg", "latency-quantiles.svg", "rate.svg"] {
        common::xml_elements(&read(dir.path(), name));
    }
}

#[test]
fn markup_in_values_cannot_break_the_page() {
    let p = Process::Client(0);
    let nasty = Value::from("</script><script>alert(1)</script>&<!--");
    let history = History::from_ops([
        Op::new(p.clone(), OpType::Invoke, "write", nasty.clone())
            .with_key(nasty.clone())
            .with_time(1),
        Op::new(p, OpType::Ok, "write", nasty.clone())
            .with_key(nasty)
            .with_time(5),
        Op::new(
            Process::nemesis(),
            OpType::Info,
            "start-kill",
            Value::from("<b>n1</b>"),
        )
        .with_time(2),
    ]);
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    let html = read(dir.path(), "timeline.html");
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "only the page's own scripts close"
    );
    assert_eq!(
        timeline_data(&html)["keys"][0],
        "</script><script>alert(1)</script>&<!--"
    );
    common::xml_elements(&read(dir.path(), "latency-raw.svg"));
}

#[test]
fn a_malformed_history_is_an_error_naming_the_file() {
    let mut history = History::from_source("store/kv/x/history.jsonl");
    history.push_at_line(
        Op::new(Process::Client(0), OpType::Ok, "read", Value::Nil),
        3,
    );
    let dir = tempfile::tempdir().unwrap();
    let error = write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap_err();
    assert!(matches!(error, ReportError::Invalid { .. }), "{error:?}");
    assert_eq!(error.path(), dir.path().join("timeline.html"));
    assert!(error.to_string().contains("history.jsonl:3"), "{error}");
}

#[test]
fn a_counterexample_from_another_history_is_an_error() {
    let broken = common::break_one_read(&common::kv_history(200, 4, 2, 5));
    let cex = common::counterexample(&broken).unwrap();
    let other = common::kv_history(10, 2, 1, 6);
    let dir = tempfile::tempdir().unwrap();
    let error = write_run_report(dir.path(), &common::input(&other, Some(&cex), &[])).unwrap_err();
    assert!(
        error.to_string().contains("is not a client invocation"),
        "{error}"
    );
}

#[test]
fn an_unwritable_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("occupied");
    std::fs::write(&file, "").unwrap();
    let history = common::kv_history(10, 2, 1, 7);
    let error = write_run_report(&file, &common::input(&history, None, &[])).unwrap_err();
    assert!(matches!(error, ReportError::Write { .. }), "{error:?}");
    assert_eq!(error.path(), file);
}

#[test]
fn a_100k_operation_report_stays_compact() {
    let history = common::kv_history(100_000, 20, 100, 9);
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    let elapsed = started.elapsed();
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    println!(
        "100,000 operations: report written in {elapsed:?}; timeline.html {} bytes, \
         latency-raw.svg {} bytes",
        size("timeline.html"),
        size("latency-raw.svg")
    );
    assert!(
        size("timeline.html") < 8_000_000,
        "the timeline embeds compact data"
    );
    assert!(
        size("latency-raw.svg") < 3_000_000,
        "raw latencies are one path per outcome"
    );
    common::xml_elements(&read(dir.path(), "latency-raw.svg"));
}

/// A long run's report is bounded whatever its length: the timeline samples `ok` and `fail`
/// operations (and says so) but draws every fault, every `info` operation and every operation
/// of the counterexample; the raw latency plot draws one dot per 2-pixel cell; the rate
/// plot widens its buckets.
#[test]
fn a_long_run_report_is_bounded_and_keeps_every_fault_and_failing_operation() {
    let history = common::kv_history(400_000, 20, 100, 11);
    let broken = common::break_one_read(&history);
    let cex = common::counterexample(&broken).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&broken, Some(&cex), &[])).unwrap();
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    println!(
        "400,000 operations: timeline.html {} bytes, latency-raw.svg {} bytes, rate.svg {} bytes",
        size("timeline.html"),
        size("latency-raw.svg"),
        size("rate.svg")
    );
    assert!(size("timeline.html") < 10_000_000);
    assert!(size("latency-raw.svg") < 1_000_000);
    assert!(size("rate.svg") < 200_000);
    let html = read(dir.path(), "timeline.html");
    assert!(
        html.contains("every fault, every info (indeterminate) operation, the counterexample"),
        "says what it drew"
    );
    let data = timeline_data(&html);
    let outcomes = data["ops"]["o"].as_array().unwrap();
    let drawn = |outcome: u64| {
        outcomes
            .iter()
            .filter(|o| o.as_u64() == Some(outcome))
            .count()
    };
    let in_history = |kind: OpType| {
        broken
            .ops
            .iter()
            .filter(|op| op.process.is_client() && op.kind == kind)
            .count()
    };
    assert_eq!(
        drawn(2),
        in_history(OpType::Info) + never_completed(&broken)
    );
    assert!(drawn(0) * 3 < in_history(OpType::Ok), "ok sampled");
    assert!(
        drawn(1) * 3 < in_history(OpType::Fail),
        "fail sampled alike"
    );
    assert!(outcomes.len() <= 101_000, "{} drawn", outcomes.len());
    let faults = broken
        .ops
        .iter()
        .filter(|op| op.process == Process::nemesis() && op.f.as_str().starts_with("start"))
        .count();
    assert_eq!(data["faults"].as_array().unwrap().len(), faults);
    assert!(
        data["cex"]["op"].is_u64(),
        "the counterexample's operations are drawn"
    );
    let raw = read(dir.path(), "latency-raw.svg");
    assert!(
        raw.contains("dots, one per 2-pixel cell"),
        "says what it drew"
    );
    common::xml_elements(&raw);
}

/// The rate plot of a run longer than 900 s averages over buckets of whole seconds, at most
/// 900 of them, and says so.
#[test]
fn a_long_runs_rate_plot_widens_its_buckets() {
    let mut ops = Vec::new();
    for i in 0..2_000u64 {
        let start = i * 10_000_000_000;
        ops.push(
            Op::new(Process::Client(0), OpType::Invoke, "write", Value::Int(1)).with_time(start),
        );
        ops.push(
            Op::new(Process::Client(0), OpType::Ok, "write", Value::Int(1))
                .with_time(start + 1_000_000),
        );
    }
    let history = History::from_ops(ops);
    let dir = tempfile::tempdir().unwrap();
    write_run_report(dir.path(), &common::input(&history, None, &[])).unwrap();
    let rate = read(dir.path(), "rate.svg");
    // 20,000 s in buckets of 23 s (20,000 / 900, rounded up).
    assert!(rate.contains("operations completed per second (mean over 23 s)"));
    let points = rate.split("<polyline").nth(1).unwrap();
    let points = points
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        points.split(' ').count() <= 900,
        "{}",
        points.split(' ').count()
    );
    common::xml_elements(&rate);
}

/// Client operations invoked and never completed.
fn never_completed(history: &History) -> usize {
    let invoked = history
        .ops
        .iter()
        .filter(|op| op.process.is_client() && op.kind == OpType::Invoke)
        .count();
    let completed = history
        .ops
        .iter()
        .filter(|op| op.process.is_client() && op.kind != OpType::Invoke)
        .count();
    invoked - completed
}
