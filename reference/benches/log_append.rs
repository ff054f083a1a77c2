//! Append throughput of MemoryLog and FileLog in batches of 1, 64 and 1024 entries, beside the
//! raw cost of `write` + `File::sync_data` of the same number of bytes on the same disk.
//!
//! `memory_log_compacting/64`: the same appends to a `MemoryLog` that is compacted the way the
//! default snapshot policy does it (every 10,000 entries, 5,000 kept), compaction included in
//! the timing: a compaction that dropped the vector's capacity shows here as regrowth.
//!
//! Run with `cargo bench -p rafty --bench log_append`. Files go under the target directory
//! (a real disk), not /tmp, which may be a RAM disk where fsync costs nothing.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rafty::{Entry, FileLog, FileLogOptions, Log, LogIndex, MemoryLog, Payload};

const BATCH_SIZES: [usize; 3] = [1, 64, 1024];
const PAYLOAD_BYTES: usize = 128;
/// Truncate the log back to empty (untimed) once it holds this many entries.
const RESET_AFTER: LogIndex = 200_000;

fn batch(first: LogIndex, count: usize) -> Vec<Entry> {
    (0..count as LogIndex)
        .map(|offset| Entry {
            term: 1,
            index: first + offset,
            payload: Payload::Command(vec![7; PAYLOAD_BYTES]),
        })
        .collect()
}

/// Time `iterations` appends of `size`-entry batches; resets the log outside the timing.
fn time_appends(log: &mut impl Log, size: usize, iterations: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        if log.last_index() >= RESET_AFTER {
            log.truncate(1).expect("reset");
        }
        let entries = batch(log.last_index() + 1, size);
        let start = Instant::now();
        log.append(&entries).expect("append");
        total += start.elapsed();
    }
    total
}

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory")
}

fn log_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("log_append");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for size in BATCH_SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("memory_log", size), &size, |b, &size| {
            let mut log = MemoryLog::new();
            b.iter_custom(|iterations| time_appends(&mut log, size, iterations));
        });
        group.bench_with_input(BenchmarkId::new("file_log", size), &size, |b, &size| {
            let dir = bench_dir();
            let options = FileLogOptions::default();
            let mut log = FileLog::open_with(rafty::file_log::fs::StdFs, dir.path(), options)
                .expect("open the file log");
            b.iter_custom(|iterations| time_appends(&mut log, size, iterations));
        });
        group.bench_with_input(
            BenchmarkId::new("raw_write_sync_data", size),
            &size,
            |b, &size| {
                let dir = bench_dir();
                let mut file = File::create(dir.path().join("raw")).expect("create");
                let bytes = vec![7u8; size * (PAYLOAD_BYTES + 32)];
                b.iter_custom(|iterations| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        file.write_all(&bytes).expect("write");
                        file.sync_data().expect("sync_data");
                    }
                    start.elapsed()
                });
            },
        );
    }
    group.finish();
}

/// Snapshot policy of the compacting bench: the library's defaults.
const COMPACT_EVERY: LogIndex = 10_000;
const KEEP: LogIndex = 5_000;

/// Appends of 64 entries to a log compacted every `COMPACT_EVERY` entries, `KEEP` kept.
fn log_append_compacting(c: &mut Criterion) {
    let mut group = c.benchmark_group("log_append");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let size = 64;
    group.throughput(Throughput::Elements(size as u64));
    group.bench_with_input(
        BenchmarkId::new("memory_log_compacting", size),
        &size,
        |b, &size| {
            let mut log = MemoryLog::new();
            let mut compacted: LogIndex = 0;
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let entries = batch(log.last_index() + 1, size);
                    let start = Instant::now();
                    log.append(&entries).expect("append");
                    let last = log.last_index();
                    if last - compacted >= COMPACT_EVERY + KEEP {
                        compacted = last - KEEP;
                        log.compact(compacted, 1).expect("compact");
                    }
                    total += start.elapsed();
                }
                total
            });
        },
    );
    group.finish();
}

criterion_group!(benches, log_append, log_append_compacting);
criterion_main!(benches);
