//! What a [`TcpPeer`] says of a failed call: [`PeerError::NotSent`] only when no byte of the
//! request left, indefinite once it may have.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::tcp::envelope::Envelope;
use crate::tcp::frame::{FrameError, read_frame};
use crate::tcp::handshake::{HandshakeError, ServerIdentity, server_handshake};
use crate::tcp::stream::TokioConnector;

const CLUSTER: u64 = 42;
const SERVER_ID: NodeId = 2;
const TIMEOUT: Duration = Duration::from_secs(2);

fn peer_at(addr: &str) -> TcpPeer<TokioConnector> {
    TcpPeer::new(
        TokioConnector,
        1,
        SERVER_ID,
        addr,
        TransportConfig::new(CLUSTER),
    )
}

/// A listener that welcomes one caller, reads its first request, and hands back the stream.
async fn reading_server() -> (String, tokio::task::JoinHandle<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let identity = ServerIdentity {
            protocol: Protocol::Raft,
            cluster_id: CLUSTER,
            node_id: SERVER_ID,
        };
        server_handshake(&mut stream, &identity, 1 << 20)
            .await
            .unwrap();
        let request: Envelope<RaftRequest> = read_frame(&mut stream, 1 << 20).await.unwrap();
        assert_eq!(request.body, RaftRequest::Forward(vec![7]));
        stream
    });
    (addr, server)
}

