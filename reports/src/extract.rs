//! Turning a history into what reports draw, in two passes over its events that hold only what
//! is drawn: a [`Survey`] of the whole (its clock, its end, its latencies' range, how many
//! operations), then the pass that feeds each operation to every figure's accumulator (the
//! counts, the plots' windows and cells, the timeline's sample) and collects the fault periods
//! from the nemesis's events.
//!
//! Architecture invariant: nothing here holds the history. What an [`Extract`] keeps is
//! bounded by what the report draws: the timeline's sample (about 100,000 operations, plus
//! every indeterminate one and the counterexample's: see [`Sample`]), the fault periods, the
//! plots' buckets, windows and pixel cells (bounded by their size), and one entry per client
//! process, key and function.

use std::collections::BTreeMap;

use rafty_checkers::{Counterexample, History, HistoryError, Op, Outcome, Value};

use crate::events::{Event, Events};
use crate::pairing::{Paired, Pairing, Step};
use crate::plots;
use crate::survey::Survey;
use crate::tally::Tally;
use crate::timeline::{LaneFold, Sample, Sampled};

/// The clock of a history: nanoseconds when every event has a time, else event positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Times are nanoseconds since the start of the run.
    Nanos,
    /// Some event has no time: positions in the history stand in for times.
    Events,
}

impl Clock {
    /// The time of `op`, at history `position`, on this clock.
    pub fn time(self, position: usize, op: &Op) -> u64 {
        match self {
            Clock::Nanos => op.time.unwrap_or(0),
            Clock::Events => position as u64,
        }
    }
}

/// One client operation, from invocation to completion.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    /// Its client process.
    pub process: u64,
    /// Invocation time.
    pub start: u64,
    /// Completion time, if it completed.
    pub end: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Its function.
    pub f: String,
    /// Its key, if any (the invocation's, else the completion's).
    pub key: Option<Value>,
    /// Its argument.
    pub argument: Value,
    /// Its completion's value, if it completed.
    pub result: Option<Value>,
    /// History position of its invocation.
    pub position: usize,
    /// The node that served it (its completion's, else its invocation's), when recorded.
    pub node: Option<String>,
    /// Its place among the history's client operations, in invocation order.
    pub ordinal: usize,
}

impl Span {
    /// The span of an operation, on `clock`.
    pub fn new(paired: Paired, clock: Clock) -> Span {
        let outcome = paired.outcome();
        let invoke = paired.invoke;
        let start = clock.time(invoke.position, &invoke.op);
        let (end, result, completion_key, completion_node) = match paired.completion {
            Some(completion) => (
                Some(clock.time(completion.position, &completion.op)),
                Some(completion.op.value),
                completion.op.key,
                completion.node,
            ),
            None => (None, None, None, None),
        };
        Span {
            process: paired.process,
            start,
            end,
            outcome,
            f: invoke.op.f.as_str().to_owned(),
            key: invoke.op.key.or(completion_key),
            argument: invoke.op.value,
            result,
            position: invoke.position,
            node: completion_node.or(invoke.node),
            ordinal: paired.ordinal,
        }
    }

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
#[derive(Debug)]
pub(crate) struct Extract {
    /// The clock of every time here.
    pub clock: Clock,
    /// The latest time in the history (0 when empty).
    pub end: u64,
    /// Fault periods, by start.
    pub faults: Vec<Fault>,
    /// The operations counted: by outcome and function, their processes, keys and latencies.
    pub tally: Tally,
    /// The operations the timeline draws, in invocation order.
    pub drawn: Vec<Span>,
    /// How `drawn` was sampled, when it is not every operation.
    pub sampled: Option<Sampled>,
    /// The run's client concurrency, when every process's operations fold onto its client
    /// thread (`process mod concurrency`) without overlapping (see [`LaneFold`]).
    pub threads: Option<usize>,
    /// What the plots draw.
    pub plots: plots::Accumulator,
    /// The node that served each event of the counterexample's operations, by position.
    pub nodes: BTreeMap<usize, String>,
}

impl Extract {
    /// Prepares a history in memory, with no counterexample and no concurrency; its pairing
    /// errors are returned as they are.
    pub fn new(history: &History) -> Result<Extract, HistoryError> {
        let events = Events::Memory {
            history,
            served_by: &[],
        };
        Extract::read(&events, None, None)
    }

