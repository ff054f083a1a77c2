//! Linearizability of the client history, with rafty-checkers' key-value model checked one key
//! at a time (every workload's operations carry a key; the register workload has one key).

use std::time::Duration;

use rafty_checkers::History;
use rafty_checkers::linearizability::{self, CheckOptions, CheckResult};
use rafty_checkers::model::{Convention, KeyValue};

/// Check `history` against the key-value model (rafty's native convention: a read returns
/// exactly what is there, `nil` meaning absent; `fail` operations did not happen), giving up
/// with an unknown verdict after `time_limit`.
pub fn check(history: &History, time_limit: Duration) -> Result<CheckResult, String> {
    let model = KeyValue::new(Convention::Native);
    let options = CheckOptions {
        time_limit: Some(time_limit),
        ..CheckOptions::default()
    };
    linearizability::check(&model, history, &options).map_err(|error| error.to_string())
}
