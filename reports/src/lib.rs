//! # rafty-reports
//!
//! What a person reads after a rafty run, all self-contained (no network fetch, works from
//! `file://`):
//!
//! - [`write_run_report`]: a run's `timeline.html` (every operation on its process's lane,
//!   faults, leader changes, the linearizability counterexample), `latency-raw.svg`,
//!   `latency-quantiles.svg`, `rate.svg` and `summary.txt`;
//! - [`write_stored_run_report`]: the same, drawn from a stored run folder (results.json,
//!   history.jsonl, node logs), to draw or redraw a report after the fact;
//! - [`write_store_index`]: `store/index.html`, every run with its verdict and files;
//! - [`write_junit`]: `junit.xml` and `summary.json` for a multi-seed run, for CI;
//! - [`static_files`]: safe path resolution and content types for `rafty serve`.
#![warn(missing_docs)]

mod counterexample;
pub mod error;
pub mod escape;
mod extract;
pub mod index;
pub mod input;
pub mod junit;
mod plots;
mod run_report;
pub mod static_files;
mod stored_run;
mod summary;
mod timeline;

pub use error::ReportError;
pub use index::write_store_index;
pub use input::{CheckOutcome, LeaderChange, RunReportInput, RunVerdict};
pub use junit::{SeedResult, write_junit};
pub use run_report::{RUN_REPORT_FILES, write_run_report};
pub use stored_run::write_stored_run_report;
