//! `state_machine::run_all` on a user's machine: a correct one passes the suite and the chaos
//! run; the two bugs planted here (a snapshot that forgets part of the state, an answer that
//! counts calls) are each caught by the chaos run, with a message naming the cause.

use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use rafty::{LogIndex, SnapshotSource, StateMachine};
use rafty_testing::StateMachineFactory;
use rafty_testing::state_machine::{Options, run_all_with};

/// A bug planted in [`Tally`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    None,
    /// The snapshot holds the count of commands but not their hash.
    SnapshotForgetsTheHash,
    /// The answer carries a count of every `apply` call in the process.
    AnswerCountsCalls,
}

/// How many times any [`Tally`] applied a command, in this process (the planted
/// nondeterminism).
static CALLS: AtomicU64 = AtomicU64::new(0);

/// A user's machine: how many commands it applied and a running hash of them; every command
/// is answered with both.
struct Tally {
    count: u64,
    hash: u64,
    bug: Bug,
}

impl StateMachine for Tally {
    fn apply(&mut self, _index: LogIndex, command: &[u8]) -> Vec<u8> {
        self.count += 1;
        for &byte in command {
            self.hash = (self.hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let calls = CALLS.fetch_add(1, Ordering::Relaxed);
        match self.bug {
            Bug::AnswerCountsCalls => format!("{} {:x} call {calls}", self.count, self.hash),
            _ => format!("{} {:x}", self.count, self.hash),
        }
        .into_bytes()
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        let mut bytes = self.count.to_le_bytes().to_vec();
        if self.bug != Bug::SnapshotForgetsTheHash {
            bytes.extend(self.hash.to_le_bytes());
        }
        Some(Box::new(Bytes(bytes)))
    }

    fn restore(&mut self, _index: LogIndex, data: &mut dyn Read) -> io::Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let expected = if self.bug == Bug::SnapshotForgetsTheHash {
            8
        } else {
            16
        };
        if bytes.len() != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a snapshot of {} bytes, not {expected}", bytes.len()),
            ));
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        self.count = word(0);
        self.hash = if expected == 16 { word(8) } else { 0 };
        Ok(())
    }
}

struct Bytes(Vec<u8>);

impl SnapshotSource for Bytes {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(&self.0)
    }
}

struct Tallies(Bug);

impl StateMachineFactory for Tallies {
    type Machine = Tally;

    fn create(&mut self) -> Tally {
        Tally {
            count: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            bug: self.0,
        }
    }

    fn command_kinds(&self) -> Vec<&'static str> {
        vec!["bytes"]
    }

    fn command(&mut self, _kind: usize, seed: u64) -> Vec<u8> {
        seed.to_le_bytes().to_vec()
    }

    fn digest(&self, machine: &Tally) -> Option<Vec<u8>> {
        Some(format!("{} {}", machine.count, machine.hash).into_bytes())
    }
}

/// The failure message of the one call (which must fail).
fn failure(bug: Bug) -> String {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run_all_with(Tallies(bug), Options::default())
    }));
    match outcome {
        Ok(verdict) => panic!("the planted bug {bug:?} was not caught: {verdict:?}"),
        Err(panic) => *panic.downcast::<String>().expect("a message"),
    }
}

/// The chaos run's failure lines in `message`.
fn chaos_failures(message: &str) -> Vec<&str> {
    message
        .lines()
        .filter(|line| line.starts_with("FAIL chaos:"))
        .collect()
}

#[test]
fn a_deterministic_machine_passes_the_suite_and_the_chaos_run() {
    let verdict = run_all_with(Tallies(Bug::None), Options::default());
    assert!(verdict.passed());
    assert_eq!(verdict.chaos.len(), 1, "{verdict:?}");
    assert!(verdict.chaos[0].contains("valid"), "{verdict:?}");
    assert!(
        verdict.chaos[0].contains("power"),
        "power loss is among the faults"
    );
}

#[test]
fn a_snapshot_that_forgets_part_of_the_state_is_caught_by_the_chaos_run() {
    let message = failure(Bug::SnapshotForgetsTheHash);
    let chaos = chaos_failures(&message);
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(chaos[0].contains("state-machine-answers"), "{message}");
    assert!(
        chaos[0].contains("the snapshot leaves out part of the state `apply` depends on"),
        "{message}"
    );
    assert!(
        message.contains("reproduce: RAFTY_SEED=1 cargo test"),
        "{message}"
    );
}

#[test]
fn an_answer_that_counts_calls_is_caught_by_the_chaos_run() {
    let message = failure(Bug::AnswerCountsCalls);
    let chaos = chaos_failures(&message);
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(chaos[0].contains("state-machine-answers"), "{message}");
    assert!(
        chaos[0].contains("`apply` is not deterministic"),
        "{message}"
    );
}
