//! `jepsen.independent` histories: every client op's value is a `[key value]` tuple, such as
//! `{:f :write, :value [3 5]}`, `{:f :cas, :value [3 [1 2]]}` or `{:f :read, :value [3 nil]}`.
//! Unwrapping moves the key into [`Op::key`](crate::Op::key) and the inner value into
//! [`Op::value`](crate::Op::value), so that
//! each key is checked as its own object (see [`ModelKind::check_per_key`]).
//!
//! Detection ([`Independent::Auto`]) is deliberately narrow, so that it is unambiguous: a
//! plain cas-register history is full of 2-vectors (`[1 2]` is a `cas`), but its reads are
//! invoked with `nil`. A history is independent when no client op already has a `:key` and
//! some client read (`read` or `get`) is invoked with a `[key value]` tuple. Once a history is
//! independent, every client invocation and `ok` completion must be a tuple; one that is not
//! is an error naming its file and line.
//!
//! [`ModelKind::check_per_key`]: crate::model::ModelKind::check_per_key

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::HistoryError;
use crate::history::{History, Op, OpType, Process};
use crate::import::edn::abbreviate;
use crate::value::Value;

/// Whether a history's values are read as `jepsen.independent` `[key value]` tuples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Independent {
    /// When [`looks_independent`] says so (some read is invoked with a tuple).
    #[default]
    Auto,
    /// Always: every client op must carry a tuple.
    Yes,
    /// Never: values are taken as they are.
    No,
}

impl Independent {
    /// The name on the command line: `auto`, `yes` or `no`.
    pub fn name(self) -> &'static str {
        match self {
            Independent::Auto => "auto",
            Independent::Yes => "yes",
            Independent::No => "no",
        }
    }

    /// Applies this choice to `history`: the history (unwrapped when independent), and
    /// whether it was unwrapped.
    pub fn apply(self, history: History) -> Result<(History, bool), HistoryError> {
        let independent = match self {
            Independent::Auto => looks_independent(&history),
            Independent::Yes => true,
            Independent::No => false,
        };
        if independent {
            Ok((unwrap_tuples(history)?, true))
        } else {
            Ok((history, false))
        }
    }
}

impl fmt::Display for Independent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Independent {
    type Err = String;

    fn from_str(name: &str) -> Result<Independent, String> {
        match name {
            "auto" => Ok(Independent::Auto),
            "yes" => Ok(Independent::Yes),
            "no" => Ok(Independent::No),
            _ => Err(format!(
                "unknown --independent '{name}' (expected auto, yes or no)"
            )),
        }
    }
}

/// Whether `history` is a `jepsen.independent` one: no client op has a `:key`, and some
/// client read (`read` or `get`) is invoked with a `[key value]` tuple.
pub fn looks_independent(history: &History) -> bool {
    let clients = || history.ops.iter().filter(|op| op.process.is_client());
    clients().all(|op| op.key.is_none())
        && clients().any(|op| {
            op.kind == OpType::Invoke
                && matches!(op.f.as_str(), "read" | "get")
                && split(&op.value).is_ok()
        })
}

/// Moves each client op's tuple key into its `key`, leaving the inner value.
///
/// Every invocation and `ok` completion must carry a `[key value]` tuple whose key is an
/// integer, string or keyword; a completion's key must be its invocation's. A `fail` or
/// `info` completion may carry something else (`:timed-out`): it takes its invocation's key.
/// Ops of other processes (the nemesis) are left alone. Errors name the file and line.
pub fn unwrap_tuples(mut history: History) -> Result<History, HistoryError> {
    // Each process's open invocation: its key and line.
    let mut open: BTreeMap<u64, (Value, usize)> = BTreeMap::new();
    for position in 0..history.ops.len() {
        let Process::Client(process) = history.ops[position].process else {
            continue;
        };
        let invoked = if history.ops[position].kind == OpType::Invoke {
            None
        } else {
            open.remove(&process)
        };
        let line = history.location(position).line;
        let unwrapped = unwrap_op(
            &mut history.ops[position],
            invoked.as_ref().map(|(key, line)| (key, *line)),
        )
        .map_err(|reason| history.error_at(position, reason))?;
        if unwrapped && history.ops[position].kind == OpType::Invoke {
            let key = history.ops[position].key.clone().expect("just unwrapped");
            open.insert(process, (key, line));
        }
    }
    Ok(history)
}

