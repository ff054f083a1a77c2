//! The service registry's checker: a history of `register`, `deregister`, `keepalive`, `list`
//! and `watch` operations on services (each op's key is its service) judged against the
//! registry's model, a set of instances per service with one lease each.
//!
//! Every answer of the registry names the store revision it was made at, and watches deliver
//! each change with its revision and the service's own change counter (`version`). So the
//! check does not search for a linearization: it takes the one the revisions claim and proves
//! it legal, or names the operation that breaks it.
//!
//! 1. **Watches.** Each watcher (a client process watching one service from revision 1) must
//!    see versions 1, 2, 3... of its service in revision order: no gap, no duplicate, nothing
//!    out of order; every two watchers agree on each revision; and once the run is quiet every
//!    watcher has seen every change any operation or watcher knows of.
//! 2. **The change log.** The watchers' changes together, replayed in revision order, are the
//!    model's history: a `put` must come from a registration that was invoked and did not
//!    fail, a `deregistered` from such a deregistration, an `expired` must name the lease the
//!    instance holds.
//! 3. **Each operation at its revision.** An acknowledged registration is the `put` at its
//!    revision with its lease (else it was lost); an acknowledged deregistration that removed
//!    something is the `deregistered` at its revision, one that removed nothing found nothing
//!    at its revision; a keepalive found its lease exactly when the model holds it; a list
//!    equals the model's set at its revision. An acknowledged change that no watcher saw is
//!    lost only when a watcher of its service was answered at or past its revision (it would
//!    have seen it); when none got that far, nothing says whether it is in the store, and the
//!    change is **unknown** ([`RegistryReport::unknown`]): the report is then neither valid
//!    nor invalid.
//! 4. **Real time.** An operation invoked after another completed has a revision at least as
//!    high, and strictly higher when it changed the store.
//!
//! Config keys (`read`, `write`, `cas`) are judged apart, by the linearizability checker with
//! the cas-register model.

use std::collections::{BTreeMap, BTreeSet};

use crate::HistoryError;
use crate::history::{History, Operation, Outcome};
use crate::value::Value;

/// The functions this checker reads.
pub const FUNCTIONS: [&str; 5] = ["register", "deregister", "keepalive", "list", "watch"];

/// How many problems a report keeps (all are counted).
const KEPT: usize = 20;

/// What the check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryReport {
    /// No problem found and nothing unknown (see [`RegistryReport::verdict`]).
    pub valid: bool,
    /// The first problems, each naming the operation (process, time) and what was wrong.
    pub problems: Vec<String>,
    /// How many problems in all.
    pub problem_count: usize,
    /// The first acknowledged changes the check cannot judge, each naming the operation: no
    /// watcher saw them, and no watcher of their service got as far as their revision.
    pub unknown: Vec<String>,
    /// How many such changes in all.
    pub unknown_count: usize,
    /// Operations checked (ok ones; fail and info count only through the change log).
    pub checked: usize,
    /// Changes in the log the watchers assembled.
    pub changes: usize,
    /// Watchers, and the last version each saw of its service.
    pub watchers: BTreeMap<u64, (String, u64)>,
    /// Each watcher's last answered poll's revision (what it must have seen everything up to).
    pub polled_through: BTreeMap<u64, i64>,
}

/// One change, as a watch delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Change {
    revision: i64,
    version: i64,
    service: String,
    kind: String,
    id: String,
    lease: i64,
}

/// Check `history`'s registry operations (other functions are ignored).
pub fn check_registry(history: &History) -> Result<RegistryReport, HistoryError> {
    let operations = history.operations()?;
    let mut checker = Checker::default();
    let ours: Vec<&Operation<'_>> = (operations.iter())
        .filter(|op| FUNCTIONS.contains(&op.f().as_str()))
        .collect();
    for op in &ours {
        if op.f().as_str() == "watch" && op.outcome() == Outcome::Ok {
            checker.watch(op);
        }
    }
    checker.completeness();
    let log = checker.log.clone();
    checker.explain(&log, &ours);
    for op in &ours {
        if op.outcome() == Outcome::Ok {
            checker.at_revision(op, &log);
        }
    }
    checker.real_time(&ours);
    let mut report = checker.report;
    report.changes = log.len();
    report.valid = report.problem_count == 0 && report.unknown_count == 0;
    Ok(report)
}

