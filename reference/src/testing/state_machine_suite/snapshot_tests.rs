//! The snapshot cases against a small test-local machine that snapshots, and against broken
//! variants of it that the suite must catch by name; a machine without snapshots is reported
//! unsupported, not failed.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::snapshot::SnapshotSource;
use crate::testing::Outcome;

/// What is wrong with a [`Tally`].
#[derive(Clone, Copy, PartialEq, Debug)]
enum Defect {
    None,
    /// `snapshot` returns `None`: snapshots unsupported (not a defect, an option).
    NoSnapshots,
    /// Writes its counts in an order that depends on the instance, as hash-map iteration
    /// would.
    NondeterministicBytes,
    /// Leaves the applied count (which `read` answers with) out of the snapshot.
    ForgetsTheAppliedCount,
    /// `restore` unwraps the decoding.
    PanicsOnGarbage,
    /// `restore` takes a snapshot it cannot decode as the empty state.
    AcceptsTruncated,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// Counters by key; `read` answers with the value and how many commands were applied.
struct Tally {
    counts: BTreeMap<String, u64>,
    applied: u64,
    defect: Defect,
    instance: u64,
}

type Encoded = (u64, Vec<(String, u64)>);

struct TallySnapshot(Vec<u8>);

impl SnapshotSource for TallySnapshot {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(&self.0)
    }
}

fn decode(bytes: &[u8]) -> io::Result<Encoded> {
    match postcard::take_from_bytes::<Encoded>(bytes) {
        Ok((state, [])) => Ok(state),
        Ok((_, rest)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} stray bytes after the state", rest.len()),
        )),
        Err(error) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
    }
}

impl StateMachine for Tally {
    fn apply(&mut self, _index: LogIndex, command: &[u8]) -> Vec<u8> {
        self.applied += 1;
        let text = String::from_utf8_lossy(command);
        let words: Vec<&str> = text.split(' ').collect();
        match words[..] {
            ["add", key, n] => {
                let count = self.counts.entry(key.to_string()).or_default();
                *count += n.parse::<u64>().unwrap_or(0);
                count.to_string().into_bytes()
            }
            ["reset", key] => format!("{:?}", self.counts.remove(key)).into_bytes(),
            ["read", key] => format!("{:?}@{}", self.counts.get(key), self.applied).into_bytes(),
            _ => b"?".to_vec(),
        }
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        let key = String::from_utf8_lossy(query);
        Some(format!("{:?}", self.counts.get(key.as_ref())).into_bytes())
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        let mut counts: Vec<(String, u64)> =
            self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut applied = self.applied;
        match self.defect {
            Defect::NoSnapshots => return None,
            Defect::NondeterministicBytes if self.instance % 2 == 1 => counts.reverse(),
            Defect::ForgetsTheAppliedCount => applied = 0,
            _ => {}
        }
        let bytes = postcard::to_allocvec(&(applied, counts)).expect("a tally encodes");
        Some(Box::new(TallySnapshot(bytes)))
    }

    fn restore(&mut self, _index: LogIndex, data: &mut dyn io::Read) -> io::Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let (applied, counts) = match self.defect {
            Defect::PanicsOnGarbage => decode(&bytes).expect("a valid snapshot"),
            Defect::AcceptsTruncated => decode(&bytes).unwrap_or_default(),
            _ => decode(&bytes)?,
        };
        self.applied = applied;
        self.counts = counts.into_iter().collect();
        Ok(())
    }
}

struct TallyFactory(Defect);

const KINDS: [&str; 3] = ["add", "reset", "read"];

impl StateMachineFactory for TallyFactory {
    type Machine = Tally;
    fn create(&mut self) -> Tally {
        Tally {
            counts: BTreeMap::new(),
            applied: 0,
            defect: self.0,
            instance: INSTANCES.fetch_add(1, Ordering::SeqCst),
        }
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        KINDS.to_vec()
    }
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
        let key = ["a", "b", "c", "d"][(seed % 4) as usize];
        match KINDS[kind] {
            "add" => format!("add {key} {}", seed % 10),
            "reset" => format!("reset {key}"),
            _ => format!("read {key}"),
        }
        .into_bytes()
    }
    fn digest(&self, machine: &Tally) -> Option<Vec<u8>> {
        Some(format!("{:?}@{}", machine.counts, machine.applied).into_bytes())
    }
    fn queries(&self) -> Vec<Vec<u8>> {
        ["a", "b", "c", "d"]
            .map(|key| key.as_bytes().to_vec())
            .to_vec()
    }
}

fn failed_cases(defect: Defect) -> Vec<&'static str> {
    let report = run(&mut TallyFactory(defect));
    assert_eq!(report.cases.len(), case_names().len());
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn a_snapshotting_machine_passes_every_case() {
    let report = run(&mut TallyFactory(Defect::None));
    report.assert_all_passed();
    assert!(report.unsupported().is_empty(), "{report}");
    for case in SNAPSHOT_CASES {
        assert!(case_names().contains(&case), "{case}");
    }
}

#[test]
fn a_machine_without_snapshots_is_reported_unsupported_not_failed() {
    let report = run(&mut TallyFactory(Defect::NoSnapshots));
    report.assert_all_passed();
    let unsupported: Vec<_> = report.unsupported().iter().map(|case| case.name).collect();
    assert_eq!(unsupported, SNAPSHOT_CASES);
    for case in report.unsupported() {
        assert_eq!(
            case.outcome,
            Outcome::Unsupported(SNAPSHOTS_UNSUPPORTED.into())
        );
    }
    assert!(report.to_string().contains("3 unsupported"), "{report}");
}

#[test]
fn nondeterministic_snapshot_bytes_are_caught() {
    assert_eq!(
        failed_cases(Defect::NondeterministicBytes),
        ["snapshots_are_deterministic"]
    );
}

#[test]
fn a_snapshot_missing_state_is_caught() {
    let failures = failed_cases(Defect::ForgetsTheAppliedCount);
    assert!(
        failures.contains(&"snapshot_restore_round_trip"),
        "{failures:?}"
    );
}

#[test]
fn a_panic_on_a_garbage_snapshot_is_caught() {
    assert_eq!(
        failed_cases(Defect::PanicsOnGarbage),
        ["restore_of_garbage_is_an_error_not_a_panic"]
    );
}

#[test]
fn a_truncated_snapshot_taken_as_a_state_is_caught() {
    assert_eq!(
        failed_cases(Defect::AcceptsTruncated),
        ["restore_of_garbage_is_an_error_not_a_panic"]
    );
}
