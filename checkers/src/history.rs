//! The history model: [`Op`] events, the [`History`] that holds them in real-time order, and
//! their pairing into [`Operation`]s (an invocation and its completion).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{HistoryError, Location};
use crate::value::Value;

/// What an event says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation was invoked.
    Invoke,
    /// The operation took effect and its result was observed.
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// Indeterminate: the operation may take effect at any time after its invocation, or never.
    Info,
}

impl OpType {
    /// The name used in every format (`invoke`, `ok`, `fail`, `info`).
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    /// Parses a type name; `None` for an unknown type.
    pub fn parse(name: &str) -> Option<OpType> {
        match name {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed an event: a client (an integer, as Jepsen numbers them) or a named process
/// such as the nemesis. Only clients' events are paired and checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    /// A client process.
    Client(u64),
    /// A named, non-client process (`nemesis` for the fault injector).
    Named(String),
}

impl Process {
    /// The nemesis process.
    pub fn nemesis() -> Process {
        Process::Named("nemesis".to_owned())
    }

    /// Whether this is a client process (whose operations are checked).
    pub fn is_client(&self) -> bool {
        matches!(self, Process::Client(_))
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(id) => write!(f, "{id}"),
            Process::Named(name) => write!(f, ":{name}"),
        }
    }
}

/// JSON form: an integer for a client, a string for a named process.
impl Serialize for Process {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(id) => serializer.serialize_u64(*id),
            Process::Named(name) => serializer.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Client(u64),
            Named(String),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Client(id) => Process::Client(id),
            Raw::Named(name) => Process::Named(name),
        })
    }
}

/// An operation's function (`read`, `write`, `cas`, `get`, `put`, `append`...): an open set.
/// The common names are stored without allocating.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Function(Cow<'static, str>);

const COMMON_FUNCTIONS: &[&str] = &[
    "read", "write", "cas", "get", "put", "append", "delete", "add", "txn", "start", "stop",
];

impl Function {
    /// A function by name.
    pub fn new(name: &str) -> Function {
        match COMMON_FUNCTIONS.iter().find(|common| **common == name) {
            Some(common) => Function(Cow::Borrowed(common)),
            None => Function(Cow::Owned(name.to_owned())),
        }
    }

    /// The function's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Function {
    fn from(name: &str) -> Self {
        Function::new(name)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Function {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Function {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Function::new(&name))
    }
}

/// One event of a history: an invocation or a completion, as Jepsen records them.
///
/// The native format (JSON lines) is this struct under serde, one event a line:
/// `{"index":0,"time":120,"process":3,"type":"invoke","f":"cas","value":[1,2]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position of the event in its history (Jepsen's `:index`).
    pub index: u64,
    /// When the event happened, in nanoseconds since the start of the test, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Who performed the event.
    pub process: Process,
    /// Invocation or completion, and how it completed.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The operation's function.
    pub f: Function,
    /// The key the operation acts on, for multi-key models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The argument (on invocations) or the result (on `ok` completions).
    #[serde(default)]
    pub value: Value,
}

impl Op {
    /// An event with no time and no key; `index` is set when pushed into a [`History`].
    pub fn new(process: Process, kind: OpType, f: impl Into<Function>, value: Value) -> Op {
        Op {
            index: 0,
            time: None,
            process,
            kind,
            f: f.into(),
            key: None,
            value,
        }
    }

    /// The same event with a key.
    pub fn with_key(mut self, key: Value) -> Op {
        self.key = Some(key);
        self
    }

    /// The same event with a time in nanoseconds.
    pub fn with_time(mut self, time_ns: u64) -> Op {
        self.time = Some(time_ns);
        self
    }
}

/// A history: events in real-time order, and where they came from (for error messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The events, in the order they happened.
    pub ops: Vec<Op>,
    /// The file the history was read from, if any (used in error messages).
    pub source: Option<String>,
    /// `lines[i]` is the 1-based line of `ops[i]` in `source`. Empty for a history built in
    /// memory, whose locations are then the positions plus one.
    pub lines: Vec<usize>,
}

