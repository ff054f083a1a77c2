//! Small direct checkers for Jepsen's bank, set, counter and unique-ids workloads: each reads
//! the operations of its workload from a history and names every violation with its line.
//!
//! - [`bank`]: `transfer` `{:from a :to b :amount n}` and `read` `{account balance}`; every
//!   read sees every account and the same total.
//! - [`set`]: `add` `v` and `read` `[vs]`; the final read holds every acknowledged add, and
//!   no read holds an element never added or an element twice.
//! - [`counter`]: `add` `n` and `read` `total`; each read lies between what certainly and
//!   what possibly was added by then.
//! - [`unique_ids`]: `generate` returning an id; no id is returned twice.
//!
//! Failed operations did not happen; indeterminate ones (`info`, or no completion) may or may
//! not have, at any time after their invocation.
//!
//! ```
//! use rafty_checkers::direct::{self, DirectModel, DirectOptions, DirectVerdict};
//! use rafty_checkers::import::{self, Format};
//!
//! let text = r#"{:process 0, :type :invoke, :f :generate, :value nil}
//! {:process 1, :type :invoke, :f :generate, :value nil}
//! {:process 0, :type :ok, :f :generate, :value 1}
//! {:process 1, :type :ok, :f :generate, :value 1}"#;
//! let history = import::parse_str("ids.edn", text, Format::Edn).unwrap();
//! let result = direct::check(DirectModel::UniqueIds, &history, &DirectOptions::default()).unwrap();
//! assert_eq!(result.valid, DirectVerdict::Invalid);
//! assert!(result.findings[0].message.contains("id 1"));
//! ```

pub mod bank;
pub mod counter;
pub mod set;
pub mod unique_ids;

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::HistoryError;
use crate::history::{History, Operation, Outcome};

/// One of the direct checkers' workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectModel {
    /// [`bank`].
    Bank,
    /// [`set`].
    Set,
    /// [`counter`].
    Counter,
    /// [`unique_ids`].
    UniqueIds,
}

impl DirectModel {
    /// Every direct model.
    pub const ALL: [DirectModel; 4] = [
        DirectModel::Bank,
        DirectModel::Set,
        DirectModel::Counter,
        DirectModel::UniqueIds,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DirectModel::Bank => "bank",
            DirectModel::Set => "set",
            DirectModel::Counter => "counter",
            DirectModel::UniqueIds => "unique-ids",
        }
    }

    /// The functions its histories hold.
    fn functions(self) -> &'static [&'static str] {
        match self {
            DirectModel::Bank => &["transfer", "read"],
            DirectModel::Set | DirectModel::Counter => &["add", "read"],
            DirectModel::UniqueIds => &["generate"],
        }
    }
}

impl fmt::Display for DirectModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DirectModel {
    type Err = String;

    fn from_str(name: &str) -> Result<DirectModel, String> {
        DirectModel::ALL
            .into_iter()
            .find(|model| model.name() == name)
            .ok_or_else(|| {
                format!("unknown model '{name}' (expected bank, set, counter or unique-ids)")
            })
    }
}

/// What the checks need besides the history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectOptions {
    /// The bank's total, when known (the harness knows it: accounts times the initial
    /// balance); otherwise the first `ok` read's total is taken as the total.
    pub bank_total: Option<i64>,
}

/// A direct checker's verdict; serialized as `true`, `false` or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectVerdict {
    /// No violation.
    Valid,
    /// At least one violation.
    Invalid,
    /// Nothing to judge by (a set history with no `ok` read).
    Unknown,
}

impl Serialize for DirectVerdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DirectVerdict::Valid => serializer.serialize_bool(true),
            DirectVerdict::Invalid => serializer.serialize_bool(false),
            DirectVerdict::Unknown => serializer.serialize_str("unknown"),
        }
    }
}

/// One violation, at the line of the operation that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The 1-based line of the operation's completion (or invocation).
    pub line: usize,
    /// The class: `wrong-total`, `lost`, `unexpected`, `duplicate`, `out-of-bounds`...
    pub kind: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

/// How many findings are kept (every one is counted).
pub const MAX_FINDINGS: usize = 16;

