//! The native format: one serde-JSON [`Op`] a line, streamed.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::HistoryError;
use crate::history::{History, Op};
use crate::import::unreadable::LineErrors;

/// Parses JSON lines from `reader` (`file` is named in errors). Blank lines are skipped; a
/// line that is not an op goes to `errors`. A line cut short is never a whole JSON object,
/// so a truncated file is caught here without looking for its last newline.
pub fn parse(
    file: &str,
    mut reader: impl BufRead,
    errors: &mut LineErrors,
) -> Result<History, HistoryError> {
    let mut history = History::from_source(file);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let read = reader
            .read_line(&mut line)
            .map_err(|source| HistoryError::Io {
                file: file.to_owned(),
                source,
            })?;
        if read == 0 {
            return Ok(history);
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Op>(text) {
            Ok(op) => history.push_at_line(op, number),
            Err(error) => errors.bad(HistoryError::malformed(
                file,
                number,
                format!("invalid op: {}", json_reason(&error)),
            ))?,
        }
    }
}

/// The first client op with a key in a JSON-lines file, and its line: what says, without
/// reading the rest, that a history is a key-value one and not a `jepsen.independent` one
/// (see [`ModelKind::infer`](crate::ModelKind::infer)). Lines that cannot be read are passed
/// over (the check reports them). `None` when no op has a key.
pub fn first_keyed_client_op(path: &Path) -> Result<Option<(Op, usize)>, HistoryError> {
    let file = path.display().to_string();
    let io_error = |source| HistoryError::Io {
        file: file.clone(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        if reader.read_line(&mut line).map_err(io_error)? == 0 {
            return Ok(None);
        }
        if let Ok(op) = serde_json::from_str::<Op>(line.trim()) {
            if op.process.is_client() && op.key.is_some() {
                return Ok(Some((op, number)));
            }
        }
    }
}

/// serde_json's message without its "at line 1 column N" suffix (the line is ours).
pub(crate) fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &message[..at], error.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType, Process};
    use crate::value::Value;

    #[test]
    fn reads_ops_and_their_lines() {
        let text = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\n\
                    {\"index\":1,\"time\":9,\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n";
        let history = parse("h.jsonl", text.as_bytes(), &mut LineErrors::strict()).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history.lines, vec![1, 3]);
        assert_eq!(history.ops[1].process, Process::Client(1));
        assert_eq!(history.ops[1].kind, OpType::Ok);
        assert_eq!(history.ops[1].value, Value::Int(3));
        assert_eq!(history.ops[1].time, Some(9));
    }

    #[test]
    fn unknown_type_names_file_and_line() {
        let text = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\
                    {\"index\":1,\"process\":1,\"type\":\"done\",\"f\":\"read\"}\n";
        let error = parse("h.jsonl", text.as_bytes(), &mut LineErrors::strict())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("h.jsonl:2: invalid op: unknown variant `done`"),
            "{error}"
        );
    }

    #[test]
    fn garbage_names_file_and_line() {
        let error = parse(
            "h.jsonl",
            "{\"index\":0,\n".as_bytes(),
            &mut LineErrors::strict(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("h.jsonl:1: invalid op:"), "{error}");
    }

    #[test]
    fn a_cut_last_line_is_an_error_or_skipped_and_counted_when_asked() {
        let text = "{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\
                    {\"index\":1,\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1";
        let error = parse("h.jsonl", text.as_bytes(), &mut LineErrors::strict())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("h.jsonl:2: invalid op: EOF"), "{error}");
        let options = crate::import::ReadOptions {
            skip_unreadable: true,
        };
        let mut errors = LineErrors::new(&options);
        let history = parse("h.jsonl", text.as_bytes(), &mut errors).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(errors.skipped.count, 1);
        let (location, _) = errors.skipped.first.unwrap();
        assert_eq!(location.to_string(), "h.jsonl:2");
    }
}
