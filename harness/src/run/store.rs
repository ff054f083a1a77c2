//! The store: every run writes `store/<test>/<time>-<seed>/` with `results.json`,
//! `history.jsonl`, `history.edn`, `nemesis.log` and one log per node under `nodes/`; every
//! `rafty test` invocation writes its `junit.xml` and `summary.json` into
//! `store/<test>/suites/<time>/`. Both folders are reserved with [`reserve_dir`]: created
//! atomically, with a suffix (`.2`, `.3`, ...) when the name is taken, so no run or suite
//! ever overwrites another.
//!
//! The wall-clock time in the folder name is the only wall clock the harness reads, and it is
//! read outside the simulation.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::sim::recorder::{self, RecordedOp};
use rafty::NodeId;

use super::results::RunResult;

/// What a run leaves behind, besides its results.
pub struct Artifacts<'r> {
    /// Each node's log lines.
    pub node_logs: &'r BTreeMap<NodeId, Vec<String>>,
    /// Each primitive nemesis action, timed.
    pub nemesis_log: &'r [String],
    /// `history.jsonl` as the run spooled it: renamed into the run's folder (so on the same
    /// filesystem as the store); `None`: the run has no history (its spool failed), and an
    /// empty one is written.
    pub spooled_history: Option<&'r Path>,
    /// The run's schedule, written as `schedule.json` when given (runs that are not valid).
    pub schedule: Option<&'r crate::schedule::Schedule>,
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

/// Write the history of `history.jsonl` (at `jsonl`) as EDN, one line read and written at a
/// time (a long run's history is never held); a bad line is an error naming file and line.
pub fn write_history_edn(jsonl: &Path, out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    for recorded in recorder::spool_ops(jsonl)? {
        writeln!(out, "{}", rafty_checkers::export::op_to_edn(&recorded?.op))?;
    }
    out.flush()
}

/// Make sure runs can be stored under `root`: create it if needed and write (then remove) a
/// probe file, so that an unwritable store is refused before any run, not after each.
pub fn check_writable(root: &Path) -> io::Result<()> {
    let describe = |what: &str, error: io::Error| {
        io::Error::new(
            error.kind(),
            format!("{}: cannot {what} it: {error}", root.display()),
        )
    };
    if root.exists() && !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{}: is not a directory", root.display()),
        ));
    }
    fs::create_dir_all(root).map_err(|error| describe("create", error))?;
    // A name of its own: tests of one process check the same store at once.
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let number = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = root.join(format!(
        ".rafty-write-probe-{}-{number}",
        std::process::id()
    ));
    fs::write(&probe, b"probe\n").map_err(|error| describe("write into", error))?;
    fs::remove_file(&probe).map_err(|error| describe("write into", error))
}

/// The most suffixes [`reserve_dir`] tries before it gives up.
const MAX_SUFFIX: u32 = 10_000;

/// The folder of `test`'s run of `seed` started at `stamp`: `root/<test>/<stamp>-<seed>/`, or
/// `<stamp>-<seed>.2/` and so on when that is taken, created (reserved) by this call.
pub fn reserve_run_dir(root: &Path, test: &str, stamp: &str, seed: u64) -> io::Result<PathBuf> {
    reserve_dir(&root.join(test), &format!("{stamp}-{seed}"))
}

/// The folder of one `rafty test` invocation's `junit.xml` and `summary.json`:
/// `root/<test>/suites/<stamp>/` (or `<stamp>.2/` and so on), created by this call.
pub fn reserve_suite_dir(root: &Path, test: &str, stamp: &str) -> io::Result<PathBuf> {
    reserve_dir(&root.join(test).join(rafty_reports::SUITES_FOLDER), stamp)
}

/// Create `parent/<name>` (`parent` first if needed) and return it; if it exists, the first of
/// `parent/<name>.2`, `.3`, ... that does not. Atomic (`create_dir` fails on an existing
/// folder), so two runs, even of two processes at once, never get the same folder, and an
/// existing folder is never written into.
pub fn reserve_dir(parent: &Path, name: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(parent).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot create {}: {error}", parent.display()),
        )
    })?;
    for suffix in 1..=MAX_SUFFIX {
        let candidate = if suffix == 1 {
            parent.join(name)
        } else {
            parent.join(format!("{name}.{suffix}"))
        };
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("cannot create {}: {error}", candidate.display()),
                ));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{}: {name} and {MAX_SUFFIX} suffixed names are all taken",
            parent.display()
        ),
    ))
}

/// Write one run into a new folder from [`reserve_run_dir`]; returns the folder.
pub fn write_run(
    root: &Path,
    stamp: &str,
    result: &RunResult,
    artifacts: &Artifacts<'_>,
) -> io::Result<PathBuf> {
    let dir = reserve_run_dir(root, &result.test, stamp, result.seed)?;
    fs::create_dir(dir.join("nodes"))?;
    let results = serde_json::to_string_pretty(result).map_err(io::Error::other)?;
    fs::write(dir.join("results.json"), results + "\n")?;
    let history = dir.join("history.jsonl");
    match artifacts.spooled_history {
        Some(spooled) => fs::rename(spooled, &history)?,
        None => fs::write(&history, b"")?,
    }
    write_history_edn(&history, fs::File::create(dir.join("history.edn"))?)?;
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
    if let Some(schedule) = artifacts.schedule {
        schedule.write(&dir.join(crate::schedule::FILE_NAME))?;
    }
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

    /// The same test, seed and second twice (as `for n in ...; do rafty test --seed 1; done`
    /// does): two folders, and the first run's files are untouched.
    #[test]
    fn a_taken_run_folder_is_never_reused() {
        let root = tempfile::tempdir().unwrap();
        let first =
            reserve_run_dir(root.path(), "kv-5n-all-memory", "20261126T070000Z", 1).unwrap();
        fs::write(first.join("results.json"), "first").unwrap();
        let second =
            reserve_run_dir(root.path(), "kv-5n-all-memory", "20261126T070000Z", 1).unwrap();
        let third =
            reserve_run_dir(root.path(), "kv-5n-all-memory", "20261126T070000Z", 1).unwrap();
        assert_eq!(
            first,
            root.path().join("kv-5n-all-memory/20261126T070000Z-1")
        );
        assert_eq!(
            second,
            root.path().join("kv-5n-all-memory/20261126T070000Z-1.2")
        );
        assert_eq!(
            third,
            root.path().join("kv-5n-all-memory/20261126T070000Z-1.3")
        );
        assert_eq!(
            fs::read_to_string(first.join("results.json")).unwrap(),
            "first"
        );
        assert!(fs::read_dir(&second).unwrap().next().is_none());
    }

    #[test]
    fn suite_folders_are_unique_too() {
        let root = tempfile::tempdir().unwrap();
        let first = reserve_suite_dir(root.path(), "kv-5n-all-memory", "20261126T070000Z").unwrap();
        let second =
            reserve_suite_dir(root.path(), "kv-5n-all-memory", "20261126T070000Z").unwrap();
        assert_eq!(
            first,
            root.path().join("kv-5n-all-memory/suites/20261126T070000Z")
        );
        assert_ne!(first, second);
    }

    /// `--store FILE` says what is wrong with FILE, not `File exists`.
    #[test]
    fn a_store_that_is_a_file_is_not_a_directory() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("store");
        fs::write(&file, "a file").unwrap();
        let error = check_writable(&file).unwrap_err().to_string();
        assert_eq!(error, format!("{}: is not a directory", file.display()));
    }

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
    }
}
