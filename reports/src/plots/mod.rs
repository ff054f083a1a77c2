//! Hand-written SVG plots of a run: raw latencies, latency quantiles over time windows, and
//! completion rates, each with the fault periods shaded.

mod axis;
mod chart;
mod latency_quantiles;
mod latency_raw;
mod rate;
mod svg;

use crate::extract::{Clock, Extract, Span};
use crate::survey::Latencies;

pub(crate) use latency_quantiles::record;

/// The three plots of a run, as SVG documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plots {
    /// `latency-raw.svg`: every completed operation by time, coloured by outcome.
    pub latency_raw: String,
    /// `latency-quantiles.svg`: p50, p95, p99 and max of `ok` latencies per time window.
    pub latency_quantiles: String,
    /// `rate.svg`: ok, fail and info completions per second.
    pub rate: String,
}

/// What the three plots draw, accumulated one operation at a time.
#[derive(Debug)]
pub(crate) struct Accumulator {
    raw: latency_raw::Cells,
    quantiles: latency_quantiles::Windows,
    rate: rate::Buckets,
}

impl Accumulator {
    /// Nothing drawn yet, for a history on `clock` ending at `end` whose latencies span
    /// `latencies`.
    pub fn new(clock: Clock, end: u64, latencies: Latencies) -> Accumulator {
        Accumulator {
            raw: latency_raw::Cells::new(clock, end, latencies),
            quantiles: latency_quantiles::Windows::new(clock, end),
            rate: rate::Buckets::new(clock, end),
        }
    }

    /// Takes in one operation.
    pub fn observe(&mut self, span: &Span) {
        self.raw.observe(span);
        self.quantiles.observe(span);
        self.rate.observe(span);
    }

    /// What it holds: the raw plot's cells with a dot, the quantile windows, the rate
    /// buckets.
    #[cfg(test)]
    pub fn held(&self) -> (usize, usize, usize) {
        (self.raw.held(), self.quantiles.held(), self.rate.held())
    }
}

/// Renders the three plots of a prepared history; `title` heads each.
pub(crate) fn render(extract: &Extract, title: &str) -> Plots {
    let plots = &extract.plots;
    Plots {
        latency_raw: latency_raw::render(
            extract,
            &plots.raw,
            &format!("{title}: latency of every operation"),
        ),
        latency_quantiles: latency_quantiles::render(
            extract,
            &plots.quantiles,
            &format!("{title}: latency quantiles of ok operations"),
        ),
        rate: rate::render(extract, &plots.rate, &format!("{title}: completion rate")),
    }
}
