//! What a run report is drawn from: the history, the verdict, the checker's counterexample,
//! and what the harness observed from the nodes (leader changes).

use rafty_checkers::{Counterexample, History};

use crate::membership::{ConfigurationChange, MembershipCall};
use serde::{Deserialize, Serialize};

/// A run's overall verdict, as in results.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunVerdict {
    /// Every check passed.
    Valid,
    /// Some check failed.
    Invalid,
    /// No check failed, but some could not decide (a timeout) or the run errored.
    Unknown,
}

impl RunVerdict {
    /// `valid`, `invalid` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Valid => "valid",
            RunVerdict::Invalid => "invalid",
            RunVerdict::Unknown => "unknown",
        }
    }

    /// The verdict of a results.json `valid` field: `true`, `false` or `"unknown"`.
    pub fn from_json(valid: &serde_json::Value) -> Option<RunVerdict> {
        match valid {
            serde_json::Value::Bool(true) => Some(RunVerdict::Valid),
            serde_json::Value::Bool(false) => Some(RunVerdict::Invalid),
            serde_json::Value::String(s) if s == "unknown" => Some(RunVerdict::Unknown),
            serde_json::Value::String(s) if s == "true" || s == "valid" => Some(RunVerdict::Valid),
            serde_json::Value::String(s) if s == "false" || s == "invalid" => {
                Some(RunVerdict::Invalid)
            }
            _ => None,
        }
    }
}

/// A node became leader (as observed by the harness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderChange {
    /// When, in nanoseconds since the start of the run (the history's clock).
    pub time_ns: u64,
    /// The new leader's node id.
    pub node: u64,
    /// Its term.
    pub term: u64,
}

/// Something observed at a point in time that the timeline marks (an invariant violation,
/// as the harness's invariant checker reports them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// When, in nanoseconds since the start of the run (the history's clock).
    pub time_ns: u64,
    /// The node concerned, if one.
    pub node: Option<u64>,
    /// A short name (`state-machine-safety`).
    pub label: String,
    /// What exactly happened.
    pub detail: String,
}

/// One check's outcome, for summary.txt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check's name (`linearizability`, `election-safety`...).
    pub name: String,
    /// Its verdict.
    pub verdict: RunVerdict,
    /// One line of detail (the violation, or why it is unknown); empty when valid.
    pub detail: String,
}

/// Everything [`crate::write_run_report`] draws.
#[derive(Debug, Clone, Copy)]
pub struct RunReportInput<'a> {
    /// The test's name (the store folder's parent).
    pub test: &'a str,
    /// The run seed.
    pub seed: u64,
    /// The run's history (client operations and nemesis events).
    pub history: &'a History,
    /// The overall verdict.
    pub verdict: RunVerdict,
    /// Each check's outcome.
    pub checks: &'a [CheckOutcome],
    /// The linearizability checker's counterexample, when that check failed.
    pub counterexample: Option<&'a Counterexample>,
    /// A transactional check's findings in words ([`crate::anomalies::text`]), when it
    /// found some.
    pub anomalies: Option<&'a str>,
    /// Leader changes observed during the run, in time order.
    pub leader_changes: &'a [LeaderChange],
    /// Invariant violations (or other observations) to mark on the timeline, in time order.
    pub annotations: &'a [Annotation],
    /// Each node's configuration in effect over time, in time order (empty when it never
    /// changed from the initial one).
    pub configurations: &'a [ConfigurationChange],
    /// The membership admin calls made during the run, in order of their start.
    pub membership_calls: &'a [MembershipCall],
    /// The one-line command that reproduces this run.
    pub reproduce: &'a str,
    /// The node that served each event (`n3`), by history position; shorter (or empty) when
    /// not recorded.
    pub served_by: &'a [Option<String>],
    /// The run's client concurrency (client threads), when known: the timeline then draws one
    /// lane per thread, `process mod concurrency`, as Jepsen does, instead of one per process.
    pub concurrency: Option<usize>,
    /// When the run is a shrunk (minimized) schedule's: its counterexample, which the report
    /// leads with.
    pub minimal: Option<Minimal<'a>>,
}

/// A shrunk run's counterexample: the timeline and summary.txt show it first, and the
/// timeline marks the operations the shrunk schedule kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimal<'a> {
    /// The counterexample in words (the run folder's `counterexample.txt`): the violated
    /// check explained, the faults and operations left.
    pub text: &'a str,
    /// The schedule's operations are those invoked before this time (its time limit, in
    /// nanoseconds since the start of the run); later ones are the harness's final reads.
    pub operations_until_ns: u64,
    /// When the kept check first fired (nanoseconds), when it is an invariant.
    pub violation_ns: Option<u64>,
}

impl<'a> RunReportInput<'a> {
    /// An input with only a history: valid, no checks, no counterexample, no leader changes,
    /// no membership changes, concurrency unknown.
    pub fn new(test: &'a str, seed: u64, history: &'a History) -> RunReportInput<'a> {
        RunReportInput {
            test,
            seed,
            history,
            verdict: RunVerdict::Valid,
            checks: &[],
            counterexample: None,
            anomalies: None,
            leader_changes: &[],
            annotations: &[],
            configurations: &[],
            membership_calls: &[],
            reproduce: "",
            served_by: &[],
            concurrency: None,
            minimal: None,
        }
    }
}
