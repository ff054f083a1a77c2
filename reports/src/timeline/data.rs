//! The compact, column-oriented JSON a timeline page embeds and its script draws.

use std::collections::BTreeMap;

use rafty_checkers::linearizability::OpSummary;
use rafty_checkers::{Counterexample, Outcome, Value};
use serde::Serialize;

use super::fault_rows::fault_rows;
use super::lanes::lanes;
use crate::counterexample::bar_label;
use crate::extract::{Clock, Extract, Span, describe};
use crate::input::{Annotation, LeaderChange, RunReportInput};

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
    /// The counterexample, by operation index.
    pub cex: Option<CexData<'a>>,
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
             every {} ok or fail operation in invocation order ({} of {})",
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

/// Which of `spans` the page draws: all of them up to [`MAX_TIMELINE_OPS`]; beyond, every
/// `info` (indeterminate or never completed) span and every one in `keep` (history positions
/// of the counterexample's operations), and every `stride`-th of the `ok` and `fail` spans
/// (definite outcomes: most `fail`s are compare-and-sets whose expected value did not match),
/// the stride chosen so that the page holds about [`MAX_TIMELINE_OPS`] operations (at least
/// half of them sampled).
pub(crate) fn sample(spans: &[Span<'_>], keep: &[usize]) -> (Vec<bool>, Option<Sampled>) {
    if spans.len() <= MAX_TIMELINE_OPS {
        return (vec![true; spans.len()], None);
    }
    let definite = |span: &Span<'_>| span.outcome != Outcome::Info;
    let total = spans.iter().filter(|s| definite(s)).count();
    let always = spans.len() - total;
    let budget = MAX_TIMELINE_OPS
        .saturating_sub(always)
        .max(MAX_TIMELINE_OPS / 2);
    let stride = total.div_ceil(budget).max(1);
    let mut seen = 0;
    let mut drawn = 0;
    let shown = spans
        .iter()
        .map(|span| {
            if !definite(span) {
                return true;
            }
            let every = seen % stride == 0;
            seen += 1;
            let shown = every || keep.binary_search(&span.position).is_ok();
            drawn += usize::from(shown);
            shown
        })
        .collect();
    let sampled = Sampled {
        stride,
        drawn,
        total,
        counterexample: !keep.is_empty(),
    };
    (shown, Some(sampled))
}

/// The history positions of the invocations of the counterexample's operations, sorted.
fn counterexample_positions(cex: Option<&Counterexample>) -> Vec<usize> {
    let Some(cex) = cex else {
        return Vec::new();
    };
    let mut positions: Vec<usize> = std::iter::once(&cex.operation)
        .chain(&cex.concurrent)
        .chain(cex.linearized.iter().map(|step| &step.operation))
        .map(|op| op.invoke_position)
        .collect();
    positions.sort_unstable();
    positions.dedup();
    positions
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
    extract: &'a Extract<'a>,
) -> Result<Data<'a>, String> {
    let keys = extract.keys();
    let key_index: BTreeMap<&Value, i64> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as i64))
        .collect();
    let mut fns: Vec<&str> = extract.spans.iter().map(|s| s.f).collect();
    fns.sort_unstable();
    fns.dedup();
    let lanes = lanes(extract, input.concurrency);
    let keep = counterexample_positions(input.counterexample);
    let (drawn, sampled) = sample(&extract.spans, &keep);
    let mut columns = Columns::default();
    let spans = extract.spans.iter().zip(&lanes.of_span).zip(&drawn);
    for ((span, lane), _) in spans.filter(|(_, drawn)| **drawn) {
        columns.l.push(*lane);
        columns.process.push(extract.lanes[span.lane]);
        columns.s.push(span.start);
        columns.e.push(span.end.map_or(-1, |end| end as i64));
        columns.o.push(match span.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        });
        columns.f.push(fns.binary_search(&span.f).unwrap_or(0));
        columns.k.push(span.key.map_or(-1, |k| key_index[k]));
        columns.a.push(describe(span.argument));
        columns
            .r
            .push(span.result.map(describe).unwrap_or_default());
        columns.p.push(span.position);
        columns
            .n
            .push(served_by(input, span).unwrap_or_default().to_owned());
        columns.t.push(bar_label(span));
    }
    let rows = fault_rows(&extract.faults);
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
        faults: extract
            .faults
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
        cex,
        sampled,
    })
}

/// The node that served `span`: its completion's, else its invocation's.
fn served_by<'a>(input: &RunReportInput<'a>, span: &Span<'_>) -> Option<&'a str> {
    let node = |position: usize| input.served_by.get(position)?.as_deref();
    span.completion_position
        .and_then(node)
        .or_else(|| node(span.position))
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
