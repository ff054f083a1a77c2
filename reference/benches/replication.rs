//! The replication hot path, each step isolated, on the sans-IO core (no I/O, no tasks):
//!
//! * `propose`: a leader of three handling one proposal through to the two `AppendEntries` it
//!   emits and its own `AppendToLog` (sent first, persisted after: thesis §10.2.1); and one
//!   proposal of a batch of 64 commands (the driver proposes every queued command at once);
//! * `follower_append`: a follower handling an AppendEntries of 1, 64 and 1024 entries
//!   (consistency check, append, reply, apply of the previous batch);
//! * `commit_advance`: the leader handling the acknowledgement that gives a batch of 1 or 64
//!   entries a majority (commit index moves, entries emitted to apply);
//! * `codec`: postcard encoding and decoding of an AppendEntries frame of 1 and 1024 entries
//!   through the TCP transport's own frame codec.
//!
//! Only the step named is timed (`iter_custom`); the setup it needs (acknowledging, building
//! requests, resetting a grown log) runs between timings. Run with
//! `cargo bench -p rafty --bench replication`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rafty::core::{Action, Core, Role};
use rafty::tcp::config::DEFAULT_MAX_FRAME_BYTES;
use rafty::tcp::frame::{decode_frame, encode_frame};
use rafty::tcp::{Envelope, RaftRequest};
use rafty::{
    AppendEntries, AppendEntriesResponse, Config, Entry, HardState, LogIndex, Message, NodeId,
    Payload, RequestVoteResponse, Term,
};

/// Payload of every command: small, as in the field's published "minimal" benchmarks.
const PAYLOAD_BYTES: usize = 16;
/// Rebuild a core (untimed) once its in-memory log holds this many entries.
const RESET_AFTER: LogIndex = 100_000;
const LEADER: NodeId = 1;
const FOLLOWERS: [NodeId; 2] = [2, 3];

fn command() -> Vec<u8> {
    vec![7; PAYLOAD_BYTES]
}

fn entries(term: Term, first: LogIndex, count: usize) -> Vec<Entry> {
    (0..count as LogIndex)
        .map(|offset| Entry {
            term,
            index: first + offset,
            payload: Payload::Command(command()),
        })
        .collect()
}

fn ack(term: Term, match_index: LogIndex) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        success: true,
        match_index,
        conflict: None,
    })
}

fn vote(term: Term, pre_vote: bool) -> Message {
    Message::RequestVoteResponse(RequestVoteResponse {
        term,
        vote_granted: true,
        pre_vote,
    })
}

/// Node 1 of three, elected in term 1, both followers acknowledged its no-op (so both are
/// in pipelined replication), every action taken. Returns the core and its clock.
fn leader() -> (Core, Duration) {
    let mut core = Core::new(
        LEADER,
        vec![1, 2, 3],
        Config::default(),
        HardState::default(),
        Vec::new(),
        Duration::ZERO,
        1,
    );
    let now = core.next_deadline();
    core.tick(now);
    core.step(now, FOLLOWERS[0], vote(1, true));
    core.step(now, FOLLOWERS[0], vote(1, false));
    assert_eq!(
        core.role(),
        Role::Leader,
        "the bench leader was not elected"
    );
    for follower in FOLLOWERS {
        core.step(now, follower, ack(1, core.last_index()));
    }
    assert_eq!(core.commit_index(), 1, "the no-op did not commit");
    core.take_actions();
    (core, now)
}

/// Node 2 of three, a follower of node 1 in term 1 with an empty log.
fn follower() -> Core {
    Core::new(
        FOLLOWERS[0],
        vec![1, 2, 3],
        Config::default(),
        HardState {
            current_term: 1,
            voted_for: Some(LEADER),
        },
        Vec::new(),
        Duration::ZERO,
        2,
    )
}

fn count_sends(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|action| matches!(action, Action::Send { .. }))
        .count()
}

/// One proposal of one command: the leader appends it and sends it to both followers.
fn propose(c: &mut Criterion) {
    c.bench_function("propose/one_command_to_two_appends", |b| {
        b.iter_custom(|iterations| {
            let (mut core, now) = leader();
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                if core.last_index() >= RESET_AFTER {
                    (core, _) = leader();
                }
                let command = command();
                let start = Instant::now();
                core.propose(now, vec![command]).expect("leader");
                let actions = core.take_actions();
                total += start.elapsed();
                assert_eq!(count_sends(&actions), 2, "{actions:?}");
                // Untimed: both followers acknowledge, keeping the pipeline open.
                for follower in FOLLOWERS {
                    core.step(now, follower, ack(1, core.last_index()));
                }
                black_box(core.take_actions());
            }
            total
        });
    });
}

