//! Lines a reader cannot read: an error naming the first, or skipped and counted when the
//! user asked for that ([`ReadOptions::skip_unreadable`]).

use crate::error::{HistoryError, Location};

/// How to read a history file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip lines that cannot be read and count them in [`Imported::unreadable`](super::Imported),
    /// instead of refusing the file naming the first. Only the line formats (jsonl, edn-lines,
    /// jepsen-log) can skip a line; a malformed EDN vector stays an error.
    pub skip_unreadable: bool,
}

/// The lines skipped because they could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unreadable {
    /// How many.
    pub count: usize,
    /// The first: where, and why it could not be read.
    pub first: Option<(Location, String)>,
}

/// Where a reader reports a line it cannot read.
#[derive(Debug, Default)]
pub(crate) struct LineErrors {
    skip: bool,
    pub(crate) skipped: Unreadable,
}

impl LineErrors {
    /// Refuses every unreadable line.
    pub(crate) fn strict() -> LineErrors {
        LineErrors::default()
    }

    /// Refuses or skips them, as `options` say.
    pub(crate) fn new(options: &ReadOptions) -> LineErrors {
        LineErrors {
            skip: options.skip_unreadable,
            skipped: Unreadable::default(),
        }
    }

    /// Whether unreadable lines are skipped.
    pub(crate) fn skips(&self) -> bool {
        self.skip
    }

    /// A line cannot be read: `Err(error)`, or `Ok` after counting it when skipping.
    pub(crate) fn bad(&mut self, error: HistoryError) -> Result<(), HistoryError> {
        if !self.skip {
            return Err(error);
        }
        self.skipped.count += 1;
        if self.skipped.first.is_none() {
            if let HistoryError::Malformed { location, reason } = error {
                self.skipped.first = Some((location, reason));
            }
        }
        Ok(())
    }
}

/// Why a file whose last line has no newline is refused, in the formats whose lines do not
/// say where they end (a value `4` may have been `42`).
pub(crate) const CUT_MID_LINE: &str =
    "the last line has no newline: the file looks cut mid-line (a truncated copy?)";
