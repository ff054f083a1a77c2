//! The test that called an entry point: its name and package (for the command that reruns
//! it), the seed (from [`SEED_VAR`]), and the verdict: reports gathered, written under
//! `store/`, and a test failure listing everything that failed.

use std::fmt::Write as _;
use std::path::PathBuf;

use rafty::testing::{Outcome, SuiteReport};

/// The environment variable an entry point reads its seed from: `RAFTY_SEED=17 cargo test
/// ...` reruns every suite and the chaos run with seed 17 only.
pub const SEED_VAR: &str = "RAFTY_SEED";

/// The running test, as the entry point sees it.
pub(crate) struct Session {
    /// The test's full name (libtest names the test's thread after it).
    pub(crate) test: String,
    /// The seed given, if any.
    pub(crate) given_seed: Option<u64>,
}

impl Session {
    /// The session of the current test. Panics (failing the test) with a
    /// message naming the variable when [`SEED_VAR`] is set but not a number.
    pub(crate) fn current() -> Session {
        let test = std::thread::current()
            .name()
            .filter(|name| *name != "main")
            .unwrap_or("YOUR_TEST")
            .to_owned();
        let given_seed = std::env::var(SEED_VAR).ok().map(|text| {
            text.trim().parse::<u64>().unwrap_or_else(|_| {
                panic!("{SEED_VAR}={text:?} is not a seed: expected a whole number such as 17")
            })
        });
        Session { test, given_seed }
    }

    /// The seed of the suites: the one given, else 1.
    pub(crate) fn seed(&self) -> u64 {
        self.given_seed.unwrap_or(1)
    }

    /// The command that reruns this test with `seed`.
    pub(crate) fn reproduce(&self, seed: u64) -> String {
        reproduce(&self.test, seed)
    }
}

/// `RAFTY_SEED=<seed> cargo test [--release] [-p <package>] <test> -- --exact`, for the test
/// named `test` of the package being tested (cargo sets `CARGO_PKG_NAME` when it runs tests).
pub(crate) fn reproduce(test: &str, seed: u64) -> String {
    let package = std::env::var("CARGO_PKG_NAME")
        .map(|name| format!(" -p {name}"))
        .unwrap_or_default();
    let release = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    format!("{SEED_VAR}={seed} cargo test{release}{package} {test} -- --exact")
}

/// What an entry point found: each suite's report, and the chaos runs' lines.
#[derive(Debug)]
pub struct Verdict {
    /// What was tested, e.g. `Log`.
    pub part: &'static str,
    /// Every suite that ran, with each case's outcome.
    pub suites: Vec<SuiteReport>,
    /// Each suite's wall time in milliseconds, in the order of `suites`, then `chaos` for
    /// all chaos runs.
    pub wall_ms: Vec<(&'static str, u128)>,
    /// Suites that could not run on this implementation, and why.
    pub not_run: Vec<String>,
    /// One line per chaos run (seed, verdict, where its report is).
    pub chaos: Vec<String>,
    /// Chaos runs that were not valid: seed, what failed, the report's folder.
    pub chaos_failures: Vec<String>,
}

/// Run a part's chaos run, the expression `$run` (it reports into `$verdict`), timed as
/// `chaos`; with the `chaos` feature off, `$run` is not compiled and the verdict notes the
/// chaos run as not run when `$options` asked for any seed. One macro for every part, since
/// `$run` names `crate::chaos`, which exists only with the feature.
macro_rules! run_chaos {
    ($verdict:ident, $options:expr, $run:expr) => {{
        #[cfg(feature = "chaos")]
        {
            let start = std::time::Instant::now();
            $run;
            $verdict
                .wall_ms
                .push(("chaos", start.elapsed().as_millis()));
        }
        #[cfg(not(feature = "chaos"))]
        if $options.chaos_seeds > 0 {
            $verdict
                .not_run
                .push("chaos: the `chaos` feature of rafty-testing is off".to_owned());
        }
    }};
}
pub(crate) use run_chaos;

impl Verdict {
    /// Run `suite` (named `name`), timing it; `None` from it is a suite that did not run.
    pub(crate) fn timed(
        &mut self,
        name: &'static str,
        suite: impl FnOnce() -> Option<SuiteReport>,
    ) -> Option<SuiteReport> {
        let start = std::time::Instant::now();
        let report = suite();
        if report.is_some() {
            self.wall_ms.push((name, start.elapsed().as_millis()));
        }
        report
    }

