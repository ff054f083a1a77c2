//! Rafty's acceptance scenarios, on the in-process network with in-memory logs, in virtual
//! time (`start_paused`): each node runs its real event loop, timers and RPC tasks.

mod cluster_support;

use std::sync::Arc;
use std::time::Duration;

use cluster_support::*;
use rafty::core::Role;
use rafty::node::{Node, NodeEvent, NodeOptions, StartError};
use rafty::{ClientError, Config, MemoryLog, StaticPeersProvider};

fn config() -> Config {
    Config::default()
}

fn seconds(count: u64) -> Duration {
    Duration::from_secs(count)
}

/// Rafty's solo mode: a single node elects itself, commits and applies alone.
#[tokio::test(start_paused = true)]
async fn runs_in_solo_mode() {
    let mut cluster = Cluster::start(1, config()).await;
    let leader = cluster.wait_for_leader(&[1]).await;
    assert_eq!(leader, 1);
    assert_eq!(cluster.submit(1, put("a", "1")).await, Ok(done()));
    assert_eq!(cluster.data(1).get("a").map(String::as_str), Some("1"));
    let status = cluster.node(1).status();
    assert_eq!((status.commit_index, status.last_applied), (2, 2));
    cluster.stop_all().await;
}

/// §5.2: a three-node cluster elects exactly one leader that every node knows.
#[tokio::test(start_paused = true)]
async fn elects_a_leader() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.leaders().len(), 1);
    assert!(cluster.ids.contains(&leader));
    cluster.stop_all().await;
}

/// §5.2: with heartbeats flowing, the leader stays leader in the same term.
#[tokio::test(start_paused = true)]
async fn elects_and_remains_leader() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let term = cluster.node(leader).status().term;
    tokio::time::sleep(seconds(10)).await;
    assert_eq!(cluster.leaders(), vec![(leader, term)]);
    assert_eq!(cluster.recorder.leaderships(), vec![(term, leader)]);
    cluster.stop_all().await;
}

/// §5.2: when the leader dies, the survivors elect a new one in a higher term.
#[tokio::test(start_paused = true)]
async fn elects_a_new_leader_after_the_previous_one_dies() {
    let mut cluster = Cluster::start(3, config()).await;
    let old = cluster.wait_for_leader(&[1, 2, 3]).await;
    let old_term = cluster.node(old).status().term;
    cluster.kill(old).await;
    let survivors: Vec<_> = cluster
        .ids
        .iter()
        .copied()
        .filter(|id| *id != old)
        .collect();
    let new = cluster.wait_for_leader(&survivors).await;
    assert_ne!(new, old);
    assert!(cluster.node(new).status().term > old_term);
    cluster.stop_all().await;
}

/// §5.1, thesis §9.6: the old leader comes back as a follower of the new leader and catches
/// up; with pre-vote it does not disrupt the new leader's term.
#[tokio::test(start_paused = true)]
async fn lets_the_previous_leader_back_into_the_cluster() {
    let mut cluster = Cluster::start(3, config()).await;
    let old = cluster.wait_for_leader(&[1, 2, 3]).await;
    cluster.kill(old).await;
    let survivors: Vec<_> = cluster
        .ids
        .iter()
        .copied()
        .filter(|id| *id != old)
        .collect();
    let new = cluster.wait_for_leader(&survivors).await;
    assert_eq!(
        cluster.submit(new, put("after", "failover")).await,
        Ok(done())
    );
    let new_term = cluster.node(new).status().term;

    cluster.start_node(old).await;
    assert_eq!(cluster.wait_for_leader(&[1, 2, 3]).await, new);
    cluster.wait_for_value(&[old], "after", "failover").await;
    assert_eq!(cluster.node(new).status().term, new_term, "no disruption");
    cluster.stop_all().await;
}

/// §5.3: the leader appends a command, replicates it to the followers' logs, commits it and
/// applies it; followers apply it too once they learn the commit index.
#[tokio::test(start_paused = true)]
async fn leader_accepts_a_command_persists_to_followers_and_applies() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.submit(leader, put("x", "1")).await, Ok(done()));
    assert_eq!(cluster.data(leader).get("x").map(String::as_str), Some("1"));
    for id in [1, 2, 3] {
        let persisted = cluster.storages[&id].entries();
        assert!(
            persisted
                .iter()
                .any(|entry| entry.payload == rafty::Payload::Command(put("x", "1"))),
            "node {id} has not persisted the command: {persisted:?}"
        );
    }
    cluster.wait_for_value(&[1, 2, 3], "x", "1").await;
    cluster.stop_all().await;
}

