//! The results of a benchmark run, as a table for people and as JSON for tools.
//!
//! Two latencies are reported. **Client latency** is what a client sees: submit to answer,
//! measured by the clients (in real mode: client -> leader over TCP, the leader replicates to
//! its followers and back, leader -> client). **Commit latency** is Raft's: from the leader's
//! core accepting a command to the leader learning that its entry is committed, measured in
//! the leader ([`super::commit_clock`]). Real mode compares both, at one client, against the
//! issue's target: p50 within 1.5x of one fsync plus one loopback round trip.

use serde::Serialize;
use std::fmt::Write as _;

use super::closed_loop::RoundOutcome;
use super::loop_stats::LoopSummary;
use super::machine::{Bounds, LoadAverage};
use super::options::{BenchOptions, InProcessLog, Mode};
use super::stats::{LatencySummary, Spread, new_histogram, record_all, summarize};

/// The target: p50 at one client within this factor of (fsync + loopback round trip).
pub const TARGET_RATIO: f64 = 1.5;

/// One round, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct RoundResult {
    /// Successful operations in the window.
    pub ops: u64,
    /// Failed operations in the window.
    pub errors: u64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Client latency percentiles of this round (submit to answer).
    pub latency: LatencySummary,
    /// Commit latency percentiles of this round (leader: propose to commit), if measured.
    pub commit_latency: Option<LatencySummary>,
    /// Real mode: the nodes' log appends in this round (write + fsync of a batch).
    pub append_latency: Option<LatencySummary>,
    /// The most entries any node had applied when the round ended (warm-up included).
    pub entries_applied: u64,
    /// In process: what the leader's event loop did in the window.
    pub loop_counters: Option<LoopSummary>,
    /// Peak resident memory in MiB (`VmHWM`) when the round ended: of each node process in
    /// real mode; of the whole benchmark process in process (cumulative over the rounds).
    pub peak_rss_mib: Vec<f64>,
}

