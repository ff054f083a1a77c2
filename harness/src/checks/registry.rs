//! The service registry's history check (`--workload registry` in the simulation, and the
//! real-process registry run): `rafty_checkers::registry` on the instance sets and watches,
//! and linearizability of the config keys under the cas-register model. The result goes where
//! a key-value run's linearizability result goes (`results.json`'s `checks.linearizability`),
//! with `checker: "registry"`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rafty_checkers::registry::{RegistryReport, check_registry};
use rafty_checkers::{
    CasRegister, CheckOptions, Convention, History, OpType, PerKey, Process, Verdict, check,
};
use serde_json::json;

use crate::run::results::Validity;
use crate::sim::recorder::spool_ops;

/// Check the history at `path` as a simulated run's judge wants it: the result as JSON and
/// its validity (unknown, naming why, when the history cannot be read).
pub fn check_file(path: &Path, time_limit: Duration) -> (serde_json::Value, Validity) {
    match judge(path, time_limit) {
        Ok(judged) => {
            let validity = match judged.verdict() {
                "valid" => Validity::Valid,
                "invalid" => Validity::Invalid,
                _ => Validity::Unknown,
            };
            (judged.to_json(), validity)
        }
        Err(error) => (
            json!({ "valid": "unknown", "checker": "registry", "error": error }),
            Validity::Unknown,
        ),
    }
}

impl Judged {
    /// Both checks as JSON (`valid` is `true`, `false` or `"unknown"`, as elsewhere).
    pub fn to_json(&self) -> serde_json::Value {
        let valid = match self.verdict() {
            "valid" => json!(true),
            "invalid" => json!(false),
            _ => json!("unknown"),
        };
        json!({
            "valid": valid,
            "checker": "registry",
            "operations": self.counts,
            "registry": self.registry_json(),
            "config": self.config_json(),
        })
    }

    /// The registry checker's report as JSON (`valid` is `true`, `false` or `"unknown"`).
    pub fn registry_json(&self) -> serde_json::Value {
        let registry = &self.registry;
        json!({
            "valid": match registry.verdict() {
                "valid" => json!(true),
                "invalid" => json!(false),
                _ => json!("unknown"),
            },
            "checked": registry.checked,
            "changes": registry.changes,
            "problem_count": registry.problem_count,
            "problems": registry.problems,
            "unknown_count": registry.unknown_count,
            "unknown": registry.unknown,
            "watchers": registry.watchers,
        })
    }

    /// The config keys' linearizability as JSON.
    pub fn config_json(&self) -> serde_json::Value {
        json!({
            "model": "cas-register",
            "valid": self.config.0,
            "operations": self.config.1,
            "reason": self.config.2,
        })
    }
}

/// Both checks' findings.
pub struct Judged {
    /// The registry checker's report (instance sets and watches).
    pub registry: RegistryReport,
    /// The config keys' linearizability: verdict, operations checked, reason.
    pub config: (String, usize, Option<String>),
    /// Client completions by function and type.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Judged {
    /// `valid`, `invalid` or `unknown`: invalid when either check found a problem, valid when
    /// both are valid.
    pub fn verdict(&self) -> &'static str {
        match (self.registry.verdict(), self.config.0.as_str()) {
            ("invalid", _) | (_, "not linearizable") => "invalid",
            ("valid", "linearizable") => "valid",
            _ => "unknown",
        }
    }
}

/// Judge the history at `path`: the registry check on everything, linearizability of the
/// config keys (searching at most `time_limit`). An unreadable history is an error naming it.
pub fn judge(path: &Path, time_limit: Duration) -> Result<Judged, String> {
    let mut history = History::from_source(path.display().to_string());
    let mut config = History::from_source(path.display().to_string());
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let ops = spool_ops(path).map_err(|error| error.to_string())?;
    for recorded in ops {
        let op = recorded.map_err(|error| error.to_string())?.op;
        if let Process::Client(_) = op.process {
            if op.kind != OpType::Invoke {
                *counts
                    .entry(op.f.to_string())
                    .or_default()
                    .entry(op.kind.to_string())
                    .or_default() += 1;
            }
            if ["read", "write", "cas"].contains(&op.f.as_str()) && op.key.is_some() {
                config.push(op.clone());
            }
        }
        history.push(op);
    }
    let registry = check_registry(&history).map_err(|error| error.to_string())?;
    let options = CheckOptions {
        time_limit: Some(time_limit),
        ..CheckOptions::default()
    };
    let model = PerKey(CasRegister::new(Convention::Native));
    let result = check(&model, &config, &options).map_err(|error| error.to_string())?;
    let verdict = match result.valid {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable => "not linearizable",
        Verdict::Unknown => "unknown",
    };
    Ok(Judged {
        registry,
        config: (verdict.to_owned(), result.operations, result.reason),
        counts,
    })
}
