//! How a history's `fail` completions and `nil` reads are read.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The recording convention a history follows. Each importer picks its format's by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// Knossos's (Jepsen EDN): `fail` ops did not happen and are dropped; a read that
    /// completes with `nil` is unconstrained; registers start as `nil`.
    Knossos,
    /// Porcupine's (its etcd and kv tests): a `nil` read means empty; a failed `cas` executed
    /// and observed a value other than the one expected; a failed read is indeterminate;
    /// other failed ops did not happen; keys of a key-value map start as the empty string.
    Porcupine,
    /// rafty's own (the native format): `fail` ops did not happen; a read returns exactly what
    /// is there, `nil` meaning absent; everything starts as `nil`.
    Native,
}

impl Convention {
    /// The convention's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Convention::Knossos => "knossos",
            Convention::Porcupine => "porcupine",
            Convention::Native => "native",
        }
    }

    /// Whether an `ok` read of `nil` constrains nothing.
    pub fn nil_read_is_unconstrained(self) -> bool {
        self == Convention::Knossos
    }

    /// Whether a failed `cas` executed and observed a value other than the expected one
    /// (otherwise it did not happen).
    pub fn failed_cas_observed_other_value(self) -> bool {
        self == Convention::Porcupine
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Convention {
    type Err = String;

    fn from_str(name: &str) -> Result<Convention, String> {
        match name {
            "knossos" => Ok(Convention::Knossos),
            "porcupine" => Ok(Convention::Porcupine),
            "native" => Ok(Convention::Native),
            _ => Err(format!(
                "unknown convention '{name}' (expected knossos, porcupine or native)"
            )),
        }
    }
}
