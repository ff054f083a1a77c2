//! The kinds of fault the nemesis injects, as named on the command line.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A kind of fault. `--nemesis partition,kill,power,pause,latency,clog` enables a set of them;
/// `all` is the usual set (with `--log file` it adds `power` and `power-mid-write`), and the
/// kinds outside it (`disk`, `corrupt`, `figure8`) are added by name (`--nemesis all,corrupt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions of the usual shapes; see [`crate::nemesis::partition::Shape`].
    Partition,
    /// Kill nodes' processes (the leader, one, a minority or all) and restart them later: the
    /// hosts stay up, so their disks keep every write, synced or not (the OS page cache).
    Kill,
    /// Cut the power of nodes' hosts (the leader, one, a minority or all) and power them on
    /// later: every unsynced write is lost (torn at block boundaries). The cut comes between
    /// simulation steps, so it never lands inside a `Log` call: a log that syncs before it
    /// returns (FileLog) has nothing unsynced then, and only a log that acknowledges unsynced
    /// writes loses any ([`FaultKind::PowerMidWrite`] cuts inside an operation). With a log
    /// whose every write is durable on return (MemoryLog), the same as [`FaultKind::Kill`].
    /// In `all` only with `--log file`.
    Power,
    /// Cut one node's power *inside* a sequence of disk operations (between a write and its
    /// fsync, inside a truncation, a segment roll, a hard-state save): its disk freezes after a
    /// number of operations drawn from the seed (0 to 11; every later one fails with `EIO` and
    /// changes nothing, so the node fail-stops, acknowledging nothing of the interrupted
    /// write), then the power goes, dropping what was unsynced, torn at block boundaries; later
    /// the host powers on and the node recovers from its disk. Half the time the fault cuts it
    /// again from that boot on (0 to 23 operations: inside its recovery or its first catch-up
    /// appends). If the node makes no disk operation, the power goes at the fault's end (or
    /// half-way, for the first of two cuts), between steps. Needs `--log file`; in `all` with
    /// it.
    PowerMidWrite,
    /// Pause a node's event loop (SIGSTOP, a long GC pause): it handles nothing, not even its
    /// own timers, while the others go on; on resume it carries on where it was, late.
    Pause,
    /// Latency spikes on every link of one node.
    Latency,
    /// Clog node-to-node links one by one (messages held), then release them in random order.
    Clog,
    /// A node's disk starts failing every write: the node fail-stops; later it is crashed,
    /// given its disk back and restarted. Not part of `all`.
    Disk,
    /// Bit rot in a durable record of a node's log, found when it restarts: one bit of a record
    /// strictly before the log's tail flips while the node's host is powered off (record and
    /// bit drawn from the run's seed); on power-on the log refuses to open (a checksum names
    /// the file and offset) and the node stays down, fail-stop, never serving the entry; later
    /// the damaged bytes are restored (as from a backup) and the node restarts with its whole
    /// log. Needs `--log file`; not part of `all`. See [`crate::sim::turmoil_fs::bit_rot`].
    Corrupt,
    /// The partition sequence of Figure 8 (§5.4.2), aimed by what the nodes report; see
    /// [`crate::nemesis::figure8`]. Targeted, so not part of `all`.
    Figure8,
}

impl FaultKind {
    /// The kinds `all` names with every log, in a fixed order (with `--log file`, `all` adds
    /// [`FaultKind::Power`] and [`FaultKind::PowerMidWrite`]).
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Latency,
        FaultKind::Clog,
    ];

    /// Every other kind, named one by one (power and power-mid-write also by `all` with a
    /// file log; see [`KindList::resolve`]).
    const OTHERS: [FaultKind; 5] = [
        FaultKind::Power,
        FaultKind::PowerMidWrite,
        FaultKind::Disk,
        FaultKind::Corrupt,
        FaultKind::Figure8,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Power => "power",
            FaultKind::PowerMidWrite => "power-mid-write",
            FaultKind::Pause => "pause",
            FaultKind::Latency => "latency",
            FaultKind::Clog => "clog",
            FaultKind::Disk => "disk",
            FaultKind::Corrupt => "corrupt",
            FaultKind::Figure8 => "figure8",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut kinds = FaultKind::ALL.into_iter().chain(FaultKind::OTHERS);
        kinds.find(|kind| kind.name() == text).ok_or_else(|| {
            let names = FaultKind::ALL.into_iter().chain(FaultKind::OTHERS);
            let names: Vec<_> = names.map(FaultKind::name).collect();
            format!(
                "unknown nemesis `{text}`; expected one of: {}, all, none",
                names.join(", ")
            )
        })
    }
}

