//! Real-browser test: headless Chromium loads generated timeline.html pages (a passing run, a
//! failing run with a counterexample, and a 100,000-operation run) from `file://`, with no
//! console errors and the expected elements rendered. Screenshots are kept under
//! `target/tmp/browser/`.
//!
//! Without `/usr/bin/chromium` (or `$CHROMIUM`) the tests say so loudly and pass; `.ci/run`
//! installs Debian's `chromium` package.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rafty_checkers::History;
use rafty_reports::write_run_report;

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

/// Writes the report of `history` under target/tmp/browser/`name` and loads its timeline.
fn render(browser: &Path, name: &str, input: &rafty_reports::RunReportInput<'_>) -> Rendered {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    write_run_report(&dir, input).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/render.sh");
    let screenshot = dir.join("screenshot.png");
    let (dom, log) = (dir.join("dom.html"), dir.join("chromium.log"));
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir.join("timeline.html"))
        .args([&screenshot, &dom, &log])
        .arg("#selftest")
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
        &common::input(&history, None, &leaders),
    );
    assert_rendered(&page, 2_000);
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