/// One proposal of a batch of commands, as the driver proposes a queue of submissions in one
/// turn: one append to the leader's log, one AppendEntries per follower, one `AppendToLog`.
/// Sizes: 3 (what a turn carried at 256-1024 clients while the leader's loop and its clients
/// ping-ponged through tokio's LIFO slot), 64, and 256 (the most one AppendEntries carries by
/// default, `max_append_entries`). Per element, the gap between 3 and 64 is what gathering
/// submissions before proposing saves in the core (BENCHMARKS.md, issue 24).
fn propose_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("propose");
    for batch in [3usize, 64, 256] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new("batch_to_two_appends", batch),
            &batch,
            |b, &batch| {
                b.iter_custom(|iterations| {
                    let (mut core, now) = leader();
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        if core.last_index() >= RESET_AFTER {
                            (core, _) = leader();
                        }
                        let commands = (0..batch).map(|_| command()).collect();
                        let start = Instant::now();
                        core.propose(now, commands).expect("leader");
                        let actions = core.take_actions();
                        total += start.elapsed();
                        assert_eq!(count_sends(&actions), 2, "{actions:?}");
                        for follower in FOLLOWERS {
                            core.step(now, follower, ack(1, core.last_index()));
                        }
                        black_box(core.take_actions());
                    }
                    total
                });
            },
        );
    }
    group.finish();
}

/// A follower's core handling one AppendEntries of `size` entries; the leader's commit index
/// in it covers the previous batch, so each step also emits one batch to apply.
fn follower_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("follower_append");
    for size in [1usize, 64, 1024] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iterations| {
                let mut core = follower();
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    if core.last_index() >= RESET_AFTER {
                        core = follower();
                    }
                    let prev_log_index = core.last_index();
                    let request = Message::AppendEntries(AppendEntries {
                        term: 1,
                        leader_id: LEADER,
                        prev_log_index,
                        prev_log_term: core.last_term(),
                        entries: entries(1, prev_log_index + 1, size),
                        leader_commit: prev_log_index,
                    });
                    let start = Instant::now();
                    core.step(Duration::ZERO, LEADER, request);
                    let actions = core.take_actions();
                    total += start.elapsed();
                    black_box(actions);
                }
                total
            });
        });
    }
    group.finish();
}

/// The leader handling the first acknowledgement of a batch of `size` entries: a majority now
/// holds it, so the commit index advances and the batch is emitted to apply.
fn commit_advance(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit_advance");
    for size in [1usize, 64] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iterations| {
                let (mut core, now) = leader();
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    if core.last_index() >= RESET_AFTER {
                        (core, _) = leader();
                    }
                    let commands = (0..size).map(|_| command()).collect();
                    core.propose(now, commands).expect("leader");
                    black_box(core.take_actions());
                    let last = core.last_index();
                    let start = Instant::now();
                    core.step(now, FOLLOWERS[0], ack(1, last));
                    let actions = core.take_actions();
                    total += start.elapsed();
                    assert_eq!(core.commit_index(), last);
                    black_box(actions);
                    core.step(now, FOLLOWERS[1], ack(1, last));
                    black_box(core.take_actions());
                }
                total
            });
        });
    }
    group.finish();
}

/// An AppendEntries of `size` entries as the TCP transport frames it.
fn append_frame(size: usize) -> Envelope<RaftRequest> {
    Envelope {
        id: 42,
        body: RaftRequest::AppendEntries(AppendEntries {
            term: 3,
            leader_id: LEADER,
            prev_log_index: 1_000,
            prev_log_term: 3,
            entries: entries(3, 1_001, size),
            leader_commit: 998,
        }),
    }
}

/// Encode and decode AppendEntries frames with `rafty::tcp::frame`, the transport's codec.
fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for size in [1usize, 1024] {
        let frame = append_frame(size);
        let bytes = encode_frame(&frame, DEFAULT_MAX_FRAME_BYTES).expect("encode");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("encode", size), &frame, |b, frame| {
            b.iter(|| encode_frame(black_box(frame), DEFAULT_MAX_FRAME_BYTES).expect("encode"));
        });
        group.bench_with_input(BenchmarkId::new("decode", size), &bytes, |b, bytes| {
            b.iter(|| {
                let decoded: Option<(Envelope<RaftRequest>, usize)> =
                    decode_frame(black_box(bytes), DEFAULT_MAX_FRAME_BYTES).expect("decode");
                decoded.expect("a whole frame")
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = propose, propose_batch, follower_append, commit_advance, codec
}
criterion_main!(benches);
