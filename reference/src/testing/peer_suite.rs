//! The conformance suite for [`Peer`] implementations (a transport's calling side).
//!
//! Give it a [`PeerHarness`] that serves an [`RpcHandler`] over your transport (as node
//! [`SERVER_ID`]) and makes a [`Peer`] that reaches it (from node [`CLIENT_ID`]). The suite
//! serves its own reference server, which answers every call with a known function of the
//! request and can stall, and checks the [`Peer`] contract:
//!
//! * every call round-trips (TimeoutNow included: a transport that drops it breaks leadership
//!   transfer), and a remote error comes back typed;
//! * an InstallSnapshot chunk reaches the handler whole (every field, its data byte for byte),
//!   its answer comes back whole, and a chunk the handler refuses is an error, not a hang;
//! * every call returns by its deadline, even when the server never answers, and a stalled
//!   call does not hold up the others;
//! * large messages arrive intact, concurrent calls each get their own answer;
//! * after the server goes away calls fail (by their deadline) and once it is back they
//!   succeed again, through the same `Peer`.
//! * [`PeerError::NotSent`](crate::PeerError::NotSent) is claimed only for requests the
//!   server's handler never saw (not for one it holds, not for one delivered after a restart).
//!
//! [`run`] makes its own tokio runtime: call it from a plain `#[test]`, not inside a runtime.
//! Every call the suite makes is also bounded by an outer deadline, so a `Peer` that hangs is
//! reported, not waited for.
//!
//! ```
//! use std::sync::Arc;
//! use rafty::testing::peer_suite::{self, CLIENT_ID, PeerHarness, SERVER_ID};
//! use rafty::{InProcessNetwork, Peer, RpcHandler};
//!
//! struct InProcess(InProcessNetwork);
//!
//! #[async_trait::async_trait]
//! impl PeerHarness for InProcess {
//!     async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String> {
//!         self.0.register(SERVER_ID, handler);
//!         Ok(())
//!     }
//!     async fn stop(&mut self) {
//!         self.0.crash(SERVER_ID);
//!     }
//!     async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
//!         Ok(self.0.peer(CLIENT_ID, SERVER_ID))
//!     }
//! }
//!
//! peer_suite::run(&mut InProcess(InProcessNetwork::new())).assert_all_passed();
//! ```

use std::sync::Arc;

use async_trait::async_trait;

use crate::peer::{Peer, RpcHandler};
use crate::testing::SuiteReport;
use crate::types::NodeId;

mod cases;
mod reference;
mod snapshot_cases;

pub use reference::ReferenceServer;

/// The node id the reference server plays.
pub const SERVER_ID: NodeId = 2;
/// The node id of the caller.
pub const CLIENT_ID: NodeId = 1;

/// Serves an [`RpcHandler`] over the transport under test and makes [`Peer`]s that reach it.
#[async_trait]
pub trait PeerHarness: Send {
    /// Start serving `handler` as node [`SERVER_ID`], replacing any server already running;
    /// return once calls can reach it. After [`PeerHarness::stop`] it is called again with the
    /// same handler, and must serve at the same address.
    async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String>;

    /// Stop serving: close the listener and every connection, so that calls fail until the
    /// next [`PeerHarness::start`].
    async fn stop(&mut self);

    /// A [`Peer`] through which node [`CLIENT_ID`] calls node [`SERVER_ID`]. Called after
    /// [`PeerHarness::start`].
    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String>;

    /// The largest message the transport is meant to carry, in bytes; the suite sends
    /// messages of half this size. 4 MiB by default.
    fn max_message_bytes(&self) -> usize {
        4 << 20
    }
}

/// A case of the suite: its name and its body.
type Case<H> = (&'static str, for<'a> fn(&'a mut H) -> cases::CaseFuture<'a>);

fn all_cases<H: PeerHarness>() -> Vec<Case<H>> {
    vec![
        ("every_call_round_trips", |h| {
            Box::pin(cases::every_call_round_trips(h))
        }),
        ("remote_errors_are_typed", |h| {
            Box::pin(cases::remote_errors_are_typed(h))
        }),
        ("install_snapshot_round_trips", |h| {
            Box::pin(snapshot_cases::install_snapshot_round_trips(h))
        }),
        ("a_refused_install_snapshot_is_an_error", |h| {
            Box::pin(snapshot_cases::a_refused_install_snapshot_is_an_error(h))
        }),
        ("deadlines_are_honoured_against_a_stalling_server", |h| {
            Box::pin(cases::deadlines_are_honoured_against_a_stalling_server(h))
        }),
        ("a_stalled_call_does_not_hold_up_others", |h| {
            Box::pin(cases::a_stalled_call_does_not_hold_up_others(h))
        }),
        ("large_messages_arrive_intact", |h| {
            Box::pin(cases::large_messages_arrive_intact(h))
        }),
        ("concurrent_calls_get_their_own_answers", |h| {
            Box::pin(cases::concurrent_calls_get_their_own_answers(h))
        }),
        ("a_server_that_goes_away_and_comes_back", |h| {
            Box::pin(cases::a_server_that_goes_away_and_comes_back(h))
        }),
        ("not_sent_only_for_requests_the_handler_never_saw", |h| {
            Box::pin(cases::not_sent_only_for_requests_the_handler_never_saw(h))
        }),
    ]
}

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<cases::Unused>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against `harness` and report each by name. Makes its own tokio runtime
/// (current thread, time and I/O enabled); must not be called inside one.
pub fn run<H: PeerHarness>(harness: &mut H) -> SuiteReport {
    let mut report = SuiteReport::new("peer_suite");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report.run_case("runtime", || {
                Err(format!("cannot build a runtime: {error}"))
            });
            return report;
        }
    };
    for (name, case) in all_cases::<H>() {
        report.run_case(name, || {
            let result = runtime.block_on(case(harness));
            runtime.block_on(harness.stop());
            result
        });
    }
    report
}

/// Run the suite and panic, listing every failed case, unless all passed. For use in tests.
pub fn assert_conforms<H: PeerHarness>(harness: &mut H) {
    run(harness).assert_all_passed();
}

#[cfg(test)]
mod tests;