/// A parsed `--nemesis` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindList {
    /// The kinds named, sorted, without duplicates (`all` expanded to [`FaultKind::ALL`]).
    pub kinds: Vec<FaultKind>,
    /// Whether the list said `all` (which also means [`FaultKind::Power`] and
    /// [`FaultKind::PowerMidWrite`] with a file log).
    pub all: bool,
}

impl KindList {
    /// The kinds for a run whose log loses unsynced writes on power loss (`file_log`): `all`
    /// then includes [`FaultKind::Power`] and [`FaultKind::PowerMidWrite`].
    pub fn resolve(&self, file_log: bool) -> Vec<FaultKind> {
        let mut kinds = self.kinds.clone();
        if self.all && file_log {
            kinds.extend([FaultKind::Power, FaultKind::PowerMidWrite]);
            kinds.sort_unstable();
            kinds.dedup();
        }
        kinds
    }
}

/// Parse a comma-separated list of fault kinds; `all` enables [`FaultKind::ALL`] and `none`
/// none (an empty list or name is refused). The result is sorted and has no duplicates.
pub fn parse_kinds(text: &str) -> Result<Vec<FaultKind>, String> {
    parse_kind_list(text).map(|list| list.kinds)
}

/// [`parse_kinds`], also telling whether the list said `all`.
pub fn parse_kind_list(text: &str) -> Result<KindList, String> {
    let mut all = false;
    let mut kinds = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part {
            "" => {
                return Err(format!(
                    "`{text}` has an empty name; list kinds separated by single commas, or \
                     say `none` for no faults"
                ));
            }
            "all" => {
                all = true;
                kinds.extend(FaultKind::ALL);
            }
            "none" => {}
            other => kinds.push(other.parse()?),
        }
    }
    kinds.sort_unstable();
    kinds.dedup();
    Ok(KindList { kinds, all })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty list or an empty name between commas is a typo, not a silent `none`.
    #[test]
    fn empty_names_are_refused_not_read_as_none() {
        for text in ["", ",", "kill,", ",kill", "kill,,partition", " , "] {
            let error = parse_kind_list(text).expect_err(text);
            assert!(error.contains("empty name"), "{text:?}: {error}");
        }
    }

    #[test]
    fn parses_lists_all_and_none() {
        assert_eq!(
            parse_kinds("kill,partition,kill").unwrap(),
            [FaultKind::Partition, FaultKind::Kill]
        );
        assert_eq!(parse_kinds("all").unwrap(), FaultKind::ALL);
        assert!(parse_kinds("none").unwrap().is_empty());
        assert_eq!(
            parse_kinds("disk,figure8").unwrap(),
            [FaultKind::Disk, FaultKind::Figure8]
        );
        assert_eq!(
            parse_kinds("power,kill").unwrap(),
            [FaultKind::Kill, FaultKind::Power]
        );
        assert_eq!(parse_kinds("corrupt").unwrap(), [FaultKind::Corrupt]);
    }

    /// Like `disk`, `corrupt` is never in `all`, even with a file log; it is added by name.
    #[test]
    fn corrupt_is_outside_all_and_added_by_name() {
        let all = parse_kind_list("all").unwrap();
        assert!(!all.resolve(true).contains(&FaultKind::Corrupt));
        let both = parse_kind_list("all,corrupt").unwrap();
        let kinds = both.resolve(true);
        assert!(kinds.contains(&FaultKind::Corrupt) && kinds.contains(&FaultKind::Power));
        assert_eq!(kinds.len(), FaultKind::ALL.len() + 3);
        assert_eq!(FaultKind::Corrupt.to_string(), "corrupt");
    }

    #[test]
    fn all_means_power_too_only_with_a_file_log() {
        let all = parse_kind_list("all").unwrap();
        assert_eq!(all.resolve(false), FaultKind::ALL);
        let with_power = all.resolve(true);
        assert_eq!(with_power.len(), FaultKind::ALL.len() + 2);
        assert!(with_power.contains(&FaultKind::Power));
        assert!(with_power.contains(&FaultKind::PowerMidWrite));
        assert_eq!(
            parse_kinds("power-mid-write").unwrap(),
            [FaultKind::PowerMidWrite]
        );
        let listed = parse_kind_list("kill,pause").unwrap();
        assert_eq!(listed.resolve(true), [FaultKind::Kill, FaultKind::Pause]);
    }

    #[test]
    fn unknown_kind_is_named_in_the_error() {
        let error = parse_kinds("partition,bogus").unwrap_err();
        assert!(
            error.contains("`bogus`") && error.contains("clog") && error.contains("corrupt"),
            "{error}"
        );
    }
}
