//! Reads without the log end to end (dissertation §6.4, §6.4.1): `Node::read` with each
//! consistency on the in-process network, in virtual time.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;
use rafty::kv::{KvCommand, KvResponse};
use rafty::{ClientError, Config, ReadConsistency};

fn get(key: &str) -> Vec<u8> {
    KvCommand::Get { key: key.into() }.encode().unwrap()
}

/// §6.4, §6.4.1: after a write is acknowledged, a read at the leader with every consistency
/// (ReadIndex, the log, a lease, stale) sees it; a follower refuses a ReadIndex read with its
/// leader as the hint, and serves a stale read from its own state.
#[tokio::test(start_paused = true)]
async fn every_consistency_sees_an_acknowledged_write() {
    let config = Config {
        lease_read_margin: Some(Duration::from_millis(30)),
        ..Config::default()
    };
    let mut cluster = Cluster::start(3, config).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.submit(leader, put("k", "v")).await, Ok(done()));
    let seen = KvResponse::Value(Some("v".into())).encode().unwrap();
    for consistency in [
        ReadConsistency::Linearizable,
        ReadConsistency::Log,
        ReadConsistency::Lease,
        ReadConsistency::Stale,
    ] {
        let read = cluster.node(leader).read(get("k"), consistency);
        let answer = within(Duration::from_secs(5), read).await;
        assert_eq!(answer, Ok(seen.clone()), "{consistency:?}");
    }
    let follower = cluster.follower_of(leader);
    cluster.wait_for_value(&[follower], "k", "v").await;
    let refused = cluster
        .node(follower)
        .read(get("k"), ReadConsistency::Linearizable)
        .await;
    assert_eq!(
        refused,
        Err(ClientError::NotLeader {
            leader_hint: Some(leader)
        })
    );
    let stale = cluster
        .node(follower)
        .read(get("k"), ReadConsistency::Stale)
        .await;
    assert_eq!(stale, Ok(seen));
    cluster.stop_all().await;
}

/// §6.4 (follower reads): with `follower_reads` on, every follower serves a ReadIndex read
/// itself, right after the leader acknowledged a write: it waits until it applied through the
/// leader's read index, so it sees the write even if it had not applied it when asked.
#[tokio::test(start_paused = true)]
async fn a_follower_read_sees_a_write_acknowledged_just_before() {
    let config = Config {
        follower_reads: true,
        ..Config::default()
    };
    let mut cluster = Cluster::start(3, config).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    for (round, value) in ["a", "b", "c"].into_iter().enumerate() {
        assert_eq!(cluster.submit(leader, put("k", value)).await, Ok(done()));
        let seen = KvResponse::Value(Some(value.into())).encode().unwrap();
        for follower in [1, 2, 3].into_iter().filter(|id| *id != leader) {
            let read = cluster
                .node(follower)
                .read(get("k"), ReadConsistency::Linearizable);
            let answer = within(Duration::from_secs(5), read).await;
            assert_eq!(
                answer,
                Ok(seen.clone()),
                "round {round}, follower {follower}"
            );
        }
    }
    cluster.stop_all().await;
}

/// §6.4 (batching reads): ReadIndex reads that arrive together join one confirmation round,
/// which the core confirms as one read with one round of heartbeats; every reader still sees
/// the write acknowledged before it asked.
#[tokio::test(start_paused = true)]
async fn concurrent_read_index_reads_share_a_confirmation_round() {
    let mut cluster = Cluster::start(3, Config::default()).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.submit(leader, put("k", "v")).await, Ok(done()));
    let seen = KvResponse::Value(Some("v".into())).encode().unwrap();
    let before = cluster.node(leader).status().counters;
    let reads: Vec<_> = (0..64)
        .map(|_| {
            let node = cluster.node(leader).clone();
            tokio::spawn(async move { node.read(get("k"), ReadConsistency::Linearizable).await })
        })
        .collect();
    for read in reads {
        let answer = within(Duration::from_secs(5), read).await.unwrap();
        assert_eq!(answer, Ok(seen.clone()));
    }
    let window = cluster.node(leader).status().counters.since(&before);
    assert!(
        (1..=2).contains(&window.read_rounds),
        "64 concurrent reads took {} rounds",
        window.read_rounds
    );
    cluster.stop_all().await;
}

/// §6.4.1: while its lease holds, a leader serves lease reads, and any node stale reads,
/// without a turn of its event loop: the readers query the shared state machine themselves.
#[tokio::test(start_paused = true)]
async fn lease_and_stale_reads_cost_the_event_loop_no_turn() {
    let config = Config {
        lease_read_margin: Some(Duration::from_millis(30)),
        ..Config::default()
    };
    let mut cluster = Cluster::start(3, config).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.submit(leader, put("k", "v")).await, Ok(done()));
    let seen = KvResponse::Value(Some("v".into())).encode().unwrap();
    let node = cluster.node(leader);
    // A new leader's lease starts with its first round of heartbeats a majority answered: a
    // lease read that finds none confirms itself with one.
    let first = node.read(get("k"), ReadConsistency::Lease).await;
    assert_eq!(first, Ok(seen.clone()));
    let before = node.status().counters;
    for consistency in [ReadConsistency::Lease, ReadConsistency::Stale] {
        for _ in 0..100 {
            let answer = node.read(get("k"), consistency).await;
            assert_eq!(answer, Ok(seen.clone()), "{consistency:?}");
        }
    }
    let window = node.status().counters.since(&before);
    assert_eq!(window.turns, 0, "{window:?}");
    cluster.stop_all().await;
}

/// A stopped node serves nothing: every read consistency answers `Shutdown`, the lease and
/// the shared state machine notwithstanding.
#[tokio::test(start_paused = true)]
async fn a_stopped_node_serves_no_read() {
    let config = Config {
        lease_read_margin: Some(Duration::from_millis(30)),
        ..Config::default()
    };
    let mut cluster = Cluster::start(3, config).await;
    let leader = cluster.wait_for_leader(&[1, 2, 3]).await;
    assert_eq!(cluster.submit(leader, put("k", "v")).await, Ok(done()));
    let node = cluster.node(leader).clone();
    cluster.stop_all().await;
    for consistency in [
        ReadConsistency::Linearizable,
        ReadConsistency::Lease,
        ReadConsistency::Stale,
    ] {
        let answer = within(Duration::from_secs(5), node.read(get("k"), consistency)).await;
        assert_eq!(answer, Err(ClientError::Shutdown), "{consistency:?}");
    }
}
