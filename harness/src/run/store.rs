//! The store: every run writes `store/<test>/<time>-<seed>/` with `results.json`,
//! `history.jsonl`, `history.edn`, `nemesis.log` and one log per node under `nodes/`.
//!
//! The wall-clock time in the folder name is the only wall clock the harness reads, and it is
//! read outside the simulation.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rafty::NodeId;
use rafty_checkers::History;

use crate::sim::recorder::RecordedOp;

use super::results::RunResult;

/// What a run leaves behind, besides its results.
pub struct Artifacts<'r> {
    /// The history, with the node each client used.
    pub history: &'r [RecordedOp],
    /// Each node's log lines.
    pub node_logs: &'r BTreeMap<NodeId, Vec<String>>,
    /// Each primitive nemesis action, timed.
    pub nemesis_log: &'r [String],
    /// `history.jsonl` as the run spooled it: renamed into the run's folder (so on the same
    /// filesystem as the store) instead of written again from `history`.
    pub spooled_history: Option<&'r Path>,
}

/// Write the history as JSON lines: one checkers `Op` a line, plus the node a client used.
pub fn write_history_jsonl(history: &[RecordedOp], out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    for op in history {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Make sure runs can be stored under `root`: create it if needed and write (then remove) a
/// probe file, so that an unwritable store is refused before any run, not after each.
pub fn check_writable(root: &Path) -> io::Result<()> {
    let describe = |what: &str, error: io::Error| {
        io::Error::new(
            error.kind(),
            format!("cannot {what} {}: {error}", root.display()),
        )
    };
    fs::create_dir_all(root).map_err(|error| describe("create", error))?;
    let probe = root.join(".rafty-write-probe");
    fs::write(&probe, b"probe\n").map_err(|error| describe("write into", error))?;
    fs::remove_file(&probe).map_err(|error| describe("write into", error))
}

/// Write one run under `root/<test>/<stamp>-<seed>/`; returns the folder.
pub fn write_run(
    root: &Path,
    stamp: &str,
    result: &RunResult,
    artifacts: &Artifacts<'_>,
) -> io::Result<PathBuf> {
    let dir = root
        .join(&result.test)
        .join(format!("{stamp}-{}", result.seed));
    fs::create_dir_all(dir.join("nodes"))?;
    let results = serde_json::to_string_pretty(result).map_err(io::Error::other)?;
    fs::write(dir.join("results.json"), results + "\n")?;
    match artifacts.spooled_history {
        Some(spooled) => fs::rename(spooled, dir.join("history.jsonl"))?,
        None => write_history_jsonl(
            artifacts.history,
            fs::File::create(dir.join("history.jsonl"))?,
        )?,
    }
    let history = History::from_ops(artifacts.history.iter().map(|recorded| recorded.op.clone()));
    let mut edn = BufWriter::new(fs::File::create(dir.join("history.edn"))?);
    rafty_checkers::export::write_edn(&history, &mut edn)?;
    edn.flush()?;
    for (node, lines) in artifacts.node_logs {
        fs::write(
            dir.join("nodes").join(format!("n{node}.log")),
            lines.join("\n") + "\n",
        )?;
    }
    fs::write(
        dir.join("nemesis.log"),
        artifacts.nemesis_log.join("\n") + "\n",
    )?;
    Ok(dir)
}

/// `20261126T070000Z`: the wall-clock UTC time, for folder names only.
pub fn timestamp() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The current git commit of the working directory, if git answers.
pub fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
    }
}