#[tokio::test]
async fn a_failed_dial_is_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let peer = peer_at(&addr);
    let error = peer.forward(vec![7], TIMEOUT).await.unwrap_err();
    assert!(
        matches!(&error, PeerError::NotSent { peer: SERVER_ID, reason } if reason.contains("cannot connect")),
        "{error:?}"
    );
    assert!(error.is_definite());
    // The next call does not even dial (backing off): still not sent.
    let error = peer.forward(vec![7], TIMEOUT).await.unwrap_err();
    assert!(
        matches!(&error, PeerError::NotSent { reason, .. } if reason.contains("not dialling")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_connection_lost_after_the_request_was_sent_is_indefinite() {
    let (addr, server) = reading_server().await;
    let peer = peer_at(&addr);
    let call = tokio::spawn(async move { peer.forward(vec![7], TIMEOUT).await });
    // The server read the whole request, then the connection goes without an answer.
    drop(server.await.unwrap());
    let error = call.await.unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            PeerError::Unreachable {
                peer: SERVER_ID,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_definite());
}

#[tokio::test]
async fn a_deadline_passing_after_the_request_was_sent_is_indefinite() {
    let (addr, server) = reading_server().await;
    let deadline = Duration::from_millis(200);
    let error = peer_at(&addr).forward(vec![7], deadline).await.unwrap_err();
    assert_eq!(
        error,
        PeerError::TimedOut {
            peer: SERVER_ID,
            timeout: deadline
        }
    );
    assert!(!error.is_definite());
    drop(server.await.unwrap());
}

#[tokio::test]
async fn only_the_calls_errors_before_sending_are_not_sent() {
    let peer = peer_at("127.0.0.1:1");
    let addr = || "127.0.0.1:1".to_string();
    let errors = [
        CallError::Connect {
            addr: addr(),
            reason: "refused".into(),
        },
        CallError::BackingOff {
            addr: addr(),
            retry_in: Duration::from_millis(5),
            failures: 1,
            last_error: "refused".into(),
        },
        CallError::Handshake {
            addr: addr(),
            error: HandshakeError::Frame(FrameError::Closed),
        },
        CallError::Encode(FrameError::TooLarge { len: 10, max: 5 }),
        CallError::Closed {
            addr: addr(),
            reason: "gone".into(),
        },
        CallError::TimedOut {
            addr: addr(),
            timeout: TIMEOUT,
            sent: false,
        },
        CallError::TimedOut {
            addr: addr(),
            timeout: TIMEOUT,
            sent: true,
        },
        CallError::ConnectionLost {
            addr: addr(),
            reason: "reset".into(),
        },
        CallError::Failed {
            addr: addr(),
            reason: "answer too large".into(),
        },
    ];
    for error in errors {
        let definite = error.is_definite();
        let mapped = peer.peer_error(error.clone());
        assert_eq!(mapped.is_definite(), definite, "{error:?} -> {mapped:?}");
        assert_eq!(
            matches!(mapped, PeerError::NotSent { .. }),
            definite,
            "{error:?} -> {mapped:?}"
        );
        assert_eq!(mapped.peer(), SERVER_ID);
    }
}

#[test]
fn a_not_sent_from_the_remote_handler_travels_as_indefinite() {
    let remote = RemotePeerError::from(PeerError::NotSent {
        peer: 3,
        reason: "no route".into(),
    });
    let error = PeerError::from(remote);
    assert!(!error.is_definite(), "{error:?}");
    assert!(
        matches!(error, PeerError::Unreachable { peer: 3, .. }),
        "{error:?}"
    );
}

#[test]
fn install_snapshot_is_appended_so_version_1_messages_encode_as_before() {
    // postcard numbers enum variants in order; version 1 had the first three.
    let tag = |bytes: Vec<u8>| bytes[0];
    let vote = RequestVote {
        term: 1,
        candidate_id: 1,
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: false,
        transfer: false,
    };
    let append = AppendEntries {
        term: 1,
        leader_id: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    };
    let requests = [
        RaftRequest::vote(vote),
        RaftRequest::AppendEntries(append),
        RaftRequest::Forward(vec![]),
        RaftRequest::InstallSnapshot(chunk(0)),
    ];
    for (expected, request) in requests.into_iter().enumerate() {
        assert_eq!(
            usize::from(tag(postcard::to_allocvec(&request).unwrap())),
            expected
        );
    }
    fn refused<T>() -> Result<T, RemotePeerError> {
        Err(RemotePeerError::Rejected {
            peer: 2,
            reason: String::new(),
        })
    }
    let responses = [
        RaftResponse::RequestVote(refused()),
        RaftResponse::AppendEntries(refused()),
        RaftResponse::Forward(refused()),
        RaftResponse::InstallSnapshot(refused()),
    ];
    for (expected, response) in responses.into_iter().enumerate() {
        assert_eq!(
            usize::from(tag(postcard::to_allocvec(&response).unwrap())),
            expected
        );
    }
}

/// Protocol version 5: a vote request without the transfer mark encodes byte for byte as
/// versions 1 to 4 encoded every vote request (variant 0, then the five fields), so an older
/// caller's requests decode as unmarked; a marked one is the appended variant 6.
#[test]
fn an_unmarked_vote_request_encodes_as_in_version_4_and_a_transfer_is_appended() {
    let vote = RequestVote {
        term: 300,
        candidate_id: 2,
        last_log_index: 70_000,
        last_log_term: 299,
        pre_vote: true,
        transfer: false,
    };
    let version_4 = (0u8, 300u64, 2u64, 70_000u64, 299u64, true);
    let bytes = postcard::to_allocvec(&RaftRequest::vote(vote.clone())).unwrap();
    assert_eq!(bytes, postcard::to_allocvec(&version_4).unwrap());
    match postcard::from_bytes::<RaftRequest>(&bytes).unwrap() {
        RaftRequest::RequestVote(arguments) => assert_eq!(arguments.into_request(false), vote),
        other => panic!("decoded as {other:?}"),
    }
    let transfer = RequestVote {
        transfer: true,
        pre_vote: false,
        ..vote
    };
    let bytes = postcard::to_allocvec(&RaftRequest::vote(transfer.clone())).unwrap();
    assert_eq!(bytes[0], 6);
    match postcard::from_bytes::<RaftRequest>(&bytes).unwrap() {
        RaftRequest::TransferVote(arguments) => assert_eq!(arguments.into_request(true), transfer),
        other => panic!("decoded as {other:?}"),
    }
}

/// A last chunk of `len` bytes of a 1 MiB snapshot.
fn chunk(len: usize) -> InstallSnapshot {
    InstallSnapshot {
        term: 4,
        leader_id: 1,
        last_included_index: 90,
        last_included_term: 3,
        size_bytes: 1 << 20,
        checksum: 7,
        offset: (1 << 20) - len as u64,
        data: vec![1; len],
        done: true,
    }
}

#[tokio::test]
async fn a_chunk_over_the_limit_is_not_sent_before_any_dial() {
    // Nothing listens at this address: a dial would fail with "cannot connect".
    let peer = peer_at("127.0.0.1:1");
    let limit = TransportConfig::new(CLUSTER).max_snapshot_chunk_bytes();
    let error = peer
        .install_snapshot(chunk(limit + 1), TIMEOUT)
        .await
        .unwrap_err();
    let PeerError::NotSent { peer, reason } = error else {
        panic!("{error:?}")
    };
    assert_eq!(peer, SERVER_ID);
    assert!(
        reason.contains(&format!("chunk of {} bytes", limit + 1))
            && reason.contains(&format!("limit of {limit} bytes")),
        "{reason}"
    );
}
