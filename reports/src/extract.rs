//! Turning a history into what reports draw: operation spans on per-process lanes, fault
//! periods from the nemesis's events, and the clock they share.

use std::collections::BTreeMap;

use rafty_checkers::{History, HistoryError, Op, Outcome, Process, Value};

/// The clock of a history: nanoseconds when every event has a time, else event positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Times are nanoseconds since the start of the run.
    Nanos,
    /// Some event has no time: positions in the history stand in for times.
    Events,
}

/// One client operation, from invocation to completion.
#[derive(Debug, Clone)]
pub(crate) struct Span<'h> {
    /// Index of the process's lane.
    pub lane: usize,
    /// Invocation time.
    pub start: u64,
    /// Completion time, if it completed.
    pub end: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Its function.
    pub f: &'h str,
    /// Its key, if any.
    pub key: Option<&'h Value>,
    /// Its argument.
    pub argument: &'h Value,
    /// Its completion's value, if it completed.
    pub result: Option<&'h Value>,
    /// History position of its invocation.
    pub position: usize,
    /// History position of its completion, if it completed.
    pub completion_position: Option<usize>,
}

impl Span<'_> {
    /// Latency, for a completed operation.
    pub fn latency(&self) -> Option<u64> {
        self.end.map(|end| end.saturating_sub(self.start))
    }
}

/// A period during which a fault was in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The fault's kind (`partition`, `kill`...).
    pub name: String,
    /// What the nemesis said it did.
    pub detail: String,
    /// When it started.
    pub start: u64,
    /// When it was healed (the end of the history if never).
    pub end: u64,
}

/// A history prepared for drawing.
#[derive(Debug, Clone)]
pub(crate) struct Extract<'h> {
    /// Client operations in invocation order.
    pub spans: Vec<Span<'h>>,
    /// The client process of each lane, in lane order.
    pub lanes: Vec<u64>,
    /// Fault periods, by start.
    pub faults: Vec<Fault>,
    /// The clock of every time here.
    pub clock: Clock,
    /// The latest time in the history (0 when empty).
    pub end: u64,
}

