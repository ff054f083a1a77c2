//! Histories for the report tests: generated from a sequential execution, so linearizable by
//! construction, with nemesis periods, and a way to break one read.

#![allow(dead_code)]

use std::collections::BTreeMap;

use rafty_checkers::{
    CheckOptions, Convention, Counterexample, History, KeyValue, Op, OpType, Process, Value, check,
};
use rafty_reports::{Annotation, LeaderChange, RunReportInput, RunVerdict};

/// A small xorshift generator (tests only).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct Planned {
    process: u64,
    start: u64,
    end: u64,
    point: u64,
    f: &'static str,
    key: i64,
    argument: Value,
    info: bool,
    never: bool,
}

const MS: u64 = 1_000_000;

/// A key-value history of about `ops` operations over `processes` clients and `keys` keys,
/// linearizable by construction, with a partition every second.
pub fn kv_history(ops: usize, processes: u64, keys: u64, seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let mut planned = Vec::with_capacity(ops);
    let mut clock: Vec<u64> = (0..processes).map(|_| rng.below(5 * MS)).collect();
    for i in 0..ops {
        let process = i as u64 % processes;
        let start = clock[process as usize];
        let duration = if rng.below(50) == 0 {
            80 * MS
        } else {
            MS + rng.below(15 * MS)
        };
        let end = start + duration;
        clock[process as usize] = end + rng.below(3 * MS) + 1;
        let (f, argument) = match rng.below(20) {
            0..=9 => ("read", Value::Nil),
            10..=16 => ("write", Value::Int(rng.below(5) as i64)),
            _ => (
                "cas",
                Value::List(vec![
                    Value::Int(rng.below(5) as i64),
                    Value::Int(rng.below(5) as i64),
                ]),
            ),
        };
        planned.push(Planned {
            process,
            start,
            end,
            point: start + 1 + rng.below(duration - 1),
            f,
            key: rng.below(keys) as i64,
            argument,
            info: rng.below(40) == 0,
            never: i + (processes as usize) >= ops && process == 0,
        });
    }
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|i| planned[*i].point);
    let mut state: BTreeMap<i64, Value> = BTreeMap::new();
    let mut outcomes = vec![(OpType::Ok, Value::Nil); planned.len()];
    for i in order {
        let op = &planned[i];
        let current = state.get(&op.key).cloned().unwrap_or(Value::Nil);
        outcomes[i] = match op.f {
            "read" => (OpType::Ok, current),
            "write" => {
                state.insert(op.key, op.argument.clone());
                (OpType::Ok, op.argument.clone())
            }
            _ => {
                let pair = op.argument.as_list().expect("cas takes a pair");
                if current == pair[0] {
                    state.insert(op.key, pair[1].clone());
                    (OpType::Ok, op.argument.clone())
                } else {
                    (OpType::Fail, op.argument.clone())
                }
            }
        };
        if op.info {
            outcomes[i] = (OpType::Info, Value::Nil);
        }
    }
    let mut events: Vec<(u64, u8, Op)> = Vec::new();
    for (op, (kind, value)) in planned.iter().zip(outcomes) {
        let key = Value::Int(op.key);
        let process = Process::Client(op.process);
        events.push((
            op.start,
            1,
            Op::new(process.clone(), OpType::Invoke, op.f, op.argument.clone())
                .with_key(key.clone())
                .with_time(op.start),
        ));
        if !op.never {
            events.push((
                op.end,
                0,
                Op::new(process, kind, op.f, value)
                    .with_key(key)
                    .with_time(op.end),
            ));
        }
    }
    let end = events.iter().map(|e| e.0).max().unwrap_or(0);
    let mut t = 200 * MS;
    while t + 400 * MS < end {
        let value = Value::from(format!("isolated n{}", t / MS % 5 + 1));
        events.push((
            t,
            2,
            Op::new(Process::nemesis(), OpType::Info, "start-partition", value).with_time(t),
        ));
        let stop = t + 300 * MS;
        events.push((
            stop,
            2,
            Op::new(
                Process::nemesis(),
                OpType::Info,
                "stop-partition",
                Value::Nil,
            )
            .with_time(stop),
        ));
        t += 1000 * MS;
    }
    events.sort_by_key(|(time, rank, _)| (*time, *rank));
    History::from_ops(events.into_iter().map(|(_, _, op)| op))
}

/// The same history with one `ok` read (of a key written before it) returning 99 instead.
pub fn break_one_read(history: &History) -> History {
    let mut broken = history.clone();
    let target = broken
        .ops
        .iter()
        .enumerate()
        .skip(broken.ops.len() / 2)
        .find(|(_, op)| op.kind == OpType::Ok && op.f.as_str() == "read" && !op.value.is_nil())
        .map(|(i, _)| i)
        .expect("some read returns a written value");
    broken.ops[target].value = Value::Int(99);
    broken
}

/// The key-value checker's counterexample for `history`, if it is not linearizable.
pub fn counterexample(history: &History) -> Option<Counterexample> {
    let model = KeyValue::new(Convention::Native);
    check(&model, history, &CheckOptions::default())
        .unwrap()
        .counterexample
}

/// A leader change every 3 seconds, terms increasing.
pub fn leader_changes(history: &History) -> Vec<LeaderChange> {
    let end = history
        .ops
        .iter()
        .filter_map(|op| op.time)
        .max()
        .unwrap_or(0);
    (0..)
        .map(|i| LeaderChange {
            time_ns: 100 * MS + i * 3000 * MS,
            node: i % 5 + 1,
            term: i + 1,
        })
        .take_while(|c| c.time_ns < end)
        .collect()
}

/// Two invariant violations, at 0.3 s and 0.31 s.
pub fn violations() -> &'static [Annotation] {
    static NOTES: std::sync::OnceLock<Vec<Annotation>> = std::sync::OnceLock::new();
    NOTES.get_or_init(|| {
        [300, 310]
            .into_iter()
            .map(|ms| Annotation {
                time_ns: ms * MS,
                node: Some(3),
                label: "state-machine-safety".into(),
                detail: format!("n3 applied another command at index {ms}"),
            })
            .collect()
    })
}

/// A report input for `history`, invalid when there is a counterexample.
pub fn input<'a>(
    history: &'a History,
    cex: Option<&'a Counterexample>,
    leaders: &'a [LeaderChange],
) -> RunReportInput<'a> {
    RunReportInput {
        verdict: if cex.is_some() {
            RunVerdict::Invalid
        } else {
            RunVerdict::Valid
        },
        counterexample: cex,
        leader_changes: leaders,
        reproduce: "cargo run --release -p rafty-harness -- test --seed 7",
        ..RunReportInput::new("kv", 7, history)
    }
}

/// Checks that `text` is well-formed XML and returns the names of its elements, in order.
pub fn xml_elements(text: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut names = Vec::new();
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                names.push(element(&e));
            }
            Ok(Event::Empty(e)) => names.push(element(&e)),
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(Event::Text(t)) => {
                t.decode().expect("text decodes");
            }
            Ok(_) => {}
            Err(error) => panic!("not well-formed at {}: {error}", reader.error_position()),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    names
}

/// The element's name, after checking that its attributes parse and unescape.
fn element(e: &quick_xml::events::BytesStart<'_>) -> String {
    for attribute in e.attributes() {
        let attribute = attribute.expect("attribute is well-formed");
        attribute
            .unescape_value()
            .expect("attribute value unescapes");
    }
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}