impl History {
    /// An empty in-memory history.
    pub fn new() -> History {
        History::default()
    }

    /// An empty history read from `source` (a file name, for error messages).
    pub fn from_source(source: impl Into<String>) -> History {
        History {
            source: Some(source.into()),
            ..History::default()
        }
    }

    /// A history of these events, indexed by position.
    pub fn from_ops(ops: impl IntoIterator<Item = Op>) -> History {
        let mut history = History::new();
        for op in ops {
            history.push(op);
        }
        history
    }

    /// Appends an event, setting its index to its position.
    pub fn push(&mut self, mut op: Op) {
        op.index = self.ops.len() as u64;
        self.ops.push(op);
    }

    /// Appends an event read at `line` of the source, keeping its index as read.
    pub fn push_at_line(&mut self, op: Op, line: usize) {
        if self.lines.len() < self.ops.len() {
            self.lines.extend(self.lines.len() + 1..=self.ops.len());
        }
        self.ops.push(op);
        self.lines.push(line);
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Where event `position` came from: the source file and line.
    pub fn location(&self, position: usize) -> Location {
        Location {
            file: self
                .source
                .clone()
                .unwrap_or_else(|| "<history>".to_owned()),
            line: self.lines.get(position).copied().unwrap_or(position + 1),
        }
    }

    /// An error about event `position`.
    pub fn error_at(&self, position: usize, reason: impl Into<String>) -> HistoryError {
        HistoryError::Malformed {
            location: self.location(position),
            reason: reason.into(),
        }
    }

    /// Pairs every client invocation with its completion, in invocation order.
    ///
    /// Events of non-client processes (the nemesis) are skipped. An invocation with no
    /// completion is indeterminate. A completion without an open invocation, a second
    /// invocation while one is open on the same process, or a completion whose function
    /// differs from its invocation's is an error naming the file and line.
    pub fn operations(&self) -> Result<Vec<Operation<'_>>, HistoryError> {
        let mut operations: Vec<Operation<'_>> = Vec::new();
        let mut open: BTreeMap<u64, usize> = BTreeMap::new();
        for (position, op) in self.ops.iter().enumerate() {
            let Process::Client(process) = op.process else {
                continue;
            };
            if op.kind == OpType::Invoke {
                if let Some(&previous) = open.get(&process) {
                    let earlier = self.location(operations[previous].invoke_position);
                    return Err(self.error_at(
                        position,
                        format!(
                            "process {process} invokes :{} while its invocation at line {} \
                             has not completed",
                            op.f, earlier.line
                        ),
                    ));
                }
                open.insert(process, operations.len());
                operations.push(Operation {
                    invoke_position: position,
                    invoke: op,
                    completion_position: None,
                    completion: None,
                });
                continue;
            }
            let Some(id) = open.remove(&process) else {
                return Err(self.error_at(
                    position,
                    format!(
                        "process {process} completes :{} ({}) without an open invocation",
                        op.f, op.kind
                    ),
                ));
            };
            let operation = &mut operations[id];
            if operation.invoke.f != op.f {
                return Err(self.error_at(
                    position,
                    format!(
                        "process {process} completes :{} but invoked :{} at line {}",
                        op.f,
                        operation.invoke.f,
                        self.location(operation.invoke_position).line
                    ),
                ));
            }
            operation.completion_position = Some(position);
            operation.completion = Some(op);
        }
        Ok(operations)
    }
}

/// How an [`Operation`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Took effect; the result was observed.
    Ok,
    /// Definitely did not take effect.
    Fail,
    /// Indeterminate (an `info` completion, or none at all).
    Info,
}

/// An invocation paired with its completion, borrowed from a [`History`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation<'h> {
    /// Position of the invocation in the history.
    pub invoke_position: usize,
    /// The invocation.
    pub invoke: &'h Op,
    /// Position of the completion in the history, if there is one.
    pub completion_position: Option<usize>,
    /// The completion, if there is one.
    pub completion: Option<&'h Op>,
}

