//! A targeted fault: the partition sequence of §5.4.2's Figure 8, driven by what the nodes
//! report. It sets up the one situation where counting replicas of an earlier term's entry
//! commits something a later leader can overwrite; a correct Raft survives it unharmed.
//!
//! 1. Cut the leader A off together with a minority: A keeps appending client commands that
//!    only its minority stores.
//! 2. When the majority elects a successor C, isolate C at once (dropping its first appends in
//!    flight) and let A's side rejoin the rest.
//! 3. When a leader L other than C takes over and its commit index advances, isolate L at
//!    once. A correct L commits only after its own term's entry reached a majority, so C can
//!    no longer win; a core that committed A's older entries by counting replicas has
//!    committed entries that C, whose last term is higher, may now overwrite.
//! 4. After a while, heal.
//!
//! Every wait has a deadline; on a timeout the sequence heals and ends.

use std::time::Duration;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use rafty::{LogIndex, NodeId, Term};

use crate::nemesis::action::{Action, ClusterView};
use crate::nemesis::FaultRecord;
use crate::nemesis::kind::{Claim, Draw, Fault, Watch, Watcher};
use crate::nemesis::partition::Grudge;
use crate::nemesis::plan::Plan;

use super::staged_cut::StagedCut;
use crate::run::config::LogKind;

/// The partition sequence of Figure 8 (§5.4.2), aimed by what the nodes report. Part of
/// `all`: with the settings each run draws (one entry per AppendEntries, one in flight), it is
/// what lets the default run meet Figure 8.
pub struct Figure8;

impl Fault for Figure8 {
    fn name(&self) -> &'static str {
        "figure8"
    }

    fn summary(&self) -> &'static str {
        "the partition sequence of Raft's Figure 8 (section 5.4.2), aimed by what the nodes \
         report: a leader's entries left on a minority, then the successors isolated in turn"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    /// Nothing planned ahead: the [`Sequence`] reacts to the leaders the nodes report.
    fn plan(&self, _draw: Draw<'_>, _rng: &mut ChaCha8Rng) -> Plan {
        Plan::new("figure 8 sequence".to_owned(), Vec::new())
    }

    fn watcher(&self, _plan: &Plan) -> Option<Box<dyn Watcher>> {
        Some(Box::new(Sequence::new(Duration::ZERO)))
    }

    /// The sequence again, reacting to the replay's leaders: its one draw, the old leader's
    /// minority, from the record's first cut (the recorded leader's side), the recorded
    /// leader and this run's trading places in it.
    fn replay_watcher(&self, record: &FaultRecord) -> Option<Box<dyn Watcher>> {
        let leader = record.leader?;
        let Action::Partition(grudge) = &record.actions.first()?.action else {
            return None;
        };
        let mut nodes: Vec<NodeId> = grudge.cut.iter().flat_map(|&(a, b)| [a, b]).collect();
        nodes.sort_unstable();
        nodes.dedup();
        let minority: Vec<NodeId> = nodes
            .iter()
            .copied()
            .filter(|&node| node == leader || !grudge.cut.contains(&(leader, node)))
            .collect();
        if !minority.contains(&leader) || minority.len() == nodes.len() {
            return None;
        }
        let mut sequence = Sequence::new(Duration::ZERO);
        sequence.recorded = Some(Recorded { leader, minority });
        Some(Box::new(Replaying { sequence, nodes }))
    }
}

/// The old leader's side as a record drew it.
#[derive(Clone, Debug)]
struct Recorded {
    /// The leader the record names.
    leader: NodeId,
    /// Its side of the first cut, itself included.
    minority: Vec<NodeId>,
}

impl Recorded {
    /// The side for this run's leader `old`: the recorded leader and `old` trade places.
    fn minority_of(&self, old: NodeId) -> Vec<NodeId> {
        let mut minority: Vec<NodeId> = self
            .minority
            .iter()
            .map(|&node| match node {
                n if n == self.leader => old,
                n if n == old => self.leader,
                n => n,
            })
            .collect();
        minority.sort_unstable();
        minority
    }
}

/// The sequence replayed from a record, over the record's nodes.
struct Replaying {
    sequence: Sequence,
    nodes: Vec<NodeId>,
}

