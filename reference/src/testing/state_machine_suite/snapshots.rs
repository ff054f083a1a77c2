//! The state machine suite's snapshot cases ([`StateMachine::snapshot`] and
//! [`StateMachine::restore`], Raft §7). A machine whose `snapshot` returns `None` does not
//! support snapshots: the suite records these cases as unsupported instead of running them.

use super::StateMachineFactory;
use super::cases::{apply, expect_same_state, mix, mixed};
use crate::state_machine::StateMachine;
use crate::types::LogIndex;

/// The snapshot of `machine`'s current state, as bytes; `Err` if it has no snapshot or
/// cannot write it.
fn snapshot_bytes(machine: &impl StateMachine, when: &str) -> Result<Vec<u8>, String> {
    let source = machine.snapshot().ok_or_else(|| {
        format!(
            "snapshot() returned None {when}, but Some for a new machine: a machine supports \
             snapshots always or never"
        )
    })?;
    let mut bytes = Vec::new();
    source
        .write_to(&mut bytes)
        .map_err(|error| format!("writing the snapshot {when} failed: {error}"))?;
    Ok(bytes)
}

/// A machine restored from `bytes` (through `index`), on a machine that first applied
/// `before` (whose state the restore must replace whole).
fn restored<F: StateMachineFactory>(
    factory: &mut F,
    index: LogIndex,
    bytes: &[u8],
    before: &[(&'static str, Vec<u8>)],
) -> Result<F::Machine, String> {
    let mut machine = factory.create();
    for (position, (_, command)) in before.iter().enumerate() {
        machine.apply(position as LogIndex + 1, command);
    }
    machine
        .restore(index, &mut &bytes[..])
        .map_err(|error| format!("restore of a {}-byte snapshot failed: {error}", bytes.len()))?;
    Ok(machine)
}

/// Apply `commands` from `first_index` on to both machines, comparing each response, then
/// the states.
fn apply_to_both<F: StateMachineFactory>(
    factory: &F,
    original: &mut F::Machine,
    restored: &mut F::Machine,
    first_index: LogIndex,
    commands: &[(&'static str, Vec<u8>)],
) -> Result<(), String> {
    for (position, (kind, command)) in commands.iter().enumerate() {
        let index = first_index + position as LogIndex;
        let (left, right) = (
            apply(original, index, command),
            apply(restored, index, command),
        );
        if left.response != right.response {
            return Err(format!(
                "after the restore, the {kind} command at index {index} got {:?}; the original \
                 machine answered {:?}: the snapshot misses state that apply depends on",
                right.response, left.response
            ));
        }
    }
    expect_same_state(
        factory,
        "after applying the same commands to both",
        original,
        restored,
    )
}

/// §7: a machine restored from a snapshot is the original's twin: same state, same answers to
/// queries, and it applies every later command exactly as the original (the same responses).
/// A restore replaces the whole state, whatever the machine held before.
pub fn snapshot_restore_round_trip<F: StateMachineFactory>(factory: &mut F) -> Result<(), String> {
    let commands = mixed(factory, 200, 11)?;
    let mut original = factory.create();
    for (position, (_, command)) in commands.iter().enumerate() {
        original.apply(position as LogIndex + 1, command);
    }
    let bytes = snapshot_bytes(&original, "after 200 commands")?;
    let other_state = mixed(factory, 50, 12)?;
    for (what, before) in [
        ("a new machine", &[][..]),
        ("a machine with state", &other_state[..]),
    ] {
        let mut copy = restored(factory, 200, &bytes, before)
            .map_err(|error| format!("restoring into {what}: {error}"))?;
        expect_same_state(factory, &format!("restored into {what}"), &original, &copy)?;
        for query in factory.queries() {
            let (left, right) = (original.query(&query), copy.query(&query));
            if left != right {
                return Err(format!(
                    "restored into {what}: query {query:?} answered {right:?}, the original \
                     {left:?}"
                ));
            }
        }
        let mut twin = factory.create();
        for (position, (_, command)) in commands.iter().enumerate() {
            twin.apply(position as LogIndex + 1, command);
        }
        let later = mixed(factory, 100, 13)?;
        apply_to_both(factory, &mut twin, &mut copy, 201, &later)
            .map_err(|error| format!("restored into {what}: {error}"))?;
    }
    Ok(())
}

/// Snapshots are deterministic: machines that applied the same commands write the same bytes
/// (every node's snapshot of an index is the same), and so does a machine restored from one.
pub fn snapshots_are_deterministic<F: StateMachineFactory>(factory: &mut F) -> Result<(), String> {
    let commands = mixed(factory, 150, 14)?;
    let (mut a, mut b) = (factory.create(), factory.create());
    for (position, (_, command)) in commands.iter().enumerate() {
        let index = position as LogIndex + 1;
        a.apply(index, command);
        b.apply(index, command);
        if matches!(index, 1 | 10 | 75 | 150) {
            let when = format!("after index {index}");
            let (left, right) = (snapshot_bytes(&a, &when)?, snapshot_bytes(&b, &when)?);
            if left != right {
                return Err(format!(
                    "two machines that applied the same {index} commands wrote different \
                     snapshots ({} and {} bytes; first difference at byte {:?})",
                    left.len(),
                    right.len(),
                    left.iter().zip(&right).position(|(x, y)| x != y)
                ));
            }
        }
    }
    let bytes = snapshot_bytes(&a, "after index 150")?;
    let copy = restored(factory, 150, &bytes, &[])?;
    let again = snapshot_bytes(&copy, "of the restored machine")?;
    if again != bytes {
        return Err(format!(
            "a machine restored from a {}-byte snapshot wrote a different one ({} bytes)",
            bytes.len(),
            again.len()
        ));
    }
    Ok(())
}

/// Malformed snapshot data is an `Err` from `restore`, never a panic: a cut-short snapshot
/// always (a decoder that reads the whole snapshot misses bytes), random bytes whenever they
/// are not a state; a machine that accepted data keeps working.
pub fn restore_of_garbage_is_an_error_not_a_panic<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let commands = mixed(factory, 200, 15)?;
    let mut original = factory.create();
    for (position, (_, command)) in commands.iter().enumerate() {
        original.apply(position as LogIndex + 1, command);
    }
    let bytes = snapshot_bytes(&original, "after 200 commands")?;
    if bytes.len() >= 2 {
        for cut in [bytes.len() / 2, bytes.len() - 1] {
            let mut machine = factory.create();
            if machine.restore(200, &mut &bytes[..cut]).is_ok() {
                return Err(format!(
                    "restore accepted the first {cut} of the {} bytes of a snapshot",
                    bytes.len()
                ));
            }
        }
    }
    let mut garbage: Vec<Vec<u8>> = vec![vec![0xff; 16], vec![0x80; 64]];
    garbage.extend((0..12u64).map(|i| {
        let length = 1 + (mix(i + 100) % 64) as usize;
        (0..length)
            .map(|j| mix(i * 1000 + j as u64) as u8)
            .collect()
    }));
    let later = mixed(factory, 20, 16)?;
    for data in garbage {
        let mut machine = factory.create();
        if machine.restore(7, &mut &data[..]).is_ok() {
            // Accepted as a state: the machine must still take commands and snapshot.
            for (position, (_, command)) in later.iter().enumerate() {
                machine.apply(8 + position as LogIndex, command);
            }
            snapshot_bytes(&machine, "after restoring garbage it accepted")?;
        }
    }
    Ok(())
}
