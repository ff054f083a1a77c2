//! Judging a run: every check on what the run left behind, and the overall verdict.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rafty_checkers::{History, Value};

use crate::checks::{admin, linearizable, liveness, transactional};
use crate::nemesis::NemesisEvent;
use crate::sim::observe::Observations;

use super::config::{TestConfig, Variant};
use super::digest::Digest;
use super::results::{
    Checks, DurabilityReport, InvariantsReport, RunResult, SimulationReport, Validity,
};
use super::store;

/// Everything a run left behind.
pub struct Evidence<'r> {
    /// The test.
    pub config: &'r TestConfig,
    /// The seed.
    pub seed: u64,
    /// The history as a JSON-lines file (the run's spool), when it was written whole: every
    /// check reads it from disk, one pass each, never holding it; `None`: no history (the
    /// spool failed, which `error` says).
    pub history_file: Option<&'r Path>,
    /// The nemesis operations.
    pub nemesis: &'r [NemesisEvent],
    /// What the nodes reported.
    pub observations: &'r Observations,
    /// The final reads.
    pub final_reads: BTreeMap<String, Option<Value>>,
    /// Why the simulation stopped early, if it did.
    pub error: Option<String>,
    /// Simulated time taken.
    pub simulated: Duration,
    /// Wall-clock time taken.
    pub wall: Duration,
    /// The process's peak resident memory when the simulation ended.
    pub peak_rss_bytes: Option<u64>,
}

/// The healthy-window parameters of the liveness check: a window starts this long after a
/// fault ends, and counts only if it lasts at least [`LIVENESS_MIN_WINDOW`].
pub const LIVENESS_RECOVERY: Duration = Duration::from_secs(1);
/// The shortest healthy window the liveness check counts.
pub const LIVENESS_MIN_WINDOW: Duration = Duration::from_millis(500);

/// Run every check and give the verdict.
pub fn judge(evidence: &Evidence<'_>) -> RunResult {
    let config = evidence.config;
    let model = config.workload.kind.model();
    // The history is read from disk, never held: the linearizability check streams it per
    // key, and one more pass takes every other figure (counts, latency, liveness).
    let windows = liveness::Windows::new(
        evidence.nemesis,
        config.workload.time_limit,
        LIVENESS_RECOVERY,
        LIVENESS_MIN_WINDOW,
    );
    // A stale read is recorded `info` even when its node served it (until the time limit,
    // which every window ends by): it says nothing of whether the node answers.
    let windows = if config.reads == rafty::ReadConsistency::Stale {
        windows.answers_unjudged_for(&["read", "get"])
    } else {
        windows
    };
    // A transactional workload's history is judged by its own checker (Elle or a direct
    // one), the linearizability check being for the key-value workloads.
    let transactional = match evidence.history_file {
        Some(file) => transactional::check_file(file, &config.workload),
        None => transactional::check_history(&History::new(), &config.workload),
    };
    let checked = match (&transactional, evidence.history_file) {
        (Some(_), _) => None,
        (None, Some(file)) => Some(linearizable::check_file(
            file,
            model,
            config.check_time_limit,
        )),
        (None, None) => Some(linearizable::check(
            &History::new(),
            model,
            config.check_time_limit,
        )),
    };
    let digest = match evidence.history_file {
        Some(file) => Digest::new(windows).read(file),
        // No history: no window can be judged (the spool's failure is the run's error).
        None => Ok(Digest::new(windows.until(0))),
    };
    let mut error = evidence.error.clone();
    // A history that cannot be read to its end makes the run unknown, naming the file and
    // line; the figures keep what was read before it (never a fresh, empty digest, whose
    // unmarked windows would read as a liveness failure).
    let digest = digest.unwrap_or_else(|unread| {
        let failure = format!(
            "the history could not be read back (the figures cover the events before it): {}",
            unread.error
        );
        error = Some(
            error
                .take()
                .map_or(failure.clone(), |first| format!("{first}; {failure}")),
        );
        unread.digest
    });

    let (linearizability, linearizable) = match (transactional, checked) {
        (Some(judged), _) => judged,
        (None, Some(checked)) => linearizability_verdict(checked),
        (None, None) => unreachable!("a workload is judged by one check or the other"),
    };

    let invariants = evidence.observations.with_invariants(|invariants| {
        let (violations, count) = invariants.violations();
        InvariantsReport {
            valid: Validity::from(count == 0),
            violation_count: count,
            violations: violations.to_vec(),
            observed: invariants.counts().clone(),
        }
    });
    let (acknowledged, missing) = evidence
        .observations
        .with_invariants(|invariants| invariants.durability());
    let unsettled = evidence
        .observations
        .with_invariants(|invariants| invariants.unsettled());
    let busy = admin::busy_stretches(evidence.nemesis, LIVENESS_RECOVERY.as_nanos() as u64);
    let admin_problems = evidence
        .observations
        .admin_problems(|from, to| admin::quiet_in(&busy, from, to));
    let liveness = digest
        .windows
        .verdict(&evidence.final_reads)
        .with_unsettled(unsettled)
        .with_admin(admin_problems);
    let durability = durability(acknowledged, missing, liveness.keys_never_read.is_empty());
    let simulation = SimulationReport {
        valid: if error.is_some() {
            Validity::Unknown
        } else {
            Validity::Valid
        },
        error,
        simulated_ms: evidence.simulated.as_millis() as u64,
        wall_ms: evidence.wall.as_millis() as u64,
        peak_rss_bytes: evidence.peak_rss_bytes,
    };

    let safety = linearizable.and(invariants.valid).and(durability.valid);
    let valid = safety
        .and(Validity::from(liveness.valid))
        .and(simulation.valid);
    let failure = if safety == Validity::Invalid {
        "safety"
    } else if !liveness.valid {
        "liveness"
    } else {
        "none"
    };
    RunResult {
        test: config.name(),
        seed: evidence.seed,
        valid,
        failure,
        checks: Checks {
            linearizability,
            invariants,
            durability,
            liveness,
            simulation,
        },
        ops: digest.ops,
        latency_ms_p99: digest.latency.p99_ms(),
        nemesis: evidence.nemesis.to_vec(),
        config: config.clone(),
        git_commit: store::git_commit(),
        reproduce: reproduce_command(config, evidence.seed),
        real: None,
    }
}