/// Every round of one client count.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCountResult {
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// Operations per second across rounds: min, median, max.
    pub ops_per_sec: Spread,
    /// Client latency (submit to answer, measured by the clients) over the operations of
    /// every round together.
    pub latency: LatencySummary,
    /// Commit latency (the leader's core accepts the command to the leader learns its entry
    /// committed, measured in the leader) over the entries of every round together, if
    /// measured.
    pub commit_latency: Option<LatencySummary>,
    /// Real mode: how long the nodes' log appends (write + fsync of a batch, every node)
    /// took during the rounds: what the disk cost with all three nodes writing to it.
    pub append_latency: Option<LatencySummary>,
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
        let mut all_commits = new_histogram();
        let mut commits_measured = false;
        let mut all_appends = new_histogram();
        let mut appends_measured = false;
        let mut rounds = Vec::new();
        let mut first_error = None;
        for outcome in &outcomes {
            let mut histogram = new_histogram();
            record_all(&mut histogram, &outcome.latencies_ns);
            all.add(&histogram).expect("histograms of equal bounds");
            if let Some(commits) = &outcome.commit_latencies {
                all_commits
                    .add(commits)
                    .expect("histograms of equal bounds");
                commits_measured = true;
            }
            if let Some(appends) = &outcome.append_latencies {
                all_appends
                    .add(appends)
                    .expect("histograms of equal bounds");
                appends_measured = true;
            }
            rounds.push(RoundResult {
                ops: outcome.ops,
                errors: outcome.errors,
                ops_per_sec: outcome.ops_per_sec(),
                latency: summarize(&histogram),
                commit_latency: outcome.commit_latencies.as_ref().map(summarize),
                append_latency: outcome.append_latencies.as_ref().map(summarize),
                entries_applied: outcome.entries_applied,
                loop_counters: outcome.loop_stats,
                peak_rss_mib: outcome
                    .peak_rss_bytes
                    .iter()
                    .map(|&bytes| bytes as f64 / (1024.0 * 1024.0))
                    .collect(),
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
            commit_latency: commits_measured.then(|| summarize(&all_commits)),
            append_latency: appends_measured.then(|| summarize(&all_appends)),
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
    /// What the clients do: `writes`, or `reads <consistency>` (`--reads`).
    pub workload: String,
    /// Real mode with in-memory logs (no fsync).
    pub memory_log: bool,
    /// In process: the nodes' log (`--log`), `memory` or `file`.
    pub log: InProcessLog,
    /// Whether the nodes snapshotted and compacted their logs.
    pub snapshots: bool,
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
    /// Real mode: the target ratio, [`TARGET_RATIO`].
    pub target_ratio: f64,
    /// Real mode: client latency p50 at one client over (fsync + loopback round trip)
    /// measured next to those rounds.
    pub p50_over_bound_at_1_client: Option<f64>,
    /// Real mode: client latency p50 at one client over the quiet-disk floor (10th
    /// percentiles of fsync and round trip).
    pub p50_over_floor_at_1_client: Option<f64>,
    /// Real mode: commit latency p50 at one client over (fsync + loopback round trip).
    pub commit_p50_over_bound_at_1_client: Option<f64>,
    /// Real mode: commit latency p50 at one client over the quiet-disk floor.
    pub commit_p50_over_floor_at_1_client: Option<f64>,
    /// Real mode: client latency p50 at one client over (the nodes' own log append p50
    /// during the rounds + loopback round trip): not the denominator, which is a
    /// lone fsync, but what the disk cost with three nodes writing to it.
    pub p50_over_in_run_bound_at_1_client: Option<f64>,
    /// Real mode: commit latency p50 at one client over (append p50 in the rounds + RTT).
    pub commit_p50_over_in_run_bound_at_1_client: Option<f64>,
    /// Real mode: whether the fsync probe at one client was representative: steady
    /// ([`Bounds::fsync_is_steady`]) and its median not above twice the nodes' own append
    /// p50 (the probe did not catch the disk in a slower mode than the rounds saw). When it
    /// was not, the ratios against the probe mean nothing and the target is not judged.
    pub bounds_steady_at_1_client: Option<bool>,
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
        // Reads that skip the log (ReadIndex, lease, stale) append nothing: the commit and
        // append tables would be rows of zero entries and the ratios to an fsync the reads
        // never pay meaningless, so the report leaves them out.
        let mut results = results;
        let skips_log = options
            .reads
            .is_some_and(|reads| reads != rafty::ReadConsistency::Log);
        if skips_log {
            for result in &mut results {
                result.commit_latency = None;
                result.append_latency = None;
                for round in &mut result.rounds {
                    round.commit_latency = None;
                    round.append_latency = None;
                }
            }
        }
        // Without fsync the ratio compares against a cost the run did not pay.
        let one_client = results
            .iter()
            .filter(|_| !options.memory_log && !skips_log)
            .find(|result| result.clients == 1);
        let ratio = |latency: fn(&ClientCountResult) -> Option<f64>, bound: fn(&Bounds) -> f64| {
            one_client.and_then(|result| {
                let bound = bound(&result.bounds?);
                let p50 = latency(result)?;
                (bound > 0.0).then(|| p50 / bound)
            })
        };
        let client = |result: &ClientCountResult| Some(result.latency.p50_us);
        let commit = |result: &ClientCountResult| result.commit_latency.map(|l| l.p50_us);
        let in_run = |latency: fn(&ClientCountResult) -> Option<f64>| {
            one_client.and_then(|result| {
                let bound = result.append_latency?.p50_us + result.bounds?.loopback_rtt.median_us;
                let p50 = latency(result)?;
                (bound > 0.0).then(|| p50 / bound)
            })
        };
        let representative = one_client.and_then(|result| {
            let bounds = result.bounds?;
            let probe_not_slower = result
                .append_latency
                .is_none_or(|appends| bounds.fsync.median_us <= 2.0 * appends.p50_us);
            Some(bounds.fsync_is_steady() && probe_not_slower)
        });
        BenchReport {
            mode: options.mode,
            workload: options.reads.map_or("writes".to_owned(), |reads| {
                format!("reads {}", crate::run::config::reads_name(reads))
            }),
            memory_log: options.memory_log,
            log: options.log,
            snapshots: options.snapshots,
            warmup_ms: options.warmup.as_millis(),
            duration_ms: options.duration.as_millis(),
            rounds: options.rounds,
            payload_bytes: options.payload_bytes,
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            load_before,
            load_after,
            target_ratio: TARGET_RATIO,
            p50_over_bound_at_1_client: ratio(client, Bounds::bound_us),
            p50_over_floor_at_1_client: ratio(client, Bounds::floor_us),
            commit_p50_over_bound_at_1_client: ratio(commit, Bounds::bound_us),
            commit_p50_over_floor_at_1_client: ratio(commit, Bounds::floor_us),
            p50_over_in_run_bound_at_1_client: in_run(client),
            commit_p50_over_in_run_bound_at_1_client: in_run(commit),
            bounds_steady_at_1_client: representative,
            results,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report as tables with a header and footnotes.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let load = |load: &Option<LoadAverage>| {
            load.map_or("unknown".to_string(), |l| {
                format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen)
            })
        };
        let _ = writeln!(
            out,
            "rafty bench: mode {}{}, {}, snapshots {}, {} round(s) of {} ms after {} ms warm-up, \
             {} CPUs, load {} -> {}",
            self.mode,
            match (self.mode, self.memory_log, self.log) {
                (Mode::Real, true, _) => " (memory logs, no fsync)",
                (Mode::InProcess, _, InProcessLog::File) => " (file logs, fsync per append)",
                _ => "",
            },
            self.workload,
            if self.snapshots { "on" } else { "off" },
            self.rounds,
            self.duration_ms,
            self.warmup_ms,
            self.cpus,
            load(&self.load_before),
            load(&self.load_after)
        );
        let _ = writeln!(
            out,
            "client latency: submit -> answer, measured by the clients{}",
            match self.mode {
                Mode::Real => " (client -> leader -> followers -> leader -> client, over TCP)",
                Mode::InProcess => " (a Submitter per client on the leader)",
            }
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
                "{:>7} {:>11.0} {:>23} {} {:>7}",
                result.clients,
                spread.median,
                format!(
                    "{:.0}..{:.0} ({:.0}%)",
                    spread.min,
                    spread.max,
                    spread.range_percent()
                ),
                percentiles(&result.latency),
                result.errors
            );
        }
        if self.results.iter().any(|r| r.commit_latency.is_some()) {
            let _ = writeln!(
                out,
                "commit latency: the leader's core accepts a command -> the leader learns its \
                 entry committed (per entry proposed in the window, measured in the leader)"
            );
            let _ = writeln!(
                out,
                "{:>7} {:>11} {:>23} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "clients", "entries", "", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs",
            );
            for result in &self.results {
                if let Some(commit) = &result.commit_latency {
                    latency_row(&mut out, result.clients, commit);
                }
            }
        }
        if self.results.iter().any(|r| r.append_latency.is_some()) {
            let _ = writeln!(
                out,
                "log appends in the nodes during the window (write + fsync of a batch, all \
                 three nodes writing to the same disk)"
            );
            for result in &self.results {
                if let Some(appends) = &result.append_latency {
                    latency_row(&mut out, result.clients, appends);
                }
            }
        }
        self.memory_lines(&mut out);
        self.loop_lines(&mut out);
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
        let steady = self.bounds_steady_at_1_client != Some(false);
        let verdict = |ratio: f64| {
            if !steady {
                "not judged (the fsync probe was unsteady or slower than the nodes' own \
                 appends: the disk changed mode; rerun)"
            } else if ratio <= TARGET_RATIO {
                "met"
            } else {
                "NOT met"
            }
        };
        let lines = [
            (
                "client latency (submit -> answer)",
                self.p50_over_bound_at_1_client,
                self.p50_over_floor_at_1_client,
                self.p50_over_in_run_bound_at_1_client,
            ),
            (
                "commit latency (leader propose -> commit)",
                self.commit_p50_over_bound_at_1_client,
                self.commit_p50_over_floor_at_1_client,
                self.commit_p50_over_in_run_bound_at_1_client,
            ),
        ];
        for (name, ratio, floor, in_run) in lines {
            if let Some(ratio) = ratio {
                let floor = floor.map_or(String::new(), |floor| {
                    format!(", over the quiet-disk floor (p10 fsync + p10 RTT) {floor:.2}x")
                });
                let _ = writeln!(
                    out,
                    "{name}: p50 at 1 client / (fsync + loopback RTT) = {ratio:.2}x{floor}; \
                     target <= {TARGET_RATIO}x: {}",
                    verdict(ratio)
                );
            }
            if let Some(in_run) = in_run {
                let _ = writeln!(
                    out,
                    "{name}: p50 at 1 client / (the nodes' append p50 in the rounds + RTT) = \
                     {in_run:.2}x (what the path adds beyond the disk as the nodes found it)"
                );
            }
        }
        out
    }
}

