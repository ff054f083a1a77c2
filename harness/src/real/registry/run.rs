//! One chaos run of the registry on real processes: start three `rafty node --registry`
//! processes (file logs, fsync) behind the fault proxy, run the workload's clients and
//! watchers while the real nemesis faults the cluster, heal, let the watchers catch up, list
//! every service once more, stop, and judge the history.
//!
//! The run's folder (`<store>/real-registry-3n-<kinds>/<time>-<seed>/`) holds
//! `history.jsonl` (rafty-checkers' format, so `rafty check` reads its config keys),
//! `results.json` (the verdict, both checks, the counts, every fault as applied),
//! `summary.txt`, `nemesis.log` and each node's log. Exit code 0 valid, 1 invalid, 2 unknown
//! or error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::target::RegistryTarget;
use super::workload::{CONFIG_KEYS, Client, Recording, SERVICES, Watcher};
use crate::checks::registry::{Judged, judge};
use crate::real::nemesis::{NemesisOutcome, RealNemesis};
use crate::real::record::unix_ms;
use crate::real::target::RealTarget;
use crate::sim::clock;
use crate::sim::recorder::Recorder;

/// Watchers per service.
pub const WATCHERS_PER_SERVICE: u64 = 2;
/// Watcher processes are numbered from here (clients from 0).
pub const FIRST_WATCHER: u64 = 100;
/// The final lists' process.
pub const FINAL_PROCESS: u64 = 999;

/// What a registry run does.
#[derive(Clone, Debug)]
pub struct RegistryRunOptions {
    /// Draws every operation and fault.
    pub seed: u64,
    /// How long the clients and the nemesis run.
    pub time_limit: Duration,
    /// Client processes (watchers come on top: two per service).
    pub clients: u64,
    /// The fault kinds (of `real::faults::REAL_KINDS`).
    pub kinds: Vec<&'static str>,
    /// A fault's typical length and the gap after it.
    pub interval: Duration,
    /// Time after healing before the final lists.
    pub recovery: Duration,
    /// Where run folders go.
    pub store: PathBuf,
    /// Where the nodes' data go (a new directory, removed at the end).
    pub data_root: PathBuf,
}

/// What a run concluded.
#[derive(Clone, Debug)]
pub struct RegistryRunOutcome {
    /// `valid`, `invalid` or `unknown`.
    pub verdict: &'static str,
    /// The run's folder.
    pub dir: PathBuf,
    /// summary.txt's text.
    pub summary: String,
}

/// Run it (blocks, on a runtime of its own).
pub fn run(options: &RegistryRunOptions) -> Result<RegistryRunOutcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build a runtime: {error}"))?;
    let local = tokio::task::LocalSet::new();
    let outcome = runtime.block_on(local.run_until(run_async(options)));
    clock::end_real_run();
    outcome
}

/// The test's name: `real-registry-3n-` and the fault kinds.
pub fn test_name(kinds: &[&str]) -> String {
    let label = if kinds.is_empty() {
        "none".to_owned()
    } else {
        kinds.join("+")
    };
    format!("real-registry-3n-{label}")
}

async fn run_async(options: &RegistryRunOptions) -> Result<RegistryRunOutcome, String> {
    let wall = Instant::now();
    let stamp = unix_ms().to_string();
    let dir = crate::run::store::reserve_run_dir(
        &options.store,
        &test_name(&options.kinds),
        &stamp,
        options.seed,
    )
    .map_err(|error| format!("cannot create the run's folder: {error}"))?;
    let history_path = dir.join("history.jsonl");
    let file = std::fs::File::create(&history_path)
        .map_err(|error| format!("cannot create {}: {error}", history_path.display()))?;
    let recorder = Recorder::new(file);
    let settings = crate::real::runner::real_settings(&rafty::Config::default());
    let ids = [1, 2, 3];
    let lazy_fs = options.kinds.contains(&"power");
    let modes = crate::real::cluster::NodeModes {
        lazy_fs,
        tls: false,
    };
    let mut target = RegistryTarget::start(&ids, &options.data_root, &settings, modes).await?;
    wait_until_ready(&target).await?;

    clock::start_real_run();
    let started_unix_ms = unix_ms();
    let limit = options.time_limit;
    let watch_until = limit + options.recovery + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for process in 0..options.clients {
        let client = Client {
            recording: Recording {
                recorder: recorder.clone(),
                process,
            },
            api: target.registry_client(ids[process as usize % 3], Duration::from_secs(1)),
            rng: ChaCha8Rng::seed_from_u64(options.seed ^ (process + 1) << 32),
            until: limit,
        };
        tasks.push(tokio::task::spawn_local(client.run()));
    }
    let mut process = FIRST_WATCHER;
    for service in SERVICES {
        for _ in 0..WATCHERS_PER_SERVICE {
            let watcher = Watcher {
                recording: Recording {
                    recorder: recorder.clone(),
                    process,
                },
                api: target.registry_client(ids[process as usize % 3], Duration::from_secs(2)),
                service,
                until: watch_until,
            };
            tasks.push(tokio::task::spawn_local(watcher.run()));
            process += 1;
        }
    }
    let nemesis = RealNemesis {
        kinds: options.kinds.clone(),
        interval: options.interval,
        start_after: Duration::from_secs(1),
        time_limit: limit,
        rng: ChaCha8Rng::seed_from_u64(options.seed),
    };
    let outcome: NemesisOutcome = nemesis.run(&mut target, &recorder).await;
    let mut error = outcome.error.clone();
    tokio::time::sleep(options.recovery).await;
    final_lists(&target, &recorder).await;
    let hard_deadline = Duration::from_secs(30);
    for task in tasks {
        match tokio::time::timeout(hard_deadline, task).await {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => {
                error.get_or_insert(format!("a client task failed: {failure}"));
            }
            Err(_) => {
                error.get_or_insert("a client still ran 30 s after the run's end".to_owned());
            }
        }
    }
    let elapsed = clock::now();
    let logs = target.stop().await;
    drop(target);
    if let Err(failure) = recorder.finish() {
        error.get_or_insert(format!("the history could not be written: {failure}"));
    }
    write_logs(&dir, &logs, &outcome.log)?;
    let judged = judge(&history_path, Duration::from_secs(300))?;
    let verdict = match (&error, judged.verdict()) {
        (_, "invalid") => "invalid",
        (Some(_), _) => "unknown",
        (None, verdict) => verdict,
    };
    let summary = judged.summary(verdict, &error, options, elapsed, &outcome);
    let results = json!({
        "test": test_name(&options.kinds),
        "valid": verdict,
        "seed": options.seed,
        "time_limit_s": options.time_limit.as_secs(),
        "run_s": elapsed.as_secs_f64(),
        "wall_s": wall.elapsed().as_secs_f64(),
        "clients": options.clients,
        "watchers": SERVICES.len() as u64 * WATCHERS_PER_SERVICE,
        "error": error,
        "operations": judged.counts,
        "registry": judged.registry_json(),
        "config": judged.config_json(),
        "real": {
            "deterministic": false,
            "target": "registry",
            "fault_kinds": options.kinds,
            "faults": outcome.applied,
            "started_unix_ms": started_unix_ms,
            "lazy_fs": lazy_fs,
            "not_checked": [
                "power: LazyFs loses a node's unsynced writes whole; a torn or reordered \
                 write-back of them is the simulation's (power-mid-write)"
            ],
        },
    });
    let text = serde_json::to_string_pretty(&results).expect("serializable");
    write(&dir.join("results.json"), &text)?;
    write(&dir.join("summary.txt"), &summary)?;
    Ok(RegistryRunOutcome {
        verdict,
        dir,
        summary,
    })
}

