//! A service registry and config store on rafty, served as HTTP+JSON: what the original Rafty
//! was for (configuration and service discovery without a database), small enough to read in
//! one sitting.
//!
//! - [`command`]: what is replicated (register, deregister, keepalive, tick, config writes)
//!   and read (list, config get, watch), and the answers, each naming a store revision;
//! - [`state`]: the replicated state machine (instances, leases expiring in log time, config,
//!   the change log that watches read);
//! - [`clock`]: where proposers read the time (the wall clock, or a simulation's);
//! - [`ticker`]: the leader's clock, proposed into the log, which is what expires leases;
//! - [`http`]: the axum API every node serves, reads linearizable by default (ReadIndex);
//! - [`https`]: the same API over TLS, client certificates required or optional;
//! - [`bug`]: deliberate bugs the harness's catalogue plants (`mutations` feature);
//! - [`client`]: a small HTTP client of it (the harness's workload and the bench use it).
//!
//! `rafty registry --nodes 3 --data DIR` starts a local cluster of it; README.md has a curl
//! session.

pub mod bug;
pub mod client;
pub mod clock;
pub mod command;
pub mod http;
pub mod https;
pub mod state;
pub mod ticker;

pub use bug::{Bugs, RegistryBug};
pub use clock::{RegistryClock, wall_clock};
pub use command::{Change, ChangeKind, Command, Instance, Query, Response};
pub use http::Api;
pub use state::RegistryStateMachine;
pub use ticker::{spawn_ticker, spawn_ticker_with};

/// A registry state machine keeping `max_changes` changes, and the receiver of its revision
/// after each applied command (for [`Api::new`]).
pub fn state_machine(
    max_changes: usize,
) -> (RegistryStateMachine, tokio::sync::watch::Receiver<u64>) {
    let (sender, receiver) = tokio::sync::watch::channel(0);
    (
        RegistryStateMachine::new(max_changes).notify(sender),
        receiver,
    )
}
