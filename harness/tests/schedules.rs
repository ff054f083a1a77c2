//! Schedules (issue 22): a run's inputs written as data replay to the same history byte for
//! byte, edits take effect, a bad file is refused naming the field, and shrinking finds a
//! smaller schedule that still fails the same check, the same way every time.

mod common;

use std::path::Path;
use std::time::Duration;

use rafty_harness::catalogue::search::fired;
use rafty_harness::cli::shrink::catalogue_schedule;
use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::LogKind;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner::{self, RunOptions, RunOutput};
use rafty_harness::schedule::{self, Schedule};
use rafty_harness::shrink::{self, ShrinkOptions};
use rafty_workloads::WorkloadKind;

fn replay(schedule: &Schedule) -> RunOutput {
    let plugins = schedule::plugins_for(schedule).expect("the schedule's parts");
    schedule::run_schedule(schedule, &plugins, RunOptions::default())
}

fn assert_replays_exactly(output: &RunOutput, schedule: &Schedule, what: &str) {
    let again = replay(schedule);
    let (first, second) = (common::history_bytes(output), common::history_bytes(&again));
    assert!(
        first.len() > 1000,
        "{what}: the run recorded a real history"
    );
    assert!(first == second, "{what}: the replay's history differs");
    assert_eq!(output.nemesis_log, again.nemesis_log, "{what}");
    assert_eq!(output.result.valid, again.result.valid, "{what}");
    let replayed = Schedule::of_run(
        &again,
        schedule.seed,
        schedule.plant.clone(),
        schedule.core_assertions,
    );
    assert_eq!(
        &replayed, schedule,
        "{what}: the replay applied its schedule as given"
    );
}

/// The schedule of a seed's run, replayed, gives the run's history byte for byte: one fault
/// at a time, overlapping faults, and the file log's reactive faults (a power cut the moment a
/// disk froze, Figure 8 aimed at the leader), each recorded as applied.
#[test]
fn a_replayed_schedule_gives_the_same_history_byte_for_byte() {
    let kv = WorkloadKind::named("kv").unwrap();
    let mut overlapping = common::short_config(kv, 5);
    overlapping.nemesis_overlap = 3;
    let mut file = common::short_config(kv, 5);
    file.log = LogKind::File;
    file.nemesis = FaultKind::all(LogKind::File);
    // Figure 8 alone, replayed following the leader, runs its sequence again (reacting to
    // the replay's leaders): it must come to the actions it recorded.
    let mut figure8 = common::short_config(kv, 5);
    figure8.nemesis = vec![FaultKind::named("figure8").unwrap()];
    let mut figure8_steps = 0;
    for (name, config, seeds) in [
        ("one at a time", common::short_config(kv, 5), [1, 2]),
        ("overlapping", overlapping, [3, 4]),
        ("file log", file, [5, 6]),
        ("figure 8", figure8, [7, 8]),
    ] {
        let plugins = Plugins::for_config(&config).unwrap();
        for seed in seeds {
            let output = runner::run(&config, seed, &plugins);
            let schedule = Schedule::of_run(&output, seed, None, true);
            assert!(!schedule.faults.is_empty(), "{name} seed {seed}: no faults");
            assert!(schedule.size().operations > 100, "{name} seed {seed}");
            assert_replays_exactly(&output, &schedule, &format!("{name} seed {seed}"));
            // Aimed at the replay's own leaders (as the shrinker replays its candidates), an
            // unedited schedule's faults meet the leaders they recorded: the same run.
            assert!(
                schedule.faults.iter().any(|fault| fault.leader.is_some()),
                "{name} seed {seed}: no fault recorded a leader"
            );
            figure8_steps += schedule
                .faults
                .iter()
                .filter(|fault| fault.kind.name() == "figure8")
                .map(|fault| fault.actions.len())
                .sum::<usize>();
            let following = Schedule {
                follow_leader: true,
                ..schedule.clone()
            };
            let again = replay(&following);
            assert!(
                common::history_bytes(&output) == common::history_bytes(&again),
                "{name} seed {seed}: following the leader changed the replay's history"
            );
        }
    }
    assert!(
        figure8_steps >= 4,
        "Figure 8 took {figure8_steps} steps in all"
    );
}

