//! The compact, column-oriented JSON a timeline page embeds and its script draws.

use std::collections::BTreeMap;

use rafty_checkers::linearizability::OpSummary;
use rafty_checkers::{Counterexample, Outcome, Value};
use serde::Serialize;

use super::fault_rows::fault_rows;
use super::lanes::lanes;
use crate::counterexample::bar_label;
use crate::extract::{Clock, Extract, Fault, Span, describe};
use crate::input::{Annotation, LeaderChange, RunReportInput};
use crate::membership::ConfigurationChange;

/// The whole page's data.
#[derive(Debug, Serialize)]
pub(crate) struct Data<'a> {
    /// Page title.
    pub title: String,
    /// `valid`, `invalid` or `unknown`.
    pub verdict: &'static str,
    /// `ns` or `events`.
    pub clock: &'static str,
    /// Latest time.
    pub end: u64,
    /// Lane labels: `t2` for client thread 2, or `p7` for process 7 when the lanes are
    /// processes.
    pub lanes: Vec<String>,
    /// Whether lanes are client threads, each process folded onto `process mod concurrency`.
    pub folded: bool,
    /// Distinct keys, as text.
    pub keys: Vec<String>,
    /// Distinct functions.
    pub fns: Vec<&'a str>,
    /// The operations, by column.
    pub ops: Columns,
    /// Fault periods.
    pub faults: Vec<FaultData>,
    /// How many rows the fault band has (the most faults in effect at once; at least 1).
    pub fault_rows: usize,
    /// Leader changes (only for a timed history).
    pub leaders: &'a [LeaderChange],
    /// Marked observations such as invariant violations (only for a timed history).
    pub notes: &'a [Annotation],
    /// Each node's configuration over time (only for a timed history; empty rows when no
    /// configuration changed).
    pub configs: ConfigBand,
    /// The counterexample, by operation index.
    pub cex: Option<CexData<'a>>,
    /// A shrunk run's marks: its schedule's operations run before `until`, its check fired
    /// at `violation`.
    pub minimal: Option<MinimalData>,
    /// Which operations are drawn, when not all are.
    #[serde(skip)]
    pub sampled: Option<Sampled>,
}

/// The most operations a timeline draws before it samples the `ok` and `fail` ones: beyond
/// this a browser neither loads the page quickly nor shows the bars apart.
pub(crate) const MAX_TIMELINE_OPS: usize = 100_000;

/// How a long history's `ok` and `fail` operations were sampled; every other operation is
/// drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sampled {
    /// Every `stride`-th `ok` or `fail` operation, in invocation order, is drawn.
    pub stride: usize,
    /// How many `ok` and `fail` operations are drawn.
    pub drawn: usize,
    /// How many `ok` and `fail` operations the history holds.
    pub total: usize,
    /// Whether the counterexample's operations were kept.
    pub counterexample: bool,
}

impl Sampled {
    /// What the page says about it.
    pub fn describe(&self) -> String {
        let counterexample = if self.counterexample {
            ", the counterexample's operations"
        } else {
            ""
        };
        format!(
            "drawn: every fault, every info (indeterminate) operation{counterexample}, and \
             the ok or fail ones among every {} operation in invocation order ({} of {})",
            ordinal(self.stride),
            self.drawn,
            self.total
        )
    }
}

/// `2nd`, `3rd`, `11th`, `21st`...
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Which operations the page draws, chosen as they go by: all of them up to
/// [`MAX_TIMELINE_OPS`]; beyond, every `info` (indeterminate or never completed) one and every
/// one in `keep` (history positions of the counterexample's operations), and of the `ok` and
/// `fail` ones (definite outcomes: most `fail`s are compare-and-sets whose expected value did
/// not match) those among every `stride`-th operation in invocation order, the stride chosen so
/// that they are at most about [`MAX_TIMELINE_OPS`] less the indeterminate ones (at least
/// half of it).
#[derive(Debug)]
pub(crate) struct Sample {
    /// Every how many operations a definite one is drawn; `None`: every one is.
    stride: Option<usize>,
    keep: Vec<usize>,
    drawn: Vec<Span>,
    /// Definite operations seen, and drawn.
    definite: usize,
    definite_drawn: usize,
}

