//! The linearizability checker on the shared reference histories (Porcupine's etcd and kv
//! files, all of its test data) and on a synthetic key-value history, valid and with one
//! planted violation; parsing is outside the measured loop. The `streamed` group checks
//! generated JSON-lines files from disk (`rafty_checkers::stream`, parsing included) at
//! 100,000 and 1,000,000 operations, and one key of 100,000 operations by 16 processes.
//! Process-level figures beside Porcupine's: `benches/porcupine.sh`.
//!
//! `cargo bench -p rafty-checkers --bench linearizability [-- FILTER]`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rafty_checkers::export::write_jsonl;
use rafty_checkers::import;
use rafty_checkers::stream::{NoProgress, StreamOptions};
use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};
use rafty_checkers::{CheckOptions, Convention, History, ModelKind, Verdict};

fn shared(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/porcupine")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "log" || ext == "txt")
        })
        .collect();
    files.sort();
    files
}

fn bench_files(c: &mut Criterion, group_name: &str, model: ModelKind, files: &[PathBuf]) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(700));
    for path in files {
        let imported = import::read_file(path, None).expect("readable history");
        let convention = imported.format.default_convention();
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        group.bench_with_input(
            BenchmarkId::from_parameter(name),
            &imported.history,
            |b, history| {
                b.iter(|| check(model, convention, history));
            },
        );
    }
    group.finish();
}

fn check(model: ModelKind, convention: Convention, history: &History) -> Verdict {
    model
        .check(convention, history, &CheckOptions::default())
        .expect("checkable history")
        .valid
}

fn etcd(c: &mut Criterion) {
    bench_files(c, "etcd", ModelKind::CasRegister, &shared("etcd"));
}

fn kv(c: &mut Criterion) {
    bench_files(c, "kv", ModelKind::Kv, &shared("kv"));
}

fn synthetic(c: &mut Criterion) {
    let shape = KvShape {
        operations: 100_000,
        ..KvShape::default()
    };
    let history = kv_history(&shape);
    let mut group = c.benchmark_group("synthetic");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("kv_100k_ops_1000_keys_20_processes", |b| {
        b.iter(|| check(ModelKind::Kv, Convention::Native, &history));
    });
    let mut planted = history.clone();
    plant_violation(&mut planted).expect("a read to change");
    group.bench_function(
        "kv_100k_ops_1000_keys_20_processes_planted_violation",
        |b| {
            b.iter(|| check(ModelKind::Kv, Convention::Native, &planted));
        },
    );
    group.finish();
}

/// A generated history written as JSON lines to `dir`, with a planted violation if `plant`.
fn generated(dir: &Path, shape: &KvShape, plant: bool) -> PathBuf {
    let mut history = kv_history(shape);
    if plant {
        plant_violation(&mut history).expect("a read to change");
    }
    let path = dir.join(format!(
        "kv-{}-{}-{}-{plant}.jsonl",
        shape.operations, shape.keys, shape.processes
    ));
    let file = std::fs::File::create(&path).expect("scratch file");
    write_jsonl(&history, std::io::BufWriter::new(file)).expect("history written");
    path
}

fn streamed(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("scratch folder");
    let mut group = c.benchmark_group("streamed");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let shapes = [
        ("kv_100k_ops_1000_keys_20_processes", 100_000, 1_000, 20),
        ("kv_1m_ops_1000_keys_20_processes", 1_000_000, 1_000, 20),
        ("kv_100k_ops_1_key_16_processes", 100_000, 1, 16),
    ];
    for (name, operations, keys, processes) in shapes {
        let shape = KvShape {
            operations,
            keys,
            processes,
            ..KvShape::default()
        };
        for plant in [false, true] {
            if keys == 1 && plant {
                continue;
            }
            let path = generated(dir.path(), &shape, plant);
            let expected = if plant {
                Verdict::NotLinearizable
            } else {
                Verdict::Linearizable
            };
            let name = if plant {
                format!("{name}_planted_violation")
            } else {
                name.to_owned()
            };
            group.bench_function(name, |b| {
                b.iter(|| {
                    let result = ModelKind::Kv
                        .check_file(
                            Convention::Native,
                            &path,
                            &CheckOptions::default(),
                            &StreamOptions::default(),
                            &NoProgress,
                        )
                        .expect("checkable history")
                        .result;
                    assert_eq!(result.valid, expected);
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, etcd, kv, synthetic, streamed);
criterion_main!(benches);
