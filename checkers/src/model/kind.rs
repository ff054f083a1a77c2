//! The shipped models by name, for the command line.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::HistoryError;
use crate::history::History;
use crate::linearizability::{self, CheckOptions, CheckResult};
use crate::model::{CasRegister, Convention, KeyValue, Model, PerKey, Register};
use crate::stream::{self, Progress, StreamOptions, Streamed};

/// One of the shipped models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// [`Register`].
    Register,
    /// [`CasRegister`].
    CasRegister,
    /// [`KeyValue`], partitioned per key.
    Kv,
}

impl ModelKind {
    /// Every shipped model.
    pub const ALL: [ModelKind; 3] = [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
        }
    }

    /// Checks `history` for linearizability under this model and `convention`.
    pub fn check(
        self,
        convention: Convention,
        history: &History,
        options: &CheckOptions,
    ) -> Result<CheckResult, HistoryError> {
        self.check_as(convention, false, history, options)
    }

    /// Checks `history` with each key as its own object ([`PerKey`]), as a
    /// `jepsen.independent` history unwrapped by
    /// [`unwrap_tuples`](crate::import::unwrap_tuples) needs: a register or cas-register per
    /// key (the key-value map is per key already). Every checked op needs a key.
    pub fn check_per_key(
        self,
        convention: Convention,
        history: &History,
        options: &CheckOptions,
    ) -> Result<CheckResult, HistoryError> {
        self.check_as(convention, true, history, options)
    }

    /// Checks the history at `path` under this model and `convention`, streaming it from
    /// disk ([`stream::check_file`]); one object per key when `stream.independent`, as
    /// [`check_per_key`](Self::check_per_key) checks.
    pub fn check_file(
        self,
        convention: Convention,
        path: &Path,
        options: &CheckOptions,
        stream: &StreamOptions,
        progress: &dyn Progress,
    ) -> Result<Streamed, HistoryError> {
        fn run<M: Model>(
            model: M,
            per_key: bool,
            path: &Path,
            options: &CheckOptions,
            stream: &StreamOptions,
            progress: &dyn Progress,
        ) -> Result<Streamed, HistoryError> {
            if per_key {
                stream::check_file(&PerKey(model), path, options, stream, progress)
            } else {
                stream::check_file(&model, path, options, stream, progress)
            }
        }
        let per_key = stream.independent;
        match self {
            ModelKind::Register => run(
                Register::new(convention),
                per_key,
                path,
                options,
                stream,
                progress,
            ),
            ModelKind::CasRegister => run(
                CasRegister::new(convention),
                per_key,
                path,
                options,
                stream,
                progress,
            ),
            // Its calls are keyed already.
            ModelKind::Kv => {
                stream::check_file(&KeyValue::new(convention), path, options, stream, progress)
            }
        }
    }

    /// [`check`](Self::check), or [`check_per_key`](Self::check_per_key) when `per_key`.
    fn check_as(
        self,
        convention: Convention,
        per_key: bool,
        history: &History,
        options: &CheckOptions,
    ) -> Result<CheckResult, HistoryError> {
        fn run<M: Model>(
            model: M,
            per_key: bool,
            history: &History,
            options: &CheckOptions,
        ) -> Result<CheckResult, HistoryError> {
            if per_key {
                linearizability::check(&PerKey(model), history, options)
            } else {
                linearizability::check(&model, history, options)
            }
        }
        match self {
            ModelKind::Register => run(Register::new(convention), per_key, history, options),
            ModelKind::CasRegister => run(CasRegister::new(convention), per_key, history, options),
            ModelKind::Kv => linearizability::check(&KeyValue::new(convention), history, options),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(name: &str) -> Result<ModelKind, String> {
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                format!("unknown model '{name}' (expected register, cas-register or kv)")
            })
    }
}