impl Sample {
    /// A sample of a history of `operations` client operations, `indeterminate` of them
    /// `info` or never completed, that keeps the operations invoked at `keep` (sorted).
    pub fn new(operations: usize, indeterminate: usize, keep: Vec<usize>) -> Sample {
        let stride = (operations > MAX_TIMELINE_OPS).then(|| {
            let budget = MAX_TIMELINE_OPS
                .saturating_sub(indeterminate)
                .max(MAX_TIMELINE_OPS / 2);
            operations.div_ceil(budget).max(1)
        });
        Sample {
            stride,
            keep,
            drawn: Vec::new(),
            definite: 0,
            definite_drawn: 0,
        }
    }

    /// Takes in the next operation to complete (or, at the end, never to).
    pub fn observe(&mut self, span: Span) {
        let definite = span.outcome != Outcome::Info;
        let shown = match self.stride {
            None => true,
            Some(stride) => {
                !definite
                    || span.ordinal % stride == 0
                    || self.keep.binary_search(&span.position).is_ok()
            }
        };
        if definite {
            self.definite += 1;
            self.definite_drawn += usize::from(shown);
        }
        if shown {
            self.drawn.push(span);
        }
    }

    /// The operations drawn, in invocation order, and how they were sampled.
    pub fn finish(mut self) -> (Vec<Span>, Option<Sampled>) {
        self.drawn.sort_unstable_by_key(|span| span.position);
        let sampled = self.stride.map(|stride| Sampled {
            stride,
            drawn: self.definite_drawn,
            total: self.definite,
            counterexample: !self.keep.is_empty(),
        });
        (self.drawn, sampled)
    }
}

/// Operations as parallel columns, in invocation order (short names keep the page small).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Columns {
    /// Lane.
    pub l: Vec<usize>,
    /// Client process id.
    #[serde(rename = "P")]
    pub process: Vec<u64>,
    /// Invocation time.
    pub s: Vec<u64>,
    /// Completion time, -1 if never completed.
    pub e: Vec<i64>,
    /// Outcome: 0 ok, 1 fail, 2 info.
    pub o: Vec<u8>,
    /// Function index.
    pub f: Vec<usize>,
    /// Key index, -1 for none.
    pub k: Vec<i64>,
    /// Argument, as text.
    pub a: Vec<String>,
    /// Result, as text (empty when none).
    pub r: Vec<String>,
    /// History position of the invocation.
    pub p: Vec<usize>,
    /// The node that served it (its completion's, else its invocation's), empty if unknown.
    pub n: Vec<String>,
    /// The label drawn on its bar (`w 3`, `r 2`, `cas 1->4`).
    pub t: Vec<String>,
}

/// A fault period.
#[derive(Debug, Serialize)]
pub(crate) struct FaultData {
    /// Kind.
    pub name: String,
    /// What the nemesis did.
    pub detail: String,
    /// Start.
    pub start: u64,
    /// End.
    pub end: u64,
    /// Its row in the fault band: the lowest row free when it started.
    pub row: usize,
}

/// The configuration band: one row per node whose configuration changed, each change a
/// segment lasting until the node's next one.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ConfigBand {
    /// Row labels (`n4`).
    pub nodes: Vec<String>,
    /// The segments.
    pub segments: Vec<ConfigSegment>,
}

/// One node's configuration in effect over a period.
#[derive(Debug, Serialize)]
pub(crate) struct ConfigSegment {
    /// Its row.
    pub row: usize,
    /// From.
    pub start: u64,
    /// To (the node's next change, or the end).
    pub end: u64,
    /// The index of the configuration entry.
    pub index: u64,
    /// The configuration.
    pub text: String,
    /// Its colour: the same configuration has the same one on every row.
    pub color: usize,
}

