//! The opening exchange of every connection: the caller says who it is and whom it wants
//! ([`Hello`]); the server welcomes it or refuses it with a reason ([`HelloReply`]).

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::tcp::config::ClusterId;
use crate::tcp::frame::{FrameError, encode_frame, read_frame, write_frame};
use crate::types::NodeId;

/// The first bytes of every [`Hello`]: tells a rafty server from anything else on the port.
pub const MAGIC: [u8; 4] = *b"RFTY";

/// The version of the wire protocol this code speaks. Version 2 added
/// [`crate::tcp::RaftRequest::InstallSnapshot`] (and its answer); a version 1 server cannot
/// decode it, so it refuses a version 2 caller at the handshake, clearly, rather than closing
/// the connection at the first snapshot chunk. Version 3 added
/// [`crate::tcp::RaftRequest::TimeoutNow`] (leadership transfer) and configuration entries
/// ([`crate::Payload::Membership`]) in AppendEntries. Version 4 added
/// [`crate::tcp::RaftRequest::ReadIndex`] (follower reads). Version 5 added
/// [`crate::tcp::RaftRequest::TransferVote`] (a vote request marked as a leadership
/// transfer's); vote requests without the mark encode as before.
pub const PROTOCOL_VERSION: u16 = 5;

/// The oldest caller version a server accepts. A version 1 caller never sends a message that
/// version 2 changed (variants are only appended, so every version 1 message encodes the same),
/// and it gets only answers to its own requests, so an upgraded node still serves it.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

/// What a connection will carry after the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// Raft RPCs between nodes ([`crate::tcp::raft`]).
    Raft,
    /// Client commands to a node's service ([`crate::service`]).
    Commands,
    /// Membership admin calls to a node's service ([`crate::service::admin`]); appended in
    /// protocol version 3.
    Admin,
}

/// The caller's first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// The caller's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// What the caller will send.
    pub protocol: Protocol,
    /// The caller's cluster.
    pub cluster_id: ClusterId,
    /// The calling node, if the caller is a node (clients are not).
    pub from: Option<NodeId>,
    /// The node the caller means to reach, if it knows; a server with another id refuses.
    pub to: Option<NodeId>,
}

impl Hello {
    /// A hello of this version for `protocol` in `cluster_id`.
    pub fn new(
        protocol: Protocol,
        cluster_id: ClusterId,
        from: Option<NodeId>,
        to: Option<NodeId>,
    ) -> Hello {
        Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            protocol,
            cluster_id,
            from,
            to,
        }
    }
}

/// Who a server is, as its handshake checks callers against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerIdentity {
    /// What the server serves.
    pub protocol: Protocol,
    /// The server's cluster.
    pub cluster_id: ClusterId,
    /// The server's node id.
    pub node_id: NodeId,
}

/// The server's answer to a [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelloReply {
    /// Accepted: requests may follow.
    Welcome {
        /// The server's cluster (equal to the caller's).
        cluster_id: ClusterId,
        /// The server's node id.
        node_id: NodeId,
    },
    /// Refused; the server closes the connection.
    Refused(Refusal),
}

/// Why one side of a handshake refused the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The two sides belong to different clusters.
    #[error(
        "cluster id mismatch: the server is in cluster {server}, the caller in cluster {caller}"
    )]
    WrongCluster {
        /// The server's cluster id.
        server: ClusterId,
        /// The caller's cluster id.
        caller: ClusterId,
    },
    /// The caller meant to reach another node than the one that answered.
    #[error("node id mismatch: the caller wanted node {wanted}, the server is node {server}")]
    WrongNode {
        /// The node the caller meant to reach.
        wanted: NodeId,
        /// The node that answered.
        server: NodeId,
    },
    /// The caller speaks another protocol than the server serves.
    #[error("protocol mismatch: the server serves {server:?}, the caller speaks {caller:?}")]
    WrongProtocol {
        /// What the server serves.
        server: Protocol,
        /// What the caller speaks.
        caller: Protocol,
    },
    /// The caller speaks a version of the wire protocol the server does not accept.
    #[error("unsupported protocol version {caller} (the server speaks versions up to {server})")]
    UnsupportedVersion {
        /// The server's version (the newest it speaks).
        server: u16,
        /// The caller's version.
        caller: u16,
    },
    /// The first frame was not a rafty hello at all.
    #[error("not a rafty handshake: {reason}")]
    Malformed {
        /// What was wrong with it.
        reason: String,
    },
}

