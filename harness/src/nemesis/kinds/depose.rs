//! `depose`: a leader change aimed at the moments reads without the log depend on
//! (dissertation §6.4), driven by what the nodes report.
//!
//! 1. Wait until the leader A has committed an entry no other node knows is committed (its
//!    commit index ahead of every other's: a write was just acknowledged), then isolate A.
//!    Clients still reach it, and it still believes it leads until its check-quorum.
//! 2. When a successor B is elected, drawn one time in two: isolate B too, briefly (less
//!    than any election timeout the harness draws), before its first entry commits, so
//!    that the reads it takes meanwhile wait for a round that confirms them together with
//!    that entry.
//! 3. When B has committed past A's commit index (a write at the successor), hold A
//!    isolated a while longer (the window in which a deposed leader still answers), then
//!    heal.
//! 4. Rest briefly and do it again, [`ROUNDS`] times in all: each window is short (a deposed
//!    leader steps down at its next check-quorum), so one fault opens several.
//!
//! A correct Raft serves no stale read through any of it; each wait has a deadline, and on
//! a timeout the fault heals and ends.
//!
//! `hold-first-append` ([`super::hold_first_append`]) runs the same rounds with another step
//! 2: the successor's AppendEntries that carry entries (its first entry first) are held back
//! a while, its heartbeats not, so that it is confirmed leader before that entry commits.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use rafty::{LogIndex, NodeId, Term};

use crate::nemesis::action::{Action, ClockDraw, ClusterView, ReplayDraw};
use crate::nemesis::kind::{Claim, Draw, Fault, Watch, Watcher};
use crate::nemesis::partition::Grudge;
use crate::nemesis::plan::Plan;

use super::staged_cut::StagedCut;
use crate::run::config::LogKind;

/// The leader change of the module's doc. Not in `all` (adding a kind there moves every
/// recorded catalogue seed): the catalogue's read entries add it.
pub struct Depose;

impl Fault for Depose {
    fn name(&self) -> &'static str {
        "depose"
    }

    fn summary(&self) -> &'static str {
        "isolate the leader just after it committed a write the others do not know is \
         committed, maybe isolate its successor briefly at its election, heal once the \
         successor committed past it"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    /// Nothing planned ahead: the [`Deposing`] watcher reacts to the leaders reported.
    fn plan(&self, _draw: Draw<'_>, _rng: &mut ChaCha8Rng) -> Plan {
        Plan::new("depose the leader".to_owned(), Vec::new())
    }

    fn watcher(&self, _plan: &Plan) -> Option<Box<dyn Watcher>> {
        Some(Box::new(Deposing::new()))
    }
}

/// How long each stage may wait for the cluster.
const STAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the leader may take to get ahead of the others before it is isolated anyway.
const AHEAD_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a successor stays isolated at its election: well below the shortest minimum
/// election timeout the settings draw (50 ms), so that it does not step down for it.
const SUCCESSOR_CUT: Duration = Duration::from_millis(20);
/// Leader changes per fault.
pub const ROUNDS: u32 = 3;
/// The healthy pause between two rounds.
const REST: Duration = Duration::from_millis(200);
/// How long the deposed leader stays isolated after its successor committed past it.
const HOLD: Duration = Duration::from_millis(300);
/// How long `hold-first-append` holds the successor's AppendEntries with entries, in ms:
/// several heartbeat round trips, and within the RPC deadline the settings draw most often
/// (100 ms; the network holds a request at most nine tenths of its deadline).
pub const HOLD_ENTRIES_MS: std::ops::RangeInclusive<u16> = 40..=90;