impl ConfigBand {
    /// The band for `changes` (in time order) in a history ending at `end`.
    pub fn new(changes: &[ConfigurationChange], end: u64) -> ConfigBand {
        let mut nodes: Vec<u64> = changes.iter().map(|c| c.node).collect();
        nodes.sort_unstable();
        nodes.dedup();
        let mut colors: Vec<&str> = Vec::new();
        let mut segments: Vec<ConfigSegment> = Vec::new();
        for change in changes {
            let row = nodes.binary_search(&change.node).unwrap_or(0);
            if let Some(open) = segments.iter_mut().rev().find(|s| s.row == row) {
                open.end = open.end.min(change.time_ns);
            }
            let text = change.configuration.as_str();
            let color = colors.iter().position(|c| *c == text).unwrap_or_else(|| {
                colors.push(text);
                colors.len() - 1
            });
            segments.push(ConfigSegment {
                row,
                start: change.time_ns,
                end: end.max(change.time_ns),
                index: change.index,
                text: text.to_owned(),
                color,
            });
        }
        ConfigBand {
            nodes: nodes.iter().map(|n| format!("n{n}")).collect(),
            segments,
        }
    }
}

/// A shrunk run's marks.
#[derive(Debug, Serialize)]
pub(crate) struct MinimalData {
    /// The shrunk schedule's operations are those invoked before this time.
    pub until: u64,
    /// When its check fired, if known.
    pub violation: Option<u64>,
}

/// The counterexample with operations as indexes into [`Columns`].
#[derive(Debug, Serialize)]
pub(crate) struct CexData<'a> {
    /// The operation that cannot be linearized.
    pub op: usize,
    /// Concurrent operations.
    pub concurrent: Vec<usize>,
    /// The longest linearizable prefix, in linearization order.
    pub prefix: Vec<usize>,
    /// The model's state after each prefix step.
    pub states: Vec<&'a str>,
    /// The model's initial state.
    pub initial: &'a str,
    /// The state in which `op` could not be linearized.
    pub stuck: &'a str,
    /// The model's description of `op`.
    pub description: &'a str,
    /// Key index, -1 for none.
    pub key: i64,
}

/// Builds the page data; an error says which counterexample operation is not in the history.
pub(crate) fn build<'a>(
    input: &RunReportInput<'a>,
    extract: &'a Extract,
) -> Result<Data<'a>, String> {
    let keys: Vec<&Value> = extract.tally.keys.iter().collect();
    let key_index: BTreeMap<&Value, i64> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as i64))
        .collect();
    let fns: Vec<&str> = extract
        .tally
        .by_function
        .keys()
        .map(String::as_str)
        .collect();
    let lanes = lanes(&extract.tally.processes, extract.threads);
    let mut columns = Columns::default();
    for span in &extract.drawn {
        columns.l.push(lanes.lane_of(span.process));
        columns.process.push(span.process);
        columns.s.push(span.start);
        columns.e.push(span.end.map_or(-1, |end| end as i64));
        columns.o.push(match span.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        });
        columns
            .f
            .push(fns.binary_search(&span.f.as_str()).unwrap_or(0));
        columns
            .k
            .push(span.key.as_ref().map_or(-1, |k| key_index[k]));
        columns.a.push(describe(&span.argument));
        columns
            .r
            .push(span.result.as_ref().map(describe).unwrap_or_default());
        columns.p.push(span.position);
        columns.n.push(span.node.clone().unwrap_or_default());
        columns.t.push(bar_label(span));
    }
    let timed = matches!(extract.clock, Clock::Nanos);
    let faults = with_membership_calls(&extract.faults, input, timed, extract.end);
    let rows = fault_rows(&faults);
    let cex = match input.counterexample {
        Some(cex) => Some(counterexample(cex, &columns.p, &key_index)?),
        None => None,
    };
    Ok(Data {
        title: format!("{} seed {}", input.test, input.seed),
        verdict: input.verdict.as_str(),
        clock: match extract.clock {
            Clock::Nanos => "ns",
            Clock::Events => "events",
        },
        end: extract.end,
        lanes: lanes.labels,
        folded: lanes.folded,
        keys: keys.iter().map(|k| describe(k)).collect(),
        fns,
        ops: columns,
        faults: faults
            .iter()
            .zip(&rows)
            .map(|(f, row)| FaultData {
                name: f.name.clone(),
                detail: f.detail.clone(),
                start: f.start,
                end: f.end,
                row: *row,
            })
            .collect(),
        fault_rows: rows.iter().max().map_or(1, |most| most + 1),
        leaders: match extract.clock {
            Clock::Nanos => input.leader_changes,
            Clock::Events => &[],
        },
        notes: match extract.clock {
            Clock::Nanos => input.annotations,
            Clock::Events => &[],
        },
        configs: if timed {
            ConfigBand::new(input.configurations, extract.end)
        } else {
            ConfigBand::default()
        },
        cex,
        minimal: match extract.clock {
            Clock::Nanos => input.minimal.map(|minimal| MinimalData {
                until: minimal.operations_until_ns,
                violation: minimal.violation_ns,
            }),
            Clock::Events => None,
        },
        sampled: extract.sampled,
    })
}

