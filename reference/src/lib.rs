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

#![warn(missing_docs)]

pub mod client;
pub mod file_log;
pub mod core;
pub mod kv;
pub mod log;
pub mod memory;
pub mod node;
pub mod message;
pub mod network;
pub mod peer;
pub mod peers_provider;
pub mod service;
pub mod settings;
pub mod state_machine;
pub mod tcp;
pub mod testing;
pub mod types;

pub use client::ClientError;
pub use file_log::{FileLog, FileLogOptions};
pub use kv::{KvCodecError, KvCommand, KvResponse, KvStateMachine};
pub use log::{Log, LogError};
pub use memory::{MemoryLog, MemoryStorage};
pub use message::{
    AppendEntries, AppendEntriesResponse, ConflictHint, Message, RequestVote, RequestVoteResponse,
};
pub use network::InProcessNetwork;
pub use peer::{ForwardResponse, Peer, PeerError, RpcHandler};
pub use peers_provider::{PeersProvider, StaticPeersProvider};
pub use settings::{BadField, Config, Settings, SettingsError};
pub use state_machine::StateMachine;
pub use types::{Entry, HardState, LogIndex, NodeId, Payload, Term};
