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
use crate::extract::{Clock, Extract};

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

/// Renders the raw latency plot.
pub(crate) fn render(extract: &Extract<'_>, title: &str) -> String {
    let clock = extract.clock;
    let latencies: Vec<f64> = extract
        .spans
        .iter()
        .filter_map(|span| span.latency())
        .map(|latency| latency_value(latency, clock))
        .collect();
    let smallest = latencies
        .iter()
        .copied()
        .filter(|l| *l > 0.0)
        .fold(f64::INFINITY, f64::min);
    let largest = latencies.iter().copied().fold(0.0, f64::max);
    let low = if smallest.is_finite() { smallest } else { 1.0 };
    let y = Scale::log(low, largest.max(low), chart::y_range());
    let mut chart = Chart::new(title, extract.end, clock, y);
    chart.faults(&extract.faults);
    chart.axes(latency_label(clock));
    let mut legend = Vec::new();
    for outcome in [Outcome::Ok, Outcome::Fail, Outcome::Info] {
        let mut completed = 0;
        let pixels: BTreeSet<(i64, i64)> = extract
            .spans
            .iter()
            .filter(|span| span.outcome == outcome)
            .filter_map(|span| {
                let latency = latency_value(span.latency()?, clock).max(low);
                completed += 1;
                let x = chart.x.map(time_value(span.start, clock));
                Some((cell(x), cell(chart.y.map(latency))))
            })
            .collect();
        let points: Vec<(f64, f64)> = pixels
            .iter()
            .map(|&(x, y)| (x as f64 * CELL_PX, y as f64 * CELL_PX))
            .collect();
        let never = extract
            .spans
            .iter()
            .filter(|span| span.outcome == outcome && span.end.is_none())
            .count();
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
    if latencies.is_empty() {
        chart.message("no completed operations");
    }
    chart.legend(&legend);
    chart.finish()
}
