//! Errors about bad input: each names the file and line it is about.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A place in a history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file (or `<history>` for a history built in memory).
    pub file: String,
    /// The 1-based line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A history that could not be read, parsed, paired or interpreted by a model.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The content is malformed at a given place.
    #[error("{location}: {reason}")]
    Malformed {
        /// Where.
        location: Location,
        /// What is wrong there.
        reason: String,
    },
    /// Operations of functions the model does not have: checking would have to ignore them,
    /// so the history is refused (unless skipping them was asked for).
    #[error(
        "{location}: :{function} is not an operation of the {model} model \
         ({count} operation{plural} of functions it does not have; the first is here)",
        plural = if *count == 1 { "" } else { "s" }
    )]
    Unsupported {
        /// Where the first such operation is invoked.
        location: Location,
        /// Its function.
        function: String,
        /// The model's name.
        model: String,
        /// How many operations of the history the model does not have.
        count: usize,
    },
}

impl HistoryError {
    /// A malformed-input error at `file:line`.
    pub fn malformed(file: &str, line: usize, reason: impl Into<String>) -> HistoryError {
        HistoryError::Malformed {
            location: Location {
                file: file.to_owned(),
                line,
            },
            reason: reason.into(),
        }
    }
}
