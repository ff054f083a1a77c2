//! The results of a benchmark run, as a table for people and as JSON for tools.

use serde::Serialize;
use std::fmt::Write as _;

use super::closed_loop::RoundOutcome;
use super::machine::{Bounds, LoadAverage};
use super::options::{BenchOptions, Mode};
use super::stats::{LatencySummary, Spread, new_histogram, record_all, summarize};

/// One round, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct RoundResult {
    /// Successful operations in the window.
    pub ops: u64,
    /// Failed operations in the window.
    pub errors: u64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles of this round.
    pub latency: LatencySummary,
}

/// Every round of one client count.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCountResult {
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// Operations per second across rounds: min, median, max.
    pub ops_per_sec: Spread,
    /// Latency percentiles over the operations of every round together.
    pub latency: LatencySummary,
    /// Failed operations over every round.
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Real mode: fsync and loopback round trip measured just before each round (medians).
    pub bounds: Option<Bounds>,
    /// Each round.
    pub rounds: Vec<RoundResult>,
}

impl ClientCountResult {
    /// Summarize the rounds of `clients` clients.
    pub fn from_rounds(
        clients: usize,
        outcomes: Vec<RoundOutcome>,
        bounds: &[Bounds],
    ) -> ClientCountResult {
        let mut all = new_histogram();
        let mut rounds = Vec::new();
        let mut first_error = None;
        for outcome in &outcomes {
            let mut histogram = new_histogram();
            record_all(&mut histogram, &outcome.latencies_ns);
            all.add(&histogram).expect("histograms of equal bounds");
            rounds.push(RoundResult {
                ops: outcome.ops,
                errors: outcome.errors,
                ops_per_sec: outcome.ops_per_sec(),
                latency: summarize(&histogram),
            });
            if first_error.is_none() {
                first_error.clone_from(&outcome.first_error);
            }
        }
        let rates: Vec<f64> = rounds.iter().map(|round| round.ops_per_sec).collect();
        ClientCountResult {
            clients,
            ops_per_sec: Spread::of(&rates),
            latency: summarize(&all),
            errors: rounds.iter().map(|round| round.errors).sum(),
            first_error,
            bounds: Bounds::median_of(bounds),
            rounds,
        }
    }
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// in-process or real.
    pub mode: Mode,
    /// Real mode with in-memory logs (no fsync).
    pub memory_log: bool,
    /// Warm-up per round, in milliseconds.
    pub warmup_ms: u128,
    /// Measured window per round, in milliseconds.
    pub duration_ms: u128,
    /// Rounds per client count.
    pub rounds: usize,
    /// Bytes per command (in-process mode).
    pub payload_bytes: usize,
    /// Logical CPUs of this machine.
    pub cpus: usize,
    /// Load average when the run started.
    pub load_before: Option<LoadAverage>,
    /// Load average when it ended.
    pub load_after: Option<LoadAverage>,
    /// Real mode: p50 at one client over (fsync + loopback round trip) measured next to those
    /// rounds.
    pub p50_over_bound_at_1_client: Option<f64>,
    /// Real mode: p50 at one client over the quiet-disk floor (10th percentiles of fsync and
    /// round trip).
    pub p50_over_floor_at_1_client: Option<f64>,
    /// One entry per client count.
    pub results: Vec<ClientCountResult>,
}

impl BenchReport {
    /// Put a run's pieces together.
    pub fn new(
        options: &BenchOptions,
        load_before: Option<LoadAverage>,
        load_after: Option<LoadAverage>,
        results: Vec<ClientCountResult>,
    ) -> BenchReport {
        // Without fsync the ratio compares against a cost the run did not pay.
        let one_client = results
            .iter()
            .filter(|_| !options.memory_log)
            .find(|result| result.clients == 1);
        let ratio_to = |bound: fn(&Bounds) -> f64| {
            one_client.and_then(|result| {
                let bound = bound(&result.bounds?);
                (bound > 0.0).then(|| result.latency.p50_us / bound)
            })
        };
        let ratio = ratio_to(Bounds::bound_us);
        let floor_ratio = ratio_to(Bounds::floor_us);
        BenchReport {
            mode: options.mode,
            memory_log: options.memory_log,
            warmup_ms: options.warmup.as_millis(),
            duration_ms: options.duration.as_millis(),
            rounds: options.rounds,
            payload_bytes: options.payload_bytes,
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            load_before,
            load_after,
            p50_over_bound_at_1_client: ratio,
            p50_over_floor_at_1_client: floor_ratio,
            results,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report as a table with a header and footnotes.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let load = |load: &Option<LoadAverage>| {
            load.map_or("unknown".to_string(), |l| {
                format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen)
            })
        };
        let _ = writeln!(
            out,
            "rafty bench: mode {}{}, {} round(s) of {} ms after {} ms warm-up, {} CPUs, \
             load {} -> {}",
            self.mode,
            if self.memory_log {
                " (memory logs, no fsync)"
            } else {
                ""
            },
            self.rounds,
            self.duration_ms,
            self.warmup_ms,
            self.cpus,
            load(&self.load_before),
            load(&self.load_after)
        );
        let _ = writeln!(
            out,
            "{:>7} {:>11} {:>23} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "clients",
            "ops/s",
            "spread min..max",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs",
            "errors"
        );
        for result in &self.results {
            let spread = result.ops_per_sec;
            let _ = writeln!(
                out,
                "{:>7} {:>11.0} {:>23} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
                result.clients,
                spread.median,
                format!(
                    "{:.0}..{:.0} ({:.0}%)",
                    spread.min,
                    spread.max,
                    spread.range_percent()
                ),
                result.latency.p50_us,
                result.latency.p90_us,
                result.latency.p99_us,
                result.latency.p999_us,
                result.latency.max_us,
                result.errors
            );
        }
        for result in self.results.iter().filter(|result| result.errors > 0) {
            let error = result.first_error.as_deref().unwrap_or("?");
            let _ = writeln!(out, "{} clients: first error: {error}", result.clients);
        }
        for result in &self.results {
            if let Some(bounds) = &result.bounds {
                let _ = writeln!(
                    out,
                    "machine at {} clients: {}",
                    result.clients,
                    bounds.describe()
                );
            }
        }
        if let Some(ratio) = self.p50_over_bound_at_1_client {
            let _ = writeln!(
                out,
                "p50 at 1 client / (fsync + loopback round trip) = {ratio:.2}x (target <= 1.5x)"
            );
        }
        if let Some(ratio) = self.p50_over_floor_at_1_client {
            let _ = writeln!(
                out,
                "p50 at 1 client / (p10 fsync + p10 round trip, the quiet-disk floor) = {ratio:.2}x"
            );
        }
        out
    }
}