/// Rafty's forwarding: a follower passes a client command to the leader and returns the
/// leader's answer.
#[tokio::test(start_paused = true)]
async fn follower_forwards_a_command_to_the_leader() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = cluster.follower_of(leader);
    assert_eq!(
        cluster.submit(follower, put("via", "follower")).await,
        Ok(done())
    );
    assert_eq!(
        cluster.data(leader).get("via").map(String::as_str),
        Some("follower")
    );
    cluster.stop_all().await;
}

/// Without forwarding, a follower answers `NotLeader` with the leader's id (definite).
#[tokio::test(start_paused = true)]
async fn follower_without_forwarding_answers_not_leader_with_a_hint() {
    let config = Config {
        forward_to_leader: false,
        ..config()
    };
    let mut cluster = Cluster::start(3, config).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = cluster.follower_of(leader);
    let refused = cluster.submit(follower, put("k", "v")).await;
    assert_eq!(
        refused,
        Err(ClientError::NotLeader {
            leader_hint: Some(leader)
        })
    );
    cluster.stop_all().await;
}

/// A follower's forward that certainly never reached the leader (the leader crashed, or is
/// cut off) was proposed nowhere: the client gets a definite `NotLeader`, hinting at the
/// leader this follower knows, not an indefinite `Timeout`, and the command never applies.
#[tokio::test(start_paused = true)]
async fn a_forward_to_a_dead_or_unreachable_leader_is_a_definite_not_leader() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = cluster.follower_of(leader);
    let not_leader = Err(ClientError::NotLeader {
        leader_hint: Some(leader),
    });

    cluster.network.isolate(leader);
    let refused = cluster.submit(follower, put("k", "cut off")).await;
    assert_eq!(refused, not_leader);
    assert!(refused.unwrap_err().is_definite());

    cluster.network.rejoin(leader);
    cluster.network.crash(leader);
    let refused = cluster.submit(follower, put("k", "crashed")).await;
    assert_eq!(refused, not_leader);

    // Neither command was proposed: the next leader never applies them.
    let others: Vec<_> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let next = cluster.wait_for_leader(&others).await;
    assert_eq!(cluster.submit(next, put("after", "1")).await, Ok(done()));
    cluster
        .assert_never_applied(&others, ("after", "1"), "k")
        .await;
    cluster.stop_all().await;
}

/// A follower's forward that reached the leader but whose answer was lost is indefinite
/// (`Timeout`): the leader may apply it, and here it does.
#[tokio::test(start_paused = true)]
async fn a_forward_whose_answer_is_lost_is_indefinite() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = cluster.follower_of(leader);
    cluster.network.drop_link(leader, follower);
    let outcome = cluster.submit(follower, put("k", "maybe")).await;
    assert_eq!(outcome, Err(ClientError::Timeout));
    assert!(!outcome.unwrap_err().is_definite());
    cluster.network.heal();
    cluster.wait_for_value(&[1, 2, 3], "k", "maybe").await;
    cluster.stop_all().await;
}

/// The leader batches many concurrent commands; every one is applied once, everywhere, in
/// the same order.
#[tokio::test(start_paused = true)]
async fn leader_accepts_many_commands() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let node = cluster.node(leader).clone();
    let mut submissions = tokio::task::JoinSet::new();
    for i in 0..500 {
        let node = node.clone();
        submissions
            .spawn(async move { node.submit(put(&format!("key{i}"), &i.to_string())).await });
    }
    while let Some(outcome) = submissions.join_next().await {
        assert_eq!(outcome.unwrap(), Ok(done()));
    }
    cluster.wait_for_value(&[1, 2, 3], "key499", "499").await;
    let expected = cluster.data(leader);
    assert_eq!(expected.len(), 500);
    for id in [1, 2, 3] {
        assert_eq!(cluster.data(id), expected, "node {id}");
    }
    let status = cluster.node(leader).status();
    assert_eq!(
        (status.last_index, status.commit_index),
        (501, 501),
        "one entry per command, plus the leader's no-op"
    );
    cluster.stop_all().await;
}

/// §5.3: a node that was down while commands committed catches up when it returns.
#[tokio::test(start_paused = true)]
async fn a_node_that_died_catches_up() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    let follower = cluster.follower_of(leader);
    cluster.kill(follower).await;
    for i in 0..50 {
        let outcome = cluster.submit(leader, put("counter", &i.to_string())).await;
        assert_eq!(outcome, Ok(done()));
    }
    cluster.start_node(follower).await;
    cluster.wait_for_value(&[follower], "counter", "49").await;
    assert_eq!(cluster.data(follower), cluster.data(leader));
    cluster.stop_all().await;
}

