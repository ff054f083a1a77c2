//! Linearizability of the client history, under the model the workload names
//! ([`rafty_workloads::Workload::model`]; every shipped workload names the key-value model,
//! checked one key at a time: every operation carries a key, the register workload has one).

use std::time::Duration;

use rafty_checkers::History;
use rafty_checkers::linearizability::{CheckOptions, CheckResult};
use rafty_checkers::model::{Convention, ModelKind};

/// Check `history` against `model` (rafty's native convention: a read returns exactly what is
/// there, `nil` meaning absent; `fail` operations did not happen), giving up with an unknown
/// verdict after `time_limit`.
pub fn check(
    history: &History,
    model: ModelKind,
    time_limit: Duration,
) -> Result<CheckResult, String> {
    let options = CheckOptions {
        time_limit: Some(time_limit),
        ..CheckOptions::default()
    };
    model
        .check(Convention::Native, history, &options)
        .map_err(|error| error.to_string())
}
