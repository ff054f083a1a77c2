//! Workloads (see issue 4).
#![warn(missing_docs)]
