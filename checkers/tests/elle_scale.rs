//! Issue 23's scale target: a 1,000,000-transaction list-append history (10 keys active at a
//! time, 4 micro-operations a transaction, 10 processes, 1% indeterminate, 1% failed)
//! checked in memory. The wall and CPU times are printed (the figures to quote: on a shared
//! machine the CPU time is the one that says what the checker costs); the criterion bench
//! (`benches/elle.rs`) measures speed, and `rafty check --model list-append` on a file
//! reports peak memory. Debug builds skip this.

use std::time::Instant;

use rafty_checkers::elle::synthetic::{ListAppendShape, list_append_history};
use rafty_checkers::elle::{ElleOptions, TxnModel, check};

/// CPU time this thread has used, in seconds (Linux's `/proc/thread-self/schedstat`).
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// This process's peak resident memory so far, in MiB (`VmHWM` of `/proc/self/status`).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib >> 10)
}

#[test]
#[cfg_attr(debug_assertions, ignore = "large: run with --release")]
fn a_million_transaction_list_append_history_is_checked() {
    let history = list_append_history(&ListAppendShape::default());
    let history_peak = peak_rss_mib();
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
    let wall = started.elapsed();
    let cpu = thread_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| format!("{:.2} s", after - before));
    eprintln!(
        "1M transactions checked in {wall:?} wall, {} CPU; peak RSS {:?} MiB with the history \
         built, {:?} MiB after the check; edges {:?}",
        cpu.as_deref().unwrap_or("?"),
        history_peak,
        peak_rss_mib(),
        result.edges
    );
    assert!(result.valid, "{}", result.describe());
    assert!(result.anomaly_types.is_empty(), "{}", result.describe());
    assert_eq!(result.transactions, 1_000_000);
}
