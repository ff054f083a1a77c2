//! Linearizability of the client history, under the model the workload names
//! ([`rafty_workloads::Workload::model`]; every shipped workload names the key-value model,
//! checked one key at a time: every operation carries a key, the register workload has one).
//!
//! A run's history is checked from its file on disk ([`check_file`]), streamed per key, so that
//! a long run's check holds a bucket of keys at a time rather than the whole history; an
//! in-memory history ([`check`]) is for when there is no file.

use std::path::Path;
use std::time::Duration;

use rafty_checkers::History;
use rafty_checkers::linearizability::{CheckOptions, CheckResult, DEFAULT_MEMORY_BUDGET};
use rafty_checkers::model::{Convention, ModelKind};
use rafty_checkers::stream::{NoProgress, StreamOptions};

/// The options of a run's check: rafty's native convention (a read returns exactly what is
/// there, `nil` meaning absent; `fail` operations did not happen), an unknown verdict after
/// `time_limit` or once its searches hold more than [`DEFAULT_MEMORY_BUDGET`] (1 GiB), never an
/// out-of-memory.
fn options(time_limit: Duration) -> CheckOptions {
    CheckOptions {
        time_limit: Some(time_limit),
        memory_budget: Some(DEFAULT_MEMORY_BUDGET),
        ..CheckOptions::default()
    }
}

/// Check `history` against `model`, giving up with an unknown verdict after `time_limit`.
pub fn check(
    history: &History,
    model: ModelKind,
    time_limit: Duration,
) -> Result<CheckResult, String> {
    model
        .check(Convention::Native, history, &options(time_limit))
        .map_err(|error| error.to_string())
}

/// Check the JSON-lines history at `path` (a run's `history.jsonl`) against `model`, streaming
/// it from disk ([`rafty_checkers::stream`]); the same result as [`check`] on the same
/// history when the file is under one bucket
/// ([`BUCKET_SOURCE_BYTES`](rafty_checkers::stream::BUCKET_SOURCE_BYTES)), and the same
/// verdict always.
pub fn check_file(
    path: &Path,
    model: ModelKind,
    time_limit: Duration,
) -> Result<CheckResult, String> {
    model
        .check_file(
            Convention::Native,
            path,
            &options(time_limit),
            &StreamOptions::default(),
            &NoProgress,
        )
        .map(|streamed| streamed.result)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty_checkers::Verdict;
    use rafty_checkers::export::write_jsonl;
    use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};

    /// The run's check reads its file and finds what the in-memory check finds, counterexample
    /// and steps included, on a valid history and on one with a planted violation.
    #[test]
    fn the_file_check_agrees_with_the_in_memory_check() {
        let shape = KvShape {
            operations: 20_000,
            keys: 20,
            processes: 8,
            ..KvShape::default()
        };
        let dir = tempfile::tempdir().unwrap();
        for plant in [false, true] {
            let mut history = kv_history(&shape);
            if plant {
                plant_violation(&mut history).unwrap();
            }
            let path = dir.path().join("history.jsonl");
            write_jsonl(&history, std::fs::File::create(&path).unwrap()).unwrap();
            let limit = Duration::from_secs(60);
            let in_memory = check(&history, ModelKind::Kv, limit).unwrap();
            let from_file = check_file(&path, ModelKind::Kv, limit).unwrap();
            let expected = if plant {
                Verdict::NotLinearizable
            } else {
                Verdict::Linearizable
            };
            assert_eq!(from_file.valid, expected);
            // One op a line: the counterexample's lines are the in-memory positions plus one.
            assert_eq!(from_file, in_memory);
        }
    }
}
