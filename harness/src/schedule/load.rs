//! Reading a schedule file: every error names the file and the field
//! (`faults[2].actions[0].action`), whether the JSON is malformed, a value has the wrong type
//! or the schedule is impossible (a node that does not exist, time running backwards).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::nemesis::{Action, FaultKind, FaultRecord, TimedAction};
use crate::run::config::TestConfig;
use crate::run::runner::SPARE_NODES;
use crate::sim::client::OpRecord;

use super::config::ScheduleConfig;
use super::{FILE_NAME, Schedule, VERSION};

/// A schedule that cannot be read: the file, the field and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {field}: {reason}")]
pub struct ScheduleError {
    /// The file read.
    pub file: PathBuf,
    /// The field, as a path from the top (`config.workload.time_limit`, `clients[1].ops[4]`),
    /// or `(file)` for the file as a whole.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Read the schedule at `path`: a `schedule.json`, or a run's folder holding one.
pub fn load(path: &Path) -> Result<Schedule, ScheduleError> {
    let file = if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&file).map_err(|error| ScheduleError {
        file: file.clone(),
        field: "(file)".into(),
        reason: if path.is_dir() {
            format!("cannot read the run's schedule: {error} (only runs that failed write one)")
        } else {
            format!("cannot read it: {error}")
        },
    })?;
    parse(&text, &file)
}

/// Parse a schedule's text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Schedule, ScheduleError> {
    let fail = |field: &str, reason: String| ScheduleError {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| fail("(file)", e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(fail("(file)", "expected a JSON object".into()));
    };
    const FIELDS: [&str; 8] = [
        "version",
        "seed",
        "plant",
        "core_assertions",
        "config",
        "faults",
        "clients",
        "follow_leader",
    ];
    if let Some(unknown) = top.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        let reason = format!("unknown field; expected one of {}", FIELDS.join(", "));
        return Err(fail(unknown, reason));
    }
    let version: u32 = field(&top, "version").map_err(|(f, r)| fail(&f, r))?;
    if version != VERSION {
        let reason = format!("schedule version {version}; this rafty reads version {VERSION}");
        return Err(fail("version", reason));
    }
    let schedule = read_fields(&top).map_err(|(f, r)| fail(&f, r))?;
    check(&schedule).map_err(|(f, r)| fail(&f, r))?;
    Ok(schedule)
}

/// A field's path and what is wrong with it.
type Problem = (String, String);

fn read_fields(top: &Map<String, Value>) -> Result<Schedule, Problem> {
    let config: ScheduleConfig = match top.get("config") {
        Some(value) => typed(value, "config").map_err(|problem| {
            // Name the part of the config at fault when one is.
            let parts = value.as_object().into_iter().flatten();
            parts
                .filter_map(|(key, part)| match key.as_str() {
                    "workload" => {
                        typed::<rafty_workloads::WorkloadConfig>(part, "config.workload").err()
                    }
                    "raft" => typed::<rafty::Config>(part, "config.raft").err(),
                    _ => None,
                })
                .next()
                .unwrap_or(problem)
        })?,
        None => return Err(("config".into(), "missing".into())),
    };
    let mut faults = Vec::new();
    for (i, fault) in list(top, "faults")?.iter().enumerate() {
        let path = format!("faults[{i}]");
        faults.push(typed::<FaultRecord>(fault, &path).map_err(|problem| {
            let actions = fault.get("actions").and_then(Value::as_array);
            let action_problem = actions
                .into_iter()
                .flatten()
                .enumerate()
                .find_map(|(j, a)| typed::<TimedAction>(a, &format!("{path}.actions[{j}]")).err());
            action_problem.unwrap_or(problem)
        })?);
    }
    let mut clients = BTreeMap::new();
    for (i, client) in list(top, "clients")?.iter().enumerate() {
        let path = format!("clients[{i}]");
        let Value::Object(client) = client else {
            return Err((path, "expected an object with `client` and `ops`".into()));
        };
        if let Some(unknown) = client
            .keys()
            .find(|key| !["client", "ops"].contains(&key.as_str()))
        {
            return Err((
                format!("{path}.{unknown}"),
                "unknown field; expected client, ops".into(),
            ));
        }
        let index: u64 = field(client, "client").map_err(|(f, r)| (format!("{path}.{f}"), r))?;
        let concurrency = config.workload.concurrency as u64;
        if index >= concurrency {
            let reason =
                format!("client {index}, but config.workload.concurrency is {concurrency}");
            return Err((format!("{path}.client"), reason));
        }
        let mut ops: Vec<OpRecord> = Vec::new();
        for (k, op) in list(client, "ops")
            .map_err(|(f, r)| (format!("{path}.{f}"), r))?
            .iter()
            .enumerate()
        {
            let op: OpRecord = typed(op, &format!("{path}.ops[{k}]"))?;
            if let Some(before) = ops.last().filter(|before| op.at_ms < before.at_ms) {
                let reason = format!(
                    "at {} ms, before the operation ahead of it ({} ms)",
                    op.at_ms, before.at_ms
                );
                return Err((format!("{path}.ops[{k}].at_ms"), reason));
            }
            ops.push(op);
        }
        if clients.insert(index, ops).is_some() {
            return Err((
                format!("{path}.client"),
                format!("client {index} is listed twice"),
            ));
        }
    }
    Ok(Schedule {
        seed: field(top, "seed")?,
        plant: field(top, "plant")?,
        core_assertions: field(top, "core_assertions")?,
        config: TestConfig::from(config),
        faults,
        clients,
        follow_leader: match top.get("follow_leader") {
            Some(_) => field(top, "follow_leader")?,
            None => false,
        },
    })
}

