//! The rafty harness (see issue 4).
#![warn(missing_docs)]