impl Watcher for Replaying {
    fn poll(&mut self, watch: Watch<'_>) -> Vec<Action> {
        let nodes = &self.nodes;
        self.sequence
            .poll(watch.elapsed, watch.view, nodes, watch.rng)
    }

    fn is_done(&self) -> bool {
        self.sequence.is_done()
    }

    fn outcome(&self) -> Option<String> {
        Some(self.sequence.steps.join("; "))
    }
}

impl Watcher for Sequence {
    fn poll(&mut self, watch: Watch<'_>) -> Vec<Action> {
        Sequence::poll(self, watch.elapsed, watch.view, watch.nodes, watch.rng)
    }

    fn is_done(&self) -> bool {
        Sequence::is_done(self)
    }

    fn outcome(&self) -> Option<String> {
        Some(self.steps.join("; "))
    }
}

/// How long each stage may wait for the cluster.
const STAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the final partition lasts.
const FINALE: Duration = Duration::from_millis(1500);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    AwaitSuccessor {
        minority: Vec<NodeId>,
        term: Term,
    },
    AwaitReturn {
        successor: NodeId,
        term: Term,
    },
    AwaitCommit {
        leader: NodeId,
        successor: NodeId,
        commit: LogIndex,
    },
    Finale,
    Done,
}

/// The Figure 8 sequence in progress (times are from the fault's start).
#[derive(Clone, Debug)]
pub struct Sequence {
    stage: Stage,
    deadline: Duration,
    cut: StagedCut,
    /// What happened, for the history.
    pub steps: Vec<String>,
    /// The minority a record drew, when replayed from one (none: drawn).
    recorded: Option<Recorded>,
}

impl Sequence {
    /// Start the sequence at `now`.
    pub fn new(now: Duration) -> Self {
        Sequence {
            stage: Stage::Start,
            deadline: now + STAGE_TIMEOUT,
            cut: StagedCut::default(),
            steps: Vec::new(),
            recorded: None,
        }
    }