/// §5.3, §5.4: a leader cut off with a minority cannot commit; the majority elects a new
/// leader and keeps committing; after healing, the minority's uncommitted entry is gone.
#[tokio::test(start_paused = true)]
async fn minority_partition_cannot_commit_and_majority_keeps_committing() {
    let mut cluster = Cluster::start(5, config()).await;
    let old = cluster.wait_for_leader(&[1, 2, 3, 4, 5]).await;
    let others: Vec<_> = cluster
        .ids
        .iter()
        .copied()
        .filter(|id| *id != old)
        .collect();
    let minority = [old, others[0]];
    let majority = [others[1], others[2], others[3]];
    cluster.network.partition(&[&minority, &majority]);

    let lost = cluster.submit(old, put("minority", "write")).await;
    assert!(
        matches!(lost, Err(ClientError::Timeout)),
        "a minority leader must not commit: {lost:?}"
    );
    let new = cluster.wait_for_leader(&majority).await;
    assert_eq!(
        cluster.submit(new, put("majority", "write")).await,
        Ok(done())
    );

    cluster.network.heal();
    cluster
        .assert_never_applied(&cluster.ids.clone(), ("majority", "write"), "minority")
        .await;
    cluster.stop_all().await;
}

/// Thesis §6.2 (check-quorum): a leader isolated from the majority steps down by itself
/// within about two election timeouts, so clients stop waiting on it.
#[tokio::test(start_paused = true)]
async fn leader_isolated_from_the_majority_steps_down() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    cluster.network.isolate(leader);
    let stepped_down = wait_until(seconds(1), || {
        (cluster.node(leader).status().role != Role::Leader).then_some(())
    })
    .await;
    assert!(stepped_down.is_some(), "isolated leader kept leading");
    let others: Vec<_> = cluster
        .ids
        .iter()
        .copied()
        .filter(|id| *id != leader)
        .collect();
    cluster.wait_for_leader(&others).await;
    cluster.stop_all().await;
}

/// §5.2, §5.1: a leader whose event loop is paused (SIGSTOP, a long GC pause) for longer than
/// the election timeout is, for the others, a leader that died: they elect a new leader in a
/// higher term (§5.2). Meanwhile the paused node handles nothing, not even its own timers.
/// On resume it still believes it leads its old term, until it sees the higher term and
/// steps down to follower of it (§5.1: a server that sees a higher term becomes follower);
/// the cluster commits again, and the old leader applies what was committed without it.
#[tokio::test(start_paused = true)]
async fn a_paused_leader_is_replaced_and_steps_down_on_resume() {
    let mut cluster = Cluster::start(3, config()).await;
    let old = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(
        cluster.submit(old, put("before", "pause")).await,
        Ok(done())
    );
    let old_term = cluster.node(old).status().term;
    let others: Vec<_> = cluster
        .ids
        .iter()
        .copied()
        .filter(|id| *id != old)
        .collect();

    cluster.pause(old);
    let frozen = cluster.node(old).status();
    let new = cluster.wait_for_leader(&others).await;
    let new_term = cluster.node(new).status().term;
    assert!(
        new_term > old_term,
        "new leader's term {new_term} <= {old_term}"
    );
    // Paused well past an election timeout: nothing ran, so nothing about it changed.
    tokio::time::sleep(config().election_timeout_max * 3).await;
    assert_eq!(
        cluster.node(old).status(),
        frozen,
        "a paused node did something"
    );
    assert_eq!(
        cluster.submit(new, put("during", "pause")).await,
        Ok(done()),
        "the majority commits without the paused node"
    );
    // A command sent to the paused node waits, and its caller gives up by its own deadline.
    let started = tokio::time::Instant::now();
    let waited = within(seconds(5), cluster.submit(old, put("to", "paused"))).await;
    assert_eq!(waited, Err(ClientError::Timeout));
    assert!(started.elapsed() >= cluster.config.command_timeout);

    cluster.resume(old);
    let rejoined = wait_until(seconds(2), || {
        let status = cluster.node(old).status();
        (status.role == Role::Follower && status.term >= new_term).then_some(status)
    })
    .await;
    let status = rejoined.expect("the old leader did not step down to follower after resume");
    assert!(status.term > old_term);
    assert_eq!(cluster.wait_for_leader(&[1, 2, 3]).await, new);
    assert_eq!(
        cluster.submit(new, put("after", "resume")).await,
        Ok(done())
    );
    cluster.wait_for_value(&[1, 2, 3], "after", "resume").await;
    cluster.wait_for_value(&[old], "during", "pause").await;
    let leaderships = cluster.recorder.leaderships();
    assert!(
        leaderships
            .iter()
            .all(|(term, node)| *term <= old_term || *node != old),
        "the paused leader led again: {leaderships:?}"
    );
    cluster.stop_all().await;
}

