//! The key-value service: a client-facing API on a node, and [`KvClient`], the client library.
//!
//! A node serves [`KvCommand`](crate::kv::KvCommand)s on its own port with [`serve_kv`], over
//! the same transport as Raft's RPCs ([`crate::tcp`]: length-prefixed postcard frames, a
//! handshake naming the cluster, request ids, deadlines), and submits each to Raft through
//! [`CommandSubmitter`]. [`KvClient`] finds the leader (following `NotLeader` hints, else trying
//! the next node), bounds each request by a timeout, and says of every failure whether it is
//! definite (the command certainly did not and will not take effect) or not
//! ([`KvError::is_definite`]). When in doubt, it says indefinite.

pub mod admin;
pub mod client;
pub mod server;
pub mod wire;

pub use admin::{AdminAnswer, AdminCommand, AdminFailure, AdminReply, call_admin, serve_admin};
pub use client::{Answered, KvClient, KvClientConfig, KvError};
pub use server::{CommandSubmitter, KvService, serve_kv};
pub use wire::{KvReply, ServiceError};
