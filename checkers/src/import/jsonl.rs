//! The native format: one serde-JSON [`Op`] a line, streamed.

use std::io::BufRead;

use crate::error::HistoryError;
use crate::history::{History, Op};

/// Parses JSON lines from `reader` (`file` is named in errors). Blank lines are skipped.
pub fn parse(file: &str, mut reader: impl BufRead) -> Result<History, HistoryError> {
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
        let op: Op = serde_json::from_str(text).map_err(|error| {
            HistoryError::malformed(file, number, format!("invalid op: {}", json_reason(&error)))
        })?;
        history.push_at_line(op, number);
    }
}

/// serde_json's message without its "at line 1 column N" suffix (the line is ours).
fn json_reason(error: &serde_json::Error) -> String {
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
        let history = parse("h.jsonl", text.as_bytes()).unwrap();
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
        let error = parse("h.jsonl", text.as_bytes()).unwrap_err().to_string();
        assert!(
            error.starts_with("h.jsonl:2: invalid op: unknown variant `done`"),
            "{error}"
        );
    }

    #[test]
    fn garbage_names_file_and_line() {
        let error = parse("h.jsonl", "{\"index\":0,\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("h.jsonl:1: invalid op:"), "{error}");
    }
}