impl<'h> Extract<'h> {
    /// Prepares `history`; its pairing errors are returned as they are.
    pub fn new(history: &'h History) -> Result<Extract<'h>, HistoryError> {
        let clock = if history.ops.iter().all(|op| op.time.is_some()) {
            Clock::Nanos
        } else {
            Clock::Events
        };
        let time = |position: usize, op: &Op| match clock {
            Clock::Nanos => op.time.unwrap_or(0),
            Clock::Events => position as u64,
        };
        let end = history
            .ops
            .iter()
            .enumerate()
            .map(|(position, op)| time(position, op))
            .max()
            .unwrap_or(0);
        let operations = history.operations()?;
        let mut lane_of: BTreeMap<u64, usize> = BTreeMap::new();
        for operation in &operations {
            if let Process::Client(id) = operation.process() {
                lane_of.insert(*id, 0);
            }
        }
        for (lane, slot) in lane_of.values_mut().enumerate() {
            *slot = lane;
        }
        let spans = operations
            .iter()
            .filter_map(|operation| {
                let Process::Client(id) = operation.process() else {
                    return None;
                };
                Some(Span {
                    lane: lane_of[id],
                    start: time(operation.invoke_position, operation.invoke),
                    end: operation
                        .completion_position
                        .zip(operation.completion)
                        .map(|(position, op)| time(position, op)),
                    outcome: operation.outcome(),
                    f: operation.f().as_str(),
                    key: operation.key(),
                    argument: operation.argument(),
                    result: operation.result(),
                    position: operation.invoke_position,
                    completion_position: operation.completion_position,
                })
            })
            .collect();
        let faults = faults(history, &time, end);
        Ok(Extract {
            spans,
            lanes: lane_of.keys().copied().collect(),
            faults,
            clock,
            end,
        })
    }

    /// The distinct keys of the operations, in order.
    pub fn keys(&self) -> Vec<&'h Value> {
        let mut keys: Vec<&Value> = self.spans.iter().filter_map(|span| span.key).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Fault periods from the nemesis's events.
///
/// `start-X` opens a period of `X` and `stop-X` closes it (Jepsen's bare `start` and `stop`
/// open and close a period named `nemesis`); a second `start` while a period of `X` is open is
/// the completion of the first (it only supplies the detail if the first had none) unless it
/// names another fault (a different, non-empty detail): then it opens a second period, as
/// overlapping faults of one kind do (`--nemesis-overlap`). A `stop` closes the open period
/// whose detail it repeats (exactly, or as a prefix of its own detail), else the oldest.
/// `heal-all` (or `heal`) closes every open period. Any other function is an
/// invocation/completion pair: its first event opens a period and the next event of the same
/// function closes it. Periods still open at the end of the history end there.
fn faults(history: &History, time: &dyn Fn(usize, &Op) -> u64, end: u64) -> Vec<Fault> {
    let mut open: BTreeMap<String, Vec<Fault>> = BTreeMap::new();
    let mut done = Vec::new();
    for (position, op) in history.ops.iter().enumerate() {
        if op.process.is_client() {
            continue;
        }
        let now = time(position, op);
        let f = op.f.as_str();
        let detail = describe(&op.value);
        if f == "heal-all" || f == "heal" {
            done.extend(
                std::mem::take(&mut open)
                    .into_values()
                    .flatten()
                    .map(|fault| Fault { end: now, ..fault }),
            );
        } else if let Some(name) = f
            .strip_prefix("start-")
            .or((f == "start").then_some("nemesis"))
        {
            let periods = open.entry(name.to_owned()).or_default();
            match periods.last_mut() {
                Some(last) if last.detail.is_empty() => last.detail = detail,
                Some(last) if detail.is_empty() || last.detail == detail => {}
                _ => periods.push(Fault {
                    name: name.to_owned(),
                    detail,
                    start: now,
                    end,
                }),
            }
        } else if let Some(name) = f
            .strip_prefix("stop-")
            .or((f == "stop").then_some("nemesis"))
        {
            if let Some(fault) = take_matching(&mut open, name, &detail) {
                done.push(Fault { end: now, ..fault });
            }
        } else if let Some(fault) = take_matching(&mut open, f, "") {
            let detail = if fault.detail.is_empty() {
                detail
            } else {
                fault.detail.clone()
            };
            done.push(Fault {
                end: now,
                detail,
                ..fault
            });
        } else {
            open.entry(f.to_owned()).or_default().push(Fault {
                name: f.to_owned(),
                detail,
                start: now,
                end,
            });
        }
    }
    done.extend(open.into_values().flatten());
    done.sort_by_key(|fault| (fault.start, fault.end));
    done
}

/// Remove and return the open period of `name` that a closing event with `detail` ends: the one
/// whose detail equals it, else one whose (non-empty) detail begins it, else the oldest.
fn take_matching(
    open: &mut BTreeMap<String, Vec<Fault>>,
    name: &str,
    detail: &str,
) -> Option<Fault> {
    let periods = open.get_mut(name)?;
    let position = periods
        .iter()
        .position(|fault| fault.detail == detail)
        .or_else(|| {
            periods
                .iter()
                .position(|fault| !fault.detail.is_empty() && detail.starts_with(&fault.detail))
        })
        .unwrap_or(0);
    let fault = (position < periods.len()).then(|| periods.remove(position));
    if periods.is_empty() {
        open.remove(name);
    }
    fault
}

/// A value as a person reads it: strings without quotes, nil as nothing, the rest as EDN.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Nil => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty_checkers::OpType;

    fn nemesis(f: &str, value: &str, time: u64) -> Op {
        Op::new(Process::nemesis(), OpType::Info, f, Value::from(value)).with_time(time)
    }

    /// Each fault as (name, detail, start, end).
    fn spans(faults: &[Fault]) -> Vec<(&str, &str, u64, u64)> {
        faults
            .iter()
            .map(|f| (f.name.as_str(), f.detail.as_str(), f.start, f.end))
            .collect()
    }

    fn client(process: u64, kind: OpType, f: &str, time: u64) -> Op {
        Op::new(Process::Client(process), kind, f, Value::Int(1)).with_time(time)
    }

    #[test]
    fn start_and_stop_events_make_a_fault_period() {
        let history = History::from_ops([
            nemesis("start-partition", "n1 | n2 n3", 10),
            client(0, OpType::Invoke, "read", 12),
            nemesis("stop-partition", "healed", 20),
            client(0, OpType::Ok, "read", 30),
        ]);
        let extract = Extract::new(&history).unwrap();
        assert_eq!(
            extract.faults,
            vec![Fault {
                name: "partition".into(),
                detail: "n1 | n2 n3".into(),
                start: 10,
                end: 20
            }]
        );
        assert_eq!(extract.spans[0].latency(), Some(18));
        assert_eq!(extract.end, 30);
    }

    #[test]
    fn paired_events_and_heal_all_close_periods() {
        let history = History::from_ops([
            nemesis("kill", "n2", 1),
            nemesis("kill", "", 2),
            nemesis("start-pause", "n3", 3),
            nemesis("heal-all", "", 9),
            nemesis("start-clog", "n1 n2", 10),
        ]);
        let faults = Extract::new(&history).unwrap().faults;
        assert_eq!(
            spans(&faults),
            vec![
                ("kill", "n2", 1, 2),
                ("pause", "n3", 3, 9),
                ("clog", "n1 n2", 10, 10)
            ]
        );
    }

    /// Two faults of one kind in effect at once (`--nemesis-overlap`) are two periods, each
    /// ended by the stop that names it, whatever order they stop in.
    #[test]
    fn overlapping_faults_of_one_kind_are_separate_periods() {
        let history = History::from_ops([
            nemesis("start-kill", "kill n1", 10),
            nemesis("start-kill", "kill n3", 15),
            nemesis("stop-kill", "kill n3", 20),
            nemesis("start-pause", "pause n2", 22),
            nemesis("stop-kill", "kill n1", 30),
            nemesis("stop-pause", "pause n2 (healed at the time limit)", 40),
        ]);
        let faults = Extract::new(&history).unwrap().faults;
        assert_eq!(
            spans(&faults),
            vec![
                ("kill", "kill n1", 10, 30),
                ("kill", "kill n3", 15, 20),
                ("pause", "pause n2", 22, 40),
            ]
        );
    }

    #[test]
    fn jepsen_start_and_stop_pairs_make_one_period() {
        let history = History::from_ops([
            nemesis("start", "", 5),
            nemesis("start", "Cut off {n1 #{n2 n3}}", 6),
            nemesis("stop", "", 40),
            nemesis("stop", "fully connected", 41),
        ]);
        let faults = Extract::new(&history).unwrap().faults;
        assert_eq!(
            faults,
            vec![Fault {
                name: "nemesis".into(),
                detail: "Cut off {n1 #{n2 n3}}".into(),
                start: 5,
                end: 40
            }]
        );
    }

    #[test]
    fn a_history_without_times_uses_positions() {
        let history = History::from_ops([
            Op::new(Process::Client(4), OpType::Invoke, "write", Value::Int(1)),
            Op::new(Process::Client(7), OpType::Invoke, "read", Value::Nil),
            Op::new(Process::Client(4), OpType::Ok, "write", Value::Int(1)),
        ]);
        let extract = Extract::new(&history).unwrap();
        assert_eq!(extract.clock, Clock::Events);
        assert_eq!(extract.lanes, vec![4, 7]);
        assert_eq!(extract.spans[0].end, Some(2));
        assert_eq!(extract.spans[1].lane, 1);
        assert_eq!(extract.spans[1].end, None);
    }
}
