//! What a workload is: the [`Workload`] trait each kind implements in a file of its own under
//! [`crate::kinds`], and [`WorkloadKind`], the cheap handle configurations carry.

use std::fmt;
use std::str::FromStr;

use rafty_checkers::direct::DirectModel;
use rafty_checkers::elle::TxnModel;
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

/// The checker that judges a workload's histories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judge {
    /// Linearizability under a model (the key-value workloads).
    Linearizable(ModelKind),
    /// The Elle-style transactional checker, against strict serializability.
    Elle(TxnModel),
    /// A small direct checker (bank, set, counter, unique-ids).
    Direct(DirectModel),
    /// The service registry's checker (`rafty_checkers::registry`), its config keys by
    /// cas-register linearizability.
    Registry,
}

impl Judge {
    /// The checker's name, as `rafty check --model` takes it: `kv`, `list-append`, `bank`...
    pub fn name(self) -> &'static str {
        match self {
            Judge::Linearizable(model) => model.name(),
            Judge::Elle(model) => model.name(),
            Judge::Direct(model) => model.name(),
            Judge::Registry => "registry",
        }
    }
}

/// What a client's generator hands a transactional workload when it asks for a transaction.
pub struct TxnDraws<'a> {
    /// The client's number.
    pub client: u64,
    /// The workload's knobs.
    pub config: &'a WorkloadConfig,
    /// The first of the keys active now (`config.key_count` of them, numbered on): the window
    /// moves one key on every `config.key_rotation` operations of this client.
    pub first_key: usize,
    /// Values this client drew so far (for [`TxnDraws::unique`]).
    pub drawn: &'a mut u64,
    /// The client's seeded generator.
    pub rng: &'a mut ChaCha8Rng,
}

impl TxnDraws<'_> {
    /// A value no other draw of any client of the run gives: `n * concurrency + client + 1`
    /// for this client's `n`-th draw.
    pub fn unique(&mut self) -> i64 {
        let value = *self.drawn * self.config.concurrency as u64 + self.client + 1;
        *self.drawn += 1;
        value as i64
    }

    /// One of the active keys, uniformly.
    pub fn key(&mut self) -> String {
        crate::generator::key_name(self.first_key + self.rng.random_range(0..self.config.key_count))
    }

    /// Whether the next micro-operation reads, by the mix's read and write weights.
    pub fn reads(&mut self) -> bool {
        let mix = self.config.mix;
        self.rng.random_range(0..mix.read + mix.write) < mix.read
    }

    /// How many micro-operations the next transaction has: uniform in `1..=txn_ops`.
    pub fn mop_count(&mut self) -> usize {
        self.rng.random_range(1..=self.config.txn_ops)
    }
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

    /// The checker that judges its histories: by default linearizability under
    /// [`Workload::model`].
    fn judge(&self) -> Judge {
        Judge::Linearizable(self.model())
    }

    /// How many keys it spreads over by default.
    fn default_keys(&self) -> usize {
        8
    }

    /// Every how many of a client's operations its active keys move one key on, by default
    /// (0: they never move).
    fn default_key_rotation(&self) -> u64 {
        0
    }

    /// The next operation of a transactional workload, drawn whole (keys, micro-operations,
    /// values); `None` (the default, drawing nothing) leaves it to [`Workload::read`],
    /// [`Workload::write`] and [`Workload::cas`].
    fn transaction(&self, draws: TxnDraws<'_>) -> Option<ClientOp> {
        let _ = draws;
        None
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

    /// The final read of `key` in a run with `config`: by default [`Workload::read`].
    fn final_read(&self, key: String, config: &WorkloadConfig) -> ClientOp {
        let _ = config;
        self.read(key)
    }

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

    /// The checker that judges this workload's histories.
    pub fn judge(self) -> Judge {
        self.workload().judge()
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
        let error = "banks".parse::<WorkloadKind>().unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown workload \"banks\""), "{text}");
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
        let error = serde_json::from_str::<WorkloadKind>("\"banks\"").unwrap_err();
        assert!(error.to_string().contains("banks"), "{error}");
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
            if !matches!(kind.judge(), Judge::Linearizable(_)) {
                continue;
            }
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
