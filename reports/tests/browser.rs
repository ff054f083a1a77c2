//! Real-browser test: headless Chromium loads generated timeline.html pages (a passing run, a
//! failing run with a counterexample, a run with overlapping faults, and a 100,000-operation
//! run) and a store's index.html with its filter set, from `file://`, with no console errors
//! and the expected elements rendered. Screenshots are kept under `target/tmp/browser/`.
//!
//! Without `/usr/bin/chromium` (or `$CHROMIUM`) the tests say so loudly and pass; `.ci/run`
//! installs Debian's `chromium` package.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rafty_checkers::{History, Op, OpType, Process, Value};
use rafty_reports::{write_run_report, write_store_index};

/// The browser, or `None` after saying loudly that it is missing.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    let warning = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! BROWSER TEST SKIPPED: {} not found.\n\
         !!! Install Debian's chromium package (`apt-get install -y chromium`);\n\
         !!! .ci/run does this when it runs as root.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        path.display()
    );
    println!("{warning}");
    eprintln!("{warning}");
    None
}

/// What the browser made of a page.
struct Rendered {
    dom: String,
    console: Vec<String>,
    screenshot: PathBuf,
}

/// A fresh folder target/tmp/browser/`name`.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the report of `history` under target/tmp/browser/`name` and loads its timeline.
fn render(browser: &Path, name: &str, input: &rafty_reports::RunReportInput<'_>) -> Rendered {
    let dir = fresh_dir(name);
    write_run_report(&dir, input).unwrap();
    load(browser, &dir.join("timeline.html"), &dir, "#selftest")
}

/// Loads `page` with `fragment`, keeping the DOM, the log and a screenshot in `dir`.
fn load(browser: &Path, page: &Path, dir: &Path, fragment: &str) -> Rendered {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/render.sh");
    let screenshot = dir.join("screenshot.png");
    let (dom, log) = (dir.join("dom.html"), dir.join("chromium.log"));
    let status = Command::new("bash")
        .arg(&script)
        .arg(page)
        .args([&screenshot, &dom, &log])
        .arg(fragment)
        .env("CHROMIUM", browser)
        .status()
        .unwrap();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.success(),
        "{} failed: {status}\n{log}",
        script.display()
    );
    let console = log
        .lines()
        .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    println!("screenshot: {}", screenshot.display());
    Rendered {
        dom: std::fs::read_to_string(&dom).unwrap(),
        console,
        screenshot,
    }
}

/// Asserts the page's script ran to the end without an error and drew `ops` operations.
fn assert_rendered(page: &Rendered, ops: usize) {
    assert!(
        page.console.is_empty(),
        "console messages: {:#?}",
        page.console
    );
    assert!(
        page.dom.contains("data-rendered=\"ok\""),
        "the script did not finish: {}",
        &page.dom[..page.dom.len().min(3000)]
    );
    assert!(
        page.dom.contains("<div id=\"errors\" hidden=\"\"></div>"),
        "errors shown"
    );
    assert!(
        page.dom.contains(&format!(" of {ops} operations")),
        "status not written for {ops} operations"
    );
    assert!(page.dom.contains("<canvas id=\"timeline\""));
    let size = std::fs::metadata(&page.screenshot)
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        page.screenshot.display()
    );
}