/// The linearizability check's result as `results.json` holds it, and its verdict.
fn linearizability_verdict(
    checked: Result<rafty_checkers::CheckResult, String>,
) -> (serde_json::Value, Validity) {
    match checked {
        Ok(result) => {
            let validity = match result.valid {
                rafty_checkers::Verdict::Linearizable => Validity::Valid,
                rafty_checkers::Verdict::NotLinearizable => Validity::Invalid,
                rafty_checkers::Verdict::Unknown => Validity::Unknown,
            };
            (serde_json::to_value(&result).unwrap_or_default(), validity)
        }
        Err(error) => (
            serde_json::json!({ "valid": "unknown", "error": error }),
            Validity::Unknown,
        ),
    }
}

/// Every acknowledged write must be in the final applied sequence (the invariant checker's
/// durability ledger found `missing` of `acknowledged` writes not there). Unknown when the
/// final reads did not all succeed (the final state may not have been reached).
fn durability(
    acknowledged: u64,
    missing: Vec<String>,
    final_state_reached: bool,
) -> DurabilityReport {
    let valid = if !missing.is_empty() {
        if final_state_reached {
            Validity::Invalid
        } else {
            Validity::Unknown
        }
    } else {
        Validity::Valid
    };
    DurabilityReport {
        valid,
        acknowledged: acknowledged as usize,
        missing,
    }
}