/// The history's faults and, in a timed history, the membership nemesis's admin calls (those
/// made, not those skipped) as periods of their own kind `membership`, from the call to its
/// outcome, sorted by start.
fn with_membership_calls(
    faults: &[Fault],
    input: &RunReportInput<'_>,
    timed: bool,
    end: u64,
) -> Vec<Fault> {
    let mut all = faults.to_vec();
    if timed {
        all.extend(
            input
                .membership_calls
                .iter()
                .filter(|call| !call.outcome.starts_with("skipped"))
                .map(|call| Fault {
                    name: "membership".to_owned(),
                    detail: format!(
                        "n{} {}: {}",
                        call.node,
                        call.call,
                        if call.outcome.is_empty() {
                            "no outcome (the leader stopped)"
                        } else {
                            &call.outcome
                        }
                    ),
                    start: call.start_ns,
                    end: call.end_ns.unwrap_or(end).max(call.start_ns),
                }),
        );
        all.sort_by_key(|fault| fault.start);
    }
    all
}

fn counterexample<'a>(
    cex: &'a Counterexample,
    positions: &[usize],
    key_index: &BTreeMap<&Value, i64>,
) -> Result<CexData<'a>, String> {
    let index = |op: &OpSummary, role: &str| {
        let position = op.invoke_position;
        positions.binary_search(&position).map_err(|_| {
            format!(
                "the counterexample's {role} operation at history position {position} (line {}) \
                 is not a client invocation of this history",
                op.line
            )
        })
    };
    Ok(CexData {
        op: index(&cex.operation, "unlinearizable")?,
        concurrent: cex
            .concurrent
            .iter()
            .map(|op| index(op, "concurrent"))
            .collect::<Result<_, _>>()?,
        prefix: cex
            .linearized
            .iter()
            .map(|step| index(&step.operation, "linearized"))
            .collect::<Result<_, _>>()?,
        states: cex
            .linearized
            .iter()
            .map(|step| step.state.as_str())
            .collect(),
        initial: &cex.initial_state,
        stuck: &cex.state,
        description: &cex.operation.description,
        key: cex
            .partition
            .as_ref()
            .and_then(|k| key_index.get(k).copied())
            .unwrap_or(-1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(time_ns: u64, node: u64, index: u64, configuration: &str) -> ConfigurationChange {
        ConfigurationChange {
            time_ns,
            node,
            index,
            configuration: configuration.to_owned(),
        }
    }

    #[test]
    fn each_node_gets_a_row_and_each_configuration_lasts_until_its_nodes_next_one() {
        let changes = [
            change(10, 4, 7, "voters {1, 2, 3}, learners {4}"),
            change(12, 2, 7, "voters {1, 2, 3}, learners {4}"),
            change(20, 4, 9, "voters {1, 2, 4}"),
        ];
        let band = ConfigBand::new(&changes, 100);
        assert_eq!(band.nodes, ["n2", "n4"]);
        let segments: Vec<(usize, u64, u64, u64, usize)> = band
            .segments
            .iter()
            .map(|s| (s.row, s.start, s.end, s.index, s.color))
            .collect();
        // The same configuration has the same colour on both rows; a new one a new colour.
        assert_eq!(
            segments,
            [(1, 10, 20, 7, 0), (0, 12, 100, 7, 0), (1, 20, 100, 9, 1)]
        );
    }
}