impl BenchReport {
    /// In process, one line per round: what the leader's event loop did in the window.
    fn loop_lines(&self, out: &mut String) {
        for result in &self.results {
            for (number, round) in result.rounds.iter().enumerate() {
                if let Some(counters) = &round.loop_counters {
                    let _ = writeln!(
                        out,
                        "leader's loop at {} clients, round {}: {}",
                        result.clients,
                        number + 1,
                        counters.line()
                    );
                }
            }
        }
    }

    /// One line per round: the entries applied and the peak memory it ended with.
    fn memory_lines(&self, out: &mut String) {
        let whose = match self.mode {
            Mode::Real => "each node process",
            Mode::InProcess => "this process, all rounds so far",
        };
        for result in &self.results {
            for (round, measured) in result.rounds.iter().enumerate() {
                if measured.peak_rss_mib.is_empty() {
                    continue;
                }
                let rss: Vec<String> = measured
                    .peak_rss_mib
                    .iter()
                    .map(|mib| format!("{mib:.1}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "memory at {} clients, round {}: {} entries applied; peak RSS ({whose}) {} MiB",
                    result.clients,
                    round + 1,
                    measured.entries_applied,
                    rss.join(" / ")
                );
            }
        }
    }
}

/// One client count's row of a latency table: its sample count and percentiles.
fn latency_row(out: &mut String, clients: usize, latency: &LatencySummary) {
    let _ = writeln!(
        out,
        "{:>7} {:>11} {:>23} {}",
        clients,
        latency.count,
        "",
        percentiles(latency)
    );
}

fn percentiles(latency: &LatencySummary) -> String {
    format!(
        "{:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        latency.p50_us, latency.p90_us, latency.p99_us, latency.p999_us, latency.max_us
    )
}
