//! What `rafty check` reads for a path it is given: a history file; a run folder's
//! `history.jsonl`; or, for a run's `results.json` (a run's verdict, not a history), the
//! `history.jsonl` next to it, saying so.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The history to read for a path, and what was made of the path when it is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The history file to read.
    pub history: PathBuf,
    /// Why it is not the path given, when it is not.
    pub note: Option<String>,
}

/// The name of a run's history in its folder.
const RUN_HISTORY: &str = "history.jsonl";

/// How much of a file is read to tell a run's `results.json` from a history.
const HEAD_BYTES: u64 = 1 << 20;

/// Resolves `path` to the history to check; `Err` names the path and says what to pass.
pub fn resolve(path: &Path) -> Result<Target, String> {
    if path.is_dir() {
        let history = path.join(RUN_HISTORY);
        if history.is_file() {
            return Ok(Target {
                note: Some(format!(
                    "a run folder: checking its {RUN_HISTORY} ({})",
                    history.display()
                )),
                history,
            });
        }
        return Err(format!(
            "{}: a folder without {RUN_HISTORY}; pass a run folder (store/<test>/<run>/) \
             or history files",
            path.display()
        ));
    }
    if !is_run_results(path) {
        return Ok(Target {
            history: path.to_owned(),
            note: None,
        });
    }
    let history = path.with_file_name(RUN_HISTORY);
    if history.is_file() {
        return Ok(Target {
            note: Some(format!(
                "a run's results, not a history: checking the run's {RUN_HISTORY} next to it \
                 ({})",
                history.display()
            )),
            history,
        });
    }
    Err(format!(
        "{}: a run's results (results.json), not a history, and there is no {RUN_HISTORY} \
         next to it; pass the run folder or its {RUN_HISTORY}",
        path.display()
    ))
}

/// Whether the file starts with a run's results: one JSON object with a run's fields
/// (`seed`, `checks`), not an op (no `process`). Unreadable files are not (reading them
/// again reports the error).
fn is_run_results(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = File::open(path).and_then(|file| file.take(HEAD_BYTES).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let mut values = serde_json::Deserializer::from_slice(&head).into_iter::<serde_json::Value>();
    match values.next() {
        Some(Ok(serde_json::Value::Object(object))) => {
            object.contains_key("seed")
                && object.contains_key("checks")
                && !object.contains_key("process")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rafty-check-input-{}", std::process::id()));
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const RESULTS: &str = "{\n  \"test\": \"t\",\n  \"seed\": 7,\n  \"valid\": true,\n  \
                           \"checks\": {}\n}\n";
    const OP: &str = "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n";

    #[test]
    fn a_run_folder_and_its_results_lead_to_its_history() {
        let run = scratch("run");
        std::fs::write(run.join("results.json"), RESULTS).unwrap();
        std::fs::write(run.join("history.jsonl"), OP).unwrap();
        let target = resolve(&run).unwrap();
        assert_eq!(target.history, run.join("history.jsonl"));
        assert!(target.note.unwrap().starts_with("a run folder"));
        let target = resolve(&run.join("results.json")).unwrap();
        assert_eq!(target.history, run.join("history.jsonl"));
        assert!(target.note.unwrap().starts_with("a run's results"));
        let target = resolve(&run.join("history.jsonl")).unwrap();
        assert_eq!(target.note, None);
    }

    #[test]
    fn results_without_a_history_and_empty_folders_are_refused() {
        let lone = scratch("lone");
        std::fs::write(lone.join("results.json"), RESULTS).unwrap();
        let error = resolve(&lone.join("results.json")).unwrap_err();
        assert!(
            error.contains("lone/results.json: a run's results"),
            "{error}"
        );
        assert!(
            error.contains("pass the run folder or its history.jsonl"),
            "{error}"
        );
        let error = resolve(&lone).unwrap_err();
        assert!(error.contains("a folder without history.jsonl"), "{error}");
    }
}
