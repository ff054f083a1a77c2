//! Read-write registers with unique writes: a read names the one write it saw, so wr
//! dependencies are exact. The version order is only partly known: the initial (`nil`)
//! version comes before every written one, and a transaction that read `v1` and then wrote
//! `v2` to a key puts `v1` before `v2` (writes follow reads). From those come ww edges
//! (the writer of `v1` to the transaction that wrote `v2`) and rw edges (every other reader
//! of `v1`, or of `nil`, to the writer of the version after it).
//!
//! Anomalies seen directly: a value no one wrote (garbage), written by a failed
//! transaction (G1a) or overwritten within its own transaction (G1b), and a transaction
//! that disagrees with itself (internal).

use crate::elle::anomaly::AnomalyKind;
use crate::elle::graph::{EdgeKind, Graph};
use crate::elle::report::{self, Anomalies, Explain};
use crate::elle::txn::{FastMap, KeyId, MopKind, TxnId, Txns};
use crate::error::HistoryError;
use crate::history::Outcome;
use crate::value::Value;

/// Who wrote a value: the transaction and its micro-operation's index in it.
#[derive(Debug, Clone, Copy)]
struct Writer {
    txn: TxnId,
    mop: u32,
}

/// The analysis of an rw-register history.
pub struct RwRegister<'a, 'h> {
    txns: &'a Txns<'h>,
    writers: FastMap<(KeyId, &'h Value), Writer>,
}

/// An external read: the first micro-operation of a transaction on its key, a read.
struct ExternalRead<'h> {
    key: KeyId,
    value: &'h Value,
    /// The transaction's last write to the key after the read, if any.
    then_wrote: Option<&'h Value>,
}

impl<'a, 'h> RwRegister<'a, 'h> {
    /// Analyses `txns`: adds their ww, wr and rw edges to `graph` and the anomalies seen
    /// directly to `found`. Two writes of one value to one key are an error.
    pub fn analyze(
        txns: &'a Txns<'h>,
        graph: &mut Graph,
        found: &mut Anomalies,
    ) -> Result<RwRegister<'a, 'h>, HistoryError> {
        let mut analysis = RwRegister {
            txns,
            writers: FastMap::default(),
        };
        // Non-failed writers of each key, and the committed external readers of each value.
        let mut key_writers: Vec<Vec<TxnId>> = vec![Vec::new(); txns.keys.len()];
        let mut readers: FastMap<(KeyId, &'h Value), Vec<TxnId>> = FastMap::default();
        for id in 0..txns.txns.len() as TxnId {
            let outcome = txns.txns[id as usize].outcome;
            for (index, mop) in txns.mops_of(id).iter().enumerate() {
                if mop.kind == MopKind::Write {
                    analysis.add_writer(id, index, mop.key, mop.value)?;
                    if outcome != Outcome::Fail && key_writers[mop.key as usize].last() != Some(&id)
                    {
                        key_writers[mop.key as usize].push(id);
                    }
                }
            }
            if outcome == Outcome::Ok {
                analysis.check_internal(id, found);
                for read in analysis.external_reads(id) {
                    readers.entry((read.key, read.value)).or_default().push(id);
                }
            }
        }
        for id in 0..txns.txns.len() as TxnId {
            if txns.txns[id as usize].outcome != Outcome::Ok {
                continue;
            }
            for read in analysis.external_reads(id) {
                analysis.read_edges(id, &read, &key_writers, graph, found);
                if read.then_wrote.is_some() {
                    analysis.follows_read(id, &read, &readers, graph);
                }
            }
        }
        Ok(analysis)
    }

    fn add_writer(
        &mut self,
        id: TxnId,
        index: usize,
        key: KeyId,
        value: &'h Value,
    ) -> Result<(), HistoryError> {
        let writer = Writer {
            txn: id,
            mop: index as u32,
        };
        if value.is_nil() {
            return Err(self.txns.history.error_at(
                self.txns.txns[id as usize].invoke_position,
                format!(
                    "nil is written to key {}; nil is the initial version, never written",
                    self.txns.key(key)
                ),
            ));
        }
        if let Some(earlier) = self.writers.insert((key, value), writer) {
            return Err(self.txns.history.error_at(
                self.txns.txns[id as usize].invoke_position,
                format!(
                    "{value} is written to key {} twice (also at line {}); rw-register needs \
                     every written value unique",
                    self.txns.key(key),
                    self.txns.line(earlier.txn)
                ),
            ));
        }
        Ok(())
    }

    fn external_reads(&self, id: TxnId) -> Vec<ExternalRead<'h>> {
        let mops = self.txns.mops_of(id);
        let mut reads = Vec::new();
        for (index, mop) in mops.iter().enumerate() {
            if mop.kind != MopKind::Read || mops[..index].iter().any(|m| m.key == mop.key) {
                continue;
            }
            let then_wrote = mops[index..]
                .iter()
                .rev()
                .find(|m| m.kind == MopKind::Write && m.key == mop.key)
                .map(|m| m.value);
            reads.push(ExternalRead {
                key: mop.key,
                value: mop.value,
                then_wrote,
            });
        }
        reads
    }