/// What the page's tooltip said when its `#selftest` hovered an operation.
fn selftest(dom: &str) -> String {
    let start = dom.find("data-selftest=\"").expect("self-test ran") + 15;
    let text = dom[start..].split('"').next().unwrap();
    text.replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

/// The `data-render-ms` the page's script recorded.
fn render_ms(dom: &str) -> u64 {
    let start = dom.find("data-render-ms=\"").expect("render time recorded") + 16;
    dom[start..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn a_passing_run_renders_without_console_errors() {
    let Some(browser) = chromium() else { return };
    let history = common::kv_history(2_000, 8, 4, 11);
    let leaders = common::leader_changes(&history);
    let page = render(
        &browser,
        "passing",
        &rafty_reports::RunReportInput {
            concurrency: Some(8),
            ..common::input(&history, None, &leaders)
        },
    );
    assert_rendered(&page, 2_000);
    assert!(
        page.dom.contains("8 threads (8 processes)"),
        "lanes are threads"
    );
    assert!(
        page.dom.contains("<option value=\"3\">3</option>"),
        "key selector filled"
    );
    assert!(
        page.dom
            .contains("id=\"zoom-cex\" type=\"button\" hidden=\"\""),
        "no counterexample button"
    );
    let hovered = selftest(&page.dom);
    assert!(
        hovered.starts_with("op at history position "),
        "tooltip: {hovered}"
    );
    assert!(hovered.contains("\ninvoked 0."), "tooltip: {hovered}");
    assert!(hovered.contains(" ms)"), "latency in ms: {hovered}");
    assert!(hovered.contains(" (thread "), "thread named: {hovered}");
}

/// A shrunk run's page leads with its counterexample and draws (kept operations outlined,
/// final reads faded) without console errors.
#[test]
fn a_shrunk_run_leads_with_its_counterexample() {
    let Some(browser) = chromium() else { return };
    let history = common::kv_history(200, 4, 2, 13);
    let leaders = common::leader_changes(&history);
    let text = "Counterexample: invariant leader-completeness\n  The rule broken: ...\n";
    let page = render(
        &browser,
        "shrunk",
        &rafty_reports::RunReportInput {
            minimal: Some(rafty_reports::Minimal {
                text,
                operations_until_ns: 100_000_000,
                violation_ns: Some(90_000_000),
            }),
            ..common::input(&history, None, &leaders)
        },
    );
    assert_rendered(&page, 200);
    let shrunk = page
        .dom
        .find("<div id=\"shrunk\">")
        .expect("the counterexample panel");
    let controls = page.dom.find("id=\"controls\"").expect("the controls");
    assert!(shrunk < controls, "the counterexample comes first");
    assert!(page.dom.contains("kept by shrinking"), "legend");
}

#[test]
fn a_run_with_membership_changes_draws_each_nodes_configuration_and_the_calls() {
    let Some(browser) = chromium() else { return };
    let history = common::kv_history(2_000, 8, 4, 13);
    let leaders = common::leader_changes(&history);
    let change = |time_ns, node, index, configuration: &str| rafty_reports::ConfigurationChange {
        time_ns,
        node,
        index,
        configuration: configuration.to_owned(),
    };
    let configurations = [
        change(1_000_000, 1, 40, "voters {1, 2, 3}, learners {4}"),
        change(1_100_000, 4, 40, "voters {1, 2, 3}, learners {4}"),
        change(
            5_000_000,
            1,
            90,
            "voters {1, 2, 4} (joint with old voters {1, 2, 3})",
        ),
    ];
    let calls = [rafty_reports::MembershipCall {
        start_ns: 900_000,
        end_ns: Some(1_200_000),
        node: 1,
        call: "add_learner(n4)".to_owned(),
        outcome: "ok at 40".to_owned(),
    }];
    let page = render(
        &browser,
        "membership",
        &rafty_reports::RunReportInput {
            configurations: &configurations,
            membership_calls: &calls,
            ..common::input(&history, None, &leaders)
        },
    );
    assert_rendered(&page, 2_000);
    assert!(
        page.dom.contains("3 configuration changes"),
        "configuration band counted: {}",
        &page.dom[..page.dom.len().min(3000)]
    );
    assert!(
        page.dom.contains("n1 add_learner(n4): ok at 40"),
        "the call is a period of the fault band"
    );
}

#[test]
fn a_failing_run_renders_its_counterexample() {
    let Some(browser) = chromium() else { return };
    let history: History = common::break_one_read(&common::kv_history(2_000, 8, 4, 12));
    let cex = common::counterexample(&history).expect("not linearizable");
    let leaders = common::leader_changes(&history);
    let page = render(
        &browser,
        "failing",
        &rafty_reports::RunReportInput {
            annotations: common::violations(),
            ..common::input(&history, Some(&cex), &leaders)
        },
    );
    let key = cex.partition.as_ref().and_then(|k| k.as_int()).unwrap();
    let in_key = history
        .operations()
        .unwrap()
        .iter()
        .filter(|o| o.key() == cex.partition.as_ref())
        .count();
    assert_rendered(&page, 2_000);
    assert!(
        page.dom.contains(&format!("{in_key} of 2000 operations")),
        "the key is selected"
    );
    assert!(page.dom.contains("id=\"cex\""));
    assert!(
        page.dom.contains("2 invariant violations marked"),
        "violations drawn"
    );
    for legend in ["cannot be linearized</span>", "invariant violation</span>"] {
        assert!(page.dom.contains(legend), "legend lacks {legend}");
    }
    assert!(
        !page.dom.contains("id=\"zoom-cex\" type=\"button\" hidden"),
        "counterexample button shown"
    );
    assert!(
        page.dom
            .contains(&format!("<option value=\"{key}\">{key}</option>"))
    );
    let hovered = selftest(&page.dom);
    assert!(
        hovered.contains("CANNOT BE LINEARIZED"),
        "tooltip: {hovered}"
    );
    let position = cex.operation.invoke_position;
    assert!(
        hovered.contains(&format!("history position {position} ")),
        "tooltip: {hovered}"
    );
}

#[test]
fn a_100k_operation_timeline_renders_completely() {
    let Some(browser) = chromium() else { return };
    let history = common::kv_history(100_000, 20, 100, 13);
    let page = render(&browser, "large", &common::input(&history, None, &[]));
    assert_rendered(&page, 100_000);
    let ms = render_ms(&page.dom);
    // Speed is a figure to read, not an assertion: these machines are shared and noisy.
    println!("100,000 operations parsed and drawn in {ms} ms");
}

/// `history` with a kill and a pause overlapping each of its partitions: three faults in
/// effect at once, then none.
fn with_overlapping_faults(history: &History) -> History {
    const MS: u64 = 1_000_000;
    let mut ops = history.ops.clone();
    let starts: Vec<u64> = history
        .ops
        .iter()
        .filter(|op| op.f.as_str() == "start-partition")
        .filter_map(|op| op.time)
        .collect();
    for t in starts {
        for (kind, from, to) in [("kill", 50, 500), ("pause", 100, 250)] {
            let event = |f: String, at: u64| {
                Op::new(
                    Process::nemesis(),
                    OpType::Info,
                    f.as_str(),
                    Value::from(format!("{kind} n2")),
                )
                .with_time(at)
            };
            ops.push(event(format!("start-{kind}"), t + from * MS));
            ops.push(event(format!("stop-{kind}"), t + to * MS));
        }
    }
    ops.sort_by_key(|op| op.time);
    History::from_ops(ops)
}

#[test]
fn overlapping_faults_are_drawn_on_rows_that_do_not_overlap() {
    let Some(browser) = chromium() else { return };
    let history = with_overlapping_faults(&common::kv_history(2_000, 8, 4, 14));
    let page = render(
        &browser,
        "overlapping-faults",
        &common::input(&history, None, &[]),
    );
    assert_rendered(&page, 2_000);
    let start = page
        .dom
        .find("data-fault-bars=\"")
        .expect("fault bars checked")
        + 17;
    let said = page.dom[start..].split('"').next().unwrap();
    let drawn: usize = said.split(' ').next().unwrap().parse().unwrap();
    assert!(drawn >= 9, "{said}");
    assert!(said.ends_with(" drawn, 0 overlapping, 3 rows"), "{said}");
}

/// A results.json with what the index shows.
fn results(valid: &str, seed: u64, nemesis: &str) -> String {
    format!(
        r#"{{"valid":{valid},"seed":{seed},"ops":{{"invoked":10}},"latency_ms_p99":1.5,
            "nemesis":[],"config":{{"workload":"kv","nemesis":["{nemesis}"],"log":"memory"}}}}"#
    )
}

#[test]
fn the_index_filter_shows_only_matching_runs() {
    let Some(browser) = chromium() else { return };
    let store = fresh_dir("index");
    for (run, valid, seed, nemesis) in [
        ("a", "true", 1, "kill"),
        ("b", "false", 2, "kill"),
        ("c", "\"unknown\"", 3, "kill"),
        ("d", "false", 4, "partition"),
    ] {
        let dir = store.join("kv-5n").join(run);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("results.json"), results(valid, seed, nemesis)).unwrap();
    }
    let index = write_store_index(&store).unwrap();
    let page = load(&browser, &index, &store, "#q=KILL&hide=unknown");
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    assert!(
        page.dom.contains("id=\"shown\">2 of 4 runs shown<"),
        "{}",
        page.dom
    );
    let shown: Vec<&str> = page
        .dom
        .split("<tr data-verdict=")
        .skip(1)
        .map(|row| row.split("</tr>").next().unwrap())
        .filter(|row| !row.contains("hidden"))
        .map(|row| row.split("</td><td>").nth(5).unwrap_or(""))
        .collect();
    // Seed 3 is unknown (unticked) and seed 4 does not say kill; invalid runs come first.
    assert_eq!(shown, vec!["2", "1"], "the seeds of the rows shown");
}