/// The field `name` of `object`, of type `T`.
fn field<T: DeserializeOwned>(object: &Map<String, Value>, name: &str) -> Result<T, Problem> {
    match object.get(name) {
        Some(value) => typed(value, name),
        None => Err((name.to_owned(), "missing".into())),
    }
}

/// `value` read as a `T`; `path` names it.
fn typed<T: DeserializeOwned>(value: &Value, path: &str) -> Result<T, Problem> {
    T::deserialize(value).map_err(|error| (path.to_owned(), error.to_string()))
}

/// The list `name` of `object`.
fn list<'v>(object: &'v Map<String, Value>, name: &str) -> Result<&'v Vec<Value>, Problem> {
    match object.get(name) {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err((name.to_owned(), "expected a list".into())),
        None => Err((name.to_owned(), "missing".into())),
    }
}

/// What a schedule must be to run: a valid configuration, faults of kinds it allows on nodes
/// that exist with their times in order (clients and their operations are checked as read).
fn check(schedule: &Schedule) -> Result<(), Problem> {
    let config = &schedule.config;
    if let Some(problem) = config.problems().first() {
        return Err((format!("config.{}", problem.field), problem.reason.clone()));
    }
    if let Some(plant) = &schedule.plant {
        if !crate::catalogue::entry::entries()
            .iter()
            .any(|entry| entry.name == plant)
        {
            return Err((
                "plant".into(),
                format!("no catalogue entry is named `{plant}`"),
            ));
        }
    }
    let membership = FaultKind::named("membership").is_some_and(|k| config.nemesis.contains(&k));
    let hosts = config.nodes + if membership { SPARE_NODES } else { 0 };
    for (i, fault) in schedule.faults.iter().enumerate() {
        check_fault(fault, config, hosts).map_err(|(f, r)| (format!("faults[{i}].{f}"), r))?;
    }
    Ok(())
}

fn check_fault(fault: &FaultRecord, config: &TestConfig, hosts: usize) -> Result<(), Problem> {
    if !config.nemesis.contains(&fault.kind) {
        let reason = format!("`{}` is not among config.nemesis", fault.kind);
        return Err(("kind".into(), reason));
    }
    let mut last = fault.start_ms;
    for (j, step) in fault.actions.iter().enumerate() {
        if step.at_ms < last {
            let reason = format!(
                "at {} ms, before the step ahead of it ({last} ms)",
                step.at_ms
            );
            return Err((format!("actions[{j}].at_ms"), reason));
        }
        last = step.at_ms;
        if let Some(node) = nodes_of(&step.action)
            .into_iter()
            .find(|n| *n == 0 || *n as usize > hosts)
        {
            let reason = format!("node {node} does not exist (nodes are 1 to {hosts})");
            return Err((format!("actions[{j}].action"), reason));
        }
        if let Some(leader) = step.leader.filter(|n| *n == 0 || *n as usize > hosts) {
            let reason = format!("node {leader} does not exist (nodes are 1 to {hosts})");
            return Err((format!("actions[{j}].leader"), reason));
        }
    }
    if let Some(leader) = fault.leader.filter(|n| *n == 0 || *n as usize > hosts) {
        let reason = format!("node {leader} does not exist (nodes are 1 to {hosts})");
        return Err(("leader".into(), reason));
    }
    if let Some(stop) = &fault.stop {
        if stop.at_ms < last {
            let reason = format!(
                "at {} ms, before the fault's last step ({last} ms)",
                stop.at_ms
            );
            return Err(("stop.at_ms".into(), reason));
        }
    }
    Ok(())
}

/// Every node `action` names.
pub(crate) fn nodes_of(action: &Action) -> Vec<rafty::NodeId> {
    match action {
        Action::Partition(grudge) | Action::Repair(grudge) => {
            grudge.cut.iter().flat_map(|&(a, b)| [a, b]).collect()
        }
        Action::Clog(a, b) | Action::Unclog(a, b) => vec![*a, *b],
        other => other.node().into_iter().collect(),
    }
}
