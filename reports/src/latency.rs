//! Latency of the `ok` operations of a history, one histogram for every figure that quotes it
//! (summary.txt, and the p99 the harness writes into results.json for the store's index).

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

use rafty_checkers::{History, HistoryError, Op, OpType, Process};

use crate::extract::{Clock, Extract};

/// The 99th percentile latency of the `ok` client operations of `history`, in milliseconds
/// (the figure summary.txt writes as `p99`); `None` when no operation completed `ok` or the
/// history's events are not all timed. A history whose events do not pair up is an error.
pub fn ok_latency_ms_p99(history: &History) -> Result<Option<f64>, HistoryError> {
    let extract = Extract::new(history)?;
    let histogram = &extract.tally.ok_latencies;
    if extract.clock != Clock::Nanos || histogram.is_empty() {
        return Ok(None);
    }
    Ok(Some(histogram.value_at_quantile(0.99) as f64 / 1e6))
}

/// [`ok_latency_ms_p99`] computed one event at a time, for a history read from disk and never
/// held whole: it keeps the open invocation of each client process and the histogram, so
/// O(clients). Fed the events of a history in order, [`OkLatencyStream::p99_ms`] is exactly
/// `ok_latency_ms_p99(&history).ok().flatten()`: `None` when the events do not pair up, are not
/// all timed, or no operation completed `ok`.
#[derive(Debug)]
pub struct OkLatencyStream {
    /// Each client process's open invocation: its function and time.
    open: BTreeMap<u64, (String, Option<u64>)>,
    histogram: Histogram<u64>,
    /// Every event so far carried a time.
    timed: bool,
    /// The events did not pair up (an invocation while one is open, a completion without
    /// one or of another function).
    unpaired: bool,
}

impl Default for OkLatencyStream {
    fn default() -> Self {
        OkLatencyStream {
            open: BTreeMap::new(),
            histogram: Histogram::new(3).expect("3 significant figures is a valid precision"),
            timed: true,
            unpaired: false,
        }
    }
}

impl OkLatencyStream {
    /// Take in the next event of the history.
    pub fn observe(&mut self, op: &Op) {
        self.timed &= op.time.is_some();
        let Process::Client(process) = op.process else {
            return;
        };
        if op.kind == OpType::Invoke {
            let previous = self
                .open
                .insert(process, (op.f.as_str().to_owned(), op.time));
            self.unpaired |= previous.is_some();
            return;
        }
        match self.open.remove(&process) {
            Some((f, invoked)) if f == op.f.as_str() => {
                if op.kind == OpType::Ok {
                    let latency = op.time.unwrap_or(0).saturating_sub(invoked.unwrap_or(0));
                    crate::plots::record(&mut self.histogram, latency);
                }
            }
            _ => self.unpaired = true,
        }
    }

    /// The 99th percentile latency of the `ok` operations seen, in milliseconds.
    pub fn p99_ms(&self) -> Option<f64> {
        if self.unpaired || !self.timed || self.histogram.is_empty() {
            return None;
        }
        Some(self.histogram.value_at_quantile(0.99) as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty_checkers::{Op, OpType, Process, Value};

    fn op(process: u64, kind: OpType, time_ns: u64) -> Op {
        Op::new(Process::Client(process), kind, "write", Value::Int(1)).with_time(time_ns)
    }

    #[test]
    fn the_p99_is_of_ok_operations_in_milliseconds() {
        let mut ops = Vec::new();
        // 100 ok operations of 1 ms .. 100 ms, and a failed one of 900 ms that does not count.
        for i in 0..100u64 {
            let start = i * 1_000_000_000;
            ops.push(op(0, OpType::Invoke, start));
            ops.push(op(0, OpType::Ok, start + (i + 1) * 1_000_000));
        }
        ops.push(op(1, OpType::Invoke, 0));
        ops.push(op(1, OpType::Fail, 900_000_000));
        let history = History::from_ops(ops);
        let p99 = ok_latency_ms_p99(&history).unwrap().unwrap();
        assert!((p99 - 99.0).abs() < 0.1, "p99 {p99}");
    }

    #[test]
    fn no_ok_operation_or_no_times_give_none() {
        let history = History::from_ops([op(0, OpType::Invoke, 0), op(0, OpType::Info, 5)]);
        assert_eq!(ok_latency_ms_p99(&history).unwrap(), None);
        let untimed = History::from_ops([
            Op::new(Process::Client(0), OpType::Invoke, "read", Value::Nil),
            Op::new(Process::Client(0), OpType::Ok, "read", Value::Nil),
        ]);
        assert_eq!(ok_latency_ms_p99(&untimed).unwrap(), None);
    }
}
