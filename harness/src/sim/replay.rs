//! The `replay` fault's state on each node: whether the network is replaying the node's
//! outgoing messages, the requests it recorded, and the per-message draws. The outer step loop
//! switches it ([`crate::nemesis::Action::Replay`]); [`super::replay_peer::ReplayPeer`], the
//! wrapper between a node and its transport, asks it what to do with each request.
//!
//! What is legal (Raft's model: any message may be delayed, duplicated, reordered or lost;
//! the `Peer` contract: a response belongs to its request, and a call completes by its
//! deadline): a request or its answer held back, the call still answered by its deadline
//! (so answers of an older term reach a node that has moved on, and requests arrive out of
//! order); a recorded request delivered again later, its answer lost (a duplicate whose
//! reply the network dropped). Never an old answer given to a new request.
//!
//! Memory is bounded: per node, one ring per RPC of at most [`RING`] requests. The rings
//! record all the time, so that a replay may deliver again what was sent before it started.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rafty::{AppendEntries, InstallSnapshot, NodeId, RequestVote};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::nemesis::action::ReplayDraw;

/// The most requests of one RPC a node's rings keep.
pub const RING: usize = 32;
/// The shortest and longest wait before a recorded request is delivered again.
pub const REPEAT_AFTER: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(2));

/// A request a node sent, as the network recorded it.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// A RequestVote or pre-vote.
    Vote(RequestVote),
    /// An AppendEntries or heartbeat.
    Append(AppendEntries),
    /// One InstallSnapshot chunk.
    Install(InstallSnapshot),
}

impl Request {
    /// The ring it goes in.
    fn ring(&self) -> usize {
        match self {
            Request::Vote(_) => 0,
            Request::Append(_) => 1,
            Request::Install(_) => 2,
        }
    }

    /// One line for the node's log.
    pub fn describe(&self) -> String {
        match self {
            Request::Vote(vote) => format!(
                "{} of term {}",
                if vote.pre_vote {
                    "pre-vote"
                } else {
                    "RequestVote"
                },
                vote.term
            ),
            Request::Append(append) => format!(
                "AppendEntries of term {} after index {} with {} entries",
                append.term,
                append.prev_log_index,
                append.entries.len()
            ),
            Request::Install(install) => format!(
                "InstallSnapshot of term {} through index {} from offset {}",
                install.term, install.last_included_index, install.offset
            ),
        }
    }
}

/// What the network does with one request while replaying.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Hold the request this long before sending it.
    pub hold_request: Duration,
    /// Hold the answer this long before returning it (never past the call's deadline).
    pub hold_answer: Duration,
    /// Deliver these recorded requests again (in order, to the same peer) after the wait.
    pub repeat: Option<Repeat>,
    /// Lose the request: the node was cut off ([`ReplayDraw::cut_after_heartbeats`]); the
    /// call waits out its deadline unanswered.
    pub lost: bool,
}

/// Recorded requests to deliver again.
#[derive(Clone, Debug, PartialEq)]
pub struct Repeat {
    /// How long from now.
    pub after: Duration,
    /// The requests: one, or the chunks of one snapshot transfer in offset order.
    pub requests: Vec<Request>,
    /// The replay they belong to: delivered only while it is still in effect.
    pub generation: u64,
}

/// One node's replay in effect.
struct Replaying {
    draw: ReplayDraw,
    rng: ChaCha8Rng,
    /// With [`ReplayDraw::cut_after_heartbeats`]: the peers that answered a heartbeat.
    heartbeats_answered: BTreeSet<NodeId>,
    /// With [`ReplayDraw::cut_after_heartbeats`]: whether enough did, so the node is cut off.
    cut: bool,
}

/// Per RPC (votes, appends, snapshot chunks): the node's recent requests and their destination.
type Rings = [VecDeque<(NodeId, Request)>; 3];

#[derive(Default)]
struct State {
    replaying: Option<Replaying>,
    /// Counts the replays started, so a duplicate of an ended one is never delivered.
    generation: u64,
    /// Recorded whether or not a replay is in effect: a replay may deliver again what the node
    /// sent long before it started (after terms moved on), as a network may.
    rings: Rings,
}

/// One node's replay switch (clones share it).
#[derive(Clone, Default)]
pub struct ReplaySwitch {
    state: Arc<Mutex<State>>,
}

impl ReplaySwitch {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start replaying with `draw` (a replay already in effect is replaced).
    pub fn start(&self, draw: ReplayDraw) {
        let mut state = self.lock();
        state.generation += 1;
        state.replaying = Some(Replaying {
            draw,
            rng: ChaCha8Rng::seed_from_u64(draw.seed),
            heartbeats_answered: BTreeSet::new(),
            cut: false,
        });
    }

