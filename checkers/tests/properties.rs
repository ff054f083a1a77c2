//! Property tests of the linearizability checker:
//! - histories recorded from a real sequential execution, with random overlap and some
//!   indeterminate operations, are linearizable (under every convention);
//! - the same with one read's value corrupted to a value never written are not;
//! - on small random histories, the verdict agrees with a brute-force search over every
//!   order (so a corrupted read that is still explainable is recognised as such).

use proptest::prelude::*;
use rafty_checkers::{
    CasRegister, CheckOptions, Convention, History, KeyValue, Op, OpType, Process, Value, Verdict,
    check,
};

/// A generated operation on a cas-register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read(Option<i64>),
    Write(i64),
    Cas(i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    Fail,
    /// `info` completion at the end time.
    Info,
    /// No completion at all.
    Open,
}

#[derive(Debug, Clone, Copy)]
struct GenOp {
    kind: Kind,
    end: End,
    call: u64,
    ret: u64,
}

fn value(v: Option<i64>) -> Value {
    v.map_or(Value::Nil, Value::Int)
}

/// The events of `ops` in time order; each op gets a process that is free when it starts
/// (processes are not reused after an indeterminate op, as in Jepsen).
fn history_of(ops: &[GenOp], key: impl Fn(usize) -> Option<Value>) -> History {
    let mut events: Vec<(u64, usize, bool)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, i, true));
        if op.end != End::Open {
            events.push((op.ret, i, false));
        }
    }
    events.sort();
    let mut process_of = vec![0u64; ops.len()];
    let mut busy_until: Vec<Option<u64>> = Vec::new();
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| ops[i].call);
    for i in order {
        let op = ops[i];
        let free = busy_until
            .iter()
            .position(|until| until.is_some_and(|until| until < op.call));
        let process = free.unwrap_or_else(|| {
            busy_until.push(None);
            busy_until.len() - 1
        });
        busy_until[process] = (op.end == End::Ok || op.end == End::Fail).then_some(op.ret);
        process_of[i] = process as u64;
    }
    let mut history = History::new();
    for (time, i, is_call) in events {
        let op = ops[i];
        let (f, argument, result) = match op.kind {
            Kind::Read(v) => ("read", Value::Nil, value(v)),
            Kind::Write(v) => ("write", Value::Int(v), Value::Int(v)),
            Kind::Cas(a, b) => {
                let pair = Value::List(vec![Value::Int(a), Value::Int(b)]);
                ("cas", pair.clone(), pair)
            }
        };
        let (kind, value) = match (is_call, op.end) {
            (true, _) => (OpType::Invoke, argument),
            (false, End::Ok) => (OpType::Ok, result),
            (false, End::Fail) => (OpType::Fail, argument),
            (false, _) => (OpType::Info, Value::Keyword("timed-out".into())),
        };
        let mut event = Op::new(Process::Client(process_of[i]), kind, f, value).with_time(time);
        event.key = key(i);
        history.push(event);
    }
    history
}

/// A sequential execution: each op takes effect at time 10·i + 5, inside an interval widened
/// at random; some are indeterminate (and did take effect); some extra indeterminate writes
/// never took effect.
fn sequential_execution(max_ops: usize) -> impl Strategy<Value = Vec<GenOp>> {
    let step = (0..3u8, 0..5i64, 0..5i64, 0..4u64, 0..4u64, 0..8u8);
    (
        prop::collection::vec(step, 1..max_ops),
        prop::collection::vec((0..max_ops as u64, 0..5i64), 0..4),
    )
        .prop_map(|(steps, phantoms)| {
            let mut state: Option<i64> = None;
            let mut ops = Vec::new();
            for (i, (kind, a, b, before, after, indeterminate)) in steps.into_iter().enumerate() {
                let at = 10 * i as u64 + 5;
                let (kind, end) = match kind {
                    0 => (Kind::Read(state), End::Ok),
                    1 => {
                        state = Some(a);
                        (Kind::Write(a), End::Ok)
                    }
                    _ if state == Some(a) => {
                        state = Some(b);
                        (Kind::Cas(a, b), End::Ok)
                    }
                    _ => (Kind::Cas(a, b), End::Fail),
                };
                let end = match (indeterminate, end, kind) {
                    (_, _, Kind::Read(_)) | (_, End::Fail, _) => end,
                    (0, ..) => End::Info,
                    (1, ..) => End::Open,
                    _ => end,
                };
                ops.push(GenOp {
                    kind,
                    end,
                    call: (at + 100 - 10 * before - 1).saturating_sub(100).max(1),
                    ret: at + 10 * after + 1,
                });
            }
            for (start, v) in phantoms {
                ops.push(GenOp {
                    kind: Kind::Write(v + 100),
                    end: End::Info,
                    call: 10 * start + 3,
                    ret: 10 * start + 7,
                });
            }
            ops
        })
}