/// Why a handshake failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The server refused us.
    #[error("refused by the server: {0}")]
    Refused(Refusal),
    /// The server welcomed us but is not what we asked for.
    #[error("unexpected server: {0}")]
    Unexpected(Refusal),
    /// The exchange itself failed.
    #[error("handshake failed: {0}")]
    Frame(#[from] FrameError),
}

/// Check a caller's hello against the server's identity.
pub fn check_hello(hello: &Hello, server: &ServerIdentity) -> Result<(), Refusal> {
    if hello.magic != MAGIC {
        return Err(Refusal::Malformed {
            reason: format!("bad magic {:?}", hello.magic),
        });
    }
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&hello.version) {
        return Err(Refusal::UnsupportedVersion {
            server: PROTOCOL_VERSION,
            caller: hello.version,
        });
    }
    if hello.protocol != server.protocol {
        return Err(Refusal::WrongProtocol {
            server: server.protocol,
            caller: hello.protocol,
        });
    }
    if hello.cluster_id != server.cluster_id {
        return Err(Refusal::WrongCluster {
            server: server.cluster_id,
            caller: hello.cluster_id,
        });
    }
    match hello.to {
        Some(wanted) if wanted != server.node_id => Err(Refusal::WrongNode {
            wanted,
            server: server.node_id,
        }),
        _ => Ok(()),
    }
}

/// The caller's side: send `hello`, read the reply, and check that the server is in our cluster
/// and is the node we wanted. Returns the server's node id.
pub async fn client_handshake<S>(
    stream: &mut S,
    hello: &Hello,
    max_frame_bytes: u32,
) -> Result<NodeId, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    write_frame(stream, &encode_frame(hello, max_frame_bytes)?).await?;
    match read_frame::<HelloReply, _>(stream, max_frame_bytes).await? {
        HelloReply::Refused(refusal) => Err(HandshakeError::Refused(refusal)),
        HelloReply::Welcome {
            cluster_id,
            node_id,
        } => {
            if cluster_id != hello.cluster_id {
                return Err(HandshakeError::Unexpected(Refusal::WrongCluster {
                    server: cluster_id,
                    caller: hello.cluster_id,
                }));
            }
            match hello.to {
                Some(wanted) if wanted != node_id => {
                    Err(HandshakeError::Unexpected(Refusal::WrongNode {
                        wanted,
                        server: node_id,
                    }))
                }
                _ => Ok(node_id),
            }
        }
    }
}