/// A paused node can still be stopped, and a node started with a paused switch starts paused.
#[tokio::test(start_paused = true)]
async fn a_paused_node_stops_and_restarts_paused() {
    let mut cluster = Cluster::start(1, config()).await;
    cluster.wait_for_leader(&[1]).await;
    cluster.pause(1);
    within(seconds(1), cluster.kill(1)).await;
    cluster.start_node(1).await;
    tokio::time::sleep(seconds(5)).await;
    assert_eq!(
        cluster.node(1).status().role,
        Role::Follower,
        "ran while paused"
    );
    cluster.resume(1);
    assert_eq!(cluster.wait_for_leader(&[1]).await, 1);
    assert_eq!(cluster.submit(1, put("a", "1")).await, Ok(done()));
    cluster.stop_all().await;
}

/// Fail-stop: a storage error stops the node; its waiting clients get `Shutdown`.
#[tokio::test(start_paused = true)]
async fn a_storage_error_stops_the_node() {
    let mut cluster = Cluster::start(1, config()).await;
    cluster.wait_for_leader(&[1]).await;
    cluster.storages[&1].set_write_failure(Some("disk on fire".into()));
    assert_eq!(
        cluster.submit(1, put("a", "1")).await,
        Err(ClientError::Shutdown)
    );
    assert!(!cluster.node(1).status().running);
    let stopped = cluster.recorder.events().into_iter().any(|(node, event)| {
        node == 1
            && matches!(event, NodeEvent::Stopped { reason } if reason.contains("disk on fire"))
    });
    assert!(stopped, "no Stopped event");
    assert_eq!(
        cluster.submit(1, put("b", "2")).await,
        Err(ClientError::Shutdown)
    );
    cluster.stop_all().await;
}

/// `stop()` ends the node cleanly: later commands get `Shutdown`.
#[tokio::test(start_paused = true)]
async fn a_stopped_node_answers_shutdown() {
    let cluster = Cluster::start(1, config()).await;
    cluster.wait_for_leader(&[1]).await;
    let node = cluster.node(1).clone();
    node.stop().await;
    assert!(!node.status().running);
    assert_eq!(node.submit(put("a", "1")).await, Err(ClientError::Shutdown));
    node.stop().await;
}

/// Settings are validated at start, naming every bad field.
#[tokio::test(start_paused = true)]
async fn start_rejects_impossible_settings() {
    let bad = Config {
        heartbeat_interval: Duration::from_secs(1),
        max_append_entries: 0,
        ..config()
    };
    let started = Node::start(
        1,
        MemoryLog::new(),
        SharedKv::default(),
        Arc::new(StaticPeersProvider::new(vec![])),
        Arc::new(bad),
        NodeOptions::default(),
    )
    .await;
    let Err(StartError::Settings(error)) = started else {
        panic!("bad settings accepted");
    };
    let fields: Vec<_> = error.fields.iter().map(|field| field.field).collect();
    assert_eq!(fields, ["heartbeat_interval", "max_append_entries"]);
}

/// A command waits at most `command_timeout`, then gets `Timeout` (indefinite).
#[tokio::test(start_paused = true)]
async fn a_command_that_cannot_commit_times_out() {
    let mut cluster = Cluster::start(3, config()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    cluster.network.isolate(leader);
    let started = tokio::time::Instant::now();
    let outcome = within(seconds(5), cluster.submit(leader, put("a", "1"))).await;
    assert!(
        matches!(
            outcome,
            Err(ClientError::Timeout) | Err(ClientError::NotLeader { .. })
        ),
        "{outcome:?}"
    );
    assert!(started.elapsed() <= cluster.config.command_timeout + Duration::from_millis(10));
    cluster.stop_all().await;
}

/// Determinism (DESIGN.md): the same seeds in virtual time give the same events, in order.
#[test]
fn the_same_seed_gives_the_same_events() {
    fn run_once() -> Vec<(u64, NodeEvent)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut cluster = Cluster::start(3, config()).await;
            let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
            for i in 0..20 {
                let _ = cluster.submit(leader, put("k", &i.to_string())).await;
            }
            cluster.kill(leader).await;
            tokio::time::sleep(seconds(2)).await;
            cluster.stop_all().await;
            cluster.recorder.events()
        })
    }
    let first = run_once();
    assert!(first.len() > 20);
    assert_eq!(first, run_once());
}