impl RegistryReport {
    /// `"invalid"` when a problem was found, else `"unknown"` when an acknowledged change
    /// could not be judged ([`RegistryReport::unknown`]), else `"valid"`.
    pub fn verdict(&self) -> &'static str {
        if self.problem_count > 0 {
            "invalid"
        } else if self.unknown_count > 0 {
            "unknown"
        } else {
            "valid"
        }
    }

    /// The highest revision any watcher of `service` was answered at (0 when none watched).
    fn watched_through(&self, service: &str) -> i64 {
        (self.watchers.iter())
            .filter(|(_, (watched, _))| watched == service)
            .filter_map(|(process, _)| self.polled_through.get(process).copied())
            .max()
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct Checker {
    report: RegistryReport,
    /// Every change by revision.
    log: BTreeMap<i64, Change>,
}

fn describe(op: &Operation<'_>) -> String {
    let time = op
        .invoke
        .time
        .map_or(String::new(), |ns| format!(" at {:.3}s", ns as f64 / 1e9));
    let key = op
        .invoke
        .key
        .as_ref()
        .map_or(String::new(), |k| format!(" {k}"));
    format!(
        "process {} {}{key} {}{time}",
        op.process(),
        op.f(),
        op.invoke.value
    )
}

fn list(value: &Value) -> &[Value] {
    match value {
        Value::List(items) => items,
        _ => &[],
    }
}

fn int(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_int)
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn service(op: &Operation<'_>) -> String {
    text(op.invoke.key.as_ref())
}

/// The result of an ok operation: its revision and the rest.
fn result<'h>(op: &Operation<'h>) -> (Option<i64>, &'h [Value]) {
    let value = &op.completion.expect("ok operations complete").value;
    let items = list(value);
    (int(items.first()), items.get(1..).unwrap_or(&[]))
}

impl Checker {
    fn problem(&mut self, text: String) {
        self.report.problem_count += 1;
        if self.report.problems.len() < KEPT {
            self.report.problems.push(text);
        }
    }

    fn unknown(&mut self, text: String) {
        self.report.unknown_count += 1;
        if self.report.unknown.len() < KEPT {
            self.report.unknown.push(text);
        }
    }

    /// Whether an acknowledged change of `service` at `revision` that is missing from the log
    /// cannot be judged: no watcher of `service` was answered at or past `revision`.
    fn unseen(&self, service: &str, revision: i64, log: &BTreeMap<i64, Change>) -> bool {
        !log.contains_key(&revision) && self.report.watched_through(service) < revision
    }

    /// Rule 1 for one poll, and its changes into the log.
    fn watch(&mut self, op: &Operation<'_>) {
        let service = service(op);
        let process = match op.process() {
            crate::Process::Client(p) => *p,
            crate::Process::Named(_) => return,
        };
        let (revision, rest) = result(op);
        let through = self.report.polled_through.entry(process).or_default();
        *through = (*through).max(revision.unwrap_or(0));
        if rest.first() == Some(&Value::Keyword("compacted".into())) {
            self.problem(format!("{}: the revision was compacted away", describe(op)));
            return;
        }
        let seen = self
            .report
            .watchers
            .entry(process)
            .or_insert((service.clone(), 0))
            .1;
        let mut last = seen as i64;
        for item in list(rest.first().unwrap_or(&Value::Nil)) {
            let fields = list(item);
            let change = Change {
                revision: int(fields.first()).unwrap_or(-1),
                version: int(fields.get(1)).unwrap_or(-1),
                service: service.clone(),
                kind: text(fields.get(2)),
                id: text(fields.get(3)),
                lease: int(fields.get(4)).unwrap_or(0),
            };
            if change.version != last + 1 {
                let what = if change.version <= last {
                    "duplicate or out of order"
                } else {
                    "gap"
                };
                self.problem(format!(
                    "{}: {what}: version {} of {service} after version {last}",
                    describe(op),
                    change.version
                ));
            }
            last = last.max(change.version);
            match self.log.get(&change.revision) {
                Some(known) if *known != change => {
                    let text = format!(
                        "{}: watchers disagree on revision {}: {known:?} and {change:?}",
                        describe(op),
                        change.revision
                    );
                    self.problem(text);
                }
                Some(_) => {}
                None => {
                    self.log.insert(change.revision, change);
                }
            }
        }
        self.report.watchers.get_mut(&process).expect("inserted").1 = last as u64;
    }

