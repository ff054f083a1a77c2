//! Jepsen EDN histories: one vector of op maps, or a sequence of op maps (one a line or not).

use crate::edn::Reader;
use crate::error::HistoryError;
use crate::history::{Function, History, Op, OpType, Process};
use crate::import::unreadable::LineErrors;
use crate::value::Value;

/// Parses an EDN history: any top-level collection of op maps, a vector `[{...} {...}]` or a
/// list `({...} {...})` (as Clojure prints a sequence), or the op maps one after another
/// (`{...} {...}`, one a line as Jepsen writes `history.edn`). Comments and `#_` discards may
/// come anywhere between forms. Ops without `:index` are indexed by position.
pub fn parse(file: &str, text: &str) -> Result<History, HistoryError> {
    let mut reader = Reader::new(file, text);
    let mut history = History::from_source(file);
    let close = match reader.peek()? {
        Some(b'[') => Some(b']'),
        Some(b'(') => Some(b')'),
        _ => None,
    };
    if close.is_some() {
        reader.skip_byte();
    }
    loop {
        if let Some(close) = close
            && reader.peek()? == Some(close)
        {
            reader.expect(close)?;
            if reader.peek()?.is_some() {
                return Err(reader.error(format!(
                    "unexpected form after the history's closing '{}'",
                    close as char
                )));
            }
            return Ok(history);
        }
        let Some((form, line)) = reader.next_form()? else {
            if let Some(close) = close {
                return Err(reader.error(format!(
                    "unexpected end of input: missing '{}'",
                    close as char
                )));
            }
            return Ok(history);
        };
        let position = history.len() as u64;
        let op = op_from_map(form, position)
            .map_err(|reason| HistoryError::malformed(file, line, reason))?;
        history.push_at_line(op, line);
    }
}