/// The server's side: read the caller's hello, check it, and answer. A refused or unreadable
/// hello is answered with [`HelloReply::Refused`] (when the stream still works) and returned as
/// an error; the caller of this function then closes the connection.
pub async fn server_handshake<S>(
    stream: &mut S,
    server: &ServerIdentity,
    max_frame_bytes: u32,
) -> Result<Hello, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let refusal = match read_frame::<Hello, _>(stream, max_frame_bytes).await {
        Ok(hello) => match check_hello(&hello, server) {
            Ok(()) => {
                let welcome = HelloReply::Welcome {
                    cluster_id: server.cluster_id,
                    node_id: server.node_id,
                };
                write_frame(stream, &encode_frame(&welcome, max_frame_bytes)?).await?;
                return Ok(hello);
            }
            Err(refusal) => refusal,
        },
        Err(error @ (FrameError::TooLarge { .. } | FrameError::Malformed { .. })) => {
            Refusal::Malformed {
                reason: error.to_string(),
            }
        }
        Err(error) => return Err(HandshakeError::Frame(error)),
    };
    let reply = encode_frame(&HelloReply::Refused(refusal.clone()), max_frame_bytes)?;
    // Best effort: the caller may already be gone.
    let _ = write_frame(stream, &reply).await;
    Err(HandshakeError::Refused(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: ServerIdentity = ServerIdentity {
        protocol: Protocol::Raft,
        cluster_id: 7,
        node_id: 2,
    };

    #[test]
    fn a_matching_hello_is_accepted() {
        assert_eq!(
            check_hello(&Hello::new(Protocol::Raft, 7, Some(1), Some(2)), &SERVER),
            Ok(())
        );
        assert_eq!(
            check_hello(&Hello::new(Protocol::Raft, 7, None, None), &SERVER),
            Ok(())
        );
    }

    #[test]
    fn another_cluster_is_refused_naming_both_ids() {
        let refusal =
            check_hello(&Hello::new(Protocol::Raft, 9, Some(1), Some(2)), &SERVER).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::WrongCluster {
                server: 7,
                caller: 9
            }
        );
        let text = refusal.to_string();
        assert!(
            text.contains("cluster 7") && text.contains("cluster 9"),
            "{text}"
        );
    }

    #[test]
    fn another_node_protocol_version_or_magic_is_refused() {
        let refuse = |hello: Hello| check_hello(&hello, &SERVER).unwrap_err();
        assert_eq!(
            refuse(Hello::new(Protocol::Raft, 7, Some(1), Some(3))),
            Refusal::WrongNode {
                wanted: 3,
                server: 2
            }
        );
        assert_eq!(
            refuse(Hello::new(Protocol::Commands, 7, None, None)),
            Refusal::WrongProtocol {
                server: Protocol::Raft,
                caller: Protocol::Commands
            }
        );
        let old = Hello {
            version: 0,
            ..Hello::new(Protocol::Raft, 7, None, None)
        };
        assert_eq!(
            refuse(old),
            Refusal::UnsupportedVersion {
                server: PROTOCOL_VERSION,
                caller: 0
            }
        );
        let alien = Hello {
            magic: *b"HTTP",
            ..Hello::new(Protocol::Raft, 7, None, None)
        };
        assert!(matches!(refuse(alien), Refusal::Malformed { .. }));
    }

    #[test]
    fn every_version_from_the_oldest_supported_to_this_one_is_accepted() {
        let of = |version| Hello {
            version,
            ..Hello::new(Protocol::Raft, 7, Some(1), Some(2))
        };
        for version in MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION {
            assert_eq!(
                check_hello(&of(version), &SERVER),
                Ok(()),
                "version {version}"
            );
        }
        let newer = check_hello(&of(PROTOCOL_VERSION + 1), &SERVER).unwrap_err();
        assert_eq!(
            newer,
            Refusal::UnsupportedVersion {
                server: PROTOCOL_VERSION,
                caller: PROTOCOL_VERSION + 1
            }
        );
        let text = newer.to_string();
        assert!(
            text.contains(&format!("version {}", PROTOCOL_VERSION + 1)),
            "{text}"
        );
    }

    #[tokio::test]
    async fn both_sides_agree_over_a_duplex() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let serving =
            tokio::spawn(async move { server_handshake(&mut server, &SERVER, 1024).await });
        let hello = Hello::new(Protocol::Raft, 7, Some(1), Some(2));
        assert_eq!(client_handshake(&mut client, &hello, 1024).await, Ok(2));
        assert_eq!(serving.await.unwrap(), Ok(hello));
    }

    #[tokio::test]
    async fn the_caller_learns_why_it_was_refused() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let serving =
            tokio::spawn(async move { server_handshake(&mut server, &SERVER, 1024).await });
        let hello = Hello::new(Protocol::Raft, 9, Some(1), None);
        let expected = Refusal::WrongCluster {
            server: 7,
            caller: 9,
        };
        assert_eq!(
            client_handshake(&mut client, &hello, 1024).await,
            Err(HandshakeError::Refused(expected.clone()))
        );
        assert_eq!(
            serving.await.unwrap(),
            Err(HandshakeError::Refused(expected))
        );
    }
}
