//! The verdict of one run and everything `results.json` says about it.

use serde::{Serialize, Serializer};

use crate::checks::invariants::{Counts, Violation};
use crate::checks::liveness::Liveness;
use crate::nemesis::NemesisEvent;

use super::config::TestConfig;

/// Jepsen's `:valid?`: true, false or unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Every check passed.
    Valid,
    /// Some check failed.
    Invalid,
    /// Some check could not decide (or the run itself failed), and none failed.
    Unknown,
}

impl Validity {
    /// The process exit code for this verdict: 0, 1 or 2 (Jepsen's convention).
    pub fn exit_code(self) -> i32 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }

    /// Combine two verdicts: any invalid is invalid, else any unknown is unknown.
    pub fn and(self, other: Validity) -> Validity {
        match (self, other) {
            (Validity::Invalid, _) | (_, Validity::Invalid) => Validity::Invalid,
            (Validity::Unknown, _) | (_, Validity::Unknown) => Validity::Unknown,
            _ => Validity::Valid,
        }
    }

    /// `valid`, `INVALID` or `unknown`, for summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "INVALID",
            Validity::Unknown => "unknown",
        }
    }
}

impl From<bool> for Validity {
    fn from(valid: bool) -> Self {
        if valid {
            Validity::Valid
        } else {
            Validity::Invalid
        }
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => serializer.serialize_bool(true),
            Validity::Invalid => serializer.serialize_bool(false),
            Validity::Unknown => serializer.serialize_str("unknown"),
        }
    }
}

/// The invariants check, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct InvariantsReport {
    /// Whether no invariant broke.
    pub valid: Validity,
    /// How many violations in all.
    pub violation_count: usize,
    /// The first violations.
    pub violations: Vec<Violation>,
    /// What was observed.
    pub observed: Counts,
}

/// Acknowledged writes that the final state lacks.
#[derive(Clone, Debug, Serialize)]
pub struct DurabilityReport {
    /// Whether every acknowledged write is in the final applied sequence.
    pub valid: Validity,
    /// Acknowledged writes checked.
    pub acknowledged: usize,
    /// Those missing from the final state (described).
    pub missing: Vec<String>,
}

/// Did the simulation itself run to the end?
#[derive(Clone, Debug, Serialize)]
pub struct SimulationReport {
    /// Unknown when the simulation failed; valid otherwise.
    pub valid: Validity,
    /// The failure, if any (a panicking node task, clients that never finished...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Simulated time the run took, in milliseconds.
    pub simulated_ms: u64,
    /// Wall-clock time the run took, in milliseconds (not part of the simulation).
    pub wall_ms: u64,
    /// The process's peak resident memory when the simulation ended, before the history was
    /// read back for the checks (`VmHWM`; with `--jobs` above 1, of every run so far at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

/// Every check of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Checks {
    /// The history's check: linearizability (the checker's result, or an error), or for a
    /// transactional workload its Elle or direct check, `checker` naming which
    /// ([`crate::checks::transactional`]).
    pub linearizability: serde_json::Value,
    /// Raft invariants observed from the nodes.
    pub invariants: InvariantsReport,
    /// No acknowledged write missing from the final state.
    pub durability: DurabilityReport,
    /// Progress while healthy and final reads (reported apart from safety).
    pub liveness: Liveness,
    /// The simulation itself.
    pub simulation: SimulationReport,
}

/// Counts of the history's operations.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCounts {
    /// Invocations.
    pub invoked: usize,
    /// `ok` completions.
    pub ok: usize,
    /// `fail` completions.
    pub fail: usize,
    /// `info` completions.
    pub info: usize,
}

/// What `results.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// The test's name.
    pub test: String,
    /// The run seed.
    pub seed: u64,
    /// The overall verdict.
    pub valid: Validity,
    /// `safety` when a safety check failed, `liveness` when only liveness did, else `none`.
    pub failure: &'static str,
    /// Each check.
    pub checks: Checks,
    /// Operation counts.
    pub ops: OpCounts,
    /// The 99th percentile latency of the `ok` client operations, in milliseconds (as
    /// summary.txt quotes it); `null` when none completed `ok`. Added after the first
    /// results.json files: readers treat a missing field as unknown.
    pub latency_ms_p99: Option<f64>,
    /// The nemesis operations.
    pub nemesis: Vec<NemesisEvent>,
    /// The configuration.
    pub config: TestConfig,
    /// The git commit of the code under test, if known.
    pub git_commit: Option<String>,
    /// The command that reproduces this run (for a real-process run: the command that runs
    /// it again, which is not a reproduction, and says so).
    pub reproduce: String,
    /// A real-process run's own record: that it is not deterministic, and the faults as
    /// applied with their wall-clock times ([`crate::real::RealRun`]); absent for a
    /// simulated run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real: Option<crate::real::RealRun>,
}
