//! The kinds of fault the nemesis injects, as named on the command line.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A kind of fault. `--nemesis partition,kill,pause,latency,clog` enables a set of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions of the usual shapes; see [`crate::nemesis::partition::Shape`].
    Partition,
    /// Crash nodes (the leader, one, a minority or all) and restart them later with their
    /// durable state.
    Kill,
    /// Freeze a node's network: every message to or from it is held, none dropped, and
    /// delivered in one burst on resume.
    Pause,
    /// Latency spikes on every link of one node.
    Latency,
    /// Clog node-to-node links one by one (messages held), then release them in random order.
    Clog,
    /// A node's disk starts failing every write: the node fail-stops; later it is crashed,
    /// given its disk back and restarted. Not part of `all`.
    Disk,
    /// The partition sequence of Figure 8 (§5.4.2), aimed by what the nodes report; see
    /// [`crate::nemesis::figure8`]. Targeted, so not part of `all`.
    Figure8,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Latency,
        FaultKind::Clog,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Latency => "latency",
            FaultKind::Clog => "clog",
            FaultKind::Disk => "disk",
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
        FaultKind::ALL
            .into_iter()
            .chain([FaultKind::Disk, FaultKind::Figure8])
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown nemesis `{text}`; expected one of: {}, disk, figure8, all, none",
                    FaultKind::ALL.map(FaultKind::name).join(", ")
                )
            })
    }
}

/// Parse a comma-separated list of fault kinds; `all` enables every kind and `none` (or an
/// empty list) none. The result is sorted and has no duplicates.
pub fn parse_kinds(text: &str) -> Result<Vec<FaultKind>, String> {
    let mut kinds = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        match part {
            "all" => kinds.extend(FaultKind::ALL),
            "none" => {}
            other => kinds.push(other.parse()?),
        }
    }
    kinds.sort_unstable();
    kinds.dedup();
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn unknown_kind_is_named_in_the_error() {
        let error = parse_kinds("partition,bogus").unwrap_err();
        assert!(
            error.contains("`bogus`") && error.contains("clog"),
            "{error}"
        );
    }
}
