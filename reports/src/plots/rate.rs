//! `rate.svg`: operations completed per second (per event window without times), by
//! outcome, over shaded fault periods.

use rafty_checkers::Outcome;

use super::axis::Scale;
use super::chart::{self, Chart};
use super::latency_raw::outcome_class;
use crate::extract::{Clock, Extract, Span};

/// The most buckets a rate plot draws: about one per pixel of its width, whatever the run's
/// length.
pub(crate) const MAX_BUCKETS: u64 = 900;

/// The width of a rate bucket: one second, or as many whole seconds as keep a long run to at
/// most [`MAX_BUCKETS`]; a 1/100th of the history without times (`end` is its latest time).
pub(crate) fn bucket_width(clock: Clock, end: u64) -> u64 {
    match clock {
        Clock::Nanos => {
            let seconds = (end / 1_000_000_000 + 1).div_ceil(MAX_BUCKETS);
            seconds.max(1) * 1_000_000_000
        }
        Clock::Events => (end / 100).max(1),
    }
}

/// Completions counted per bucket and outcome, as the operations go by: at most
/// [`MAX_BUCKETS`] (or 101) buckets whatever the run's length.
#[derive(Debug)]
pub(crate) struct Buckets {
    width: u64,
    /// Per outcome (ok, fail, info), the completions in each bucket.
    counts: [Vec<u64>; 3],
    /// Whether any operation was seen.
    any: bool,
}

impl Buckets {
    /// Empty buckets over times `0..=end`.
    pub fn new(clock: Clock, end: u64) -> Buckets {
        let width = bucket_width(clock, end);
        let buckets = (end / width + 1) as usize;
        Buckets {
            width,
            counts: std::array::from_fn(|_| vec![0; buckets]),
            any: false,
        }
    }

    /// Counts `span`'s completion, if it completed.
    pub fn observe(&mut self, span: &Span) {
        self.any = true;
        if let Some(end) = span.end {
            let row = OUTCOMES
                .iter()
                .position(|o| *o == span.outcome)
                .unwrap_or(2);
            self.counts[row][(end / self.width) as usize] += 1;
        }
    }

    /// How many buckets per outcome.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.counts[0].len()
    }
}

const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

/// Renders the rate plot.
pub(crate) fn render(extract: &Extract, buckets: &Buckets, title: &str) -> String {
    let width = buckets.width;
    let counts = &buckets.counts;
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
    for (row, outcome) in OUTCOMES.iter().enumerate() {
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
    if !buckets.any {
        chart.message("no operations");
    }
    chart.legend(&legend);
    chart.finish()
}
