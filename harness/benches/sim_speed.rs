//! Simulation speed: simulated seconds per wall-clock second of the default test (5 nodes, kv
//! workload, every nemesis, 10 s time limit), in release. Criterion times the simulation part
//! of whole runs (each iteration a new seed); the judging afterwards is not counted. The speed
//! is printed at the end.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rafty_harness::run::config::TestConfig;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner;
use rafty_workloads::WorkloadKind;

fn simulation_speed(criterion: &mut Criterion) {
    let config = TestConfig::new(WorkloadKind::named("kv").unwrap());
    let plugins = Plugins::reference();
    let mut simulated = Duration::ZERO;
    let mut wall = Duration::ZERO;
    let mut seed = 0;
    let mut group = criterion.benchmark_group("simulation");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("kv-5n-all-nemeses-10s", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iterations {
                seed += 1;
                let output = runner::run(&config, seed, &plugins);
                let simulation = &output.result.checks.simulation;
                let run_wall = Duration::from_millis(simulation.wall_ms);
                elapsed += run_wall;
                simulated += Duration::from_millis(simulation.simulated_ms);
                wall += run_wall;
            }
            elapsed
        });
    });
    group.finish();
    println!(
        "simulation speed: {:.1} simulated seconds per wall second ({:.0} s simulated in {:.1} s, {seed} runs)",
        simulated.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        simulated.as_secs_f64(),
        wall.as_secs_f64()
    );
}

criterion_group!(benches, simulation_speed);
criterion_main!(benches);