/// What a round does to the successor at its election.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Successor {
    /// `depose`: one time in two, isolate it for [`SUCCESSOR_CUT`].
    MaybeIsolate,
    /// `hold-first-append`: hold its AppendEntries that carry entries for a time drawn from
    /// [`HOLD_ENTRIES_MS`], its heartbeats passing. The hold is put on every node but the
    /// old leader when that one is isolated (a new leader sends its first entry the moment it
    /// wins, before anyone outside could see it won), and lifted that long after the win.
    HoldEntries,
    /// `clock-bound`: nothing.
    Leave,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for a leader whose commit index is ahead of every other node's.
    AwaitAhead,
    /// `clock-bound`: the leader's cut armed; waiting for its heartbeat round's answers.
    AwaitCut { old: NodeId, term: Term },
    /// The old leader isolated; waiting for a successor.
    AwaitSuccessor { old: NodeId, term: Term, commit: LogIndex },
    /// The successor's entries held back, until `until`.
    SuccessorHeld {
        old: NodeId,
        successor: NodeId,
        commit: LogIndex,
        until: Duration,
    },
    /// The successor isolated too, until `until`.
    SuccessorCut {
        old: NodeId,
        successor: NodeId,
        commit: LogIndex,
        until: Duration,
    },
    /// Waiting for the successor to commit past the old leader's commit index.
    AwaitCommit {
        old: NodeId,
        successor: NodeId,
        commit: LogIndex,
    },
    /// Holding the old leader isolated until the deadline.
    Hold,
    /// Healed; the next round starts at the deadline.
    Rest,
    Done,
}

/// The leader change in progress (times are from the fault's start).
#[derive(Clone, Debug)]
pub struct Deposing {
    successor: Successor,
    /// With `clock-bound`: each round's leader runs slow from the round's start, by a drift
    /// drawn from nine tenths of [`Deposing::drift_bound_ppm`] to all of it.
    slow_leader: bool,
    /// The node slowed now, if any.
    slowed: Option<NodeId>,
    /// With `clock-bound`: the leader is cut off by the network right after its next
    /// heartbeat round was answered (not when it is ahead), so that its followers last heard
    /// from it when its lease was last renewed.
    cut_after_heartbeat: bool,
    /// The node whose heartbeat cut is armed, if any.
    armed: Option<NodeId>,
    /// Whether the armed cut happened (the network says so at each poll).
    cut_done: bool,
    /// The lease's drift bound, as the last poll reported it ([`Watch::drift_bound_ppm`]).
    pub drift_bound_ppm: i64,
    /// With [`Successor::HoldEntries`]: the nodes whose entries are held, and for how long.
    held: Option<(Vec<NodeId>, u16)>,
    stage: Stage,
    deadline: Duration,
    cut: StagedCut,
    /// When the current round started.
    round_start: Duration,
    /// Rounds left after the current one.
    rounds_left: u32,
    /// What happened, for the history.
    pub steps: Vec<String>,
}

impl Watcher for Deposing {
    fn poll(&mut self, watch: Watch<'_>) -> Vec<Action> {
        self.drift_bound_ppm = watch.drift_bound_ppm;
        if let Some(node) = self.armed {
            self.cut_done = watch.network.heartbeat_cut_done(node);
        }
        Deposing::poll(self, watch.elapsed, watch.view, watch.nodes, watch.rng)
    }

    fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    fn outcome(&self) -> Option<String> {
        Some(self.steps.join("; "))
    }
}

impl Default for Deposing {
    fn default() -> Self {
        Deposing::new()
    }
}

impl Deposing {
    /// `depose`'s rounds, from the fault's start.
    pub fn new() -> Self {
        Deposing::with(Successor::MaybeIsolate)
    }

    /// `clock-bound`'s rounds: each round's leader slowed within the lease's drift bound,
    /// then isolated right after its next heartbeat round was answered, its successor left
    /// alone.
    pub fn slowing_leader() -> Self {
        Deposing {
            slow_leader: true,
            cut_after_heartbeat: true,
            ..Deposing::with(Successor::Leave)
        }
    }

    /// Rounds treating each successor as `successor` says, from the fault's start.
    pub fn with(successor: Successor) -> Self {
        Deposing {
            successor,
            slow_leader: false,
            slowed: None,
            cut_after_heartbeat: false,
            armed: None,
            cut_done: false,
            drift_bound_ppm: 0,
            held: None,
            stage: Stage::AwaitAhead,
            deadline: STAGE_TIMEOUT,
            cut: StagedCut::default(),
            round_start: Duration::ZERO,
            rounds_left: ROUNDS - 1,
            steps: Vec::new(),
        }
    }

