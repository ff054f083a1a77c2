//! What a workload is: the [`Workload`] trait each kind implements in a file of its own under
//! [`crate::kinds`], and [`WorkloadKind`], the cheap handle configurations carry.

use std::fmt;
use std::str::FromStr;

use rafty_checkers::model::ModelKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{ConfigError, WorkloadConfig};
use crate::generator::REGISTER_VALUES;
use crate::kinds::KINDS;
use crate::op::ClientOp;

/// What a client's generator hands a workload when it asks for an operation.
pub struct Draws<'a> {
    /// The client's number.
    pub client: u64,
    /// How many writes this client issued before this one (from 1 for the first write).
    pub writes: u64,
    /// The client's seeded generator.
    pub rng: &'a mut ChaCha8Rng,
}

/// One kind of workload. Implement it in one file under `workloads/src/kinds/` and add one line
/// to the registry there; the command line, the generator and the reports know workloads only
/// through this trait.
pub trait Workload: Sync + 'static {
    /// The name on the command line (`--workload NAME`) and in results.
    fn name(&self) -> &'static str;

    /// One line for `rafty test --help`.
    fn summary(&self) -> &'static str;

    /// The `rafty-checkers` model the harness judges its histories with. The ops are recorded
    /// under the key-value functions (`get`, `put`, `cas`, `append`, each with its key), so a
    /// workload on rafty's key-value state machine is judged by [`ModelKind::Kv`], key by key.
    fn model(&self) -> ModelKind;

    /// How many keys it spreads over by default.
    fn default_keys(&self) -> usize {
        8
    }

    /// Whether it issues compare-and-sets (the mix's cas weight counts only then).
    fn issues_cas(&self) -> bool;

    /// Refuse knobs this workload cannot run with, naming the knob (the common ones are checked
    /// by [`WorkloadConfig::validate`]).
    fn validate(&self, config: &WorkloadConfig) -> Result<(), ConfigError> {
        let _ = config;
        Ok(())
    }

    /// A read of `key` (also the final reads).
    fn read(&self, key: String) -> ClientOp;

    /// A write to `key`.
    fn write(&self, key: String, draws: Draws<'_>) -> ClientOp;

    /// A compare-and-set on `key` (only asked when [`Workload::issues_cas`]): by default an
    /// integer register's, with values drawn as writes draw them.
    fn cas(&self, key: String, draws: Draws<'_>) -> ClientOp {
        ClientOp::Cas {
            key,
            expected: draws.rng.random_range(0..REGISTER_VALUES),
            new: draws.rng.random_range(0..REGISTER_VALUES),
        }
    }
}

/// A registered workload: a cheap handle on its [`Workload`], ordered as the registry lists
/// them; serialized as its name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKind {
    index: usize,
}

impl WorkloadKind {
    /// Every registered workload, in the registry's order.
    pub fn every() -> impl Iterator<Item = WorkloadKind> {
        (0..KINDS.len()).map(|index| WorkloadKind { index })
    }

    /// The registered workload named `name`, if any.
    pub fn named(name: &str) -> Option<WorkloadKind> {
        WorkloadKind::every().find(|kind| kind.name() == name)
    }

    /// The workload's behaviour.
    pub fn workload(self) -> &'static dyn Workload {
        KINDS[self.index]
    }

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        self.workload().name()
    }

    /// The `rafty-checkers` model that judges this workload's histories.
    pub fn model(self) -> ModelKind {
        self.workload().model()
    }

    /// The `--workload` help: every registered workload with its summary.
    pub fn help() -> String {
        let mut text = String::from("The workload, one of:");
        for kind in WorkloadKind::every() {
            text += &format!("\n  {}: {}", kind.name(), kind.workload().summary());
        }
        text
    }
}

impl fmt::Debug for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WorkloadKind {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WorkloadKind::named(text).ok_or_else(|| {
            let names: Vec<_> = WorkloadKind::every().map(WorkloadKind::name).collect();
            ConfigError {
                field: "workload",
                reason: format!(
                    "unknown workload {text:?}; expected one of: {}",
                    names.join(", ")
                ),
            }
        })
    }
}

impl Serialize for WorkloadKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for WorkloadKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names_and_reject_others() {
        for kind in WorkloadKind::every() {
            assert_eq!(kind.name().parse::<WorkloadKind>(), Ok(kind));
        }
        let error = "bank".parse::<WorkloadKind>().unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown workload \"bank\""), "{text}");
        for kind in WorkloadKind::every() {
            assert!(text.contains(kind.name()), "{text}");
        }
    }

    #[test]
    fn kinds_serialize_as_their_names_and_back() {
        for kind in WorkloadKind::every() {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(serde_json::from_str::<WorkloadKind>(&json).unwrap(), kind);
        }
        let error = serde_json::from_str::<WorkloadKind>("\"bank\"").unwrap_err();
        assert!(error.to_string().contains("bank"), "{error}");
    }

    #[test]
    fn the_help_lists_every_workload() {
        let help = WorkloadKind::help();
        for kind in WorkloadKind::every() {
            assert!(help.contains(&format!("{}: ", kind.name())), "{help}");
        }
    }
}

#[cfg(test)]
mod judged_by {
    use rafty_checkers::linearizability::CheckOptions;
    use rafty_checkers::model::Convention;
    use rafty_checkers::{History, Verdict};
    use rand::SeedableRng;

    use super::*;
    use crate::op::OpResult;
    use rafty_checkers::Value;

    /// Every workload's model knows every operation the workload issues: a history of its
    /// reads (observing the empty start), writes and cas (indeterminate) is checked, not
    /// refused as unsupported.
    #[test]
    fn each_workload_is_judged_by_a_model_that_knows_its_operations() {
        for kind in WorkloadKind::every() {
            let workload = kind.workload();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut ops = vec![(workload.read("k".into()), OpResult::Ok(Value::Nil))];
            let draws = Draws {
                client: 0,
                writes: 1,
                rng: &mut rng,
            };
            ops.push((
                workload.write("k".into(), draws),
                OpResult::Info("?".into()),
            ));
            if workload.issues_cas() {
                let draws = Draws {
                    client: 0,
                    writes: 2,
                    rng: &mut rng,
                };
                ops.push((workload.cas("k".into(), draws), OpResult::Info("?".into())));
            }
            let mut events = Vec::new();
            for (process, (op, result)) in ops.iter().enumerate() {
                let process = process as u64;
                events.push(op.invoke(process, 10 * process));
                events.push(op.complete(process, 10 * process + 5, result));
            }
            let history = History::from_ops(events);
            let checked = kind
                .model()
                .check(Convention::Native, &history, &CheckOptions::default())
                .unwrap_or_else(|error| panic!("{kind}: its model refused its ops: {error}"));
            assert_eq!(checked.valid, Verdict::Linearizable, "{kind}");
        }
    }
}