    /// Stop replaying (what was recorded is kept for the next replay).
    pub fn stop(&self) {
        self.lock().replaying = None;
    }

    /// Whether the replay `generation` is still in effect.
    pub fn is_in_effect(&self, generation: u64) -> bool {
        let state = self.lock();
        state.replaying.is_some() && state.generation == generation
    }

    /// Whether the node is cut off after its heartbeat round ([`ReplayDraw::cut_after_heartbeats`]).
    pub fn is_cut(&self) -> bool {
        self.lock()
            .replaying
            .as_ref()
            .is_some_and(|replaying| replaying.cut)
    }

    /// `to` answered `request` (`answered`: an answer came back): with
    /// [`ReplayDraw::cut_after_heartbeats`], a heartbeat's answer counts towards the cut.
    pub fn on_answer(&self, to: NodeId, request: &Request, answered: bool) {
        let mut state = self.lock();
        let Some(replaying) = state.replaying.as_mut() else {
            return;
        };
        let wanted = usize::from(replaying.draw.cut_after_heartbeats);
        let heartbeat = matches!(request, Request::Append(append) if append.entries.is_empty());
        if wanted == 0 || !answered || !heartbeat || replaying.cut {
            return;
        }
        replaying.heartbeats_answered.insert(to);
        replaying.cut = replaying.heartbeats_answered.len() >= wanted;
    }

    /// The node sends `request` to `to` with a deadline of `timeout`: record it and draw what
    /// the network does with it (nothing while no replay is in effect).
    pub fn on_send(&self, to: NodeId, request: &Request, timeout: Duration) -> Decision {
        let mut guard = self.lock();
        let state = &mut *guard;
        let ring = &mut state.rings[request.ring()];
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back((to, request.clone()));
        let mut decision = Decision::default();
        let Some(replaying) = state.replaying.as_mut() else {
            return decision;
        };
        if replaying.draw.cut_after_heartbeats > 0 {
            // `clock-bound`: everything passes until the heartbeat round is answered, then
            // nothing does.
            decision.lost = replaying.cut;
            return decision;
        }
        if replaying.draw.hold_entries_ms > 0 {
            // `hold-first-append`: only the AppendEntries carrying entries, each as long.
            if let Request::Append(append) = request
                && !append.entries.is_empty()
            {
                let hold = Duration::from_millis(replaying.draw.hold_entries_ms.into());
                decision.hold_request = hold.min(timeout.mul_f64(0.9));
            }
            return decision;
        }
        let rng = &mut replaying.rng;
        if rng.random_range(0..100) < replaying.draw.hold_percent {
            // Somewhere in the call's time, leaving a tenth of it for the exchange itself.
            let hold = timeout.mul_f64(rng.random_range(0.1..0.9));
            if rng.random_bool(0.5) {
                decision.hold_request = hold;
            } else {
                decision.hold_answer = hold;
            }
        }
        if rng.random_range(0..100) < replaying.draw.repeat_percent {
            decision.repeat = pick(&state.rings, to, rng).map(|requests| Repeat {
                after: rng.random_range(REPEAT_AFTER.0..=REPEAT_AFTER.1),
                requests,
                generation: state.generation,
            });
        }
        decision
    }
}

/// Recorded requests to `to` to deliver again: an RPC drawn among those recorded for `to`,
/// then one of its requests; for a snapshot chunk, the recorded chunks of that snapshot, one per
/// offset, in offset order.
fn pick(rings: &Rings, to: NodeId, rng: &mut ChaCha8Rng) -> Option<Vec<Request>> {
    let to_peer = |ring: &VecDeque<(NodeId, Request)>| -> Vec<Request> {
        ring.iter()
            .filter(|(destination, _)| *destination == to)
            .map(|(_, request)| request.clone())
            .collect()
    };
    let recorded: Vec<Vec<Request>> = rings
        .iter()
        .map(to_peer)
        .filter(|requests| !requests.is_empty())
        .collect();
    if recorded.is_empty() {
        return None;
    }
    let requests = &recorded[rng.random_range(0..recorded.len())];
    let chosen = requests[rng.random_range(0..requests.len())].clone();
    Some(match &chosen {
        Request::Install(install) => {
            // One chunk per offset (the latest recorded), in offset order: the transfer.
            let mut chunks: BTreeMap<u64, Request> = BTreeMap::new();
            for other in requests {
                if let Request::Install(chunk) = other
                    && same_snapshot(install, chunk)
                {
                    chunks.insert(chunk.offset, other.clone());
                }
            }
            chunks.into_values().collect()
        }
        _ => vec![chosen],
    })
}

/// Whether two chunks belong to one transfer of one snapshot.
fn same_snapshot(a: &InstallSnapshot, b: &InstallSnapshot) -> bool {
    (
        a.term,
        a.last_included_index,
        a.last_included_term,
        a.checksum,
    ) == (
        b.term,
        b.last_included_index,
        b.last_included_term,
        b.checksum,
    )
}

