//! `rafty report RUN_DIR...`: draw a stored run's report again (timeline.html, the plots,
//! summary.txt) from its results.json and history.jsonl, streaming the history, so a report
//! can be redrawn after an upgrade or for a run whose report was not written. Exit code 0 when
//! every report was written, 2 when one could not be (the error names the file).

use std::path::{Path, PathBuf};

/// Arguments of `rafty report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folders (each holding results.json and history.jsonl), e.g.
    /// `store/kv-5n-all-memory/20261206T223013Z-1`.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
}

/// Run `rafty report`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let mut code = 0;
    for dir in &args.runs {
        match redraw(dir) {
            Ok(written) => {
                for path in written {
                    println!("{}", path.display());
                }
            }
            Err(error) => {
                eprintln!("rafty report: {error}");
                code = 2;
            }
        }
    }
    code
}

/// Write the report of the stored run in `dir`; the files written.
pub fn redraw(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        let problem = if dir.exists() {
            "is not a directory"
        } else {
            "no such folder"
        };
        return Err(format!("{}: {problem}", dir.display()));
    }
    rafty_reports::write_stored_run_report(dir).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_named() {
        let error = redraw(Path::new("/nonexistent/run")).unwrap_err();
        assert_eq!(error, "/nonexistent/run: no such folder");
    }

    #[test]
    fn a_folder_without_results_names_the_file() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let error = redraw(dir.path()).unwrap_err();
        assert!(error.contains("results.json"), "{error}");
    }
}
