//! The old `jepsen.util` log-line format: `INFO  jepsen.util - 3 :invoke :cas [1 4]`.
//! Blank lines and other loggers' lines (`INFO  jepsen.core - Worker 3 starting`) are
//! skipped; any other line cannot be read.

use crate::edn::Reader;
use crate::error::HistoryError;
use crate::history::{Function, History, Op, OpType};
use crate::import::edn::{abbreviate, process_from};
use crate::import::unreadable::{CUT_MID_LINE, LineErrors};
use crate::value::Value;

const MARKER: &str = "jepsen.util - ";

/// Log levels, as log4j and logback print them.
const LEVELS: [&str; 7] = [
    "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL",
];

/// Parses a `jepsen.util` log: process, type, function, then the value (anything after the
/// value, such as an error message, is ignored). A line that is neither an op, blank, nor
/// another logger's line goes to `errors`, and so does a last line without a newline: a
/// value cut short (`4` of `42`) would still parse.
pub fn parse(file: &str, text: &str, errors: &mut LineErrors) -> Result<History, HistoryError> {
    let mut history = History::from_source(file);
    let cut = !text.is_empty() && !text.ends_with('\n');
    let count = text.lines().count();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if cut && number == count && !line.trim().is_empty() {
            errors.bad(HistoryError::malformed(file, number, CUT_MID_LINE))?;
            continue;
        }
        let Some(at) = line.find(MARKER) else {
            if !line.trim().is_empty() && !is_other_log_output(line) {
                errors.bad(HistoryError::malformed(
                    file,
                    number,
                    "neither a jepsen.util op line nor another logger's line",
                ))?;
            }
            continue;
        };
        match parse_event(
            file,
            number,
            &line[at + MARKER.len()..],
            history.len() as u64,
        ) {
            Ok(op) => history.push_at_line(op, number),
            Err(error) => errors.bad(error)?,
        }
    }
    Ok(history)
}

/// One line alone (the streaming check's reader): its op, with `index` (it does not know the
/// op's position), `None` for a blank line or another logger's, or why it cannot be read.
pub(crate) fn one_line(file: &str, line: &str, index: u64) -> Option<Result<Op, String>> {
    let Some(at) = line.find(MARKER) else {
        return (!line.trim().is_empty() && !is_other_log_output(line))
            .then(|| Err("neither a jepsen.util op line nor another logger's line".to_owned()));
    };
    Some(
        parse_event(file, 0, &line[at + MARKER.len()..], index).map_err(|error| match error {
            HistoryError::Malformed { reason, .. } => reason,
            other => other.to_string(),
        }),
    )
}

/// Whether a line is another logger's output: a log level among its first four words, then
/// a logger name and `-` (`INFO  jepsen.core - ...`, after a timestamp or not).
fn is_other_log_output(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().take(6).collect();
    let Some(level) = words.iter().take(4).position(|word| LEVELS.contains(word)) else {
        return false;
    };
    match &words[level + 1..] {
        [logger, "-", ..] => logger
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '$' | '-')),
        _ => false,
    }
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
        let history = parse("etcd.log", text, &mut LineErrors::strict()).unwrap();
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
        let error = |text: &str| {
            parse("etcd.log", text, &mut LineErrors::strict())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("\nINFO  jepsen.util - 3 :done :read nil\n"),
            "etcd.log:2: unknown type :done"
        );
        assert_eq!(
            error("INFO  jepsen.util - 3 :ok\n"),
            "etcd.log:1: missing function"
        );
        assert_eq!(
            error("INFO  jepsen.util - x :ok :read nil\n"),
            "etcd.log:1: :process must be a natural number or a keyword, found x"
        );
        assert_eq!(
            error("INFO  jepsen.util - 1 :ok :read [1\n"),
            "etcd.log:1: value: unexpected end of input: missing ']'"
        );
    }

    /// Ops, then a last line cut inside its value: `42` read as `4` would parse.
    const CUT: &str = "INFO  jepsen.util - 0\t:invoke\t:write\t42\n\
                       INFO  jepsen.util - 0\t:ok\t:write\t42\n\
                       INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                       INFO  jepsen.util - 1\t:ok\t:read\t4";

    #[test]
    fn a_last_line_without_a_newline_is_a_cut_file() {
        let error = parse("etcd.log", CUT, &mut LineErrors::strict()).unwrap_err();
        assert_eq!(error.to_string(), format!("etcd.log:4: {CUT_MID_LINE}"));
        // Cut exactly at a newline, the file is whole as far as anyone can tell.
        let whole = &CUT[..CUT.rfind('\n').unwrap() + 1];
        let history = parse("etcd.log", whole, &mut LineErrors::strict()).unwrap();
        assert_eq!(history.len(), 3);
    }

    #[test]
    fn a_line_that_is_no_log_line_is_an_error_naming_it() {
        let text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                    INFO  jepsen.u\n\
                    INFO  jepsen.util - 0\t:ok\t:read\tnil\n";
        let error = parse("etcd.log", text, &mut LineErrors::strict()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "etcd.log:2: neither a jepsen.util op line nor another logger's line"
        );
    }

    #[test]
    fn unreadable_lines_are_skipped_and_counted_when_asked() {
        let options = crate::import::ReadOptions {
            skip_unreadable: true,
        };
        let mut errors = LineErrors::new(&options);
        let text = format!("garbage\n2015-05-12 13:34:14 WARN jepsen.core - slow\n{CUT}");
        let history = parse("etcd.log", &text, &mut errors).unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(errors.skipped.count, 2);
        let (location, _) = errors.skipped.first.unwrap();
        assert_eq!(location.to_string(), "etcd.log:1");
    }
}
