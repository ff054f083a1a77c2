//! The transactional checker on synthetic strictly serializable list-append histories
//! (10 keys active at a time, 4 micro-operations a transaction, 10 processes) of 10,000 and
//! 100,000 transactions (the 1,000,000 one is `tests/elle_scale.rs`), and on Elle's
//! published huge-scc history (one big cycle to classify); parsing is outside the measured
//! loop.
//!
//! `cargo bench -p rafty-checkers --bench elle [-- FILTER]`

use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rafty_checkers::elle::synthetic::{ListAppendShape, list_append_history};
use rafty_checkers::elle::{ElleOptions, TxnModel, check};
use rafty_checkers::import;

fn synthetic(c: &mut Criterion) {
    let mut group = c.benchmark_group("elle-list-append");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300));
    for transactions in [10_000, 100_000] {
        let history = list_append_history(&ListAppendShape {
            transactions,
            ..ListAppendShape::default()
        });
        group.bench_with_input(
            BenchmarkId::from_parameter(transactions),
            &history,
            |b, history| {
                b.iter(|| {
                    let result =
                        check(TxnModel::ListAppend, history, &ElleOptions::default()).unwrap();
                    assert!(result.valid);
                })
            },
        );
    }
    group.finish();
}

fn huge_scc(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories/elle-published/huge-scc.edn");
    let history = import::read_file(&path, None).unwrap().history;
    c.bench_function("elle-huge-scc", |b| {
        b.iter(|| {
            let result = check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
            assert!(!result.valid);
        })
    });
}

criterion_group!(benches, synthetic, huge_scc);
criterion_main!(benches);
