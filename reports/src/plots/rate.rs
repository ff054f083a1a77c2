//! `rate.svg`: operations completed per second (per event window without times), by
//! outcome, over shaded fault periods.

use rafty_checkers::Outcome;

use super::axis::Scale;
use super::chart::{self, Chart};
use super::latency_raw::outcome_class;
use crate::extract::{Clock, Extract};

/// The most buckets a rate plot draws: about one per pixel of its width, whatever the run's
/// length.
pub(crate) const MAX_BUCKETS: u64 = 900;

/// The width of a rate bucket: one second, or as many whole seconds as keep a long run to at
/// most [`MAX_BUCKETS`]; a 1/100th of the history without times.
pub(crate) fn bucket_width(extract: &Extract<'_>) -> u64 {
    match extract.clock {
        Clock::Nanos => {
            let seconds = (extract.end / 1_000_000_000 + 1).div_ceil(MAX_BUCKETS);
            seconds.max(1) * 1_000_000_000
        }
        Clock::Events => (extract.end / 100).max(1),
    }
}

/// Renders the rate plot.
pub(crate) fn render(extract: &Extract<'_>, title: &str) -> String {
    let width = bucket_width(extract);
    let buckets = (extract.end / width + 1) as usize;
    let outcomes = [Outcome::Ok, Outcome::Fail, Outcome::Info];
    let mut counts = vec![vec![0u64; buckets]; outcomes.len()];
    for span in &extract.spans {
        if let Some(end) = span.end {
            let row = outcomes
                .iter()
                .position(|o| *o == span.outcome)
                .unwrap_or(2);
            counts[row][(end / width) as usize] += 1;
        }
    }
    let per_unit = match extract.clock {
        Clock::Nanos => 1e9 / width as f64,
        Clock::Events => 1.0 / width as f64,
    };
    let highest = counts.iter().flatten().copied().max().unwrap_or(0) as f64 * per_unit;
    let y = Scale::linear(0.0, highest.max(1.0), chart::y_range());
    let mut chart = Chart::new(title, extract.end, extract.clock, y);
    chart.faults(&extract.faults);
    let label = match extract.clock {
        Clock::Nanos if width > 1_000_000_000 => format!(
            "operations completed per second (mean over {} s)",
            width / 1_000_000_000
        ),
        Clock::Nanos => "operations completed per second".to_owned(),
        Clock::Events => "completions per event".to_owned(),
    };
    chart.axes(&label);
    let mut legend = Vec::new();
    for (row, outcome) in outcomes.iter().enumerate() {
        let class = outcome_class(*outcome);
        let points: Vec<(f64, f64)> = counts[row]
            .iter()
            .enumerate()
            .map(|(bucket, count)| {
                let middle = bucket as u64 * width + width / 2;
                let x = chart::time_value(middle.min(extract.end), extract.clock);
                (chart.x.map(x), chart.y.map(*count as f64 * per_unit))
            })
            .collect();
        chart.svg.polyline(&points, class, class);
        let total: u64 = counts[row].iter().sum();
        legend.push((class, format!("{class} ({total})")));
    }
    if extract.spans.is_empty() {
        chart.message("no operations");
    }
    chart.legend(&legend);
    chart.finish()
}