/// Write config keys until one is acknowledged: a leader is elected and commits.
async fn wait_until_ready(target: &RegistryTarget) -> Result<(), String> {
    let mut client = target.registry_client(1, Duration::from_millis(500));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.config_put("ready", "1").await {
            rafty_registry::client::Outcome::Ok(_) => return Ok(()),
            other if Instant::now() >= deadline => {
                return Err(format!(
                    "the registry committed nothing within 30 s: {other:?}"
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// After healing: list every service once more (durability: each list is checked at its
/// revision like any other) and read every config key.
async fn final_lists(target: &RegistryTarget, recorder: &Recorder) {
    let mut api = target.registry_client(1, Duration::from_secs(2));
    let mut client = Client {
        recording: Recording {
            recorder: recorder.clone(),
            process: FINAL_PROCESS,
        },
        api: api.clone(),
        rng: ChaCha8Rng::seed_from_u64(0),
        until: Duration::ZERO,
    };
    for service in SERVICES {
        client.list_once(service).await;
    }
    for key in CONFIG_KEYS {
        let recording = &client.recording;
        recording.invoke("read", key, rafty_checkers::Value::Nil);
        let result = super::target::config_result(api.config_get(key).await);
        recording.complete("read", key, result, Some(format!("n{}", api.current())));
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn write_logs(
    dir: &Path,
    logs: &BTreeMap<u64, Vec<String>>,
    nemesis: &[String],
) -> Result<(), String> {
    for (id, lines) in logs {
        write(&dir.join(format!("n{id}.log")), &(lines.join("\n") + "\n"))?;
    }
    write(&dir.join("nemesis.log"), &(nemesis.join("\n") + "\n"))
}

impl Judged {
    fn summary(
        &self,
        verdict: &str,
        error: &Option<String>,
        options: &RegistryRunOptions,
        elapsed: Duration,
        nemesis: &NemesisOutcome,
    ) -> String {
        let mut text = format!(
            "registry chaos run, seed {}: {verdict}\n{:.1} s with {} clients and {} watchers, \
             faults {} ({} applied)\n",
            options.seed,
            elapsed.as_secs_f64(),
            options.clients,
            SERVICES.len() as u64 * WATCHERS_PER_SERVICE,
            options.kinds.join(", "),
            nemesis.applied.len()
        );
        if let Some(error) = error {
            text += &format!("error: {error}\n");
        }
        for (f, by_type) in &self.counts {
            let parts: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
            text += &format!("  {f:<10} {}\n", parts.join(", "));
        }
        text += &format!(
            "instance sets and watches: {} ({} ok operations checked at their revisions, {} \
             changes, {} watchers complete)\n",
            match self.registry.verdict() {
                "invalid" => "INVALID",
                verdict => verdict,
            },
            self.registry.checked,
            self.registry.changes,
            self.registry.watchers.len()
        );
        for problem in &self.registry.problems {
            text += &format!("  - {problem}\n");
        }
        for unknown in &self.registry.unknown {
            text += &format!("  - unknown: {unknown}\n");
        }
        text += &format!(
            "config keys (cas-register, linearizability): {} ({} operations){}\n",
            self.config.0,
            self.config.1,
            self.config
                .2
                .as_ref()
                .map_or(String::new(), |r| format!(": {r}"))
        );
        text
    }
}