/// A catalogue bug's failing run replays to the same history and the same violation.
#[test]
fn a_failing_catalogue_run_replays_to_the_same_history_and_violation() {
    let schedule = catalogue_schedule("log-forgets-on-restart", None).unwrap();
    let plugins = schedule::plugins_for(&schedule).unwrap();
    let inputs = runner::Inputs::Listed {
        faults: &schedule.faults,
        client_ops: &schedule.clients,
        follow_leader: false,
    };
    let output = runner::run_inputs(
        &schedule.config,
        schedule.seed,
        &plugins,
        RunOptions::default(),
        inputs,
    );
    let (checks, _) = fired(&output.result);
    assert!(
        checks.contains(&"invariant durable-state-kept".to_owned()),
        "{checks:?}"
    );
    assert_replays_exactly(&output, &schedule, "log-forgets-on-restart");
}

/// A core mutation's failing run (with the core's own assertions off, as the catalogue runs)
/// replays exactly too.
#[cfg(feature = "mutations")]
#[test]
fn a_core_mutation_run_replays_exactly() {
    let schedule = catalogue_schedule("vote-twice-in-term", None).unwrap();
    assert!(!schedule.core_assertions);
    let output = replay(&schedule);
    let (checks, _) = fired(&output.result);
    assert!(
        checks.contains(&"invariant one-vote-per-term".to_owned()),
        "{checks:?}"
    );
    assert_replays_exactly(&output, &schedule, "vote-twice-in-term");
}

/// The file round-trips, and edits by hand take effect: a fault dropped is not applied, a
/// client dropped invokes nothing.
#[test]
fn a_schedule_file_round_trips_and_edits_take_effect() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 4);
    let output = common::run(&config, 9);
    let schedule = Schedule::of_run(&output, 9, None, true);
    let text = schedule.to_json();
    let parsed = schedule::parse(&text, Path::new("schedule.json")).unwrap();
    assert_eq!(parsed, schedule);
    assert!(text.contains("\"version\": 1"), "{}", &text[..200]);

    let mut edited = schedule.clone();
    let dropped = edited.faults.remove(0);
    let gone = *edited.clients.keys().next().unwrap();
    edited.clients.remove(&gone);
    let again = replay(&edited);
    let history = String::from_utf8(common::history_bytes(&again)).unwrap();
    assert!(
        !history.contains(&format!("{:?}", dropped.description)),
        "{dropped:?}"
    );
    let invoked_by = |process: u64| {
        history.lines().any(|line| {
            line.contains(&format!("\"process\":{process},"))
                && line.contains("\"type\":\"invoke\"")
        })
    };
    // The dropped client's process still makes its final reads; it invokes nothing before.
    let first_invoke = history
        .lines()
        .find(|line| line.contains(&format!("\"process\":{gone},")))
        .unwrap();
    assert!(first_invoke.contains("\"f\":\"read\""), "{first_invoke}");
    assert!(invoked_by(gone + 1) || invoked_by(gone.saturating_sub(1)));
    let applied = Schedule::of_run(&again, 9, None, true);
    assert_eq!(applied.faults, edited.faults);
    assert!(!applied.clients.contains_key(&gone));
}

