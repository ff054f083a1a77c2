//! `latency-quantiles.svg`: p50, p95, p99 and max latency of `ok` operations per time
//! window (hdrhistogram per window), log scale, over shaded fault periods.

use hdrhistogram::Histogram;
use rafty_checkers::Outcome;

use super::axis::Scale;
use super::chart::{self, Chart, time_value};
use super::latency_raw::{latency_label, latency_value};
use crate::extract::{Clock, Extract, Span};

/// The quantiles drawn, with their classes and labels.
const QUANTILES: [(f64, &str, &str); 4] = [
    (0.50, "q50", "p50"),
    (0.95, "q95", "p95"),
    (0.99, "q99", "p99"),
    (1.00, "qmax", "max"),
];

/// The window width: a round number of seconds giving at most about 60 windows (or 1/50th
/// of a history without times; `end` is its latest time).
pub(crate) fn window_width(clock: Clock, end: u64) -> u64 {
    match clock {
        Clock::Nanos => {
            let seconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
            let total = end / 1_000_000_000 + 1;
            let chosen = seconds
                .iter()
                .copied()
                .find(|s| total / s <= 60)
                .unwrap_or(3600);
            chosen * 1_000_000_000
        }
        Clock::Events => (end / 50).max(1),
    }
}

/// One histogram of `ok` latencies per window, filled as the operations go by: about 60
/// windows (one an hour past 60 hours) whatever the run's length.
#[derive(Debug)]
pub(crate) struct Windows {
    width: u64,
    histograms: Vec<Histogram<u64>>,
}

impl Windows {
    /// Empty windows over times `0..=end`.
    pub fn new(clock: Clock, end: u64) -> Windows {
        let width = window_width(clock, end);
        let count = (end / width + 1) as usize;
        Windows {
            width,
            histograms: (0..count)
                .map(|_| Histogram::new(3).expect("3 significant figures is a valid precision"))
                .collect(),
        }
    }

    /// Records `span`'s latency in the window of its start, if it completed `ok`.
    pub fn observe(&mut self, span: &Span) {
        if span.outcome != Outcome::Ok {
            return;
        }
        if let Some(latency) = span.latency() {
            record(
                &mut self.histograms[(span.start / self.width) as usize],
                latency,
            );
        }
    }

    /// How many windows.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.histograms.len()
    }
}

/// Renders the quantile plot.
pub(crate) fn render(extract: &Extract, windows: &Windows, title: &str) -> String {
    let clock = extract.clock;
    let width = windows.width;
    let histograms = &windows.histograms;
    let filled: Vec<(usize, &Histogram<u64>)> = histograms
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.is_empty())
        .collect();
    let smallest = filled
        .iter()
        .map(|(_, h)| latency_value(h.value_at_quantile(0.5), clock))
        .filter(|l| *l > 0.0)
        .fold(f64::INFINITY, f64::min);
    let largest = filled
        .iter()
        .map(|(_, h)| latency_value(h.max(), clock))
        .fold(0.0, f64::max);
    let low = if smallest.is_finite() { smallest } else { 1.0 };
    let y = Scale::log(low, largest.max(low), chart::y_range());
    let mut chart = Chart::new(title, extract.end, clock, y);
    chart.faults(&extract.faults);
    chart.axes(latency_label(clock));
    let mut legend = Vec::new();
    for (quantile, class, label) in QUANTILES {
        let points: Vec<(f64, f64)> = filled
            .iter()
            .map(|(window, histogram)| {
                let middle = (*window as u64 * width + width / 2).min(extract.end);
                let value = latency_value(histogram.value_at_quantile(quantile), clock).max(low);
                (chart.x.map(time_value(middle, clock)), chart.y.map(value))
            })
            .collect();
        chart.svg.polyline(&points, class, label);
        chart.svg.dots(&points, class, 2.0);
        legend.push((class, label.to_owned()));
    }
    if filled.is_empty() {
        chart.message("no ok operations");
    }
    chart.legend(&legend);
    chart.finish()
}

/// Records a latency in an auto-resizing histogram (recording only fails past `u64::MAX / 2`,
/// which no latency reaches: such a value is clamped to the histogram's current maximum).
pub(crate) fn record(histogram: &mut Histogram<u64>, latency: u64) {
    if histogram.record(latency).is_err() {
        histogram.saturating_record(latency);
    }
}