/// Unwraps one client op of an independent history (see [`unwrap_tuples`]): moves its
/// tuple's key into `op.key` and leaves the inner value. `invoked` is, for a completion, the
/// key and line of the invocation it completes. `Ok(false)` leaves a completion without an
/// invocation as it is (pairing reports it); an error is the reason, without the location.
pub(crate) fn unwrap_op(op: &mut Op, invoked: Option<(&Value, usize)>) -> Result<bool, String> {
    if op.key.is_some() {
        return Err(format!(
            ":{} has both a :key and an independent [key value] value",
            op.f
        ));
    }
    let (key, value) = match (op.kind, split(&op.value), invoked) {
        (OpType::Invoke, Ok(tuple), _) => tuple,
        (_, Ok((key, _)), Some((invoked_key, line))) if &key != invoked_key => {
            return Err(format!(
                ":{} completes on key {key} but was invoked on key {invoked_key} at line {line}",
                op.f,
            ));
        }
        (_, Ok(tuple), _) => tuple,
        (OpType::Fail | OpType::Info, Err(_), Some((invoked_key, _))) => {
            (invoked_key.clone(), op.value.clone())
        }
        // A completion without an open invocation: pairing reports it.
        (OpType::Fail | OpType::Info | OpType::Ok, Err(_), None) => return Ok(false),
        (_, Err(reason), _) => return Err(format!(":{} {}: {reason}", op.f, op.kind.as_str())),
    };
    op.key = Some(key);
    op.value = value;
    Ok(true)
}

