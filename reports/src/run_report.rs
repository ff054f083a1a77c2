//! [`write_run_report`]: the files of one run's store folder that this crate draws.

use std::path::{Path, PathBuf};

use crate::error::{ReportError, write_file};
use crate::events::Events;
use crate::extract::Extract;
use crate::input::RunReportInput;
use crate::{plots, summary, timeline};

/// The file names [`write_run_report`] writes, in the order it writes them.
pub const RUN_REPORT_FILES: [&str; 5] = [
    "timeline.html",
    "latency-raw.svg",
    "latency-quantiles.svg",
    "rate.svg",
    "summary.txt",
];

/// Writes `timeline.html`, `latency-raw.svg`, `latency-quantiles.svg`, `rate.svg` and
/// `summary.txt` into `dir` (created if missing), and returns their paths.
///
/// A history whose events do not pair up, or a counterexample naming an operation that is not
/// in the history, is a [`ReportError::Invalid`] naming the file that could not be drawn.
pub fn write_run_report(
    dir: &Path,
    input: &RunReportInput<'_>,
) -> Result<Vec<PathBuf>, ReportError> {
    let events = Events::Memory {
        history: input.history,
        served_by: input.served_by,
    };
    draw(dir, input, &events)
}

/// [`write_run_report`] of the history `events` read (`input.history` and `input.served_by`
/// are not used): a history file is read in two passes, never held. A file that cannot be read
/// or whose events do not pair up is a [`ReportError::Invalid`] naming it (and its line).
pub(crate) fn draw(
    dir: &Path,
    input: &RunReportInput<'_>,
    events: &Events<'_>,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::write(dir, source))?;
    let path = |name: &str| dir.join(name);
    let extract =
        Extract::read(events, input.counterexample, input.concurrency).map_err(|error| {
            let file = match events {
                Events::File(file) => file.to_path_buf(),
                Events::Memory { .. } => path("timeline.html"),
            };
            ReportError::invalid(&file, error.to_string())
        })?;
    let timeline = timeline::render(input, &extract)
        .map_err(|reason| ReportError::invalid(&path("timeline.html"), reason))?;
    let title = format!("{} seed {}", input.test, input.seed);
    let plots = plots::render(&extract, &title);
    let summary = summary::render(input, &extract);
    let contents = [
        timeline,
        plots.latency_raw,
        plots.latency_quantiles,
        plots.rate,
        summary,
    ];
    let mut written = Vec::with_capacity(RUN_REPORT_FILES.len());
    for (name, contents) in RUN_REPORT_FILES.iter().zip(contents) {
        let file = path(name);
        write_file(&file, contents)?;
        written.push(file);
    }
    Ok(written)
}