/// A direct check's result.
#[derive(Debug, Clone, Serialize)]
pub struct DirectResult {
    /// The verdict.
    pub valid: DirectVerdict,
    /// The workload checked.
    pub model: DirectModel,
    /// Operations checked: `ok`, `fail`, indeterminate.
    pub ok: usize,
    /// Failed operations.
    pub failed: usize,
    /// Indeterminate operations.
    pub indeterminate: usize,
    /// How many violations were found.
    pub finding_count: usize,
    /// The first [`MAX_FINDINGS`] of them.
    pub findings: Vec<Finding>,
    /// What was checked, in one line (`120 reads, total 100`).
    pub summary: String,
}

impl DirectResult {
    /// One line: `valid (bank: 120 reads, total 100)` or the first violation.
    pub fn describe(&self) -> String {
        match (self.valid, self.findings.first()) {
            (DirectVerdict::Invalid, Some(first)) => format!(
                "invalid {}: {} violation(s), first at line {}: {}",
                self.model, self.finding_count, first.line, first.message
            ),
            (DirectVerdict::Unknown, _) => format!("unknown ({}: {})", self.model, self.summary),
            _ => format!("valid ({}: {})", self.model, self.summary),
        }
    }
}

/// The findings of one check, counted and the first few kept.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    count: usize,
    kept: Vec<Finding>,
}

impl Findings {
    /// Counts a violation of `kind` at `line`; `message` is written only while kept.
    pub(crate) fn add(
        &mut self,
        line: usize,
        kind: &'static str,
        message: impl FnOnce() -> String,
    ) {
        self.count += 1;
        if self.kept.len() < MAX_FINDINGS {
            self.kept.push(Finding {
                line,
                kind,
                message: message(),
            });
        }
    }
}

/// The line an operation is shown at: its completion's, else its invocation's.
pub(crate) fn line(history: &History, operation: &Operation<'_>) -> usize {
    let position = operation
        .completion_position
        .unwrap_or(operation.invoke_position);
    history.location(position).line
}

/// Checks `history` as a `model` history. An operation of another function is an error
/// naming its line.
pub fn check(
    model: DirectModel,
    history: &History,
    options: &DirectOptions,
) -> Result<DirectResult, HistoryError> {
    let operations = history.operations()?;
    if let Some(stray) = operations
        .iter()
        .find(|op| !model.functions().contains(&op.f().as_str()))
    {
        return Err(history.error_at(
            stray.invoke_position,
            format!(
                ":{} is not an operation of the {model} workload (expected :{})",
                stray.f(),
                model.functions().join(" or :")
            ),
        ));
    }
    let mut findings = Findings::default();
    let (summary, unknown) = match model {
        DirectModel::Bank => bank::check(history, &operations, options, &mut findings)?,
        DirectModel::Set => set::check(history, &operations, &mut findings)?,
        DirectModel::Counter => counter::check(history, &operations, &mut findings)?,
        DirectModel::UniqueIds => unique_ids::check(history, &operations, &mut findings)?,
    };
    let count = |outcome| {
        operations
            .iter()
            .filter(|op| op.outcome() == outcome)
            .count()
    };
    let valid = if findings.count > 0 {
        DirectVerdict::Invalid
    } else if unknown {
        DirectVerdict::Unknown
    } else {
        DirectVerdict::Valid
    };
    Ok(DirectResult {
        valid,
        model,
        ok: count(Outcome::Ok),
        failed: count(Outcome::Fail),
        indeterminate: count(Outcome::Info),
        finding_count: findings.count,
        findings: findings.kept,
        summary,
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::history::{History, Op, OpType, Process};
    use crate::value::Value;

    /// A history of `(process, type, f, value)` events.
    pub(crate) fn history(events: &[(u64, OpType, &str, Value)]) -> History {
        History::from_ops(
            events
                .iter()
                .map(|(p, kind, f, value)| Op::new(Process::Client(*p), *kind, *f, value.clone())),
        )
    }

    /// A list of integers.
    pub(crate) fn ints(items: &[i64]) -> Value {
        Value::List(items.iter().copied().map(Value::Int).collect())
    }
}
