//! Reports (see issue 6).
#![warn(missing_docs)]
