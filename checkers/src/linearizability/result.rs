//! What a linearizability check returns: a verdict and, on an illegal history, a
//! counterexample that a report can draw.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::history::{Function, Outcome, Process};
use crate::value::Value;

/// The verdict on a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every partition has a linearization.
    Linearizable,
    /// Some partition has none.
    NotLinearizable,
    /// The search stopped (time limit) before deciding: never a guess.
    Unknown,
}

impl Verdict {
    /// `linearizable`, `not linearizable` or `unknown`.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::Unknown => "unknown",
        }
    }

    /// Jepsen's exit code convention: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Linearizable => 0,
            Verdict::NotLinearizable => 1,
            Verdict::Unknown => 2,
        }
    }
}

/// Serialized as Jepsen's `:valid?`: `true`, `false` or `"unknown"`.
impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Verdict::Linearizable => serializer.serialize_bool(true),
            Verdict::NotLinearizable => serializer.serialize_bool(false),
            Verdict::Unknown => serializer.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Verdict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VerdictVisitor;
        impl Visitor<'_> for VerdictVisitor {
            type Value = Verdict;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or \"unknown\"")
            }
            fn visit_bool<E>(self, valid: bool) -> Result<Verdict, E> {
                Ok(if valid {
                    Verdict::Linearizable
                } else {
                    Verdict::NotLinearizable
                })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Verdict, E> {
                match s {
                    "unknown" => Ok(Verdict::Unknown),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        deserializer.deserialize_any(VerdictVisitor)
    }
}

/// The result of checking one history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The verdict.
    pub valid: Verdict,
    /// The model's name.
    pub model: String,
    /// Operations checked (after the skipped ones).
    pub operations: usize,
    /// Operations skipped: failed, or constraining nothing (such as an indeterminate read).
    pub skipped: usize,
    /// Operations of functions the model does not have, skipped because
    /// [`CheckOptions::skip_unsupported`](crate::CheckOptions::skip_unsupported) asked for it:
    /// the verdict says nothing about them. Without that option there are none (the history
    /// is refused instead).
    #[serde(default)]
    pub unsupported: usize,
    /// Partitions checked separately (keys, for a key-value map).
    pub partitions: usize,
    /// Search steps taken over every partition (each a candidate operation looked at, or a
    /// backtrack): the checker's work, the same every run of the same history and options
    /// (unless a time limit cut it short).
    #[serde(default)]
    pub steps: u64,
    /// Why the verdict is unknown, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the history is not linearizable, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
}

/// Why a history is not linearizable: in the furthest configuration the search reached, an
/// operation that could not be linearized, with what was concurrent with it and what had been
/// linearized before (Porcupine's partial linearization, Knossos's final configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The partition (key) the failure is in, if the model partitions.
    pub partition: Option<Value>,
    /// The model's initial state, described.
    pub initial_state: String,
    /// The operation that cannot be linearized: it must take effect before it returns, and no
    /// order of the operations concurrent with it allows that.
    pub operation: OpSummary,
    /// The state in which it could not be linearized (after `linearized`), described.
    pub state: String,
    /// The operations concurrent with it (their intervals overlap), in invocation order.
    pub concurrent: Vec<OpSummary>,
    /// The longest linearizable prefix: operations in linearization order, each with the
    /// state after it.
    pub linearized: Vec<LinearizedStep>,
}

/// One operation, as a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpSummary {
    /// The process that performed it.
    pub process: Process,
    /// Its function.
    pub f: Function,
    /// Its key, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// The model's description of the call (`cas 1->2`, `read -> 3`).
    pub description: String,
    /// The `index` of its invocation.
    pub invoke_index: u64,
    /// The `index` of its completion, if any.
    pub completion_index: Option<u64>,
    /// Position of its invocation in the history.
    pub invoke_position: usize,
    /// Position of its completion in the history, if any.
    pub completion_position: Option<usize>,
    /// The source line of its invocation.
    pub line: usize,
}

/// One step of a linearization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearizedStep {
    /// The operation.
    pub operation: OpSummary,
    /// The state after it, described.
    pub state: String,
}
