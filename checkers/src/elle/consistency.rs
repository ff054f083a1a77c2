//! Consistency models as targets, and which anomalies rule out which models.
//!
//! The models form a hierarchy (a history that satisfies a stronger model satisfies every
//! weaker one): read-uncommitted < read-committed < repeatable-read, snapshot-isolation <
//! serializable < strict-serializable. An anomaly rules out the weakest models that
//! proscribe it and every model stronger than those. The proscriptions follow Adya's
//! definitions as Elle reads them: G0 is read-uncommitted's; G1a, G1b and G1c are
//! read-committed's; G-single is snapshot isolation's (and repeatable read's, as a special
//! case of G2-item); G2-item is repeatable read's; a transaction that disagrees with itself
//! rules out snapshot isolation (Cerone); any cycle that needs process or real-time order
//! rules out only strict serializability.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::elle::anomaly::AnomalyKind;

/// A transactional consistency model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsistencyModel {
    /// Adya's PL-1: no G0.
    ReadUncommitted,
    /// Adya's PL-2: no G1.
    ReadCommitted,
    /// Adya's PL-2.99: no G1, no G2-item.
    RepeatableRead,
    /// Snapshot isolation: no G1, no G-single, internally consistent.
    SnapshotIsolation,
    /// Conflict serializability (Adya's PL-3): no G1, no G2.
    Serializable,
    /// Serializable in an order consistent with real time.
    StrictSerializable,
}

impl ConsistencyModel {
    /// Every model, weakest first.
    pub const ALL: [ConsistencyModel; 6] = [
        ConsistencyModel::ReadUncommitted,
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::RepeatableRead,
        ConsistencyModel::SnapshotIsolation,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrictSerializable,
    ];

    /// Its name (`read-committed`, `strict-serializable`...).
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyModel::ReadUncommitted => "read-uncommitted",
            ConsistencyModel::ReadCommitted => "read-committed",
            ConsistencyModel::RepeatableRead => "repeatable-read",
            ConsistencyModel::SnapshotIsolation => "snapshot-isolation",
            ConsistencyModel::Serializable => "serializable",
            ConsistencyModel::StrictSerializable => "strict-serializable",
        }
    }

    /// Whether a history satisfying `self` satisfies `weaker` too.
    pub fn implies(self, weaker: ConsistencyModel) -> bool {
        use ConsistencyModel::*;
        self == weaker
            || match self {
                ReadUncommitted => false,
                ReadCommitted => weaker == ReadUncommitted,
                RepeatableRead | SnapshotIsolation => {
                    matches!(weaker, ReadUncommitted | ReadCommitted)
                }
                Serializable => weaker != StrictSerializable,
                StrictSerializable => true,
            }
    }

    /// Whether `anomaly` rules out this model.
    pub fn ruled_out_by(self, anomaly: AnomalyKind) -> bool {
        weakest_proscribing(anomaly)
            .iter()
            .any(|weakest| self.implies(*weakest))
    }
}

/// The weakest models that proscribe `anomaly` (every stronger model does too).
fn weakest_proscribing(anomaly: AnomalyKind) -> &'static [ConsistencyModel] {
    use AnomalyKind::*;
    use ConsistencyModel::*;
    match anomaly {
        G0 | DuplicateElements | GarbageRead => &[ReadUncommitted],
        G1a | G1b | G1c | DirtyUpdate | IncompatibleOrder | FutureRead => &[ReadCommitted],
        GSingle => &[RepeatableRead, SnapshotIsolation],
        G2Item => &[RepeatableRead],
        Internal => &[SnapshotIsolation],
        G0Process | G1cProcess | GSingleProcess | G2ItemProcess | G0Realtime | G1cRealtime
        | GSingleRealtime | G2ItemRealtime | CycleExists => &[StrictSerializable],
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConsistencyModel {
    type Err = String;

    fn from_str(name: &str) -> Result<ConsistencyModel, String> {
        ConsistencyModel::ALL
            .into_iter()
            .find(|model| model.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown consistency model '{name}' (expected {})",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for ConsistencyModel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsistencyModel::*;

    fn ruled_out(anomaly: AnomalyKind) -> Vec<ConsistencyModel> {
        ConsistencyModel::ALL
            .into_iter()
            .filter(|model| model.ruled_out_by(anomaly))
            .collect()
    }

    #[test]
    fn g0_rules_out_every_model() {
        assert_eq!(ruled_out(AnomalyKind::G0), ConsistencyModel::ALL.to_vec());
    }

    #[test]
    fn g2_item_leaves_snapshot_isolation_standing() {
        assert_eq!(
            ruled_out(AnomalyKind::G2Item),
            vec![RepeatableRead, Serializable, StrictSerializable]
        );
    }

    #[test]
    fn g_single_rules_out_snapshot_isolation_and_repeatable_read() {
        assert_eq!(
            ruled_out(AnomalyKind::GSingle),
            vec![
                RepeatableRead,
                SnapshotIsolation,
                Serializable,
                StrictSerializable
            ]
        );
    }

    #[test]
    fn a_realtime_cycle_rules_out_only_strict_serializability() {
        assert_eq!(
            ruled_out(AnomalyKind::G2ItemRealtime),
            vec![StrictSerializable]
        );
        assert_eq!(ruled_out(AnomalyKind::G0Process), vec![StrictSerializable]);
    }

    #[test]
    fn g1_rules_out_read_committed_but_not_read_uncommitted() {
        for anomaly in [AnomalyKind::G1a, AnomalyKind::G1b, AnomalyKind::G1c] {
            assert_eq!(ruled_out(anomaly)[0], ReadCommitted);
        }
    }

    #[test]
    fn names_parse_back() {
        for model in ConsistencyModel::ALL {
            assert_eq!(model.name().parse::<ConsistencyModel>(), Ok(model));
        }
        assert!("linearizable".parse::<ConsistencyModel>().is_err());
    }
}
