//! Deliberate bugs of the registry, planted by the harness's bug catalogue to show that its
//! registry checker catches each from outside (`rafty catalogue`). The names are always
//! compiled, so the catalogue can list them; planting one needs the `mutations` feature, and
//! without it every [`Bugs::breaks`] is the constant `false`, so no broken path is compiled in.

/// One deliberate bug of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegistryBug {
    /// The first change after a leader change (the first tick of a new term) is left out of
    /// the change log watches read, though its revision and version still count: every
    /// watcher skips it.
    WatchSkipsAfterLeaderChange,
    /// A tick expires leases by the clock of the replica applying it instead of the log time
    /// the leader's tick carries: replicas that apply the same tick at different moments (a
    /// follower a little later, a restarted node replaying its log much later) expire
    /// different leases at the same index.
    LeaseByLocalClock,
    /// A list is answered from the node's local state at once, whatever consistency the
    /// request asks for: a follower (or a deposed leader) answers from its stale state.
    StaleFollowerList,
}

impl RegistryBug {
    /// Every bug, in the catalogue's order.
    pub const ALL: [RegistryBug; 3] = [
        RegistryBug::WatchSkipsAfterLeaderChange,
        RegistryBug::LeaseByLocalClock,
        RegistryBug::StaleFollowerList,
    ];
}

/// The bugs planted in one node's registry (none by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    #[cfg(feature = "mutations")]
    planted: Option<RegistryBug>,
}

impl Bugs {
    /// `bug` planted (only with the `mutations` feature).
    #[cfg(feature = "mutations")]
    pub fn planting(bug: RegistryBug) -> Bugs {
        Bugs { planted: Some(bug) }
    }

    /// Whether `bug` is planted.
    #[cfg(feature = "mutations")]
    pub fn breaks(&self, bug: RegistryBug) -> bool {
        self.planted == Some(bug)
    }

    /// Whether `bug` is planted: never, without the `mutations` feature.
    #[cfg(not(feature = "mutations"))]
    pub const fn breaks(&self, bug: RegistryBug) -> bool {
        let _ = bug;
        false
    }
}
