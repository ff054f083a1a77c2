//! What a real-process run records about itself in `results.json` (`real`): that it is not
//! deterministic, what ran, and every fault as applied, with wall-clock times.

use serde::Serialize;

/// The `real` section of a real-process run's `results.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RealRun {
    /// Always false: the OS schedules the processes, the network and the disk, so the same
    /// seed draws the same faults and operations but they land at other moments.
    pub deterministic: bool,
    /// The same, in words, for a reader of the file.
    pub note: String,
    /// The system tested (`rafty`: rafty's own `rafty node` processes).
    pub target: String,
    /// The fault kinds drawn from.
    pub fault_kinds: Vec<String>,
    /// Every fault as applied, in order.
    pub faults: Vec<AppliedFault>,
    /// The checks a simulated run makes that this one cannot, and why (their entries under
    /// `checks` then hold nothing observed).
    pub not_checked: Vec<String>,
    /// The UTC time the run's clock started (history times count from it), in milliseconds
    /// since the Unix epoch.
    pub started_unix_ms: u64,
}

/// One fault as it was applied.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedFault {
    /// Its kind (`kill`, `pause`, `partition`, `latency`, `clog`).
    pub kind: String,
    /// What it hit (`n2`, `halves n1 | n2,n3`, `n3 +120ms`).
    pub target: String,
    /// When it was started, in milliseconds since the run's clock started.
    pub start_ms: u64,
    /// When it was started, in milliseconds since the Unix epoch (UTC).
    pub start_unix_ms: u64,
    /// When it was undone (milliseconds since the run's clock started).
    pub stop_ms: Option<u64>,
    /// When it was undone, in milliseconds since the Unix epoch (UTC).
    pub stop_unix_ms: Option<u64>,
    /// Why starting or undoing it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
