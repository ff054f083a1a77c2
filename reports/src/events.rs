//! The events a report reads, one at a time and as often as it needs: from a history in memory,
//! or from a `history.jsonl` file on disk that is never held whole.
//!
//! Architecture invariant: reading a file holds one line at a time; each pass reads it again
//! from the start. An event is numbered by its position in the history (blank lines are not
//! events) and carries its source line, so that errors and the counterexample's positions mean
//! what they mean for [`rafty_checkers::import::read_file`].

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use rafty_checkers::{History, HistoryError, Op};
use serde_json::Value as Json;

/// One event of a history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event<'e> {
    /// Its position in the history (0-based, events only).
    pub position: usize,
    /// Its 1-based line in the source.
    pub line: usize,
    /// The event.
    pub op: &'e Op,
    /// The node that served it (`n3`), when recorded.
    pub node: Option<&'e str>,
}

/// Where a report's events come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Events<'a> {
    /// A history in memory, and the node that served each event by position (shorter or
    /// empty when not recorded).
    Memory {
        /// The history.
        history: &'a History,
        /// The node of each event, by position.
        served_by: &'a [Option<String>],
    },
    /// A JSON-lines history file: one [`Op`] a line, with the node that served it in an extra
    /// `node` field (`"n3"`, or a number `3` read as `n3`) when the harness recorded it.
    File(&'a Path),
}

impl Events<'_> {
    /// The name errors give the source by.
    pub fn file_name(&self) -> String {
        match self {
            Events::Memory { history, .. } => history
                .source
                .clone()
                .unwrap_or_else(|| "<history>".to_owned()),
            Events::File(path) => path.display().to_string(),
        }
    }

    /// Calls `visit` with every event, in order; stops at the first error, of reading (naming
    /// the file and line) or of `visit`.
    pub fn for_each(
        &self,
        mut visit: impl FnMut(Event<'_>) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        match self {
            Events::Memory { history, served_by } => {
                for (position, op) in history.ops.iter().enumerate() {
                    visit(Event {
                        position,
                        line: history.location(position).line,
                        op,
                        node: served_by.get(position).and_then(Option::as_deref),
                    })?;
                }
                Ok(())
            }
            Events::File(path) => read_file(path, visit),
        }
    }
}

/// The events of the JSON-lines file at `path`, one line at a time.
fn read_file(
    path: &Path,
    mut visit: impl FnMut(Event<'_>) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let file = path.display().to_string();
    let io_error = |source| HistoryError::Io {
        file: file.clone(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_error)?);
    let mut text = String::new();
    let mut line = 0;
    let mut position = 0;
    loop {
        text.clear();
        line += 1;
        if reader.read_line(&mut text).map_err(io_error)? == 0 {
            return Ok(());
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        let op: Op = serde_json::from_str(trimmed).map_err(|error| {
            HistoryError::malformed(&file, line, format!("invalid op: {}", reason(&error)))
        })?;
        let node = if trimmed.contains("\"node\"") {
            node_field(trimmed)
        } else {
            None
        };
        visit(Event {
            position,
            line,
            op: &op,
            node: node.as_deref(),
        })?;
        position += 1;
    }
}

/// The `node` field of a history line: `"n3"` as it is, a number `3` as `n3`.
fn node_field(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Node {
        node: Option<Json>,
    }
    match serde_json::from_str::<Node>(line).ok()?.node? {
        Json::String(node) => Some(node),
        Json::Number(node) => Some(format!("n{node}")),
        _ => None,
    }
}

/// serde_json's message without its "at line 1 column N" suffix (the line is the file's).
fn reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &message[..at], error.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's position, line, index and node.
    type Read = (usize, usize, u64, Option<String>);

    /// Every event of `text` read as a file.
    fn read(text: &str) -> Result<Vec<Read>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, text).unwrap();
        let mut events = Vec::new();
        Events::File(&path)
            .for_each(|event| {
                events.push((
                    event.position,
                    event.line,
                    event.op.index,
                    event.node.map(str::to_owned),
                ));
                Ok(())
            })
            .map_err(|error| error.to_string().replace(&path.display().to_string(), "F"))?;
        Ok(events)
    }

    #[test]
    fn positions_skip_blank_lines_and_nodes_are_read() {
        let text = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\n\
                    {\"index\":1,\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"node\":\"n2\"}\n\
                    {\"index\":2,\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"node\":4}\n";
        assert_eq!(
            read(text).unwrap(),
            vec![
                (0, 1, 0, None),
                (1, 3, 1, Some("n2".into())),
                (2, 4, 2, Some("n4".into()))
            ]
        );
    }

    #[test]
    fn a_bad_line_is_an_error_naming_the_file_and_line() {
        let text = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n{\"index\": 1,";
        let error = read(text).unwrap_err();
        assert!(error.starts_with("F:2: invalid op: EOF"), "{error}");
    }
}
