//! The cases of the state machine suite; each starts from fresh machines.

use super::{Applied, StateMachineFactory};
use crate::state_machine::StateMachine;
use crate::types::LogIndex;

/// A factory no case runs with: it only lets [`super::case_names`] name the cases.
pub struct Unused;

impl StateMachineFactory for Unused {
    type Machine = crate::kv::KvStateMachine;
    fn create(&mut self) -> Self::Machine {
        crate::kv::KvStateMachine::new()
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn command(&mut self, _kind: usize, _seed: u64) -> Vec<u8> {
        Vec::new()
    }
}

/// A well-mixed 64-bit value from `x` (splitmix64), for deriving seeds.
pub(super) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` commands of every kind, mixed, drawn from `seed`; each with its kind's name.
pub(super) fn mixed<F: StateMachineFactory>(
    factory: &mut F,
    count: usize,
    seed: u64,
) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let kinds = factory.command_kinds();
    if kinds.is_empty() {
        return Err("command_kinds() is empty: the suite has no command to apply".into());
    }
    Ok((0..count as u64)
        .map(|i| {
            let draw = mix(seed ^ mix(i));
            let kind = (draw % kinds.len() as u64) as usize;
            (kinds[kind], factory.command(kind, mix(draw)))
        })
        .collect())
}

/// What the suite compares two machines' states by.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Observed {
    Digest(Vec<u8>),
    Answers(Vec<Option<Vec<u8>>>),
}

pub(super) fn observe<F: StateMachineFactory>(
    factory: &F,
    machine: &F::Machine,
) -> Result<Observed, String> {
    if let Some(digest) = factory.digest(machine) {
        return Ok(Observed::Digest(digest));
    }
    let queries = factory.queries();
    if queries.is_empty() {
        return Err("give digest() or queries(): the suite cannot compare states".into());
    }
    Ok(Observed::Answers(
        queries.iter().map(|query| machine.query(query)).collect(),
    ))
}

pub(super) fn expect_same_state<F: StateMachineFactory>(
    factory: &F,
    what: &str,
    a: &F::Machine,
    b: &F::Machine,
) -> Result<(), String> {
    let (left, right) = (observe(factory, a)?, observe(factory, b)?);
    if left == right {
        Ok(())
    } else {
        Err(format!("{what}: states differ: {left:?} vs {right:?}"))
    }
}

pub(super) fn apply(machine: &mut impl StateMachine, index: LogIndex, command: &[u8]) -> Applied {
    Applied {
        index,
        command: command.to_vec(),
        response: machine.apply(index, command),
    }
}

/// Apply `commands` to twins at indices from 1, comparing every response and, every
/// `check_every` steps and at the end, the states.
fn run_twins<F: StateMachineFactory>(
    factory: &mut F,
    commands: &[(&'static str, Vec<u8>)],
    check_every: usize,
) -> Result<(), String> {
    let (mut a, mut b) = (factory.create(), factory.create());
    for (position, (kind, command)) in commands.iter().enumerate() {
        let index = position as LogIndex + 1;
        let (left, right) = (apply(&mut a, index, command), apply(&mut b, index, command));
        if left.response != right.response {
            return Err(format!(
                "the {kind} command at index {index} got different responses: {:?} vs {:?}",
                left.response, right.response
            ));
        }
        if (position + 1) % check_every == 0 || position + 1 == commands.len() {
            expect_same_state(factory, &format!("after index {index}"), &a, &b)?;
        }
    }
    Ok(())
}

/// Every kind of command, alone and repeated, is answered the same way by twin machines.
pub fn every_command_kind_is_answered<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let kinds = factory.command_kinds();
    if kinds.is_empty() {
        return Err("command_kinds() is empty: the suite has no command to apply".into());
    }
    for (kind, name) in kinds.iter().enumerate() {
        let commands: Vec<_> = (0..20)
            .map(|i| (*name, factory.command(kind, mix(kind as u64 * 1000 + i))))
            .collect();
        run_twins(factory, &commands, 5)
            .map_err(|error| format!("only {name} commands: {error}"))?;
    }
    Ok(())
}

/// Two machines given the same mixed commands give the same responses and states.
pub fn same_commands_give_same_responses_and_state<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let commands = mixed(factory, 400, 1)?;
    run_twins(factory, &commands, 50)
}

/// A machine rebuilt from index 1 (after a restart at several points) gives exactly the
/// responses the original gave, and reaches the same state.
pub fn restart_replays_the_log_to_the_same_responses<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let commands = mixed(factory, 300, 2)?;
    let mut original = factory.create();
    let reference: Vec<Applied> = commands
        .iter()
        .enumerate()
        .map(|(position, (_, command))| apply(&mut original, position as LogIndex + 1, command))
        .collect();
    for restart_at in [0, 1, 100, 299] {
        let mut restarted = factory.create();
        for applied in &reference {
            let again = apply(&mut restarted, applied.index, &applied.command);
            if again.response != applied.response {
                return Err(format!(
                    "restarted after index {restart_at}: re-applying index {} gave {:?}, the \
                     first run gave {:?}",
                    applied.index, again.response, applied.response
                ));
            }
        }
        expect_same_state(
            factory,
            &format!("restarted after index {restart_at}, after replay"),
            &original,
            &restarted,
        )?;
    }
    Ok(())
}

/// Indices may skip (no-op entries are never applied): machines accept gaps and stay twins.
pub fn index_gaps_from_no_ops_are_accepted<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let commands = mixed(factory, 60, 3)?;
    let (mut a, mut b) = (factory.create(), factory.create());
    let mut index = 0;
    for (step, (kind, command)) in commands.iter().enumerate() {
        index += 1 + (mix(step as u64) % 3);
        let (left, right) = (apply(&mut a, index, command), apply(&mut b, index, command));
        if left.response != right.response {
            return Err(format!(
                "the {kind} command at index {index} (after a gap) got different responses"
            ));
        }
    }
    expect_same_state(factory, "after commands with index gaps", &a, &b)
}

/// Bytes that are no command (empty, short, long, random) get a response, never a panic, the
/// same on twins, between real commands.
pub fn garbage_commands_are_answered_without_a_panic<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let mut garbage: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0xff; 7], vec![0xab; 64 << 10]];
    garbage.extend((0..16).map(|i| {
        let length = (mix(i) % 40) as usize;
        (0..length).map(|j| mix(i * 100 + j as u64) as u8).collect()
    }));
    let real = mixed(factory, garbage.len(), 4)?;
    let mut commands = Vec::new();
    for (bytes, command) in garbage.into_iter().zip(real) {
        commands.push(("garbage", bytes));
        commands.push(command);
    }
    run_twins(factory, &commands, 2)
}

/// Queries answer without changing the state: a machine queried after every command stays
/// the twin of one never queried.
pub fn queries_change_nothing<F: StateMachineFactory>(factory: &mut F) -> Result<(), String> {
    let queries = factory.queries();
    if queries.is_empty() {
        return Ok(());
    }
    let commands = mixed(factory, 100, 5)?;
    let (mut queried, mut quiet) = (factory.create(), factory.create());
    for (position, (kind, command)) in commands.iter().enumerate() {
        let index = position as LogIndex + 1;
        for query in &queries {
            queried.query(query);
        }
        let left = apply(&mut queried, index, command);
        let right = apply(&mut quiet, index, command);
        if left.response != right.response {
            return Err(format!(
                "after queries, the {kind} command at index {index} got {:?} instead of {:?}",
                left.response, right.response
            ));
        }
    }
    expect_same_state(factory, "queried vs never queried", &queried, &quiet)
}

/// The digest (or the queries) tell a changed state from the empty one: otherwise every
/// state comparison above would pass vacuously.
pub fn state_comparison_sees_changes<F: StateMachineFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let empty = factory.create();
    let before = observe(factory, &empty)?;
    let commands = mixed(factory, 100, 6)?;
    let mut machine = factory.create();
    for (position, (_, command)) in commands.iter().enumerate() {
        machine.apply(position as LogIndex + 1, command);
        if observe(factory, &machine)? != before {
            return Ok(());
        }
    }
    Err(
        "100 commands left the digest (or the query answers) unchanged: the suite cannot \
         tell states apart"
            .into(),
    )
}
