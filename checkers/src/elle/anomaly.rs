//! Anomalies: what was found, in words a person can check against the history.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::elle::cycle::Cycle;
use crate::elle::graph::EdgeKind;

/// The class of an anomaly, named as Elle names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// A cycle of write-write dependencies (dirty write).
    G0,
    /// A cycle of write-write and write-read dependencies, at least one write-read
    /// (circular information flow).
    G1c,
    /// A cycle with exactly one read-write anti-dependency (read skew).
    GSingle,
    /// A cycle with two or more read-write anti-dependencies on items (write skew).
    G2Item,
    /// G0 with process-order edges.
    G0Process,
    /// G1c with process-order edges.
    G1cProcess,
    /// G-single with process-order edges.
    GSingleProcess,
    /// G2-item with process-order edges.
    G2ItemProcess,
    /// G0 with real-time edges.
    G0Realtime,
    /// G1c with real-time edges.
    G1cRealtime,
    /// G-single with real-time edges.
    GSingleRealtime,
    /// G2-item with real-time edges.
    G2ItemRealtime,
    /// A committed transaction read a value written by a transaction that failed.
    G1a,
    /// A committed transaction read a version another transaction overwrote within itself.
    G1b,
    /// A write built on a version written by a transaction that failed.
    DirtyUpdate,
    /// A read saw a value no transaction wrote.
    GarbageRead,
    /// A read of a list saw one element twice.
    DuplicateElements,
    /// Two reads of one key are not prefixes of one another: no single order of appends
    /// explains both.
    IncompatibleOrder,
    /// A transaction read something that does not agree with its own earlier reads and
    /// writes.
    Internal,
    /// A transaction read its own write before making it.
    FutureRead,
    /// A dependency cycle exists (a strongly connected component) but the search for its
    /// class ran out of budget.
    CycleExists,
}

impl AnomalyKind {
    /// The name Elle uses (`G0`, `G-single-realtime`, `incompatible-order`...).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::GSingle => "G-single",
            AnomalyKind::G2Item => "G2-item",
            AnomalyKind::G0Process => "G0-process",
            AnomalyKind::G1cProcess => "G1c-process",
            AnomalyKind::GSingleProcess => "G-single-process",
            AnomalyKind::G2ItemProcess => "G2-item-process",
            AnomalyKind::G0Realtime => "G0-realtime",
            AnomalyKind::G1cRealtime => "G1c-realtime",
            AnomalyKind::GSingleRealtime => "G-single-realtime",
            AnomalyKind::G2ItemRealtime => "G2-item-realtime",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::DirtyUpdate => "dirty-update",
            AnomalyKind::GarbageRead => "garbage-read",
            AnomalyKind::DuplicateElements => "duplicate-elements",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
            AnomalyKind::Internal => "internal",
            AnomalyKind::FutureRead => "future-read",
            AnomalyKind::CycleExists => "cycle-exists",
        }
    }

    /// The class of a cycle: by its number of rw and wr edges, and whether it needs process
    /// or real-time order.
    pub fn of_cycle(cycle: &Cycle) -> AnomalyKind {
        let count = |kind| cycle.iter().filter(|step| step.kind == kind).count();
        let (rw, wr) = (count(EdgeKind::Rw), count(EdgeKind::Wr));
        let base = match (rw, wr) {
            (0, 0) => 0,
            (0, _) => 1,
            (1, _) => 2,
            _ => 3,
        };
        let order = if count(EdgeKind::Realtime) > 0 {
            2
        } else if count(EdgeKind::Process) > 0 {
            1
        } else {
            0
        };
        use AnomalyKind::*;
        const TABLE: [[AnomalyKind; 4]; 3] = [
            [G0, G1c, GSingle, G2Item],
            [G0Process, G1cProcess, GSingleProcess, G2ItemProcess],
            [G0Realtime, G1cRealtime, GSingleRealtime, G2ItemRealtime],
        ];
        TABLE[order][base]
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A transaction named in an anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnRef {
    /// Its name in the explanation (`T1`, `T2`...).
    pub name: String,
    /// Its process, line and micro-operations as the history wrote them.
    pub description: String,
}

/// One edge of an anomaly's cycle, and why it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Because {
    /// The name of the transaction that must come first.
    pub from: String,
    /// The name of the one that must come after.
    pub to: String,
    /// The kind of dependency.
    pub kind: EdgeKind,
    /// Why, in words: "T1 appended 3 to x; T2 read x without 3".
    pub why: String,
}

/// One anomaly found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Its class.
    #[serde(rename = "type")]
    pub kind: AnomalyKind,
    /// The transactions involved.
    pub txns: Vec<TxnRef>,
    /// For a cycle, its edges in order; empty otherwise.
    pub cycle: Vec<Because>,
    /// What happened, in words.
    pub explanation: String,
}

impl fmt::Display for Anomaly {
    /// Several lines: the class and explanation, the transactions, the cycle's edges.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.kind, self.explanation)?;
        for txn in &self.txns {
            writeln!(f, "    {} = {}", txn.name, txn.description)?;
        }
        for step in &self.cycle {
            writeln!(
                f,
                "    {} -{}-> {}: {}",
                step.from, step.kind, step.to, step.why
            )?;
        }
        Ok(())
    }
}
