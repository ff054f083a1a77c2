//! What a conformance suite returns: each case by name with its outcome.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// How one case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The implementation kept the contract in this case.
    Passed,
    /// It did not (or it panicked); the message says what was expected and what came.
    Failed(String),
    /// The case checks an optional part of the contract the implementation says it does not
    /// have (a state machine without snapshots): not run, and not a failure. The message
    /// says what is unsupported.
    Unsupported(String),
}

/// One case of a suite and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseReport {
    /// The case's name, stable across releases, e.g. `truncate_then_append`.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// Every case a suite ran, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteReport {
    /// The suite's name, e.g. `log_suite`.
    pub suite: &'static str,
    /// Each case with its outcome.
    pub cases: Vec<CaseReport>,
}

impl SuiteReport {
    /// An empty report for `suite`.
    pub fn new(suite: &'static str) -> Self {
        SuiteReport {
            suite,
            cases: Vec::new(),
        }
    }

    /// Run one case, turning a panic into a failure, and record its outcome.
    pub fn run_case(&mut self, name: &'static str, case: impl FnOnce() -> Result<(), String>) {
        let outcome = match catch_unwind(AssertUnwindSafe(case)) {
            Ok(Ok(())) => Outcome::Passed,
            Ok(Err(message)) => Outcome::Failed(message),
            Err(panic) => Outcome::Failed(format!("panicked: {}", panic_message(&*panic))),
        };
        self.cases.push(CaseReport { name, outcome });
    }

    /// Record `name` as not run: the implementation does not support what it checks.
    pub fn record_unsupported(&mut self, name: &'static str, reason: impl Into<String>) {
        self.cases.push(CaseReport {
            name,
            outcome: Outcome::Unsupported(reason.into()),
        });
    }

    /// The cases that failed.
    pub fn failures(&self) -> Vec<&CaseReport> {
        self.cases
            .iter()
            .filter(|case| matches!(case.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// The cases not run because the implementation does not support what they check.
    pub fn unsupported(&self) -> Vec<&CaseReport> {
        self.cases
            .iter()
            .filter(|case| matches!(case.outcome, Outcome::Unsupported(_)))
            .collect()
    }

    /// True when no case failed (cases recorded as unsupported are not failures).
    pub fn all_passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// Panic, listing every failed case and why, unless all passed. For use in tests.
    pub fn assert_all_passed(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            let list: Vec<String> = failures.iter().map(|case| case.to_string()).collect();
            panic!(
                "{}: {} of {} cases failed:\n{}",
                self.suite,
                failures.len(),
                self.cases.len(),
                list.join("\n")
            );
        }
    }
}

impl fmt::Display for CaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed => write!(f, "pass  {}", self.name),
            Outcome::Failed(message) => write!(f, "FAIL  {}: {message}", self.name),
            Outcome::Unsupported(reason) => write!(f, "skip  {}: {reason}", self.name),
        }
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().len();
        let unsupported = self.unsupported().len();
        write!(
            f,
            "{}: {} passed, {failed} failed",
            self.suite,
            self.cases.len() - failed - unsupported
        )?;
        if unsupported > 0 {
            write!(f, ", {unsupported} unsupported")?;
        }
        writeln!(f)?;
        for case in &self.cases {
            writeln!(f, "  {case}")?;
        }
        Ok(())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_records_pass_failure_and_panic() {
        let mut report = SuiteReport::new("demo");
        report.run_case("passes", || Ok(()));
        report.run_case("fails", || Err("wrong".into()));
        report.run_case("panics", || panic!("boom"));
        let outcomes: Vec<_> = report
            .cases
            .iter()
            .map(|c| (c.name, c.outcome.clone()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("passes", Outcome::Passed),
                ("fails", Outcome::Failed("wrong".into())),
                ("panics", Outcome::Failed("panicked: boom".into())),
            ]
        );
        assert!(!report.all_passed());
        let text = report.to_string();
        assert!(text.starts_with("demo: 1 passed, 2 failed"), "{text}");
    }

    #[test]
    fn unsupported_cases_are_neither_passed_nor_failed() {
        let mut report = SuiteReport::new("demo");
        report.run_case("passes", || Ok(()));
        report.record_unsupported("snapshots", "snapshots unsupported");
        assert!(report.all_passed());
        assert_eq!(report.unsupported().len(), 1);
        let text = report.to_string();
        assert!(
            text.starts_with("demo: 1 passed, 0 failed, 1 unsupported"),
            "{text}"
        );
        assert!(
            text.contains("skip  snapshots: snapshots unsupported"),
            "{text}"
        );
    }

    #[test]
    #[should_panic(expected = "demo: 1 of 2 cases failed:\nFAIL  fails: wrong")]
    fn assert_all_passed_lists_failures() {
        let mut report = SuiteReport::new("demo");
        report.run_case("passes", || Ok(()));
        report.run_case("fails", || Err("wrong".into()));
        report.assert_all_passed();
    }
}
