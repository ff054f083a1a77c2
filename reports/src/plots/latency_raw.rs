//! `latency-raw.svg`: every completed operation at its invocation time and latency (log
//! scale), coloured by outcome, over shaded fault periods.
//!
//! Dots (3.2 pixels wide) are placed on a grid of [`CELL_PX`]-pixel cells and each cell is
//! drawn once per outcome: the plot looks as drawing every operation would, and its size is
//! bounded by the plot's area (at most about 70,000 dots per outcome), not the run's length. The
//! legend counts every operation and says how many dots were drawn.

use std::collections::BTreeSet;

use rafty_checkers::Outcome;

use super::axis::Scale;
use super::chart::{self, Chart, time_value};
use crate::extract::{Clock, Extract, Span};
use crate::survey::Latencies;

/// The side of a dot's grid cell, in pixels.
pub(crate) const CELL_PX: f64 = 2.0;

/// The centre of the grid cell holding pixel coordinate `at`, as a cell number.
fn cell(at: f64) -> i64 {
    (at / CELL_PX).round() as i64
}

/// The class (and colour) of an outcome.
pub(crate) fn outcome_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

/// A latency in the plot's unit: milliseconds for a timed history, else events.
pub(crate) fn latency_value(latency: u64, clock: Clock) -> f64 {
    match clock {
        Clock::Nanos => latency as f64 / 1e6,
        Clock::Events => latency as f64,
    }
}

/// The y-axis label of latencies.
pub(crate) fn latency_label(clock: Clock) -> &'static str {
    match clock {
        Clock::Nanos => "latency (ms, log scale)",
        Clock::Events => "latency (events, log scale)",
    }
}

/// The dots of every completed operation, one per grid cell and outcome, placed as the
/// operations go by on scales fixed beforehand (from the history's end and its latencies'
/// range): at most one per cell of the plotting area whatever the run's length.
#[derive(Debug)]
pub(crate) struct Cells {
    clock: Clock,
    /// The smallest latency drawn (smaller ones are drawn at it).
    low: f64,
    x: Scale,
    y: Scale,
    /// Per outcome (ok, fail, info): the cells with a dot.
    cells: [BTreeSet<(i64, i64)>; 3],
    /// Per outcome: how many operations completed.
    completed: [usize; 3],
    /// Per outcome: how many operations never completed.
    never: [usize; 3],
}

const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

impl Cells {
    /// No dots yet, on the scales of a history ending at `end` whose latencies span
    /// `latencies`.
    pub fn new(clock: Clock, end: u64, latencies: Latencies) -> Cells {
        let smallest = latencies
            .smallest_positive
            .map_or(f64::INFINITY, |l| latency_value(l, clock));
        let largest = latencies.largest.map_or(0.0, |l| latency_value(l, clock));
        let low = if smallest.is_finite() { smallest } else { 1.0 };
        Cells {
            clock,
            low,
            x: Scale::linear(0.0, time_value(end, clock), chart::x_range()),
            y: Scale::log(low, largest.max(low), chart::y_range()),
            cells: Default::default(),
            completed: [0; 3],
            never: [0; 3],
        }
    }

    /// Puts `span`'s dot in its cell, if it completed.
    pub fn observe(&mut self, span: &Span) {
        let row = OUTCOMES
            .iter()
            .position(|o| *o == span.outcome)
            .unwrap_or(2);
        let Some(latency) = span.latency() else {
            self.never[row] += 1;
            return;
        };
        self.completed[row] += 1;
        let latency = latency_value(latency, self.clock).max(self.low);
        let x = self.x.map(time_value(span.start, self.clock));
        self.cells[row].insert((cell(x), cell(self.y.map(latency))));
    }

    /// How many cells hold a dot, over every outcome.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.cells.iter().map(BTreeSet::len).sum()
    }
}

/// Renders the raw latency plot.
pub(crate) fn render(extract: &Extract, dots: &Cells, title: &str) -> String {
    let clock = extract.clock;
    let mut chart = Chart::new(title, extract.end, clock, dots.y);
    chart.faults(&extract.faults);
    chart.axes(latency_label(clock));
    let mut legend = Vec::new();
    for (row, outcome) in OUTCOMES.into_iter().enumerate() {
        let completed = dots.completed[row];
        let points: Vec<(f64, f64)> = dots.cells[row]
            .iter()
            .map(|&(x, y)| (x as f64 * CELL_PX, y as f64 * CELL_PX))
            .collect();
        let never = dots.never[row];
        let class = outcome_class(outcome);
        let mut label = format!("{class} ({completed}");
        if points.len() < completed {
            label = format!(
                "{label}; {} dots, one per {CELL_PX}-pixel cell",
                points.len()
            );
        }
        label.push(')');
        if never > 0 {
            label = format!("{label}, {never} never completed");
        }
        chart.svg.dots(&points, class, 1.6);
        legend.push((class, label));
    }
    if dots.completed.iter().all(|c| *c == 0) {
        chart.message("no completed operations");
    }
    chart.legend(&legend);
    chart.finish()
}