    /// Rule 1's end: every watcher saw every change of its service up to the revision its
    /// last poll was answered at, and the log has no hole.
    fn completeness(&mut self) {
        let watchers = self.report.watchers.clone();
        for (process, (service, last)) in watchers {
            let through = self
                .report
                .polled_through
                .get(&process)
                .copied()
                .unwrap_or(0);
            let top = (self.log.range(..=through).map(|(_, c)| c))
                .filter(|c| c.service == service)
                .map(|c| c.version)
                .max()
                .unwrap_or(0);
            if (last as i64) < top {
                self.problem(format!(
                    "watcher process {process} of {service} saw up to version {last}, but \
                     version {top} was in by revision {through}, its last poll's"
                ));
            }
        }
        let mut by_service: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for change in self.log.values() {
            by_service
                .entry(&change.service)
                .or_default()
                .push(change.version);
        }
        let mut holes = Vec::new();
        for (service, versions) in by_service {
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            if versions != expected {
                holes.push(format!(
                    "the change log of {service} is not versions 1..={} in revision order",
                    versions.len()
                ));
            }
        }
        for hole in holes {
            self.problem(hole);
        }
    }

    /// Rule 2: each change is explained by an operation that was invoked and did not fail,
    /// and an expiry names the lease the instance holds.
    fn explain(&mut self, log: &BTreeMap<i64, Change>, ops: &[&Operation<'_>]) {
        let mut tried: BTreeMap<(&str, String, String), Vec<&Operation<'_>>> = BTreeMap::new();
        for op in ops {
            let f = op.f().as_str();
            if f == "register" || f == "deregister" {
                let id = match f {
                    "register" => text(list(&op.invoke.value).first()),
                    _ => text(Some(&op.invoke.value)),
                };
                tried.entry((f, service(op), id)).or_default().push(op);
            }
        }
        let mut holders: BTreeMap<(String, String), i64> = BTreeMap::new();
        for change in log.values() {
            let instance = (change.service.clone(), change.id.clone());
            let cause = match change.kind.as_str() {
                "put" => Some("register"),
                "deregistered" => Some("deregister"),
                _ => None,
            };
            if let Some(f) = cause {
                let key = (f, change.service.clone(), change.id.clone());
                let candidates = tried.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                if !candidates.iter().any(|op| op.outcome() != Outcome::Fail) {
                    let failed = if candidates.is_empty() {
                        "never invoked"
                    } else {
                        "failed"
                    };
                    self.problem(format!(
                        "revision {}: {} of {} {} was {failed}",
                        change.revision, change.kind, change.service, change.id
                    ));
                }
            }
            match change.kind.as_str() {
                "put" => {
                    holders.insert(instance, change.lease);
                }
                "expired" => match holders.remove(&instance) {
                    Some(lease) if lease == change.lease => {}
                    held => self.problem(format!(
                        "revision {}: {} {} expired with lease {} but held {held:?}",
                        change.revision, change.service, change.id, change.lease
                    )),
                },
                _ => {
                    if holders.remove(&instance).is_none() {
                        self.problem(format!(
                            "revision {}: {} {} deregistered but not registered",
                            change.revision, change.service, change.id
                        ));
                    }
                }
            }
        }
    }

    /// The model at revision `revision` for `service`: each instance and its lease.
    fn state_at(
        log: &BTreeMap<i64, Change>,
        service: &str,
        revision: i64,
    ) -> BTreeMap<String, i64> {
        let mut state = BTreeMap::new();
        for change in log.range(..=revision).map(|(_, c)| c) {
            if change.service != service {
                continue;
            }
            if change.kind == "put" {
                state.insert(change.id.clone(), change.lease);
            } else {
                state.remove(&change.id);
            }
        }
        state
    }

    /// Rule 3 for one ok operation.
    fn at_revision(&mut self, op: &Operation<'_>, log: &BTreeMap<i64, Change>) {
        self.report.checked += 1;
        let service = service(op);
        let (Some(revision), rest) = result(op) else {
            self.problem(format!("{}: no revision in its answer", describe(op)));
            return;
        };
        let arg = list(&op.invoke.value);
        let changed = match op.f().as_str() {
            "register" => true,
            "deregister" => rest.first() == Some(&Value::Bool(true)),
            _ => false,
        };
        if changed && self.unseen(&service, revision, log) {
            let through = self.report.watched_through(&service);
            self.unknown(format!(
                "{}: acknowledged at revision {revision}, which no watcher of {service} reached                  (they were answered up to revision {through}): whether it is in the store is                  unknown",
                describe(op)
            ));
            return;
        }
        let problem = match op.f().as_str() {
            "register" => {
                let id = text(arg.first());
                let lease = int(rest.first());
                match log.get(&revision) {
                    Some(c) if c.kind == "put" && c.id == id && Some(c.lease) == lease => None,
                    other => Some(format!(
                        "acknowledged at revision {revision} with lease {lease:?}, but the \
                         change log has {other:?} there"
                    )),
                }
            }
            "deregister" => {
                let id = text(Some(&op.invoke.value));
                let existed = rest.first() == Some(&Value::Bool(true));
                match (existed, log.get(&revision)) {
                    (true, Some(c)) if c.kind == "deregistered" && c.id == id => None,
                    (true, other) => Some(format!(
                        "removed {id} at revision {revision}, but the change log has {other:?}"
                    )),
                    (false, _) => Self::state_at(log, &service, revision)
                        .contains_key(&id)
                        .then(|| format!("found nothing, but {id} was registered at {revision}")),
                }
            }
            "keepalive" => {
                let id = text(arg.first());
                let lease = int(arg.get(1));
                let found = rest.first() == Some(&Value::Bool(true));
                let held = Self::state_at(log, &service, revision).get(&id).copied();
                (found != (held == lease && lease.is_some())).then(|| {
                    format!("found: {found}, but at revision {revision} {id} holds lease {held:?}")
                })
            }
            "list" => {
                let listed: BTreeSet<String> = (list(rest.first().unwrap_or(&Value::Nil)).iter())
                    .map(|v| text(Some(v)))
                    .collect();
                let model: BTreeSet<String> = Self::state_at(log, &service, revision)
                    .into_keys()
                    .collect();
                (listed != model).then(|| {
                    format!("listed {listed:?}, but at revision {revision} the set is {model:?}")
                })
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.problem(format!("{}: {problem}", describe(op)));
        }
    }

    /// Rule 4: revisions never go back in real time.
    fn real_time(&mut self, ops: &[&Operation<'_>]) {
        // (completion time, revision, whether it changed the store) of every ok operation.
        let mut done: Vec<(u64, i64)> = Vec::new();
        let mut timed: Vec<(u64, i64, bool, &Operation<'_>)> = Vec::new();
        for op in ops.iter().filter(|op| op.outcome() == Outcome::Ok) {
            let (Some(revision), rest) = result(op) else {
                continue;
            };
            let (Some(start), Some(end)) = (op.invoke.time, op.completion.and_then(|c| c.time))
            else {
                continue;
            };
            let writes = match op.f().as_str() {
                "register" => true,
                "deregister" => rest.first() == Some(&Value::Bool(true)),
                _ => false,
            };
            done.push((end, revision));
            timed.push((start, revision, writes, op));
        }
        done.sort_unstable();
        timed.sort_by_key(|(start, ..)| *start);
        let (mut next, mut highest) = (0, 0);
        let mut problems = Vec::new();
        for (start, revision, writes, op) in timed {
            while next < done.len() && done[next].0 < start {
                highest = highest.max(done[next].1);
                next += 1;
            }
            if revision < highest || (writes && revision == highest && highest > 0) {
                problems.push(format!(
                    "{}: revision {revision}, but an operation completed before it was invoked \
                     had revision {highest}",
                    describe(op)
                ));
            }
        }
        for problem in problems {
            self.problem(problem);
        }
    }
}

#[cfg(test)]
mod tests;
