//! The linearizability checker on the shared reference histories (Porcupine's etcd and kv
//! files, all of its test data) and on a synthetic key-value history, valid and with one
//! planted violation. Parsing is outside the measured loop. Process-level figures beside
//! Porcupine's: `benches/porcupine.sh`.
//!
//! `cargo bench -p rafty-checkers --bench linearizability [-- FILTER]`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rafty_checkers::import;
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

criterion_group!(benches, etcd, kv, synthetic);
criterion_main!(benches);