/// The one-line command that reproduces a run.
pub fn reproduce_command(config: &TestConfig, seed: u64) -> String {
    let nemesis: Vec<&str> = config.nemesis.iter().map(|kind| kind.name()).collect();
    let nemesis = if nemesis.is_empty() {
        "none".to_owned()
    } else {
        nemesis.join(",")
    };
    let mut command = format!(
        "cargo run --release -p rafty-harness -- test --workload {} --nodes {} --nemesis {} \
         --time-limit {}ms --concurrency {} --rate {} --keys {} --seed {seed}",
        config.workload.kind.name(),
        config.nodes,
        nemesis,
        config.workload.time_limit.as_millis(),
        config.workload.concurrency,
        config.workload.rate_per_second,
        config.workload.key_count,
    );
    command.push_str(&format!(
        " --nemesis-interval {}ms",
        config.nemesis_interval.as_millis()
    ));
    if config.nemesis_overlap != 1 {
        command.push_str(&format!(" --nemesis-overlap {}", config.nemesis_overlap));
    }
    if config.reads != rafty::ReadConsistency::Log {
        let reads = crate::run::config::reads_name(config.reads);
        command.push_str(&format!(" --reads {reads}"));
        if config.reads == rafty::ReadConsistency::Lease {
            let percent = config.lease_margin_percent;
            command.push_str(&format!(" --lease-margin-percent {percent}"));
        }
    }
    if config.sessions {
        command.push_str(" --sessions");
    }
    if config.clients != crate::sim::pinned::ClientRouting::Leader {
        command.push_str(&format!(" --clients {}", config.clients.name()));
    }
    if config.raft.follower_reads {
        command.push_str(" --follower-reads");
    }
    if (config.latency_min, config.latency_max) == crate::run::config::LAN_LATENCY {
        command.push_str(" --network lan");
    }
    let defaults = TestConfig::new(config.workload.kind);
    if config.workload.txn_ops != defaults.workload.txn_ops {
        command.push_str(&format!(" --txn-ops {}", config.workload.txn_ops));
    }
    if config.workload.key_rotation != defaults.workload.key_rotation {
        command.push_str(&format!(" --key-rotation {}", config.workload.key_rotation));
    }
    let mix = config.workload.mix;
    if mix != defaults.workload.mix {
        command.push_str(&format!(" --mix {},{},{}", mix.read, mix.write, mix.cas));
    }
    if !config.draw_settings {
        command.push_str(" --fixed-settings");
    }
    // Drawn settings come back from the seed; only fixed ones are flags.
    if !config.draw_settings && config.raft.max_append_entries != defaults.raft.max_append_entries {
        command.push_str(&format!(
            " --max-append-entries {}",
            config.raft.max_append_entries
        ));
    }
    if !config.draw_settings
        && config.raft.max_inflight_appends != defaults.raft.max_inflight_appends
    {
        command.push_str(&format!(
            " --max-inflight-appends {}",
            config.raft.max_inflight_appends
        ));
    }
    if config.raft.snapshot_threshold_entries != defaults.raft.snapshot_threshold_entries {
        command.push_str(&format!(
            " --snapshot-threshold-entries {}",
            config.raft.snapshot_threshold_entries
        ));
    }
    if config.raft.snapshot_keep_entries != defaults.raft.snapshot_keep_entries {
        command.push_str(&format!(
            " --snapshot-keep-entries {}",
            config.raft.snapshot_keep_entries
        ));
    }
    if config.log != super::config::LogKind::Memory {
        command.push_str(&format!(" --log {}", config.log.name()));
    }
    if config.variant != super::config::Variant::Reference {
        command.push_str(&format!(" --variant {}", config.variant.name()));
        if matches!(
            config.variant,
            Variant::CommitPreviousTermByCount | Variant::VoteWithoutLogCheck
        ) {
            command = command.replacen(
                "-p rafty-harness",
                "-p rafty-harness --features mutations",
                1,
            );
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use rafty_workloads::WorkloadKind;

    use super::*;

    /// The reproduction command, parsed back, describes the same test.
    #[test]
    fn the_reproduction_command_describes_the_same_test() {
        let mut config = TestConfig::new(WorkloadKind::named("append").unwrap());
        config.nodes = 3;
        config.workload.mix.read = 5;
        config.raft.max_append_entries = 1;
        config.draw_settings = false;
        config.nemesis_interval = std::time::Duration::from_millis(700);
        config.variant = Variant::StaleLeaderReads;
        config.log = crate::run::config::LogKind::File;
        // The soak's seed 24 of `--reads lease --clients pinned --follower-reads` printed a
        // command without its last two flags, which ran another test.
        config.reads = rafty::ReadConsistency::Lease;
        config.clients = crate::sim::pinned::ClientRouting::Pinned;
        config.raft.follower_reads = true;
        (config.latency_min, config.latency_max) = crate::run::config::LAN_LATENCY;
        let command = reproduce_command(&config, 42);
        let args = command.split(" -- test ").nth(1).expect("a test command");
        let parsed = crate::cli::test::parse(args).expect("parses");
        assert_eq!(parsed.config().expect("valid"), config);
        assert_eq!(parsed.seeds(), Ok(vec![42]));
    }

    /// Settings drawn from the seed are not flags: the seed draws them again.
    #[test]
    fn the_reproduction_command_of_drawn_settings_draws_them_again() {
        let config = TestConfig::new(WorkloadKind::named("kv").unwrap());
        let drawn = config.for_seed(7);
        let command = reproduce_command(&drawn, 7);
        assert!(!command.contains("--max-append-entries"), "{command}");
        let args = command.split(" -- test ").nth(1).expect("a test command");
        let parsed = crate::cli::test::parse(args).expect("parses");
        assert_eq!(parsed.config().expect("valid").for_seed(7), drawn);
    }
}
