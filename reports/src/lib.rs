//! # rafty-reports
//!
//! What a person reads after a rafty run, all self-contained (no network fetch, works from
//! `file://`):
//!
//! - [`write_run_report`]: a run's `timeline.html` (every operation on its client thread's
//!   lane, labelled `w 3`, `r 2`, `cas 1->4`; each fault in effect at once on a row of its
//!   own; leader changes; the linearizability counterexample), `latency-raw.svg`,
//!   `latency-quantiles.svg`, `rate.svg` and `summary.txt`;
//! - [`write_stored_run_report`]: the same, drawn from a stored run folder (results.json,
//!   history.jsonl, node logs), to draw or redraw a report after the fact; history.jsonl is
//!   read in two streaming passes and never held, so memory stays bounded by what is drawn
//!   whatever the run's length;
//! - [`write_store_index`]: `store/index.html`, every run (invalid and unknown first) with its
//!   verdict, what it tested, its headline figures and files, and a filter ([`scan_store`]
//!   lists the runs);
//! - [`ok_latency_ms_p99`]: the p99 latency of a history's `ok` operations, as summary.txt
//!   quotes it ([`OkLatencyStream`]: the same, one event at a time);
//! - [`write_junit`]: `junit.xml` and `summary.json` of one `rafty test` invocation, for CI;
//! - [`static_files`]: safe path resolution and content types for `rafty serve`.
//!
//! ```
//! use rafty_checkers::{History, Op, OpType, Process, Value};
//! use rafty_reports::{LeaderChange, RunReportInput, RunVerdict, write_run_report};
//!
//! let p = Process::Client(0);
//! let history = History::from_ops([
//!     Op::new(p.clone(), OpType::Invoke, "write", Value::Int(1)).with_time(1_000_000),
//!     Op::new(p, OpType::Ok, "write", Value::Int(1)).with_time(3_000_000),
//! ]);
//! let leaders = [LeaderChange { time_ns: 500_000, node: 2, term: 1 }];
//! let input = RunReportInput {
//!     verdict: RunVerdict::Valid,
//!     leader_changes: &leaders,
//!     reproduce: "cargo run --release -p rafty-harness -- test --seed 7",
//!     ..RunReportInput::new("kv", 7, &history)
//! };
//! let dir = std::env::temp_dir().join("rafty-reports-doc-example");
//! let files = write_run_report(&dir, &input).unwrap();
//! assert!(files.iter().any(|file| file.ends_with("timeline.html")));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
#![warn(missing_docs)]

pub mod anomalies;
#[cfg(test)]
mod bounded;
mod counterexample;
pub mod error;
mod escape;
mod events;
mod extract;
mod index;
pub mod input;
pub mod junit;
mod latency;
pub mod membership;
mod pairing;
mod plots;
mod run_report;
pub mod static_files;
mod stored_run;
mod summary;
mod survey;
mod tally;
mod timeline;

pub use error::ReportError;
pub use index::{RunEntry, SUITES_FOLDER, scan_store, write_store_index};
pub use input::{Annotation, CheckOutcome, LeaderChange, Minimal, RunReportInput, RunVerdict};
pub use junit::{SeedResult, write_junit};
pub use latency::{OkLatencyStream, ok_latency_ms_p99};
pub use membership::{ConfigurationChange, MembershipCall};
pub use run_report::{RUN_REPORT_FILES, write_run_report};
pub use stored_run::{COUNTEREXAMPLE_FILE, write_stored_run_report};