    /// True once the sequence has healed and ended.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The actions due at `now`.
    pub fn poll(
        &mut self,
        now: Duration,
        view: &dyn ClusterView,
        nodes: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Action> {
        if now >= self.deadline {
            if self.stage != Stage::Finale {
                self.steps
                    .push(format!("timed out waiting in {:?}", self.stage));
            }
            self.stage = Stage::Done;
            return self.cut.replace(None);
        }
        let leader = view.leader_term();
        match self.stage.clone() {
            Stage::Start => {
                let Some((old, term)) = leader else {
                    return Vec::new();
                };
                let minority = match &self.recorded {
                    Some(recorded) => recorded.minority_of(old),
                    None => draw_minority(old, nodes, rng),
                };
                self.steps.push(format!(
                    "cut leader n{old} (term {term}) off with {minority:?}"
                ));
                self.advance(
                    now,
                    Stage::AwaitSuccessor {
                        minority: minority.clone(),
                        term,
                    },
                );
                self.cut.replace(Some(between(&minority, nodes)))
            }
            Stage::AwaitSuccessor { minority, term } => match leader {
                Some((successor, new_term))
                    if new_term > term && !minority.contains(&successor) =>
                {
                    self.steps
                        .push(format!("isolate successor n{successor} (term {new_term})"));
                    self.advance(
                        now,
                        Stage::AwaitReturn {
                            successor,
                            term: new_term,
                        },
                    );
                    self.cut.replace(Some(between(&[successor], nodes)))
                }
                _ => Vec::new(),
            },
            Stage::AwaitReturn { successor, term } => {
                if let Some((leader, new_term)) =
                    leader.filter(|(l, t)| *l != successor && *t > term)
                {
                    let commit = view.commit_index(leader);
                    self.steps.push(format!(
                        "n{leader} leads term {new_term} from commit {commit}"
                    ));
                    self.advance(
                        now,
                        Stage::AwaitCommit {
                            leader,
                            successor,
                            commit,
                        },
                    );
                }
                Vec::new()
            }
            Stage::AwaitCommit {
                leader,
                successor,
                commit,
            } => {
                let now_commit = view.commit_index(leader);
                if now_commit <= commit {
                    return Vec::new();
                }
                self.steps.push(format!(
                    "n{leader} committed {now_commit}: isolate it, free n{successor}"
                ));
                self.stage = Stage::Finale;
                self.deadline = now + FINALE;
                self.cut.replace(Some(between(&[leader], nodes)))
            }
            Stage::Finale | Stage::Done => Vec::new(),
        }
    }

    fn advance(&mut self, now: Duration, stage: Stage) {
        self.stage = stage;
        self.deadline = now + STAGE_TIMEOUT;
    }
}

/// The old leader's side: the largest minority. Then no node of the majority side (the
/// successor isolated) can win without a vote from the minority, whose logs are longer (same
/// last term), so the next leader is one that holds the old leader's entries and replicates
/// them. A smaller minority lets a node that never had them win, and the sequence shows
/// nothing.
fn draw_minority(old: NodeId, nodes: &[NodeId], rng: &mut ChaCha8Rng) -> Vec<NodeId> {
    let mut others: Vec<NodeId> = nodes.iter().copied().filter(|&n| n != old).collect();
    others.shuffle(rng);
    let size = nodes.len().div_ceil(2) - 1;
    let mut minority = vec![old];
    minority.extend(others.drain(..size - 1));
    minority.sort_unstable();
    minority
}

/// Cut `side` off from the rest of `nodes`.
fn between(side: &[NodeId], nodes: &[NodeId]) -> Grudge {
    let rest: Vec<NodeId> = nodes.iter().filter(|n| !side.contains(n)).copied().collect();
    Grudge::between(side, &rest)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rand::SeedableRng;

    use super::*;

    /// A scripted cluster: whoever leads in which term, and one commit index for all.
    struct Script {
        leader: Cell<Option<(NodeId, Term)>>,
        commit: Cell<LogIndex>,
    }

    impl ClusterView for Script {
        fn leader(&self) -> Option<NodeId> {
            self.leader.get().map(|(node, _)| node)
        }
        fn leader_term(&self) -> Option<(NodeId, Term)> {
            self.leader.get()
        }
        fn commit_index(&self, _node: NodeId) -> LogIndex {
            self.commit.get()
        }
    }

    fn isolated(actions: &[Action]) -> Option<Vec<NodeId>> {
        actions.iter().find_map(|action| match action {
            Action::Partition(grudge) => {
                let mut side: Vec<NodeId> = grudge.cut.iter().map(|(a, _)| *a).collect();
                side.sort_unstable();
                side.dedup();
                Some(side)
            }
            _ => None,
        })
    }

    #[test]
    fn the_sequence_follows_the_leaders_and_heals_at_the_end() {
        let nodes: Vec<NodeId> = (1..=5).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let script = Script {
            leader: Cell::new(Some((1, 2))),
            commit: Cell::new(10),
        };
        let mut sequence = Sequence::new(Duration::ZERO);
        let ms = Duration::from_millis;

        let first = sequence.poll(ms(1), &script, &nodes, &mut rng);
        assert!(
            matches!(first.as_slice(), [Action::Partition(_)]),
            "{first:?}"
        );
        let Action::Partition(grudge) = &first[0] else {
            unreachable!()
        };
        let majority: Vec<NodeId> = grudge
            .cut
            .iter()
            .filter(|(a, _)| *a == 1)
            .map(|(_, b)| *b)
            .collect();
        let successor = *nodes
            .iter()
            .rev()
            .find(|n| majority.contains(n))
            .expect("a majority node");
        script.leader.set(Some((successor, 3)));
        let second = sequence.poll(ms(400), &script, &nodes, &mut rng);
        assert!(
            matches!(second.first(), Some(Action::Repair(_))),
            "{second:?}"
        );
        let cut = isolated(&second).expect("a new cut");
        assert!(
            cut.contains(&successor),
            "the successor is isolated: {cut:?}"
        );
        script.leader.set(Some((1, 5)));
        assert!(sequence.poll(ms(800), &script, &nodes, &mut rng).is_empty());
        assert!(
            sequence.poll(ms(801), &script, &nodes, &mut rng).is_empty(),
            "no commit yet"
        );
        script.commit.set(11);
        let third = sequence.poll(ms(802), &script, &nodes, &mut rng);
        assert!(
            isolated(&third).expect("a new cut").contains(&1),
            "{third:?}"
        );
        assert!(!sequence.is_done());
        let last = sequence.poll(ms(802) + FINALE, &script, &nodes, &mut rng);
        assert!(matches!(last.as_slice(), [Action::Repair(_)]), "{last:?}");
        assert!(sequence.is_done());
    }

    #[test]
    fn a_stage_that_waits_too_long_heals_and_ends() {
        let nodes: Vec<NodeId> = (1..=3).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let script = Script {
            leader: Cell::new(Some((2, 1))),
            commit: Cell::new(0),
        };
        let mut sequence = Sequence::new(Duration::ZERO);
        assert_eq!(
            sequence
                .poll(Duration::from_millis(1), &script, &nodes, &mut rng)
                .len(),
            1
        );
        let healed = sequence.poll(Duration::from_secs(10), &script, &nodes, &mut rng);
        assert!(matches!(healed.as_slice(), [Action::Repair(_)]));
        assert!(sequence.is_done());
        assert!(sequence.steps.last().unwrap().contains("timed out"));
    }

    /// Replayed from its record (following the leader), the sequence reacts again: led by
    /// the recorded leader n1 it takes the recorded cut; led by n3, n3 takes n1's place in
    /// the minority; and it isolates this run's successor when it is elected, whenever that is.
    #[test]
    fn a_replayed_sequence_reacts_to_the_replays_leaders() {
        use crate::nemesis::TimedAction;
        use crate::nemesis::test_support::Recorder;
        let nodes: Vec<NodeId> = (1..=5).collect();
        let script = Script {
            leader: Cell::new(Some((1, 2))),
            commit: Cell::new(10),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut drawn = Sequence::new(Duration::ZERO);
        let first = drawn.poll(Duration::from_millis(1), &script, &nodes, &mut rng);
        let record = FaultRecord {
            kind: crate::nemesis::FaultKind::named("figure8").unwrap(),
            slot: 0,
            start_ms: 1,
            description: "figure 8 sequence".into(),
            actions: vec![TimedAction {
                at_ms: 1,
                action: first[0].clone(),
                leader: Some(1),
            }],
            stop: None,
            leader: Some(1),
        };
        let poll = |watcher: &mut dyn Watcher, ms: u64| {
            watcher.poll(Watch {
                elapsed: Duration::from_millis(ms),
                view: &script,
                network: &mut Recorder(Vec::new()),
                nodes: &[],
                rng: &mut ChaCha8Rng::seed_from_u64(99),
                drift_bound_ppm: 0,
            })
        };
        let mut same = Figure8.replay_watcher(&record).expect("replayable");
        assert_eq!(poll(same.as_mut(), 1), first);

        // The side of `node` in a partition: the nodes it is not cut from.
        let side_of = |action: &Action, node: NodeId| -> Vec<NodeId> {
            let Action::Partition(grudge) = action else {
                panic!("not a partition: {action:?}");
            };
            let linked = |n: &NodeId| *n == node || !grudge.cut.contains(&(node, *n));
            nodes.iter().copied().filter(linked).collect()
        };
        let recorded_minority = side_of(&first[0], 1);
        assert_eq!(recorded_minority.len(), 2, "{first:?}");
        script.leader.set(Some((3, 2)));
        let mut other = Figure8.replay_watcher(&record).expect("replayable");
        let cut = side_of(&poll(other.as_mut(), 1)[0], 3);
        let expected = Recorded {
            leader: 1,
            minority: recorded_minority.clone(),
        }
        .minority_of(3);
        assert_eq!(cut, expected);
        if recorded_minority.contains(&3) {
            assert_eq!(cut, recorded_minority, "n1 and n3 both in it already");
        } else {
            assert!(!cut.contains(&1), "{cut:?}");
        }
        // No successor yet at the recorded moment: nothing; then one, later: isolated.
        assert!(poll(other.as_mut(), 400).is_empty());
        let successor = *nodes.iter().find(|n| !cut.contains(n)).expect("a majority node");
        script.leader.set(Some((successor, 3)));
        let second = poll(other.as_mut(), 900);
        assert!(matches!(second[0], Action::Repair(_)), "{second:?}");
        assert_eq!(side_of(&second[1], successor), vec![successor], "{second:?}");
    }
}
