//! What the staged partition faults (`figure8`, `depose`) share: one partition in effect at a
//! time, replaced by the next as the fault moves from stage to stage.

use crate::nemesis::action::Action;
use crate::nemesis::partition::Grudge;

/// The partition a staged fault has in effect, if any.
#[derive(Clone, Debug, Default)]
pub struct StagedCut(Option<Grudge>);

impl StagedCut {
    /// Repair the partition in effect and cut `next` instead: the actions that do it.
    pub fn replace(&mut self, next: Option<Grudge>) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(previous) = self.0.take() {
            actions.push(Action::Repair(previous));
        }
        if let Some(next) = next {
            actions.push(Action::Partition(next.clone()));
            self.0 = Some(next);
        }
        actions
    }

    /// Whether no partition is in effect.
    #[cfg(test)]
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cut_repairs_the_one_before_and_none_leaves_nothing_cut() {
        let grudge = |a, b| Grudge { cut: vec![(a, b)] };
        let mut cut = StagedCut::default();
        let first = cut.replace(Some(grudge(1, 2)));
        assert!(matches!(first.as_slice(), [Action::Partition(g)] if g.cut == vec![(1, 2)]));
        let second = cut.replace(Some(grudge(3, 4)));
        assert!(matches!(
            second.as_slice(),
            [Action::Repair(old), Action::Partition(new)]
                if old.cut == vec![(1, 2)] && new.cut == vec![(3, 4)]
        ));
        let last = cut.replace(None);
        assert!(matches!(last.as_slice(), [Action::Repair(g)] if g.cut == vec![(3, 4)]));
        assert!(cut.is_none());
        assert!(cut.replace(None).is_empty());
    }
}