/// Each node's [`ReplaySwitch`], made outside the hosts so the outer step loop can flip it,
/// and kept across restarts (a replay in effect goes on for the node's next incarnation).
#[derive(Clone, Default)]
pub struct ReplaySwitches {
    switches: BTreeMap<NodeId, ReplaySwitch>,
}

impl ReplaySwitches {
    /// One switch per node of `nodes`, none replaying.
    pub fn new(nodes: &[NodeId]) -> ReplaySwitches {
        let switches = nodes
            .iter()
            .map(|&id| (id, ReplaySwitch::default()))
            .collect();
        ReplaySwitches { switches }
    }

    /// Node `id`'s switch (a clone sharing it). Panics for an unknown node.
    pub fn switch(&self, id: NodeId) -> ReplaySwitch {
        self.switches
            .get(&id)
            .unwrap_or_else(|| panic!("no replay switch for n{id}"))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(100);

    fn vote(term: u64) -> Request {
        Request::Vote(RequestVote {
            term,
            candidate_id: 1,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
            transfer: false,
        })
    }

    fn chunk(term: u64, index: u64, offset: u64) -> Request {
        Request::Install(InstallSnapshot {
            term,
            leader_id: 1,
            last_included_index: index,
            last_included_term: term,
            size_bytes: 300,
            checksum: index as u32,
            offset,
            data: vec![0; 100],
            done: offset == 200,
        })
    }

    fn draw(hold_percent: u8, repeat_percent: u8) -> ReplayDraw {
        ReplayDraw {
            seed: 7,
            hold_percent,
            repeat_percent,
            hold_entries_ms: 0,
            cut_after_heartbeats: 0,
        }
    }

    fn append(term: u64, entries: usize) -> Request {
        let entry = |index| rafty::Entry {
            term,
            index,
            payload: rafty::Payload::Noop,
        };
        Request::Append(AppendEntries {
            term,
            leader_id: 1,
            prev_log_index: 4,
            prev_log_term: term,
            entries: (5..5 + entries as u64).map(entry).collect(),
            leader_commit: 3,
        })
    }

    /// `clock-bound`: requests pass until the heartbeats (AppendEntries without entries) of
    /// as many peers as drawn were answered; from then on every request is lost, until the
    /// replay stops.
    #[test]
    fn a_cut_after_heartbeats_loses_every_request_once_enough_peers_answered_one() {
        let switch = ReplaySwitch::default();
        switch.start(ReplayDraw {
            cut_after_heartbeats: 2,
            ..draw(0, 0)
        });
        assert_eq!(
            switch.on_send(2, &append(1, 1), TIMEOUT),
            Decision::default()
        );
        switch.on_answer(2, &append(1, 1), true);
        switch.on_answer(2, &append(1, 0), false);
        assert!(
            !switch.is_cut(),
            "entries, or no answer: not a heartbeat answered"
        );
        switch.on_answer(2, &append(1, 0), true);
        switch.on_answer(2, &append(1, 0), true);
        assert!(!switch.is_cut(), "one peer counts once");
        assert_eq!(
            switch.on_send(3, &append(1, 0), TIMEOUT),
            Decision::default()
        );
        switch.on_answer(3, &append(1, 0), true);
        assert!(switch.is_cut());
        for request in [append(1, 0), append(1, 3), vote(2)] {
            let decision = switch.on_send(2, &request, TIMEOUT);
            assert!(decision.lost && decision.repeat.is_none(), "{decision:?}");
        }
        switch.stop();
        assert!(!switch.is_cut());
        assert_eq!(
            switch.on_send(2, &append(1, 0), TIMEOUT),
            Decision::default()
        );
    }

    /// `hold-first-append`: every AppendEntries with entries is held as long (within its
    /// deadline); heartbeats and votes pass at once, and nothing is delivered again.
    #[test]
    fn holding_entries_holds_only_appends_that_carry_entries() {
        let switch = ReplaySwitch::default();
        switch.start(ReplayDraw {
            hold_entries_ms: 40,
            ..draw(0, 0)
        });
        for term in 1..20 {
            let held = switch.on_send(2, &append(term, 1), TIMEOUT);
            assert_eq!(held.hold_request, Duration::from_millis(40));
            assert!(held.hold_answer.is_zero() && held.repeat.is_none());
            assert_eq!(
                switch.on_send(2, &append(term, 0), TIMEOUT),
                Decision::default()
            );
            assert_eq!(switch.on_send(2, &vote(term), TIMEOUT), Decision::default());
        }
        let short = Duration::from_millis(20);
        let held = switch.on_send(2, &append(30, 2), short);
        assert_eq!(
            held.hold_request,
            short.mul_f64(0.9),
            "within the call's deadline"
        );
    }

    #[test]
    fn nothing_happens_while_no_replay_is_in_effect() {
        let switch = ReplaySwitch::default();
        assert_eq!(switch.on_send(2, &vote(1), TIMEOUT), Decision::default());
        switch.start(draw(100, 100));
        switch.stop();
        assert_eq!(switch.on_send(2, &vote(2), TIMEOUT), Decision::default());
    }

    #[test]
    fn a_held_message_is_answered_by_its_deadline() {
        let switch = ReplaySwitch::default();
        switch.start(draw(100, 0));
        for term in 1..200 {
            let decision = switch.on_send(2, &vote(term), TIMEOUT);
            let held = decision.hold_request + decision.hold_answer;
            assert!(held >= TIMEOUT / 10 && held < TIMEOUT * 9 / 10, "{held:?}");
            assert!(decision.hold_request.is_zero() || decision.hold_answer.is_zero());
            assert_eq!(decision.repeat, None);
        }
    }

    #[test]
    fn a_repeat_is_a_recorded_request_to_the_same_peer_delivered_later() {
        let switch = ReplaySwitch::default();
        switch.start(draw(0, 100));
        switch.on_send(3, &vote(9), TIMEOUT);
        for term in 1..50 {
            let repeat = switch
                .on_send(2, &vote(term), TIMEOUT)
                .repeat
                .expect("100%");
            assert_eq!(repeat.requests.len(), 1);
            let Request::Vote(repeated) = &repeat.requests[0] else {
                panic!("{repeat:?}");
            };
            assert!(
                repeated.term <= term,
                "{repeat:?}: only what was sent to n2"
            );
            assert!((REPEAT_AFTER.0..=REPEAT_AFTER.1).contains(&repeat.after));
            assert!(switch.is_in_effect(repeat.generation));
        }
    }

    #[test]
    fn a_repeated_snapshot_chunk_brings_its_whole_transfer() {
        let switch = ReplaySwitch::default();
        switch.start(draw(0, 0));
        for offset in [0, 0, 100, 0, 200, 100] {
            switch.on_send(2, &chunk(3, 50, offset), TIMEOUT);
        }
        switch.on_send(2, &chunk(3, 80, 0), TIMEOUT);
        let state = switch.lock();
        let rings = &state.rings;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut sizes = Vec::new();
        for _ in 0..20 {
            let requests = pick(rings, 2, &mut rng).expect("recorded");
            sizes.push(requests.len());
            let first = requests[0].clone();
            let Request::Install(first) = first else {
                panic!("{requests:?}")
            };
            let offsets: Vec<u64> = requests
                .iter()
                .map(|request| match request {
                    Request::Install(chunk) if same_snapshot(chunk, &first) => chunk.offset,
                    other => panic!("{other:?} is not of {first:?}"),
                })
                .collect();
            assert!(offsets == [0, 100, 200] || offsets == [0], "{offsets:?}");
        }
        assert!(sizes.contains(&3) && sizes.contains(&1), "{sizes:?}");
        assert_eq!(pick(rings, 4, &mut rng), None, "nothing was sent to n4");
    }

    #[test]
    fn the_rings_are_bounded_and_kept_for_the_next_replay() {
        let switch = ReplaySwitch::default();
        for term in 0..(3 * RING as u64) {
            switch.on_send(2, &vote(term), TIMEOUT);
        }
        {
            let state = switch.lock();
            assert_eq!(state.rings[0].len(), RING);
            assert_eq!(
                state.rings[0][0].1,
                vote(2 * RING as u64),
                "the oldest are dropped"
            );
        }
        switch.start(draw(0, 0));
        let generation = switch.lock().generation;
        switch.stop();
        assert!(!switch.is_in_effect(generation));
        switch.start(draw(0, 100));
        assert!(
            !switch.is_in_effect(generation),
            "a new replay, not the old one"
        );
        let repeat = switch.on_send(3, &vote(1), TIMEOUT).repeat.expect("100%");
        assert_eq!(repeat.requests, vec![vote(1)], "all that n3 was sent");
        let repeat = switch.on_send(2, &vote(1), TIMEOUT).repeat.expect("100%");
        let Request::Vote(old) = &repeat.requests[0] else {
            panic!("{repeat:?}")
        };
        assert!(
            old.term > 2 * RING as u64 || old.term == 1,
            "recorded before the replay started: {repeat:?}"
        );
    }

    #[test]
    fn the_draws_follow_the_seed() {
        let decisions = || {
            let switch = ReplaySwitch::default();
            switch.start(draw(50, 50));
            (1..100)
                .map(|term| switch.on_send(2, &vote(term), TIMEOUT))
                .collect::<Vec<_>>()
        };
        assert_eq!(decisions(), decisions());
    }
}