    /// The actions due at `now`.
    pub fn poll(
        &mut self,
        now: Duration,
        view: &dyn ClusterView,
        nodes: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Action> {
        if self.stage == Stage::Done {
            return Vec::new();
        }
        if now >= self.deadline {
            return self.end_stage(now);
        }
        let leader = view.leader_term();
        match self.stage.clone() {
            Stage::AwaitAhead => {
                let Some((old, term)) = leader else {
                    return Vec::new();
                };
                let mut actions = self.slow(old, rng);
                if self.cut_after_heartbeat {
                    actions.extend(self.arm_cut(old, term, now, nodes));
                    return actions;
                }
                let commit = view.commit_index(old);
                let others = nodes.iter().filter(|&&node| node != old);
                let ahead = others
                    .map(|&node| view.commit_index(node))
                    .all(|other| other < commit);
                if !ahead && now < self.round_start + AHEAD_TIMEOUT {
                    return actions;
                }
                let how = if ahead { "ahead" } else { "not ahead" };
                self.steps.push(format!(
                    "isolate leader n{old} (term {term}, commit {commit}, {how} of the others)"
                ));
                self.advance(now, Stage::AwaitSuccessor { old, term, commit });
                actions.extend(self.cut.replace(Some(isolate(&[old], nodes))));
                if self.successor == Successor::HoldEntries {
                    actions.extend(self.hold_entries(old, nodes, rng));
                }
                actions
            }
            Stage::AwaitCut { old, term } => {
                if !self.cut_done {
                    return Vec::new();
                }
                let commit = view.commit_index(old);
                self.steps.push(format!(
                    "n{old}'s heartbeat round answered: isolate it (commit {commit})"
                ));
                self.advance(now, Stage::AwaitSuccessor { old, term, commit });
                self.cut.replace(Some(isolate(&[old], nodes)))
            }
            Stage::AwaitSuccessor { old, term, commit } => match leader {
                Some((successor, new_term))
                    if new_term > term
                        && successor != old
                        && let Some((_, hold_ms)) = self.held =>
                {
                    self.steps.push(format!(
                        "successor n{successor} (term {new_term}): its entries held {hold_ms}ms"
                    ));
                    let until = now + Duration::from_millis(hold_ms.into());
                    let stage = Stage::SuccessorHeld {
                        old,
                        successor,
                        commit,
                        until,
                    };
                    self.advance(now, stage);
                    Vec::new()
                }
                Some((successor, new_term))
                    if new_term > term
                        && successor != old
                        && self.successor == Successor::Leave =>
                {
                    self.steps
                        .push(format!("successor n{successor} (term {new_term})"));
                    let stage = Stage::AwaitCommit {
                        old,
                        successor,
                        commit,
                    };
                    self.advance(now, stage);
                    Vec::new()
                }
                Some((successor, new_term)) if new_term > term && successor != old => {
                    if rng.random_bool(0.5) {
                        self.steps.push(format!(
                            "successor n{successor} (term {new_term}): isolate it for {}ms",
                            SUCCESSOR_CUT.as_millis()
                        ));
                        let until = now + SUCCESSOR_CUT;
                        let stage = Stage::SuccessorCut {
                            old,
                            successor,
                            commit,
                            until,
                        };
                        self.advance(now, stage);
                        self.cut.replace(Some(isolate(&[old, successor], nodes)))
                    } else {
                        self.steps
                            .push(format!("successor n{successor} (term {new_term})"));
                        let stage = Stage::AwaitCommit {
                            old,
                            successor,
                            commit,
                        };
                        self.advance(now, stage);
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            },
            Stage::SuccessorHeld {
                old,
                successor,
                commit,
                until,
            } => {
                if now < until {
                    return Vec::new();
                }
                self.steps.push(format!("let n{successor}'s entries go"));
                let stage = Stage::AwaitCommit {
                    old,
                    successor,
                    commit,
                };
                self.advance(now, stage);
                self.release_entries()
            }
            Stage::SuccessorCut {
                old,
                successor,
                commit,
                until,
            } => {
                if now < until {
                    return Vec::new();
                }
                self.steps.push(format!("let n{successor} back"));
                let stage = Stage::AwaitCommit {
                    old,
                    successor,
                    commit,
                };
                self.advance(now, stage);
                self.cut.replace(Some(isolate(&[old], nodes)))
            }
            Stage::AwaitCommit {
                old,
                successor,
                commit,
            } => {
                let now_commit = view.commit_index(successor);
                if now_commit <= commit {
                    return Vec::new();
                }
                self.steps.push(format!(
                    "n{successor} committed {now_commit}: hold n{old} isolated {}ms",
                    HOLD.as_millis()
                ));
                self.stage = Stage::Hold;
                self.deadline = now + HOLD;
                Vec::new()
            }
            Stage::Hold | Stage::Rest | Stage::Done => Vec::new(),
        }
    }

    /// The deadline of the stage in progress passed: a hold or a rest ends, a wait timed out.
    /// Heal; rest before the next round, or end.
    fn end_stage(&mut self, now: Duration) -> Vec<Action> {
        let mut actions = self.release_entries();
        actions.extend(self.armed.take().map(Action::Unreplay));
        self.cut_done = false;
        actions.extend(self.slowed.take().map(Action::UnskewClock));
        match self.stage {
            Stage::Rest => {
                self.stage = Stage::AwaitAhead;
                self.round_start = now;
                self.deadline = now + STAGE_TIMEOUT;
                return Vec::new();
            }
            Stage::Hold => {}
            _ => self
                .steps
                .push(format!("timed out waiting in {:?}", self.stage)),
        }
        if self.rounds_left > 0 {
            self.rounds_left -= 1;
            self.stage = Stage::Rest;
            self.deadline = now + REST;
        } else {
            self.stage = Stage::Done;
        }
        actions.extend(self.cut.replace(None));
        actions
    }

    /// Hold the entries of every node but `old` (one of them will succeed it), for a time
    /// drawn from [`HOLD_ENTRIES_MS`].
    fn hold_entries(
        &mut self,
        old: NodeId,
        nodes: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Action> {
        let hold_entries_ms = rng.random_range(HOLD_ENTRIES_MS);
        let others: Vec<NodeId> = nodes.iter().copied().filter(|&node| node != old).collect();
        let draw = ReplayDraw {
            seed: 0,
            hold_percent: 0,
            repeat_percent: 0,
            hold_entries_ms,
            cut_after_heartbeats: 0,
        };
        let actions = others
            .iter()
            .map(|&node| Action::Replay(node, draw))
            .collect();
        self.held = Some((others, hold_entries_ms));
        actions
    }

    /// With `slow_leader`: slow `leader`'s clock (and set right the one slowed before, if
    /// another), unless it is slowed already.
    fn slow(&mut self, leader: NodeId, rng: &mut ChaCha8Rng) -> Vec<Action> {
        if !self.slow_leader || self.slowed == Some(leader) {
            return Vec::new();
        }
        let mut actions: Vec<Action> = self.slowed.take().map(Action::UnskewClock).into_iter().collect();
        let bound = self.drift_bound_ppm.max(0);
        // Near the bound's edge: the lease outlives the followers' refusal most when the
        // margin is needed most.
        let drift_ppm = -rng.random_range(bound * 9 / 10..=bound);
        self.steps
            .push(format!("slow n{leader}'s clock {drift_ppm:+}ppm (bound {bound}ppm)"));
        let skew = ClockDraw {
            jump_ms: 0,
            drift_ppm,
        };
        actions.push(Action::SkewClock(leader, skew));
        self.slowed = Some(leader);
        actions
    }

    /// `clock-bound`: cut `leader` (of `term`) off once a majority answered its next
    /// heartbeat: the network loses every later request of it at once, and the isolation
    /// follows at the next poll. A cut that does not come within [`AHEAD_TIMEOUT`] ends the
    /// round.
    fn arm_cut(
        &mut self,
        leader: NodeId,
        term: Term,
        now: Duration,
        nodes: &[NodeId],
    ) -> Vec<Action> {
        // Answers from half the nodes (rounded down) and the leader's own: a majority.
        let peers = u8::try_from(nodes.len() / 2).unwrap_or(u8::MAX).max(1);
        self.steps.push(format!(
            "cut n{leader} (term {term}) off once {peers} peers answered its next heartbeat"
        ));
        self.armed = Some(leader);
        self.cut_done = false;
        self.stage = Stage::AwaitCut { old: leader, term };
        self.deadline = now + AHEAD_TIMEOUT;
        let draw = ReplayDraw {
            seed: 0,
            hold_percent: 0,
            repeat_percent: 0,
            hold_entries_ms: 0,
            cut_after_heartbeats: peers,
        };
        vec![Action::Replay(leader, draw)]
    }

    /// Lift the holds of [`Deposing::hold_entries`], if any.
    fn release_entries(&mut self) -> Vec<Action> {
        let held = self.held.take().map(|(nodes, _)| nodes).unwrap_or_default();
        held.into_iter().map(Action::Unreplay).collect()
    }

    fn advance(&mut self, now: Duration, stage: Stage) {
        self.stage = stage;
        self.deadline = now + STAGE_TIMEOUT;
    }
}

/// Cut each node of `isolated` off from every other node (from each other too).
fn isolate(isolated: &[NodeId], nodes: &[NodeId]) -> Grudge {
    Grudge::between(isolated, nodes)
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    use rand::SeedableRng;

    use super::*;

    /// A scripted cluster: whoever leads in which term, and each node's commit index.
    struct Script {
        leader: Cell<Option<(NodeId, Term)>>,
        commits: RefCell<BTreeMap<NodeId, LogIndex>>,
    }

    impl ClusterView for Script {
        fn leader(&self) -> Option<NodeId> {
            self.leader.get().map(|(node, _)| node)
        }
        fn leader_term(&self) -> Option<(NodeId, Term)> {
            self.leader.get()
        }
        fn commit_index(&self, node: NodeId) -> LogIndex {
            self.commits.borrow().get(&node).copied().unwrap_or(0)
        }
    }

    fn isolated_nodes(actions: &[Action]) -> Vec<NodeId> {
        let mut isolated: Vec<NodeId> = actions
            .iter()
            .filter_map(|action| match action {
                Action::Partition(grudge) => Some(grudge),
                _ => None,
            })
            .flat_map(|grudge| grudge.cut.iter().map(|(a, _)| *a))
            .collect();
        isolated.sort_unstable();
        isolated.dedup();
        isolated
    }

    /// The leader is isolated only once it is ahead, held while its successor commits past
    /// it, and every cut is repaired at the end.
    #[test]
    fn the_leader_is_isolated_when_ahead_and_healed_after_its_successor_commits() {
        let nodes: Vec<NodeId> = vec![1, 2, 3];
        let ms = Duration::from_millis;
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let script = Script {
                leader: Cell::new(Some((1, 2))),
                commits: RefCell::new(BTreeMap::from([(1, 5), (2, 5), (3, 5)])),
            };
            let mut fault = Deposing::new();
            assert!(fault.poll(ms(1), &script, &nodes, &mut rng).is_empty());
            script.commits.borrow_mut().insert(1, 6);
            let first = fault.poll(ms(2), &script, &nodes, &mut rng);
            assert_eq!(isolated_nodes(&first), vec![1, 2, 3], "{first:?}");
            assert!(first.iter().all(|action| match action {
                Action::Partition(grudge) => grudge.cut.iter().all(|(a, b)| *a == 1 || *b == 1),
                _ => false,
            }));
            script.leader.set(Some((2, 3)));
            let mut actions = fault.poll(ms(200), &script, &nodes, &mut rng);
            if !actions.is_empty() {
                // The successor isolated briefly, then let back.
                assert!(matches!(actions[0], Action::Repair(_)), "{actions:?}");
                assert!(fault.poll(ms(201), &script, &nodes, &mut rng).is_empty());
                actions = fault.poll(ms(200) + SUCCESSOR_CUT, &script, &nodes, &mut rng);
                assert_eq!(actions.len(), 2, "{actions:?}");
            }
            assert!(fault.poll(ms(300), &script, &nodes, &mut rng).is_empty());
            script.commits.borrow_mut().insert(2, 7);
            assert!(fault.poll(ms(400), &script, &nodes, &mut rng).is_empty());
            assert!(!fault.is_done_now());
            let healed = fault.poll(ms(400) + HOLD, &script, &nodes, &mut rng);
            assert!(matches!(healed.as_slice(), [Action::Repair(_)]), "{healed:?}");
            // The next round waits for the rest, then for the new leader to be ahead.
            assert_eq!(fault.rounds_left, ROUNDS - 2);
            let rest_end = ms(400) + HOLD + REST;
            assert!(fault.poll(rest_end, &script, &nodes, &mut rng).is_empty());
            script.commits.borrow_mut().insert(2, 8);
            let again = fault.poll(rest_end + ms(1), &script, &nodes, &mut rng);
            assert_eq!(isolated_nodes(&again), vec![1, 2, 3], "{again:?}");
            assert!(!fault.is_done_now());
        }
    }

    /// `hold-first-append`: when the leader is isolated, every other node's entries are
    /// held (the drawn time); the successor is never isolated, and the holds are lifted that
    /// long after it won; the round then goes on as `depose`'s.
    #[test]
    fn holding_rounds_hold_the_successors_entries_then_let_them_go() {
        let nodes: Vec<NodeId> = vec![1, 2, 3];
        let ms = Duration::from_millis;
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let script = Script {
                leader: Cell::new(Some((1, 2))),
                commits: RefCell::new(BTreeMap::from([(1, 6), (2, 5), (3, 5)])),
            };
            let mut fault = Deposing::with(Successor::HoldEntries);
            let first = fault.poll(ms(1), &script, &nodes, &mut rng);
            assert_eq!(isolated_nodes(&first), vec![1, 2, 3], "{first:?}");
            let held: Vec<(NodeId, u16)> = first
                .iter()
                .filter_map(|action| match action {
                    Action::Replay(node, draw) => {
                        assert_eq!((draw.hold_percent, draw.repeat_percent), (0, 0));
                        Some((*node, draw.hold_entries_ms))
                    }
                    _ => None,
                })
                .collect();
            let hold_ms = held[0].1;
            assert!(HOLD_ENTRIES_MS.contains(&hold_ms), "{held:?}");
            assert_eq!(held, vec![(2, hold_ms), (3, hold_ms)], "all but the old leader");
            script.leader.set(Some((2, 3)));
            assert!(fault.poll(ms(200), &script, &nodes, &mut rng).is_empty());
            let until = ms(200 + u64::from(hold_ms));
            assert!(fault.poll(until - ms(1), &script, &nodes, &mut rng).is_empty());
            let released = fault.poll(until, &script, &nodes, &mut rng);
            assert_eq!(released, vec![Action::Unreplay(2), Action::Unreplay(3)]);
            script.commits.borrow_mut().insert(2, 7);
            assert!(fault.poll(until + ms(1), &script, &nodes, &mut rng).is_empty());
            let healed = fault.poll(until + ms(1) + HOLD, &script, &nodes, &mut rng);
            assert!(matches!(healed.as_slice(), [Action::Repair(_)]), "{healed:?}");
        }
    }

    /// `clock-bound`: the leader runs slow within the bound from the round's start, its cut
    /// is armed at once (a majority's heartbeat answers trip it), it is isolated once the
    /// network says the cut happened, its successor left alone; the cut is lifted and the
    /// clock set right with the heal.
    #[test]
    fn slowing_rounds_slow_the_leader_and_isolate_it_after_its_heartbeat_round() {
        let nodes: Vec<NodeId> = vec![1, 2, 3, 4, 5];
        let ms = Duration::from_millis;
        for seed in 0..8 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let script = Script {
                leader: Cell::new(Some((1, 2))),
                commits: RefCell::new(BTreeMap::from([(1, 5), (2, 5), (3, 5)])),
            };
            let mut fault = Deposing::slowing_leader();
            fault.drift_bound_ppm = 200_000;
            let armed = fault.poll(ms(1), &script, &nodes, &mut rng);
            let [Action::SkewClock(1, skew), Action::Replay(1, cut)] = armed.as_slice() else {
                panic!("expected the leader slowed and its cut armed: {armed:?}");
            };
            assert_eq!(skew.jump_ms, 0);
            assert!((-200_000..=-180_000).contains(&skew.drift_ppm), "{skew:?}");
            assert_eq!(cut.cut_after_heartbeats, 2, "two peers and the leader: a majority");
            assert_eq!((cut.hold_percent, cut.repeat_percent, cut.hold_entries_ms), (0, 0, 0));
            assert!(fault.poll(ms(2), &script, &nodes, &mut rng).is_empty(), "awaits the cut");
            fault.cut_done = true;
            let isolated = fault.poll(ms(3), &script, &nodes, &mut rng);
            assert_eq!(isolated_nodes(&isolated), nodes, "{isolated:?}");
            script.leader.set(Some((2, 3)));
            assert!(fault.poll(ms(200), &script, &nodes, &mut rng).is_empty());
            script.commits.borrow_mut().insert(2, 7);
            assert!(fault.poll(ms(201), &script, &nodes, &mut rng).is_empty());
            let healed = fault.poll(ms(201) + HOLD, &script, &nodes, &mut rng);
            assert!(
                matches!(
                    healed.as_slice(),
                    [Action::Unreplay(1), Action::UnskewClock(1), Action::Repair(_)]
                ),
                "{healed:?}"
            );
            assert_eq!(fault.rounds_left, ROUNDS - 2);
        }
    }

    /// `clock-bound`: a cut that never comes (no heartbeat answered) ends the round: the cut
    /// is lifted and the clock set right, and nothing was isolated.
    #[test]
    fn a_heartbeat_cut_that_never_comes_is_lifted() {
        let nodes: Vec<NodeId> = vec![1, 2, 3];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let script = Script {
            leader: Cell::new(Some((1, 2))),
            commits: RefCell::new(BTreeMap::new()),
        };
        let mut fault = Deposing::slowing_leader();
        fault.drift_bound_ppm = 200_000;
        assert_eq!(fault.poll(Duration::from_millis(1), &script, &nodes, &mut rng).len(), 2);
        let ended = fault.poll(AHEAD_TIMEOUT * 2, &script, &nodes, &mut rng);
        assert_eq!(ended, vec![Action::Unreplay(1), Action::UnskewClock(1)]);
        assert!(fault.steps.last().unwrap().contains("timed out"), "{:?}", fault.steps);
    }

    /// A successor that never comes: the holds are lifted with the cut.
    #[test]
    fn holds_are_lifted_when_no_successor_comes() {
        let nodes: Vec<NodeId> = vec![1, 2, 3];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let script = Script {
            leader: Cell::new(Some((1, 2))),
            commits: RefCell::new(BTreeMap::from([(1, 6)])),
        };
        let mut fault = Deposing::with(Successor::HoldEntries);
        assert_eq!(fault.poll(Duration::from_millis(1), &script, &nodes, &mut rng).len(), 3);
        let healed = fault.poll(Duration::from_secs(10), &script, &nodes, &mut rng);
        assert!(
            matches!(
                healed.as_slice(),
                [Action::Unreplay(2), Action::Unreplay(3), Action::Repair(_)]
            ),
            "{healed:?}"
        );
    }

    #[test]
    fn a_stage_that_waits_too_long_heals_and_ends() {
        let nodes: Vec<NodeId> = vec![1, 2, 3];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let script = Script {
            leader: Cell::new(Some((2, 1))),
            commits: RefCell::new(BTreeMap::new()),
        };
        let mut fault = Deposing::new();
        assert!(fault.poll(Duration::from_millis(1), &script, &nodes, &mut rng).is_empty());
        let cut = fault.poll(AHEAD_TIMEOUT, &script, &nodes, &mut rng);
        assert_eq!(cut.len(), 1, "isolated anyway: {cut:?}");
        let mut at = Duration::from_secs(10);
        let healed = fault.poll(at, &script, &nodes, &mut rng);
        assert!(matches!(healed.as_slice(), [Action::Repair(_)]));
        assert!(fault.steps.last().unwrap().contains("timed out"));
        // Every later round times out too (no leader ever gets ahead): the fault ends.
        for _ in 0..ROUNDS * 3 {
            at += Duration::from_secs(10);
            fault.poll(at, &script, &nodes, &mut rng);
        }
        assert!(fault.is_done_now());
        assert!(fault.cut.is_none(), "every cut repaired");
    }

    impl Deposing {
        fn is_done_now(&self) -> bool {
            self.stage == Stage::Done
        }
    }
}