    pub(crate) fn new(part: &'static str) -> Verdict {
        Verdict {
            part,
            suites: Vec::new(),
            wall_ms: Vec::new(),
            not_run: Vec::new(),
            chaos: Vec::new(),
            chaos_failures: Vec::new(),
        }
    }

    /// Whether every suite passed (unsupported cases are not failures) and every chaos run
    /// was valid.
    pub fn passed(&self) -> bool {
        self.suites.iter().all(SuiteReport::all_passed) && self.chaos_failures.is_empty()
    }

    /// Every failed case, as `suite/case: message`.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for suite in &self.suites {
            for case in &suite.cases {
                if let Outcome::Failed(message) = &case.outcome {
                    failures.push(format!("{}/{}: {message}", suite.suite, case.name));
                }
            }
        }
        failures.extend(
            self.chaos_failures
                .iter()
                .map(|line| format!("chaos: {line}")),
        );
        failures
    }

    fn describe(&self, session: &Session) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "rafty-testing: the {} of test `{}`, seed {}",
            self.part,
            session.test,
            session.seed()
        );
        for suite in &self.suites {
            let _ = write!(text, "{suite}");
        }
        for line in &self.not_run {
            let _ = writeln!(text, "not run: {line}");
        }
        for line in &self.chaos {
            let _ = writeln!(text, "chaos: {line}");
        }
        let times: Vec<String> = self
            .wall_ms
            .iter()
            .map(|(name, ms)| format!("{name} {ms} ms"))
            .collect();
        let _ = writeln!(text, "wall time: {}", times.join(", "));
        text
    }

    /// Print the summary; on any failure write it under `store/` and panic (failing the
    /// test) with the failures, the report's path and the command that reruns the test.
    pub(crate) fn finish(self, session: &Session) -> Verdict {
        let summary = self.describe(session);
        println!("{summary}");
        if self.passed() {
            return self;
        }
        let failures = self.failures();
        let mut message = format!(
            "rafty-testing: the {} of test `{}` failed {} check(s) (seed {}):\n",
            self.part,
            session.test,
            failures.len(),
            session.seed()
        );
        for failure in &failures {
            let _ = writeln!(message, "FAIL {failure}");
        }
        match write_report(self.part, session, &summary, &failures) {
            Ok(path) => {
                let _ = writeln!(message, "report: {}", path.display());
            }
            Err(error) => {
                let _ = writeln!(message, "could not write the report under store/: {error}");
            }
        }
        let _ = write!(message, "reproduce: {}", session.reproduce(session.seed()));
        panic!("{message}");
    }
}

/// `store/<part>-suites/<seconds since the epoch>-seed-<seed>/report.txt`.
fn write_report(
    part: &str,
    session: &Session,
    summary: &str,
    failures: &[String],
) -> std::io::Result<PathBuf> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let dir = PathBuf::from("store")
        .join(format!("{}-suites", part.to_lowercase()))
        .join(format!("{seconds}-seed-{}", session.seed()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("report.txt");
    let mut text = summary.to_owned();
    text.push_str("\nFailures:\n");
    for failure in failures {
        text.push_str(&format!("FAIL {failure}\n"));
    }
    text.push_str(&format!(
        "\nreproduce: {}\n",
        session.reproduce(session.seed())
    ));
    std::fs::write(&path, text)?;
    Ok(path)
}