impl<'h> Operation<'h> {
    /// How the operation ended.
    pub fn outcome(&self) -> Outcome {
        match self.completion.map(|op| op.kind) {
            Some(OpType::Ok) => Outcome::Ok,
            Some(OpType::Fail) => Outcome::Fail,
            _ => Outcome::Info,
        }
    }

    /// The process that performed it.
    pub fn process(&self) -> &'h Process {
        &self.invoke.process
    }

    /// Its function.
    pub fn f(&self) -> &'h Function {
        &self.invoke.f
    }

    /// Its key: the invocation's, or else the completion's.
    pub fn key(&self) -> Option<&'h Value> {
        self.invoke
            .key
            .as_ref()
            .or_else(|| self.completion.and_then(|op| op.key.as_ref()))
    }

    /// The invocation's value (the argument).
    pub fn argument(&self) -> &'h Value {
        &self.invoke.value
    }

    /// The completion's value, if it completed (the result, on `ok`).
    pub fn result(&self) -> Option<&'h Value> {
        self.completion.map(|op| &op.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(process: u64, kind: OpType, f: &str, value: Value) -> Op {
        Op::new(Process::Client(process), kind, f, value)
    }

    #[test]
    fn pairs_invocations_with_completions_per_process() {
        let history = History::from_ops([
            op(0, OpType::Invoke, "write", Value::Int(1)),
            op(1, OpType::Invoke, "read", Value::Nil),
            op(1, OpType::Ok, "read", Value::Int(1)),
            Op::new(Process::nemesis(), OpType::Info, "start", Value::Nil),
            op(0, OpType::Info, "write", Value::Int(1)),
            op(2, OpType::Invoke, "read", Value::Nil),
        ]);
        let operations = history.operations().unwrap();
        assert_eq!(operations.len(), 3);
        assert_eq!(operations[0].completion_position, Some(4));
        assert_eq!(operations[0].outcome(), Outcome::Info);
        assert_eq!(operations[1].outcome(), Outcome::Ok);
        assert_eq!(operations[1].result(), Some(&Value::Int(1)));
        assert_eq!(operations[2].completion, None);
        assert_eq!(operations[2].outcome(), Outcome::Info);
    }

    #[test]
    fn completion_without_invocation_names_file_and_line() {
        let mut history = History::from_source("h.jsonl");
        history.push_at_line(op(0, OpType::Ok, "read", Value::Nil), 7);
        let error = history.operations().unwrap_err();
        assert_eq!(
            error.to_string(),
            "h.jsonl:7: process 0 completes :read (ok) without an open invocation"
        );
    }

    #[test]
    fn two_open_invocations_on_one_process_are_rejected() {
        let history = History::from_ops([
            op(0, OpType::Invoke, "read", Value::Nil),
            op(0, OpType::Invoke, "write", Value::Int(1)),
        ]);
        let error = history.operations().unwrap_err().to_string();
        assert!(
            error.starts_with("<history>:2: process 0 invokes :write"),
            "{error}"
        );
    }

    #[test]
    fn completion_of_another_function_is_rejected() {
        let history = History::from_ops([
            op(0, OpType::Invoke, "read", Value::Nil),
            op(0, OpType::Ok, "write", Value::Int(1)),
        ]);
        assert!(history.operations().is_err());
    }

    #[test]
    fn op_json_form() {
        let op = op(
            3,
            OpType::Invoke,
            "cas",
            Value::List(vec![1.into(), 2.into()]),
        )
        .with_time(120);
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"index":0,"time":120,"process":3,"type":"invoke","f":"cas","value":[1,2]}"#
        );
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
        let named: Op =
            serde_json::from_str(r#"{"index":1,"process":"nemesis","type":"info","f":"start"}"#)
                .unwrap();
        assert_eq!(named.process, Process::nemesis());
        assert_eq!(named.value, Value::Nil);
    }
}
