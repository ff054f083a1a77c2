//! The history check of the transactional workloads ([`rafty_workloads::Judge`]): Elle's
//! against strict serializability for list-append and rw-register, the direct checkers for
//! bank, set, counter and unique-ids. The history is read whole from its file (a
//! transactional run's history is a run's worth of operations; Elle needs them all at once).
//!
//! The result goes where a key-value run's linearizability result goes
//! (`results.json`'s `checks.linearizability`), with `checker` naming which check made it:
//! `valid` is `true`, `false` or `"unknown"` as there.

use std::path::Path;

use rafty_checkers::direct::{self, DirectOptions, DirectVerdict};
use rafty_checkers::elle::{self, ElleOptions};
use rafty_checkers::import::{self, Format};
use rafty_checkers::{History, HistoryError};
use rafty_workloads::kinds::bank;
use rafty_workloads::{Judge, WorkloadConfig};

use crate::run::results::Validity;

/// How long the registry's config keys' linearizability check may search.
const CONFIG_CHECK_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The name `checker` carries for `judge`: `elle list-append`, `bank`...
pub fn checker_name(judge: Judge) -> String {
    match judge {
        Judge::Elle(model) => format!("elle {model}"),
        other => other.name().to_owned(),
    }
}

/// Check the JSON-lines history at `path` as `workload`'s checker wants (`None`: the workload
/// is not transactional). An unreadable history is an unknown verdict naming its line.
pub fn check_file(path: &Path, workload: &WorkloadConfig) -> Option<(serde_json::Value, Validity)> {
    let judge = workload.kind.judge();
    if matches!(judge, Judge::Linearizable(_)) {
        return None;
    }
    if judge == Judge::Registry {
        return Some(super::registry::check_file(path, CONFIG_CHECK_TIME_LIMIT));
    }
    let checked = import::read_file(path, Some(Format::Jsonl))
        .and_then(|imported| check(&imported.history, judge, workload));
    Some(with_checker(checked, judge))
}

/// [`check_file`] on a history in memory (for a run whose history was not spooled whole).
pub fn check_history(
    history: &History,
    workload: &WorkloadConfig,
) -> Option<(serde_json::Value, Validity)> {
    let judge = workload.kind.judge();
    if matches!(judge, Judge::Linearizable(_)) {
        return None;
    }
    Some(with_checker(check(history, judge, workload), judge))
}

fn with_checker(
    checked: Result<(serde_json::Value, Validity), HistoryError>,
    judge: Judge,
) -> (serde_json::Value, Validity) {
    let (mut value, validity) = checked.unwrap_or_else(|error| {
        (
            serde_json::json!({ "valid": "unknown", "error": error.to_string() }),
            Validity::Unknown,
        )
    });
    if let Some(object) = value.as_object_mut() {
        object.insert("checker".into(), checker_name(judge).into());
    }
    (value, validity)
}

fn check(
    history: &History,
    judge: Judge,
    workload: &WorkloadConfig,
) -> Result<(serde_json::Value, Validity), HistoryError> {
    match judge {
        Judge::Elle(model) => {
            let result = elle::check(model, history, &ElleOptions::default())?;
            let validity = Validity::from(result.valid);
            let mut value = serde_json::to_value(&result).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("describe".into(), result.describe().into());
            }
            Ok((value, validity))
        }
        Judge::Direct(model) => {
            let options = DirectOptions {
                bank_total: Some(bank::total(workload)),
            };
            let result = direct::check(model, history, &options)?;
            let validity = match result.valid {
                DirectVerdict::Valid => Validity::Valid,
                DirectVerdict::Invalid => Validity::Invalid,
                DirectVerdict::Unknown => Validity::Unknown,
            };
            let mut value = serde_json::to_value(&result).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("describe".into(), result.describe().into());
            }
            Ok((value, validity))
        }
        Judge::Linearizable(_) => unreachable!("checked by checks::linearizable"),
        Judge::Registry => {
            let why = "the registry's history is checked from its file (checks::registry)";
            Ok((
                serde_json::json!({ "valid": "unknown", "error": why }),
                Validity::Unknown,
            ))
        }
    }
}