/// Parses EDN lines, one op map a line. When `errors` skips unreadable lines, a line that is
/// not one op map is skipped and counted; otherwise this is [`parse`] (a map may then span
/// lines, and a cut last map is an error, since a map says where it ends).
pub fn parse_lines(
    file: &str,
    text: &str,
    errors: &mut LineErrors,
) -> Result<History, HistoryError> {
    if !errors.skips() {
        return parse(file, text);
    }
    let mut history = History::from_source(file);
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let position = history.len() as u64;
        match one_op(file, line, position) {
            Ok(Some(op)) => history.push_at_line(op, number),
            Ok(None) => {}
            Err(HistoryError::Malformed { reason, .. }) => {
                errors.bad(HistoryError::malformed(file, number, reason))?;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(history)
}

/// The op map on one line, if the line holds anything but blanks and comments.
pub(crate) fn one_op(file: &str, line: &str, position: u64) -> Result<Option<Op>, HistoryError> {
    let mut reader = Reader::new(file, line);
    let Some((form, _)) = reader.next_form()? else {
        return Ok(None);
    };
    if reader.next_form()?.is_some() {
        return Err(reader.error("more than one form on the line"));
    }
    op_from_map(form, position)
        .map(Some)
        .map_err(|reason| HistoryError::malformed(file, 1, reason))
}

/// Builds an op from an EDN op map; `position` is its index if it has no `:index`.
pub(crate) fn op_from_map(form: Value, position: u64) -> Result<Op, String> {
    let Value::Map(mut map) = form else {
        return Err(format!("expected an op map, found {}", abbreviate(&form)));
    };
    let mut take = |key: &str| map.remove(&Value::Keyword(key.to_owned()));
    let process = match take("process") {
        Some(value) => process_from(&value)?,
        None => return Err("op has no :process".to_owned()),
    };
    let kind = match take("type") {
        Some(Value::Keyword(name)) => {
            OpType::parse(&name).ok_or_else(|| format!("unknown :type :{name}"))?
        }
        Some(other) => {
            return Err(format!(
                ":type must be a keyword, found {}",
                abbreviate(&other)
            ));
        }
        None => return Err("op has no :type".to_owned()),
    };
    let f = match take("f") {
        Some(Value::Keyword(name) | Value::String(name)) => Function::new(&name),
        Some(other) => {
            return Err(format!(
                ":f must be a keyword, found {}",
                abbreviate(&other)
            ));
        }
        None => return Err("op has no :f".to_owned()),
    };
    let key = take("key").filter(|key| !key.is_nil());
    let value = take("value").unwrap_or(Value::Nil);
    let time = take("time")
        .map(|time| natural(&time, ":time"))
        .transpose()?;
    let index = match take("index") {
        Some(index) => natural(&index, ":index")?,
        None => position,
    };
    Ok(Op {
        index,
        time,
        process,
        kind,
        f,
        key,
        value,
    })
}

/// A process: a natural number (a client) or a keyword (`:nemesis`).
pub(crate) fn process_from(value: &Value) -> Result<Process, String> {
    match value {
        Value::Int(id) if *id >= 0 => Ok(Process::Client(*id as u64)),
        Value::Keyword(name) | Value::String(name) => Ok(Process::Named(name.clone())),
        other => Err(format!(
            ":process must be a natural number or a keyword, found {}",
            abbreviate(other)
        )),
    }
}

fn natural(value: &Value, field: &str) -> Result<u64, String> {
    match value {
        Value::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(format!(
            "{field} must be a natural number, found {}",
            abbreviate(other)
        )),
    }
}

/// A value's EDN text, cut to a readable length for error messages.
pub(crate) fn abbreviate(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse("h.edn", text).unwrap_err().to_string()
    }

    #[test]
    fn reads_a_vector_of_op_maps() {
        let history = parse(
            "h.edn",
            "[{:process 0, :type :invoke, :f :cas, :value [1 2], :time 10, :index 0}\n \
             {:process 0, :type :ok, :f :cas, :value [1 2], :time 20, :index 1}\n \
             {:process :nemesis, :type :info, :f :start, :value nil}]",
        )
        .unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history.ops[0].f.as_str(), "cas");
        assert_eq!(history.ops[1].time, Some(20));
        assert_eq!(history.ops[2].process, Process::nemesis());
        assert_eq!(history.ops[2].index, 2);
        assert_eq!(history.lines, vec![1, 2, 3]);
    }

    #[test]
    fn reads_a_sequence_of_op_maps_with_keys() {
        let history = parse(
            "h.edn",
            "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
             {:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n",
        )
        .unwrap();
        assert_eq!(history.ops[1].key, Some(Value::from("0")));
        assert_eq!(history.ops[1].index, 1);
        assert_eq!(history.ops[1].kind, OpType::Ok);
    }

    #[test]
    fn unreadable_edn_lines_are_skipped_and_counted_only_when_asked() {
        let text = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n\
                    {:process 0, :type :ok, :f :get, :key\n\
                    \n\
                    {:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n\
                    {:process 0, :type :ok, :f :get, :key \"1\", :value \"x\"} {:process 1}\n";
        let error = parse_lines("h.txt", text, &mut LineErrors::strict()).unwrap_err();
        assert!(matches!(error, HistoryError::Malformed { .. }), "{error}");
        let options = crate::import::ReadOptions {
            skip_unreadable: true,
        };
        let mut errors = LineErrors::new(&options);
        let history = parse_lines("h.txt", text, &mut errors).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history.lines, vec![1, 4]);
        assert_eq!(history.ops[1].index, 1);
        assert_eq!(errors.skipped.count, 2);
        let (location, reason) = errors.skipped.first.clone().unwrap();
        assert_eq!(location.to_string(), "h.txt:2");
        assert!(reason.contains("end of input"), "{reason}");
    }

    #[test]
    fn malformed_ops_name_file_and_line() {
        assert_eq!(
            error("{:process 0, :type :invoke, :f :read}\n{:process 0, :f :read}"),
            "h.edn:2: op has no :type"
        );
        assert_eq!(
            error("{:process 0, :type :done, :f :read}"),
            "h.edn:1: unknown :type :done"
        );
        assert_eq!(
            error("{:process -1, :type :ok, :f :read}"),
            "h.edn:1: :process must be a natural number or a keyword, found -1"
        );
        assert_eq!(error("\n[1 2]"), "h.edn:2: expected an op map, found 1");
        assert_eq!(
            error("[{:process 0, :type :ok, :f :read}"),
            "h.edn:1: unexpected end of input: missing ']'"
        );
        assert_eq!(
            error("{:process 0, :type :ok, :f 3}"),
            "h.edn:1: :f must be a keyword, found 3"
        );
        assert_eq!(
            error("{:process 0, :type :ok, :f :read, :time -4}"),
            "h.edn:1: :time must be a natural number, found -4"
        );
    }
}
