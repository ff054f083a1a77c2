//! [`ReportError`]: what can go wrong while writing or reading a report, naming the file.

use std::io;
use std::path::{Path, PathBuf};

/// An error writing or reading a report file. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or directory could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The input for a file is not usable (a malformed history, an operation a counterexample
    /// names that is not in the history, a results file that is not JSON...).
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file being written or read.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

impl ReportError {
    /// A write error for `path`.
    pub fn write(path: &Path, source: io::Error) -> ReportError {
        ReportError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A read error for `path`.
    pub fn read(path: &Path, source: io::Error) -> ReportError {
        ReportError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An invalid-input error for `path`.
    pub fn invalid(path: &Path, reason: impl Into<String>) -> ReportError {
        ReportError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::Write { path, .. }
            | ReportError::Read { path, .. }
            | ReportError::Invalid { path, .. } => path,
        }
    }
}

/// Writes `contents` to `path`, mapping the error to [`ReportError::Write`].
pub(crate) fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), ReportError> {
    std::fs::write(path, contents).map_err(|source| ReportError::write(path, source))
}
