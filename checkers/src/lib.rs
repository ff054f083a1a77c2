//! Histories and checkers (see issue 3).
//!
//! - [`history`]: the history model ([`Op`], [`OpType`], [`Value`], [`History`]) and the
//!   pairing of invocations and completions into [`Operation`]s.
//! - [`import`] and [`export`]: the native JSON-lines format, Jepsen's EDN and log formats,
//!   and `jepsen.independent` `[key value]` tuples unwrapped into keys.
//! - [`model`]: Porcupine-style models (register, cas-register, key-value) and the
//!   conventions histories are recorded under.
//! - [`linearizability`]: the checker, with counterexamples.
//! - [`elle`]: the transactional checker (list-append, rw-register): dependency cycles and
//!   the anomalies and consistency models they name.
//! - [`direct`]: small checkers of the bank, set, counter and unique-ids workloads.
//! - [`registry`]: the service registry's check (watches complete and in order, each
//!   operation legal at the revision it names, revisions never back in real time).
//! - [`stream`]: the same check on a JSON-lines file streamed from disk, in memory that does
//!   not grow with the history.
//! - [`synthetic`]: generated histories for benchmarks and scale tests.
//!
//! ```
//! use rafty_checkers::{CasRegister, CheckOptions, Convention, History, Op, OpType, Process,
//!     Value, Verdict, check};
//!
//! let p = Process::Client(0);
//! let history = History::from_ops([
//!     Op::new(p.clone(), OpType::Invoke, "write", Value::Int(1)),
//!     Op::new(p.clone(), OpType::Ok, "write", Value::Int(1)),
//!     Op::new(p.clone(), OpType::Invoke, "read", Value::Nil),
//!     Op::new(p, OpType::Ok, "read", Value::Int(2)),
//! ]);
//! let model = CasRegister::new(Convention::Native);
//! let result = check(&model, &history, &CheckOptions::default()).unwrap();
//! assert_eq!(result.valid, Verdict::NotLinearizable);
//! ```
#![warn(missing_docs)]

pub mod direct;
pub(crate) mod edn;
pub mod elle;
pub mod error;
pub mod export;
pub mod history;
pub mod import;
pub mod linearizability;
pub mod model;
pub mod registry;
pub mod stream;
pub mod synthetic;
pub mod value;

pub use error::{HistoryError, Location};
pub use history::{Function, History, Op, OpType, Operation, Outcome, Process};
pub use import::{Format, Independent};
pub use linearizability::{CheckOptions, CheckResult, Counterexample, Verdict, check};
pub use model::{CasRegister, Convention, KeyValue, Model, ModelKind, PerKey, Register};
pub use value::Value;
