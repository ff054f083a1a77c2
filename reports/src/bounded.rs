//! Tests: the report of a long history holds bounded state. Histories of growing length are
//! written to a JSON-lines file as the harness writes `history.jsonl` and read back as
//! `write_stored_run_report` reads it; what the extract keeps stays under stated bounds that
//! do not depend on the number of operations.

use std::io::{BufWriter, Write};
use std::path::Path;

use rafty_checkers::{Op, OpType, Process, Value};

use crate::events::Events;
use crate::extract::Extract;

/// The most operations the timeline draws of a history with no indeterminate operation and
/// no counterexample.
const MAX_DRAWN: usize = 100_000;
/// The most cells with a dot in the raw latency plot, per outcome: its plotting area (864 by
/// 326 pixels) in 2-pixel cells, with a cell to spare on each side.
const MAX_CELLS_PER_OUTCOME: usize = (864 / 2 + 2) * (326 / 2 + 2);
/// The most latency windows (about 60, for a run under 60 hours).
const MAX_WINDOWS: usize = 61;
/// The most rate buckets.
const MAX_BUCKETS: usize = 901;

const CLIENTS: u64 = 20;
const KEYS: i64 = 8;

/// Writes a history of `operations` client operations (`CLIENTS` clients, `KEYS` keys, each
/// operation 1 to 15 ms, every 50th failing) and 10 faults early on, one event a line with the
/// node that served it.
fn write_history(path: &Path, operations: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut index = 0u64;
    let mut line = |op: Op, node: Option<&str>| {
        let mut json = serde_json::to_value(Op { index, ..op }).unwrap();
        if let Some(node) = node {
            json["node"] = node.into();
        }
        index += 1;
        writeln!(out, "{json}").unwrap();
    };
    for fault in 0..10u64 {
        let at = fault * 2_000_000_000;
        let nemesis = |f: &str, time| {
            Op::new(Process::nemesis(), OpType::Info, f, Value::from("n1")).with_time(time)
        };
        line(nemesis("start-kill", at), None);
        line(nemesis("stop-kill", at + 500_000_000), None);
    }
    let per_client = operations as u64 / CLIENTS;
    for round in 0..per_client {
        // Each round, every client invokes, then every client completes.
        let start = 20_000_000_000 + round * 20_000_000;
        for client in 0..CLIENTS {
            let key = Value::Int(((round + client) % KEYS as u64) as i64);
            let invoke = Op::new(
                Process::Client(client),
                OpType::Invoke,
                "write",
                Value::Int(1),
            );
            line(invoke.with_key(key).with_time(start + client), None);
        }
        for client in 0..CLIENTS {
            let key = Value::Int(((round + client) % KEYS as u64) as i64);
            let kind = if (round + client) % 50 == 0 {
                OpType::Fail
            } else {
                OpType::Ok
            };
            let latency = 1_000_000 + (round * 7 + client * 13) % 14 * 1_000_000;
            let done = Op::new(Process::Client(client), kind, "write", Value::Int(1));
            line(
                done.with_key(key).with_time(start + client + latency),
                Some("n2"),
            );
        }
    }
    out.flush().unwrap();
}

#[test]
fn a_long_historys_report_holds_bounded_state_whatever_its_length() {
    let dir = tempfile::tempdir().unwrap();
    for operations in [120_000, 480_000] {
        let path = dir.path().join(format!("history-{operations}.jsonl"));
        write_history(&path, operations);
        let extract = Extract::read(&Events::File(&path), None, Some(CLIENTS as usize)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            extract.tally.outcomes[0], operations,
            "every operation counted"
        );
        assert_eq!(extract.tally.processes.len(), CLIENTS as usize);
        assert_eq!(extract.tally.keys.len(), KEYS as usize);
        assert_eq!(extract.faults.len(), 10);
        assert_eq!(extract.threads, Some(CLIENTS as usize), "lanes fold");
        assert!(
            extract.drawn.len() <= MAX_DRAWN,
            "{operations} operations: {} drawn",
            extract.drawn.len()
        );
        assert!(extract.drawn.len() >= MAX_DRAWN / 2, "the sample is dense");
        assert!(extract.sampled.is_some(), "and says it is a sample");
        assert!(
            extract
                .drawn
                .windows(2)
                .all(|pair| pair[0].position < pair[1].position),
            "drawn in invocation order"
        );
        let (cells, windows, buckets) = extract.plots.held();
        assert!(cells <= 3 * MAX_CELLS_PER_OUTCOME, "{cells} cells");
        assert!(windows <= MAX_WINDOWS, "{windows} windows");
        assert!(buckets <= MAX_BUCKETS, "{buckets} buckets");
        assert!(extract.nodes.is_empty(), "no counterexample, no nodes kept");
        println!(
            "{operations} operations: {} drawn, {cells} cells, {windows} windows, {buckets} \
             buckets",
            extract.drawn.len()
        );
    }
}
