//! # rafty
//!
//! A Raft consensus library with the pluggable design of the C# library Rafty: the protocol
//! lives behind five traits, [`Log`], [`StateMachine`], [`Peer`], [`PeersProvider`] and
//! [`Settings`], with in-memory implementations to start in minutes and durable, networked
//! ones for production.
//!
//! The crate is layered (see ARCHITECTURE.md):
//! 1. a sans-IO protocol core ([`core`]) that turns inputs into an ordered list of actions;
//! 2. the five traits, each with its contract in its documentation;
//! 3. the async [`node`] driver on tokio;
//! 4. implementations: in-memory parts, a key-value state machine, transports and logs.
//!
//! # A three-node cluster in memory
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use rafty::{Config, InProcessNetwork, KvCommand, KvResponse, KvStateMachine, MemoryLog};
//! use rafty::{Node, NodeOptions, StaticPeersProvider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let network = InProcessNetwork::new();
//! let ids = [1, 2, 3];
//! let mut nodes = Vec::new();
//! for id in ids {
//!     let peers = ids.iter().filter(|&&peer| peer != id);
//!     let peers = peers.map(|&peer| network.peer(id, peer)).collect();
//!     let node = Node::start(
//!         id,
//!         MemoryLog::new(),
//!         KvStateMachine::new(),
//!         Arc::new(StaticPeersProvider::new(peers)),
//!         Arc::new(Config::default()),
//!         NodeOptions::with_seed(7),
//!     )
//!     .await?;
//!     network.register(id, Arc::new(node.clone()));
//!     nodes.push(node);
//! }
//!
//! // Any node takes commands: a follower forwards them to the leader. Until a leader is
//! // elected the answer is `NotLeader`, so retry.
//! let put = KvCommand::Put { key: "greeting".into(), value: "hello".into() }.encode()?;
//! let response = loop {
//!     match nodes[0].submit(put.clone()).await {
//!         Ok(response) => break response,
//!         Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
//!     }
//! };
//! assert_eq!(KvResponse::decode(&response)?, KvResponse::Done);
//! let leader = nodes[0].status().leader.expect("a leader was elected");
//! println!("node {leader} leads; the command committed");
//!
//! for node in &nodes {
//!     node.stop().await;
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod core;
pub mod file_log;
pub mod file_snapshot;
pub mod kv;
pub mod log;
pub mod membership;
pub mod memory;
pub mod message;
pub mod network;
pub mod node;
pub mod peer;
pub mod peers_file;
pub mod peers_provider;
pub mod service;
pub mod session;
pub mod settings;
pub mod snapshot;
pub mod state_machine;
pub mod tcp;
pub mod testing;
pub mod types;

pub use client::{ClientError, ReadConsistency};
pub use file_log::{FileLog, FileLogOptions};
pub use file_snapshot::FileSnapshotStore;
pub use kv::{KvCodecError, KvCommand, KvResponse, KvStateMachine};
pub use log::{Log, LogError};
pub use membership::{Membership, MembershipError};
pub use memory::{MemoryLog, MemoryStorage};
pub use message::{
    AppendEntries, AppendEntriesResponse, ConflictHint, InstallSnapshot, InstallSnapshotResponse,
    Message, ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    TimeoutNowResponse,
};
pub use network::InProcessNetwork;
pub use node::{Node, NodeOptions};
pub use peer::{ForwardResponse, Peer, PeerError, RpcHandler};
pub use peers_file::{FilePeersProvider, PeersFileError};
pub use peers_provider::{PeersProvider, StaticPeersProvider};
pub use session::Sessions;
pub use settings::{BadField, Config, Settings, SettingsError};
pub use snapshot::{
    MemorySnapshotStore, SnapshotChunks, SnapshotError, SnapshotMeta, SnapshotReader,
    SnapshotSource, SnapshotStore, SnapshotWriter,
};
pub use state_machine::StateMachine;
pub use types::{Entry, HardState, LogIndex, NodeId, Payload, Term};
