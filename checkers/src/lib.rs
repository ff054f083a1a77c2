//! Histories and checkers (see issue 3).
//!
//! - [`history`]: the history model ([`Op`], [`OpType`], [`Value`], [`History`]) and the
//!   pairing of invocations and completions into [`Operation`]s.
#![warn(missing_docs)]

pub mod error;
pub mod history;
pub mod value;

pub use error::{HistoryError, Location};
pub use history::{Function, History, Op, OpType, Operation, Outcome, Process};
pub use value::Value;