/// A `[key value]` tuple's parts, or why the value is not one.
fn split(value: &Value) -> Result<(Value, Value), String> {
    let expected = "an independent op's value must be a [key value] tuple";
    match value.as_list() {
        Some([key, inner]) => match key {
            Value::Int(_) | Value::String(_) | Value::Keyword(_) => {
                Ok((key.clone(), inner.clone()))
            }
            other => Err(format!(
                "a key must be an integer, string or keyword, found {}",
                abbreviate(other)
            )),
        },
        Some(items) => Err(format!(
            "{expected}, found {} ({} element{})",
            abbreviate(value),
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        )),
        None => Err(format!("{expected}, found {}", abbreviate(value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{Format, parse_str};

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn unwrapped(file: &str, text: &str, format: Format) -> History {
        let history = parse_str(file, text, format).unwrap();
        assert!(looks_independent(&history), "{text}");
        unwrap_tuples(history).unwrap()
    }

    fn error(text: &str, mode: Independent) -> String {
        let history = parse_str("h.edn", text, Format::Edn).unwrap();
        mode.apply(history).unwrap_err().to_string()
    }

    #[test]
    fn unwraps_an_edn_vector() {
        let history = unwrapped(
            "h.edn",
            "[{:process 0, :type :invoke, :f :write, :value [3 5], :index 0}\n \
             {:process 0, :type :ok, :f :write, :value [3 5], :index 1}\n \
             {:process :nemesis, :type :info, :f :start, :value nil, :index 2}\n \
             {:process 1, :type :invoke, :f :cas, :value [3 [5 6]], :index 3}\n \
             {:process 1, :type :info, :f :cas, :value :timed-out, :index 4}\n \
             {:process 2, :type :invoke, :f :read, :value [4 nil], :index 5}\n \
             {:process 2, :type :ok, :f :read, :value [4 7], :index 6}]",
            Format::Edn,
        );
        let keys: Vec<Option<Value>> = history.ops.iter().map(|op| op.key.clone()).collect();
        assert_eq!(
            keys,
            vec![
                Some(int(3)),
                Some(int(3)),
                None,
                Some(int(3)),
                Some(int(3)),
                Some(int(4)),
                Some(int(4))
            ]
        );
        assert_eq!(history.ops[0].value, int(5));
        assert_eq!(history.ops[2].value, Value::Nil);
        assert_eq!(history.ops[3].value, list(vec![int(5), int(6)]));
        assert_eq!(history.ops[4].value, Value::Keyword("timed-out".into()));
        assert_eq!(history.ops[5].value, Value::Nil);
        assert_eq!(history.ops[6].value, int(7));
    }

    #[test]
    fn unwraps_edn_lines_with_string_and_keyword_keys() {
        let history = unwrapped(
            "h.txt",
            "{:process 0, :type :invoke, :f :read, :value [\"a\" nil]}\n\
             {:process 0, :type :ok, :f :read, :value [\"a\" 1]}\n\
             {:process 1, :type :invoke, :f :write, :value [:b 2]}\n\
             {:process 1, :type :fail, :f :write, :value [:b 2]}\n",
            Format::EdnLines,
        );
        assert_eq!(history.ops[1].key, Some(Value::from("a")));
        assert_eq!(history.ops[1].value, int(1));
        assert_eq!(history.ops[3].key, Some(Value::Keyword("b".into())));
        assert_eq!(history.ops[3].value, int(2));
        assert_eq!(history.lines, vec![1, 2, 3, 4]);
    }

    #[test]
    fn unwraps_jepsen_log_lines() {
        let history = unwrapped(
            "h.log",
            "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 [1 4]]\n\
             INFO  jepsen.util - 3\t:fail\t:cas\t[1 [1 4]]\n\
             INFO  jepsen.util - 2\t:invoke\t:read\t[0 nil]\n\
             INFO  jepsen.util - 2\t:ok\t:read\t[0 nil]\n",
            Format::JepsenLog,
        );
        assert_eq!(history.ops[0].key, Some(int(1)));
        assert_eq!(history.ops[1].value, list(vec![int(1), int(4)]));
        assert_eq!(history.ops[3].key, Some(int(0)));
        assert_eq!(history.ops[3].value, Value::Nil);
    }

    #[test]
    fn a_plain_cas_register_history_is_not_detected() {
        let history = parse_str(
            "h.edn",
            "{:process 0, :type :invoke, :f :cas, :value [1 2]}\n\
             {:process 0, :type :ok, :f :cas, :value [1 2]}\n\
             {:process 1, :type :invoke, :f :read, :value nil}\n\
             {:process 1, :type :ok, :f :read, :value [1 2]}\n",
            Format::Edn,
        )
        .unwrap();
        assert!(!looks_independent(&history));
        let (same, independent) = Independent::Auto.apply(history.clone()).unwrap();
        assert!(!independent);
        assert_eq!(same, history);
    }

    #[test]
    fn a_history_with_keys_is_not_detected() {
        let history = parse_str(
            "h.edn",
            "{:process 0, :type :invoke, :f :read, :key 1, :value [1 2]}\n",
            Format::Edn,
        )
        .unwrap();
        assert!(!looks_independent(&history));
    }

    #[test]
    fn malformed_tuples_name_file_and_line() {
        let read = "{:process 9, :type :invoke, :f :read, :value [0 nil]}\n";
        assert_eq!(
            error(
                &format!("{read}{{:process 0, :type :invoke, :f :write, :value [3]}}"),
                Independent::Auto
            ),
            "h.edn:2: :write invoke: an independent op's value must be a [key value] tuple, \
             found [3] (1 element)"
        );
        assert_eq!(
            error(
                &format!("{read}{{:process 0, :type :invoke, :f :write, :value [1 2 3]}}"),
                Independent::Auto
            ),
            "h.edn:2: :write invoke: an independent op's value must be a [key value] tuple, \
             found [1 2 3] (3 elements)"
        );
        assert_eq!(
            error(
                &format!("{read}\n{{:process 0, :type :invoke, :f :write, :value 4}}"),
                Independent::Auto
            ),
            "h.edn:3: :write invoke: an independent op's value must be a [key value] tuple, \
             found 4"
        );
        assert_eq!(
            error(
                "{:process 0, :type :invoke, :f :write, :value [[1] 2]}",
                Independent::Yes
            ),
            "h.edn:1: :write invoke: a key must be an integer, string or keyword, found [1]"
        );
    }

    #[test]
    fn an_ok_completion_must_carry_its_invocations_key() {
        assert_eq!(
            error(
                "{:process 0, :type :invoke, :f :read, :value [0 nil]}\n\
                 {:process 0, :type :ok, :f :read, :value 5}",
                Independent::Auto
            ),
            "h.edn:2: :read ok: an independent op's value must be a [key value] tuple, found 5"
        );
        assert_eq!(
            error(
                "{:process 0, :type :invoke, :f :read, :value [0 nil]}\n\
                 {:process 0, :type :ok, :f :read, :value [1 5]}",
                Independent::Auto
            ),
            "h.edn:2: :read completes on key 1 but was invoked on key 0 at line 1"
        );
    }

    #[test]
    fn a_key_and_a_tuple_together_are_an_error_when_forced() {
        assert_eq!(
            error(
                "{:process 0, :type :invoke, :f :write, :key 1, :value [1 2]}",
                Independent::Yes
            ),
            "h.edn:1: :write has both a :key and an independent [key value] value"
        );
    }

    #[test]
    fn no_leaves_tuples_alone() {
        let text = "{:process 0, :type :invoke, :f :read, :value [0 nil]}\n";
        let history = parse_str("h.edn", text, Format::Edn).unwrap();
        let (same, independent) = Independent::No.apply(history.clone()).unwrap();
        assert!(!independent);
        assert_eq!(same, history);
        assert_eq!("yes".parse(), Ok(Independent::Yes));
        assert!("maybe".parse::<Independent>().is_err());
    }
}