fn verdict_cas(history: &History, convention: Convention) -> Verdict {
    check(
        &CasRegister::new(convention),
        history,
        &CheckOptions::default(),
    )
    .expect("a well-formed history")
    .valid
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn sequential_executions_with_overlap_are_linearizable(ops in sequential_execution(150)) {
        let history = history_of(&ops, |_| None);
        for convention in [Convention::Native, Convention::Knossos, Convention::Porcupine] {
            prop_assert_eq!(verdict_cas(&history, convention), Verdict::Linearizable);
        }
    }

    #[test]
    fn interleaved_keys_are_linearizable(a in sequential_execution(150), b in sequential_execution(150)) {
        // Two independent executions on keys "a" and "b", interleaved in time.
        let split = a.len();
        let ops: Vec<GenOp> = a.into_iter().chain(b).collect();
        let history = history_of(&ops, |i| Some(Value::from(if i < split { "a" } else { "b" })));
        let result = check(&KeyValue::new(Convention::Native), &history, &CheckOptions::default())
            .expect("a well-formed history");
        prop_assert_eq!(result.valid, Verdict::Linearizable);
    }

    #[test]
    fn a_read_of_a_value_never_written_is_not_linearizable(
        ops in sequential_execution(150),
        pick in any::<prop::sample::Index>(),
    ) {
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].kind, Kind::Read(_)))
            .collect();
        prop_assume!(!reads.is_empty());
        let mut ops = ops;
        ops[reads[pick.index(reads.len())]].kind = Kind::Read(Some(1000));
        let history = history_of(&ops, |_| None);
        for convention in [Convention::Native, Convention::Knossos, Convention::Porcupine] {
            let result = check(&CasRegister::new(convention), &history, &CheckOptions::default())
                .expect("a well-formed history");
            prop_assert_eq!(result.valid, Verdict::NotLinearizable);
            prop_assert!(result.counterexample.is_some());
        }
    }

    #[test]
    fn a_corrupted_read_gets_the_brute_force_verdict(
        ops in sequential_execution(7),
        pick in any::<prop::sample::Index>(),
        corrupt in 0..5i64,
    ) {
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].kind, Kind::Read(_)))
            .collect();
        prop_assume!(!reads.is_empty());
        let mut ops = ops;
        ops[reads[pick.index(reads.len())]].kind = Kind::Read(Some(corrupt));
        let history = history_of(&ops, |_| None);
        let expected = if brute_force(&ops) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        prop_assert_eq!(verdict_cas(&history, Convention::Native), expected);
    }

    #[test]
    fn random_small_histories_get_the_brute_force_verdict(ops in random_ops()) {
        let history = history_of(&ops, |_| None);
        let expected = if brute_force(&ops) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        prop_assert_eq!(verdict_cas(&history, Convention::Native), expected);
    }
}

/// Up to 8 arbitrary operations (values 0..3, so that identical calls are common), with
/// arbitrary intervals and outcomes.
fn random_ops() -> impl Strategy<Value = Vec<GenOp>> {
    let op = (
        0..3u8,
        0..3i64,
        0..3i64,
        0..4u8,
        0..20u64,
        1..12u64,
        any::<bool>(),
    );
    prop::collection::vec(op, 1..9).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(i, (kind, a, b, end, start, length, nil_read))| {
                let kind = match kind {
                    0 => Kind::Read(if nil_read && a == 0 { None } else { Some(a) }),
                    1 => Kind::Write(a),
                    _ => Kind::Cas(a, b),
                };
                let end = match (end, kind) {
                    (_, Kind::Read(_)) => End::Ok,
                    (0, _) => End::Info,
                    (1, _) => End::Open,
                    (2, Kind::Cas(..)) => End::Fail,
                    _ => End::Ok,
                };
                // Distinct times: 16·t + i.
                let call = 16 * start + i as u64;
                GenOp {
                    kind,
                    end,
                    call,
                    ret: call + 16 * length,
                }
            })
            .collect()
    })
}

/// Whether some order of the ops is legal: the native convention, by trying every order.
/// `ok` ops must take effect within their interval; `info` and open ones after their call
/// or never; `fail` ones never.
fn brute_force(ops: &[GenOp]) -> bool {
    let mut done = vec![false; ops.len()];
    for (i, op) in ops.iter().enumerate() {
        done[i] = op.end == End::Fail;
    }
    search(ops, &mut done, None)
}

fn search(ops: &[GenOp], done: &mut [bool], state: Option<i64>) -> bool {
    let pending_ok: Vec<usize> = (0..ops.len())
        .filter(|&i| !done[i] && ops[i].end == End::Ok)
        .collect();
    if pending_ok.is_empty() {
        return true;
    }
    // The next op must start before every pending ok op has returned.
    let deadline = pending_ok
        .iter()
        .map(|&i| ops[i].ret)
        .min()
        .expect("non-empty");
    for i in 0..ops.len() {
        if done[i] || ops[i].call > deadline {
            continue;
        }
        let determinate = ops[i].end == End::Ok;
        let next = match ops[i].kind {
            Kind::Read(v) => (!determinate || v == state).then_some(state),
            Kind::Write(v) => Some(Some(v)),
            Kind::Cas(a, b) if state == Some(a) => Some(Some(b)),
            Kind::Cas(..) => (!determinate).then_some(state),
        };
        if let Some(next) = next {
            done[i] = true;
            let found = search(ops, done, next);
            done[i] = false;
            if found {
                return true;
            }
        }
    }
    false
}