    /// Each read after a micro-operation on its key must see the last write, or the same as
    /// the last read.
    fn check_internal(&self, id: TxnId, found: &mut Anomalies) {
        let mops = self.txns.mops_of(id);
        for (index, mop) in mops.iter().enumerate() {
            if mop.kind != MopKind::Read {
                continue;
            }
            let Some(last) = mops[..index].iter().rev().find(|m| m.key == mop.key) else {
                continue;
            };
            if last.value != mop.value {
                let key = self.txns.key(mop.key);
                let what = if last.kind == MopKind::Write {
                    "wrote"
                } else {
                    "read"
                };
                found.add(AnomalyKind::Internal, || {
                    report::direct(
                        self.txns,
                        AnomalyKind::Internal,
                        &[id],
                        format!(
                            "T1 {what} {} at key {key}, then read {} there (micro-operation {})",
                            last.value,
                            mop.value,
                            index + 1
                        ),
                    )
                });
            }
        }
    }

    fn read_edges(
        &self,
        id: TxnId,
        read: &ExternalRead<'h>,
        key_writers: &[Vec<TxnId>],
        graph: &mut Graph,
        found: &mut Anomalies,
    ) {
        let key = self.txns.key(read.key);
        let value = read.value;
        if value.is_nil() {
            for &writer in &key_writers[read.key as usize] {
                graph.add(id, writer, EdgeKind::Rw);
            }
            return;
        }
        let Some(&writer) = self.writers.get(&(read.key, value)) else {
            found.add(AnomalyKind::GarbageRead, || {
                report::direct(
                    self.txns,
                    AnomalyKind::GarbageRead,
                    &[id],
                    format!("T1 read {value} at key {key}, which no transaction wrote"),
                )
            });
            return;
        };
        let outcome = self.txns.txns[writer.txn as usize].outcome;
        if writer.txn == id {
            found.add(AnomalyKind::FutureRead, || {
                report::direct(
                    self.txns,
                    AnomalyKind::FutureRead,
                    &[id],
                    format!("T1 read {value} at key {key}, which it writes itself only later"),
                )
            });
        } else if outcome == Outcome::Fail {
            found.add(AnomalyKind::G1a, || {
                report::direct(
                    self.txns,
                    AnomalyKind::G1a,
                    &[writer.txn, id],
                    format!("T1 wrote {value} to key {key} and failed; T2 committed and read it"),
                )
            });
        } else {
            graph.add(writer.txn, id, EdgeKind::Wr);
            let overwritten = self.txns.mops_of(writer.txn)[writer.mop as usize + 1..]
                .iter()
                .any(|m| m.kind == MopKind::Write && m.key == read.key);
            if overwritten {
                found.add(AnomalyKind::G1b, || {
                    report::direct(
                        self.txns,
                        AnomalyKind::G1b,
                        &[writer.txn, id],
                        format!(
                            "T1 wrote {value} to key {key}, then wrote it again; T2 read the \
                             intermediate {value}"
                        ),
                    )
                });
            }
        }
    }

    /// `id` read `read.value` and then wrote over it: the first came right before the
    /// second, so its writer precedes `id` (ww) and its other readers precede `id` (rw).
    fn follows_read(
        &self,
        id: TxnId,
        read: &ExternalRead<'h>,
        readers: &FastMap<(KeyId, &'h Value), Vec<TxnId>>,
        graph: &mut Graph,
    ) {
        if let Some(writer) = self.writers.get(&(read.key, read.value))
            && self.txns.txns[writer.txn as usize].outcome != Outcome::Fail
        {
            graph.add(writer.txn, id, EdgeKind::Ww);
        }
        if !read.value.is_nil() {
            for &reader in readers.get(&(read.key, read.value)).into_iter().flatten() {
                graph.add(reader, id, EdgeKind::Rw);
            }
        }
    }
}

impl Explain for RwRegister<'_, '_> {
    fn why(&self, from: TxnId, to: TxnId, kind: EdgeKind, (a, b): (&str, &str)) -> String {
        let writer_of = |key: KeyId, value: &Value| self.writers.get(&(key, value)).map(|w| w.txn);
        match kind {
            EdgeKind::Ww => {
                for read in self.external_reads(to) {
                    if let Some(written) = read.then_wrote
                        && writer_of(read.key, read.value) == Some(from)
                    {
                        return format!(
                            "{a} wrote {} to key {}; {b} read it, then wrote {written} over it",
                            read.value,
                            self.txns.key(read.key)
                        );
                    }
                }
            }
            EdgeKind::Wr => {
                for read in self.external_reads(to) {
                    if writer_of(read.key, read.value) == Some(from) {
                        return format!(
                            "{a} wrote {} to key {}; {b} read it",
                            read.value,
                            self.txns.key(read.key)
                        );
                    }
                }
            }
            EdgeKind::Rw => {
                let to_reads = self.external_reads(to);
                for read in self.external_reads(from) {
                    let key = self.txns.key(read.key);
                    if read.value.is_nil() {
                        if let Some(mop) = self
                            .txns
                            .mops_of(to)
                            .iter()
                            .find(|m| m.kind == MopKind::Write && m.key == read.key)
                        {
                            return format!(
                                "{a} read key {key} as nil, its initial version; {b} wrote {} \
                                 to it, a later version",
                                mop.value
                            );
                        }
                    }
                    for later in &to_reads {
                        if later.key == read.key
                            && later.value == read.value
                            && let Some(written) = later.then_wrote
                        {
                            return format!(
                                "{a} read {} at key {key}; {b} read it too and wrote {written} \
                                 over it",
                                read.value
                            );
                        }
                    }
                }
            }
            EdgeKind::Process | EdgeKind::Realtime => {}
        }
        format!("{a} -> {b}: a {kind} dependency")
    }
}
