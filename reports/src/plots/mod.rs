//! Hand-written SVG plots of a run: raw latencies, latency quantiles over time windows, and
//! completion rates, each with the fault periods shaded.

mod axis;
mod chart;
mod latency_quantiles;
mod latency_raw;
mod rate;
mod svg;

use crate::extract::Extract;

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

/// Renders the three plots of a prepared history; `title` heads each.
pub(crate) fn render(extract: &Extract<'_>, title: &str) -> Plots {
    Plots {
        latency_raw: latency_raw::render(extract, &format!("{title}: latency of every operation")),
        latency_quantiles: latency_quantiles::render(
            extract,
            &format!("{title}: latency quantiles of ok operations"),
        ),
        rate: rate::render(extract, &format!("{title}: completion rate")),
    }
}
