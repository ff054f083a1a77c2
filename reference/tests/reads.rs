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
