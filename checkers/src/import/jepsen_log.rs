//! The old `jepsen.util` log-line format: `INFO  jepsen.util - 3 :invoke :cas [1 4]`.
//! Lines without `jepsen.util - ` (other log output) are skipped.

use crate::edn::Reader;
use crate::error::HistoryError;
use crate::history::{Function, History, Op, OpType};
use crate::import::edn::{abbreviate, process_from};
use crate::value::Value;

const MARKER: &str = "jepsen.util - ";

/// Parses a `jepsen.util` log: process, type, function, then the value (anything after the
/// value, such as an error message, is ignored).
pub fn parse(file: &str, text: &str) -> Result<History, HistoryError> {
    let mut history = History::from_source(file);
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let Some(at) = line.find(MARKER) else {
            continue;
        };
        let op = parse_event(
            file,
            number,
            &line[at + MARKER.len()..],
            history.len() as u64,
        )?;
        history.push_at_line(op, number);
    }
    Ok(history)
}

fn parse_event(file: &str, line: usize, fields: &str, index: u64) -> Result<Op, HistoryError> {
    let error = |reason: String| HistoryError::malformed(file, line, reason);
    let mut reader = Reader::new(file, fields);
    let mut next = |what: &str| match reader.next_form() {
        Ok(Some((value, _))) => Ok(Some(value)),
        Ok(None) => Ok(None),
        Err(HistoryError::Malformed { reason, .. }) => Err(error(format!("{what}: {reason}"))),
        Err(other) => Err(other),
    };
    let process = match next("process")? {
        Some(value) => process_from(&value).map_err(error)?,
        None => return Err(error("missing process".to_owned())),
    };
    let kind = match next("type")? {
        Some(Value::Keyword(name)) => {
            OpType::parse(&name).ok_or_else(|| error(format!("unknown type :{name}")))?
        }
        Some(other) => {
            return Err(error(format!(
                "type must be a keyword, found {}",
                abbreviate(&other)
            )));
        }
        None => return Err(error("missing type".to_owned())),
    };
    let f = match next("function")? {
        Some(Value::Keyword(name)) => Function::new(&name),
        Some(other) => {
            return Err(error(format!(
                "function must be a keyword, found {}",
                abbreviate(&other)
            )));
        }
        None => return Err(error("missing function".to_owned())),
    };
    let value = next("value")?.unwrap_or(Value::Nil);
    Ok(Op {
        index,
        time: None,
        process,
        kind,
        f,
        key: None,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    #[test]
    fn reads_log_lines_and_skips_other_output() {
        let text = "INFO  jepsen.core - Worker 3 starting\n\
                    INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n\
                    INFO  jepsen.util - 3\t:fail\t:cas\t[1 4]\n\
                    INFO  jepsen.util - 2 :info :write :timed-out\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n";
        let history = parse("etcd.log", text).unwrap();
        assert_eq!(history.len(), 4);
        assert_eq!(history.lines, vec![2, 3, 4, 5]);
        assert_eq!(history.ops[0].value, Value::List(vec![1.into(), 4.into()]));
        assert_eq!(history.ops[1].kind, OpType::Fail);
        assert_eq!(history.ops[2].value, Value::Keyword("timed-out".into()));
        assert_eq!(history.ops[3].process, Process::nemesis());
        assert_eq!(history.ops[3].index, 3);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let error = |text: &str| parse("etcd.log", text).unwrap_err().to_string();
        assert_eq!(
            error("\nINFO  jepsen.util - 3 :done :read nil"),
            "etcd.log:2: unknown type :done"
        );
        assert_eq!(
            error("INFO  jepsen.util - 3 :ok"),
            "etcd.log:1: missing function"
        );
        assert_eq!(
            error("INFO  jepsen.util - x :ok :read nil"),
            "etcd.log:1: process: unsupported symbol 'x'"
        );
        assert_eq!(
            error("INFO  jepsen.util - 1 :ok :read [1"),
            "etcd.log:1: value: unexpected end of input: missing ']'"
        );
    }
}