/// An edit of a schedule's JSON.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// A bad schedule is refused with an error naming the field, never a panic.
#[test]
fn a_bad_schedule_names_the_field() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 3);
    let output = common::run(&config, 2);
    let schedule = Schedule::of_run(&output, 2, None, true);
    let good: serde_json::Value = serde_json::from_str(&schedule.to_json()).unwrap();
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|v| v["version"] = 2.into())),
        ("seed", Box::new(|v| v["seed"] = "one".into())),
        ("surprise", Box::new(|v| v["surprise"] = 1.into())),
        (
            "config.nodes",
            Box::new(|v| v["config"]["nodes"] = 4.into()),
        ),
        (
            "config.raft",
            Box::new(|v| v["config"]["raft"]["heartbeat"] = 1.into()),
        ),
        (
            "config.workload",
            Box::new(|v| v["config"]["workload"]["kind"] = "nope".into()),
        ),
        (
            "faults[0]",
            Box::new(|v| v["faults"][0]["kind"] = "meteor".into()),
        ),
        (
            "faults[0].actions[0]",
            Box::new(|v| {
                v["faults"][0]["actions"][0]["action"] = serde_json::json!({"explode": 1})
            }),
        ),
        (
            "faults[0].actions[0].action",
            Box::new(|v| v["faults"][0]["actions"][0]["action"] = serde_json::json!({"kill": 9})),
        ),
        (
            "faults[0].actions[0].at_ms",
            Box::new(|v| v["faults"][0]["actions"][0]["at_ms"] = 0.into()),
        ),
        (
            "clients[0].ops[1]",
            Box::new(|v| v["clients"][0]["ops"][1]["op"] = "write".into()),
        ),
        (
            "clients[0].client",
            Box::new(|v| v["clients"][0]["client"] = 99.into()),
        ),
        ("plant", Box::new(|v| v["plant"] = "no-such-bug".into())),
    ];
    for (field, break_it) in cases {
        let mut bad = good.clone();
        break_it(&mut bad);
        let error = schedule::parse(&bad.to_string(), Path::new("bad.json")).unwrap_err();
        assert_eq!(error.field, field, "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("bad.json: {field}: ")),
            "{error}"
        );
    }
    let error = schedule::parse("{\"version\": 1,", Path::new("cut.json")).unwrap_err();
    assert_eq!(error.field, "(file)", "{error}");
    assert!(error.reason.contains("line 1"), "{error}");
}

/// Shrinking keeps only what the failure needs: fewer faults and operations and a shorter
/// run, still failing the same check when replayed, and the same result every time.
#[test]
fn shrinking_finds_a_smaller_schedule_failing_the_same_check_deterministically() {
    let schedule = catalogue_schedule("log-forgets-on-restart", None).unwrap();
    let plugins = schedule::plugins_for(&schedule).unwrap();
    let options = ShrinkOptions {
        time_limit: Duration::from_secs(600),
        ..ShrinkOptions::default()
    };
    let shrunk = shrink::shrink(&schedule, &plugins, &options).unwrap();
    assert_eq!(shrunk.check, "invariant durable-state-kept");
    assert!(!shrunk.out_of_time);
    let (before, after) = (shrunk.before, shrunk.after);
    assert!(
        after.faults <= before.faults && after.faults <= 3,
        "{after}"
    );
    assert!(
        after.operations < before.operations / 10,
        "{before} -> {after}"
    );
    assert!(
        after.time_limit_ms < before.time_limit_ms,
        "{before} -> {after}"
    );
    let (checks, _) = fired(&replay(&shrunk.minimal).result);
    assert!(checks.contains(&shrunk.check), "{checks:?}");
    let again = shrink::shrink(&schedule, &plugins, &options).unwrap();
    assert_eq!(again.minimal, shrunk.minimal);
    assert_eq!(again.runs, shrunk.runs);
}

/// A schedule that does not fail is not shrunk: the error says so.
#[test]
fn a_passing_schedule_is_not_shrunk() {
    let config = common::short_config(WorkloadKind::named("kv").unwrap(), 3);
    let output = common::run(&config, 4);
    let schedule = Schedule::of_run(&output, 4, None, true);
    let error =
        shrink::shrink(&schedule, &Plugins::reference(), &ShrinkOptions::default()).unwrap_err();
    assert!(error.contains("does not fail"), "{error}");
}
