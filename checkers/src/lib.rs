//! Histories and checkers (see issue 3).
#![warn(missing_docs)]