    /// Reads `events` twice (a [`Survey`], then every figure's pass) and keeps what is drawn:
    /// every operation of `counterexample` among the timeline's, and the nodes that served
    /// them; lanes folded onto `concurrency` client threads when they can be. An event that
    /// cannot be read or paired is an error naming its file and line.
    pub fn read(
        events: &Events<'_>,
        counterexample: Option<&Counterexample>,
        concurrency: Option<usize>,
    ) -> Result<Extract, HistoryError> {
        let survey = Survey::read(events)?;
        let clock = survey.clock();
        let end = survey.end(clock);
        let (keep, node_positions) = counterexample_positions(counterexample);
        let mut faults = FaultPeriods::default();
        let mut tally = Tally::default();
        let mut plots = plots::Accumulator::new(clock, end, survey.latencies(clock));
        let mut sample = Sample::new(survey.operations, survey.indeterminate, keep);
        let mut fold = concurrency.filter(|c| *c > 0).map(LaneFold::new);
        let mut nodes = BTreeMap::new();
        let mut pairing = Pairing::new(events.file_name());
        let mut draw = |span: Span| {
            tally.observe(&span);
            plots.observe(&span);
            sample.observe(span);
        };
        events.for_each(|event: Event<'_>| {
            if let Some(node) = event.node {
                if node_positions.binary_search(&event.position).is_ok() {
                    nodes.insert(event.position, node.to_owned());
                }
            }
            let now = clock.time(event.position, event.op);
            match pairing.step(event)? {
                Step::Other => faults.observe(now, event.op),
                Step::Invoked(process) => {
                    if let Some(fold) = &mut fold {
                        fold.invoked(process, now);
                    }
                }
                Step::Completed(paired) => {
                    let span = Span::new(*paired, clock);
                    if let (Some(fold), Some(end)) = (&mut fold, span.end) {
                        fold.completed(span.process, end);
                    }
                    draw(span);
                }
            }
            Ok(())
        })?;
        for paired in pairing.finish() {
            draw(Span::new(paired, clock));
        }
        let (drawn, sampled) = sample.finish();
        Ok(Extract {
            clock,
            end,
            faults: faults.finish(end),
            tally,
            drawn,
            sampled,
            threads: fold
                .filter(|fold| fold.holds())
                .map(|fold| fold.concurrency()),
            plots,
            nodes,
        })
    }
}

/// The history positions of the invocations of the counterexample's operations, and of all
/// their events (invocations and completions), each sorted.
fn counterexample_positions(cex: Option<&Counterexample>) -> (Vec<usize>, Vec<usize>) {
    let Some(cex) = cex else {
        return (Vec::new(), Vec::new());
    };
    let ops = || {
        std::iter::once(&cex.operation)
            .chain(&cex.concurrent)
            .chain(cex.linearized.iter().map(|step| &step.operation))
    };
    let mut invocations: Vec<usize> = ops().map(|op| op.invoke_position).collect();
    invocations.sort_unstable();
    invocations.dedup();
    let mut events: Vec<usize> = ops()
        .flat_map(|op| std::iter::once(op.invoke_position).chain(op.completion_position))
        .collect();
    events.sort_unstable();
    events.dedup();
    (invocations, events)
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
#[derive(Debug, Default)]
struct FaultPeriods {
    /// The open periods of each fault kind, oldest first.
    open: BTreeMap<String, Vec<Fault>>,
    /// The periods closed so far.
    done: Vec<Fault>,
}

impl FaultPeriods {
    /// Takes in the next nemesis event, at time `now`.
    fn observe(&mut self, now: u64, op: &Op) {
        let (open, done) = (&mut self.open, &mut self.done);
        // A period opened here ends at the history's end unless closed: `finish` sets it.
        let end = u64::MAX;
        let f = op.f.as_str();
        let detail = describe(&op.value);
        if f == "heal-all" || f == "heal" {
            done.extend(
                std::mem::take(open)
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
            if let Some(fault) = take_matching(open, name, &detail) {
                done.push(Fault { end: now, ..fault });
            }
        } else if let Some(fault) = take_matching(open, f, "") {
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

    /// The periods, by start; those still open end at `end`, the history's end.
    fn finish(self, end: u64) -> Vec<Fault> {
        let mut done = self.done;
        done.extend(
            self.open
                .into_values()
                .flatten()
                .map(|fault| Fault { end, ..fault }),
        );
        done.sort_by_key(|fault| (fault.start, fault.end));
        done
    }
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
    use rafty_checkers::{OpType, Process};

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
        assert_eq!(extract.drawn[0].latency(), Some(18));
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
        let processes: Vec<u64> = extract.tally.processes.iter().copied().collect();
        assert_eq!(processes, vec![4, 7]);
        assert_eq!(extract.drawn[0].end, Some(2));
        assert_eq!(extract.drawn[1].process, 7);
        assert_eq!(extract.drawn[1].end, None);
    }
}
