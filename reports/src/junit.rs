//! For CI: `junit.xml` (one test case per seed; a failure carries the reproduction command and
//! the report's path) and a machine-readable `summary.json` of a multi-seed run.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ReportError, write_file};
use crate::escape;
use crate::input::RunVerdict;

/// One seed's run, as a multi-seed run reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedResult {
    /// The run seed.
    pub seed: u64,
    /// Its verdict.
    #[serde(serialize_with = "serialize_valid", rename = "valid")]
    pub verdict: RunVerdict,
    /// Wall-clock duration of the run, in milliseconds.
    pub millis: u64,
    /// The run's store folder.
    pub report: PathBuf,
    /// The one-line command that reproduces it.
    pub reproduce: String,
    /// Why it failed (the failed checks), empty when valid.
    pub message: String,
}

/// `valid` as in results.json: `true`, `false` or `"unknown"`.
fn serialize_valid<S: serde::Serializer>(verdict: &RunVerdict, s: S) -> Result<S::Ok, S::Error> {
    match verdict {
        RunVerdict::Valid => s.serialize_bool(true),
        RunVerdict::Invalid => s.serialize_bool(false),
        RunVerdict::Unknown => s.serialize_str("unknown"),
    }
}

/// The machine-readable summary of a multi-seed run.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteSummary<'a> {
    /// The test's name.
    pub test: &'a str,
    /// Number of runs.
    pub runs: usize,
    /// Runs judged valid.
    pub valid: usize,
    /// Runs judged invalid.
    pub invalid: usize,
    /// Runs neither valid nor invalid.
    pub unknown: usize,
    /// Every run, in the order given.
    pub seeds: &'a [SeedResult],
}

impl<'a> SuiteSummary<'a> {
    /// Counts the verdicts of `seeds`.
    pub fn new(test: &'a str, seeds: &'a [SeedResult]) -> SuiteSummary<'a> {
        let count = |v: RunVerdict| seeds.iter().filter(|s| s.verdict == v).count();
        SuiteSummary {
            test,
            runs: seeds.len(),
            valid: count(RunVerdict::Valid),
            invalid: count(RunVerdict::Invalid),
            unknown: count(RunVerdict::Unknown),
            seeds,
        }
    }
}

/// Writes `junit.xml` and `summary.json` into `dir` for the runs of `test`; returns both paths.
///
/// An invalid run is a `<failure>`, an unknown one an `<error>`; both carry the message, the
/// reproduction command and the report folder.
pub fn write_junit(
    dir: &Path,
    test: &str,
    seeds: &[SeedResult],
) -> Result<(PathBuf, PathBuf), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::write(dir, source))?;
    let junit = dir.join("junit.xml");
    write_file(&junit, render_junit(test, seeds))?;
    let summary = dir.join("summary.json");
    let json = serde_json::to_string_pretty(&SuiteSummary::new(test, seeds))
        .map_err(|error| ReportError::invalid(&summary, error.to_string()))?;
    write_file(&summary, json + "\n")?;
    Ok((junit, summary))
}

/// The JUnit XML of the runs of `test`.
pub fn render_junit(test: &str, seeds: &[SeedResult]) -> String {
    let summary = SuiteSummary::new(test, seeds);
    let seconds: f64 = seeds.iter().map(|s| s.millis as f64 / 1000.0).sum();
    let name = escape::xml(&format!("rafty.{test}"));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"rafty\" tests=\"{runs}\" failures=\"{invalid}\" errors=\"{unknown}\" time=\"{seconds:.3}\">\n\
         <testsuite name=\"{name}\" tests=\"{runs}\" failures=\"{invalid}\" errors=\"{unknown}\" skipped=\"0\" time=\"{seconds:.3}\">",
        runs = summary.runs,
        invalid = summary.invalid,
        unknown = summary.unknown,
    );
    for seed in seeds {
        let _ = write!(
            xml,
            "  <testcase classname=\"{name}\" name=\"seed {}\" time=\"{:.3}\"",
            seed.seed,
            seed.millis as f64 / 1000.0
        );
        let element = match seed.verdict {
            RunVerdict::Valid => {
                xml.push_str("/>\n");
                continue;
            }
            RunVerdict::Invalid => "failure",
            RunVerdict::Unknown => "error",
        };
        let message = if seed.message.is_empty() {
            seed.verdict.as_str()
        } else {
            &seed.message
        };
        let body = format!(
            "{message}\nreproduce: {}\nreport: {}",
            seed.reproduce,
            seed.report.display()
        );
        let _ = writeln!(
            xml,
            ">\n    <{element} type=\"{}\" message=\"{}\">{}</{element}>\n  </testcase>",
            seed.verdict.as_str(),
            escape::xml(message),
            escape::xml(&body)
        );
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(seed: u64, verdict: RunVerdict, message: &str) -> SeedResult {
        SeedResult {
            seed,
            verdict,
            millis: 1500,
            report: PathBuf::from(format!("store/kv/20261126T070000-{seed}")),
            reproduce: format!("cargo run --release -p rafty-harness -- test --seed {seed}"),
            message: message.to_owned(),
        }
    }

    #[test]
    fn one_test_case_per_seed_with_failures_carrying_reproduction() {
        let dir = tempfile::tempdir().unwrap();
        let seeds = [
            seed(1, RunVerdict::Valid, ""),
            seed(
                2,
                RunVerdict::Invalid,
                "linearizability: read <3> not linearizable",
            ),
            seed(3, RunVerdict::Unknown, "checker timed out"),
        ];
        let (junit, summary) = write_junit(dir.path(), "kv", &seeds).unwrap();
        let xml = std::fs::read_to_string(junit).unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("message=\"linearizability: read &lt;3&gt; not linearizable\""));
        assert!(xml.contains("reproduce: cargo run --release -p rafty-harness -- test --seed 2"));
        assert!(xml.contains("report: store/kv/20261126T070000-2</failure>"));
        assert!(xml.contains("<error type=\"unknown\" message=\"checker timed out\">"));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
        assert_eq!(json["runs"], 3);
        assert_eq!(json["invalid"], 1);
        assert_eq!(json["seeds"][1]["valid"], false);
        assert_eq!(json["seeds"][2]["valid"], "unknown");
        assert_eq!(json["seeds"][0]["report"], "store/kv/20261126T070000-1");
    }
}
