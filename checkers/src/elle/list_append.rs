//! List-append: every version of a key is a list, every append adds a unique element, so a
//! read of `[1 2 3]` says the key's versions were `[1]`, `[1 2]`, `[1 2 3]` in that order.
//! The longest read of each key gives its version order (every other read must be a prefix
//! of it), and from that order come the dependencies:
//!
//! - ww: the writer of each element to the writer of the next;
//! - wr: the writer of a read's last element to the reader;
//! - rw: a reader to the writer of the first element its read did not see.
//!
//! Anomalies seen directly: an element no one appended (garbage), appended by a failed
//! transaction (G1a) or followed in the order by a committed one (dirty update), a read that
//! ends inside another transaction's appends (G1b), a read with an element twice, reads that
//! no one order explains (incompatible order), and a transaction that disagrees with itself
//! (internal).

use crate::elle::anomaly::AnomalyKind;
use crate::elle::graph::{EdgeKind, Graph};
use crate::elle::report::{self, Anomalies, Explain};
use crate::elle::txn::{FastMap, FastSet, KeyId, Mop, MopKind, TxnId, Txns};
use crate::error::HistoryError;
use crate::history::Outcome;
use crate::value::Value;

/// Who appended an element: the transaction and its micro-operation's index in it.
#[derive(Debug, Clone, Copy)]
struct Writer {
    txn: TxnId,
    mop: u32,
    /// Whether the element is in its key's version order (some read saw it).
    observed: bool,
}

/// The analysis of a list-append history: who appended what, and each key's version order.
pub struct ListAppend<'a, 'h> {
    txns: &'a Txns<'h>,
    writers: FastMap<(KeyId, &'h Value), Writer>,
    /// Each key's version order: its longest read.
    orders: Vec<&'h [Value]>,
    /// Who read each key's longest read.
    longest_reader: Vec<Option<TxnId>>,
    /// Transactions that took effect and appended to each key an element no read saw: it
    /// was installed after every version read, so a read of the whole order precedes it
    /// (rw). Empty for a key whose order is broken (garbage or duplicate elements).
    unobserved: Vec<Vec<TxnId>>,
}

/// The elements a read saw (`nil` reads as the empty list).
fn elements(value: &Value) -> &[Value] {
    value.as_list().unwrap_or(&[])
}

/// Every committed read, with its transaction.
fn committed_reads<'a, 'h>(txns: &'a Txns<'h>) -> impl Iterator<Item = (TxnId, &'a Mop<'h>)> {
    (0..txns.txns.len() as TxnId)
        .filter(|&id| txns.txns[id as usize].outcome == Outcome::Ok)
        .flat_map(move |id| {
            txns.mops_of(id)
                .iter()
                .filter(|mop| mop.kind == MopKind::Read)
                .map(move |mop| (id, mop))
        })
}

/// Lists at most 12 elements, then how many more.
fn show(elements: &[Value]) -> String {
    let shown: Vec<String> = elements.iter().take(12).map(Value::to_string).collect();
    if elements.len() > 12 {
        format!("[{} ... {} more]", shown.join(" "), elements.len() - 12)
    } else {
        format!("[{}]", shown.join(" "))
    }
}

impl<'a, 'h> ListAppend<'a, 'h> {
    /// Analyses `txns`: adds their ww, wr and rw edges to `graph` and the anomalies seen
    /// directly to `found`. Two appends of one element to one key are an error: versions
    /// can then not be told apart.
    pub fn analyze(
        txns: &'a Txns<'h>,
        graph: &mut Graph,
        found: &mut Anomalies,
    ) -> Result<ListAppend<'a, 'h>, HistoryError> {
        let mut analysis = ListAppend {
            txns,
            writers: FastMap::with_capacity_and_hasher(txns.mops.len(), Default::default()),
            orders: vec![&[]; txns.keys.len()],
            longest_reader: vec![None; txns.keys.len()],
            unobserved: vec![Vec::new(); txns.keys.len()],
        };
        analysis.index_writers()?;
        analysis.version_orders(found);
        analysis.find_unobserved();
        analysis.walk_orders(graph, found);
        analysis.unobserved_edges(graph);
        for id in 0..txns.txns.len() as TxnId {
            if txns.txns[id as usize].outcome == Outcome::Ok {
                analysis.check_internal(id, found);
                analysis.read_edges(id, graph, found);
            }
        }
        Ok(analysis)
    }

    fn index_writers(&mut self) -> Result<(), HistoryError> {
        for id in 0..self.txns.txns.len() as TxnId {
            for (index, mop) in self.txns.mops_of(id).iter().enumerate() {
                if mop.kind != MopKind::Append {
                    continue;
                }
                let writer = Writer {
                    txn: id,
                    mop: index as u32,
                    observed: false,
                };
                if let Some(earlier) = self.writers.insert((mop.key, mop.value), writer) {
                    let txn = &self.txns.txns[id as usize];
                    return Err(self.txns.history.error_at(
                        txn.invoke_position,
                        format!(
                            "{} is appended to key {} twice (also at line {}); list-append \
                             needs every appended element unique",
                            mop.value,
                            self.txns.key(mop.key),
                            self.txns.line(earlier.txn)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Takes each key's longest read as its order, and reports reads that are not prefixes
    /// of it (one per key).
    fn version_orders(&mut self, found: &mut Anomalies) {
        for (id, mop) in committed_reads(self.txns) {
            let read = elements(mop.value);
            let key = mop.key as usize;
            if read.len() > self.orders[key].len() {
                self.orders[key] = read;
                self.longest_reader[key] = Some(id);
            }
        }
        let mut reported: FastSet<KeyId> = FastSet::default();
        for (id, mop) in committed_reads(self.txns) {
            let read = elements(mop.value);
            let order = self.orders[mop.key as usize];
            if order.starts_with(read) || !reported.insert(mop.key) {
                continue;
            }
            let longest = self.longest_reader[mop.key as usize].expect("a read key's reader");
            let key = self.txns.key(mop.key);
            found.add(AnomalyKind::IncompatibleOrder, || {
                report::direct(
                    self.txns,
                    AnomalyKind::IncompatibleOrder,
                    &[id, longest],
                    format!(
                        "T1 read key {key} as {}, T2 read it as {}: neither is a prefix of \
                         the other, so no one order of appends explains both",
                        show(read),
                        show(order)
                    ),
                )
            });
        }
    }

    /// Marks the elements of each order observed, and lists the committed appends that are
    /// not.
    fn find_unobserved(&mut self) {
        let mut broken = vec![false; self.orders.len()];
        for (key, order) in self.orders.iter().enumerate() {
            for element in order.iter() {
                match self.writers.get_mut(&(key as KeyId, element)) {
                    Some(writer) if !writer.observed => writer.observed = true,
                    _ => broken[key] = true,
                }
            }
        }
        for id in 0..self.txns.txns.len() as TxnId {
            if !self.happened(id) {
                continue;
            }
            for mop in self.txns.mops_of(id) {
                let unobserved = &mut self.unobserved[mop.key as usize];
                if mop.kind == MopKind::Append
                    && !self.writers[&(mop.key, mop.value)].observed
                    && unobserved.last() != Some(&id)
                {
                    unobserved.push(id);
                }
            }
        }
        for (unobserved, broken) in self.unobserved.iter_mut().zip(broken) {
            if broken {
                unobserved.clear();
            }
        }
    }

    /// Whether transaction `id` certainly took effect: it committed, or it is indeterminate
    /// and some read saw one of its appends (transactions are atomic: then all of them).
    fn happened(&self, id: TxnId) -> bool {
        match self.txns.txns[id as usize].outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Info => self.txns.mops_of(id).iter().any(|mop| {
                mop.kind == MopKind::Append && self.writers[&(mop.key, mop.value)].observed
            }),
        }
    }

    /// Walks each key's order: ww edges between consecutive writers, and garbage, aborted
    /// and duplicate elements and dirty updates.
    fn walk_orders(&self, graph: &mut Graph, found: &mut Anomalies) {
        let mut seen: FastSet<&Value> = FastSet::default();
        for (key, order) in self.orders.iter().enumerate() {
            let key = key as KeyId;
            seen.clear();
            let key_text = self.txns.key(key);
            let mut previous: Option<(Writer, &Value)> = None;
            for (at, element) in order.iter().enumerate() {
                if !seen.insert(element) {
                    self.report_read(found, key, AnomalyKind::DuplicateElements, |read| {
                        format!("T1 read key {key_text} as {read}: {element} is in it twice")
                    });
                }
                let Some(&writer) = self.writers.get(&(key, element)) else {
                    self.report_read(found, key, AnomalyKind::GarbageRead, |read| {
                        format!(
                            "T1 read key {key_text} as {read}, but no transaction appended \
                             {element} to it"
                        )
                    });
                    previous = None;
                    continue;
                };
                self.check_contiguous(found, key, writer, at);
                let outcome = self.txns.txns[writer.txn as usize].outcome;
                if outcome == Outcome::Fail {
                    self.report_aborted(found, key, writer, element);
                } else if let Some((before, before_element)) = previous {
                    if self.txns.txns[before.txn as usize].outcome == Outcome::Fail {
                        self.report_dirty_update(found, key, before, before_element, writer);
                    } else {
                        graph.add(before.txn, writer.txn, EdgeKind::Ww);
                    }
                }
                previous = Some((writer, element));
            }
        }
    }

    /// A transaction's appends to a key are one after another in its order: the element at
    /// `at` must follow its writer's previous append to the key, if it made one.
    fn check_contiguous(&self, found: &mut Anomalies, key: KeyId, writer: Writer, at: usize) {
        let mops = self.txns.mops_of(writer.txn);
        let Some(own) = mops[..writer.mop as usize]
            .iter()
            .rev()
            .find(|m| m.kind == MopKind::Append && m.key == key)
        else {
            return;
        };
        let order = self.orders[key as usize];
        if at > 0 && order[at - 1] == *own.value {
            return;
        }
        let element = &order[at];
        let key_text = self.txns.key(key);
        let reader = self.longest_reader[key as usize].expect("an ordered key's reader");
        found.add(AnomalyKind::IncompatibleOrder, || {
            report::direct(
                self.txns,
                AnomalyKind::IncompatibleOrder,
                &[writer.txn, reader],
                format!(
                    "T1 appended {} then {element} to key {key_text}; T2 read it as {}, with \
                     {element} but not right after {}",
                    own.value,
                    show(order),
                    own.value
                ),
            )
        });
    }

    /// ww edges from the writer of each key's last observed element to every transaction
    /// that took effect and appended an element no read saw (installed later).
    fn unobserved_edges(&self, graph: &mut Graph) {
        for (key, order) in self.orders.iter().enumerate() {
            let Some(last) = order.last() else {
                continue;
            };
            let Some(writer) = self.writers.get(&(key as KeyId, last)) else {
                continue;
            };
            if self.txns.txns[writer.txn as usize].outcome == Outcome::Fail {
                continue;
            }
            for &later in &self.unobserved[key] {
                graph.add(writer.txn, later, EdgeKind::Ww);
            }
        }
    }

    /// Reports an anomaly of the longest read of `key`, as `describe` words it given the read.
    fn report_read(
        &self,
        found: &mut Anomalies,
        key: KeyId,
        kind: AnomalyKind,
        describe: impl FnOnce(String) -> String,
    ) {
        let reader = self.longest_reader[key as usize].expect("an ordered key's reader");
        let read = show(self.orders[key as usize]);
        found.add(kind, || {
            report::direct(self.txns, kind, &[reader], describe(read))
        });
    }

    fn report_aborted(&self, found: &mut Anomalies, key: KeyId, writer: Writer, element: &Value) {
        let reader = self.longest_reader[key as usize].expect("an ordered key's reader");
        let key_text = self.txns.key(key);
        let read = show(self.orders[key as usize]);
        found.add(AnomalyKind::G1a, || {
            report::direct(
                self.txns,
                AnomalyKind::G1a,
                &[writer.txn, reader],
                format!(
                    "T1 appended {element} to key {key_text} and failed; T2 committed and \
                     read {key_text} as {read}, with {element} (aborted read)"
                ),
            )
        });
    }

    fn report_dirty_update(
        &self,
        found: &mut Anomalies,
        key: KeyId,
        failed: Writer,
        failed_element: &Value,
        writer: Writer,
    ) {
        let key_text = self.txns.key(key);
        let element = self.txns.mops_of(writer.txn)[writer.mop as usize].value;
        found.add(AnomalyKind::DirtyUpdate, || {
            report::direct(
                self.txns,
                AnomalyKind::DirtyUpdate,
                &[failed.txn, writer.txn],
                format!(
                    "T1 appended {failed_element} to key {key_text} and failed; T2 appended \
                     {element} right after it, building on the aborted state"
                ),
            )
        });
    }

    /// The external part of each read of `id`: the elements it saw that it did not append
    /// itself, for a read that follows no other read of its key in the transaction.
    fn external_reads(&self, id: TxnId) -> Vec<(usize, KeyId, &'h [Value])> {
        let mops = self.txns.mops_of(id);
        let mut external = Vec::new();
        for (index, mop) in mops.iter().enumerate() {
            if mop.kind != MopKind::Read {
                continue;
            }
            let earlier = &mops[..index];
            if earlier
                .iter()
                .any(|m| m.key == mop.key && m.kind == MopKind::Read)
            {
                continue;
            }
            let own = earlier.iter().filter(|m| m.key == mop.key).count();
            let read = elements(mop.value);
            if own <= read.len() {
                external.push((index, mop.key, &read[..read.len() - own]));
            }
        }
        external
    }

    /// Checks that each read of `id` agrees with its earlier reads and appends of the key.
    fn check_internal(&self, id: TxnId, found: &mut Anomalies) {
        let mops = self.txns.mops_of(id);
        for (index, mop) in mops.iter().enumerate() {
            if mop.kind != MopKind::Read {
                continue;
            }
            let earlier: Vec<&Mop<'h>> =
                mops[..index].iter().filter(|m| m.key == mop.key).collect();
            let last_read = earlier.iter().rposition(|m| m.kind == MopKind::Read);
            let appended: Vec<&Value> = earlier[last_read.map_or(0, |at| at + 1)..]
                .iter()
                .map(|m| m.value)
                .collect();
            let read = elements(mop.value);
            let (agrees, expected) = match last_read {
                Some(at) => {
                    let before = elements(earlier[at].value);
                    let agrees = read.len() == before.len() + appended.len()
                        && read.starts_with(before)
                        && read[before.len()..].iter().eq(appended.iter().copied());
                    let mut expected: Vec<Value> = before.to_vec();
                    expected.extend(appended.iter().map(|v| (*v).clone()));
                    (agrees, show(&expected))
                }
                None => {
                    let agrees = read.len() >= appended.len()
                        && read[read.len() - appended.len()..]
                            .iter()
                            .eq(appended.iter().copied());
                    let suffix: Vec<Value> = appended.iter().map(|v| (*v).clone()).collect();
                    (agrees, format!("a list ending in {}", show(&suffix)))
                }
            };
            if !agrees {
                let key = self.txns.key(mop.key);
                found.add(AnomalyKind::Internal, || {
                    report::direct(
                        self.txns,
                        AnomalyKind::Internal,
                        &[id],
                        format!(
                            "T1 read key {key} as {} (micro-operation {}), but its own earlier \
                             reads and appends of {key} say {expected}",
                            show(read),
                            index + 1
                        ),
                    )
                });
            }
        }
    }

    /// wr and rw edges of the committed transaction `id`'s external reads, and the
    /// intermediate and future reads among them.
    fn read_edges(&self, id: TxnId, graph: &mut Graph, found: &mut Anomalies) {
        for (_, key, read) in self.external_reads(id) {
            let order = self.orders[key as usize];
            if !order.starts_with(read) {
                continue; // reported as an incompatible order
            }
            if let Some(last) = read.last()
                && let Some(&writer) = self.writers.get(&(key, last))
            {
                let outcome = self.txns.txns[writer.txn as usize].outcome;
                if writer.txn == id {
                    self.report_future_read(found, id, key, last);
                } else if outcome != Outcome::Fail {
                    graph.add(writer.txn, id, EdgeKind::Wr);
                    if self.appends_again(writer, key) {
                        self.report_intermediate(found, writer, id, key, read);
                    }
                }
            }
            if let Some(next) = order.get(read.len())
                && let Some(&writer) = self.writers.get(&(key, next))
                && self.txns.txns[writer.txn as usize].outcome != Outcome::Fail
            {
                graph.add(id, writer.txn, EdgeKind::Rw);
            }
            if read.len() == order.len() {
                for &writer in &self.unobserved[key as usize] {
                    graph.add(id, writer, EdgeKind::Rw);
                }
            }
        }
    }

    /// Whether the writer appended to `key` again after `writer.mop`.
    fn appends_again(&self, writer: Writer, key: KeyId) -> bool {
        self.txns.mops_of(writer.txn)[writer.mop as usize + 1..]
            .iter()
            .any(|m| m.kind == MopKind::Append && m.key == key)
    }

    fn report_intermediate(
        &self,
        found: &mut Anomalies,
        writer: Writer,
        reader: TxnId,
        key: KeyId,
        read: &[Value],
    ) {
        let key_text = self.txns.key(key);
        let element = self.txns.mops_of(writer.txn)[writer.mop as usize].value;
        found.add(AnomalyKind::G1b, || {
            report::direct(
                self.txns,
                AnomalyKind::G1b,
                &[writer.txn, reader],
                format!(
                    "T1 appended {element} to key {key_text}, then appended to it again; T2 \
                     read {key_text} as {}, ending at T1's intermediate {element}",
                    show(read)
                ),
            )
        });
    }

    fn report_future_read(&self, found: &mut Anomalies, id: TxnId, key: KeyId, element: &Value) {
        let key_text = self.txns.key(key);
        found.add(AnomalyKind::FutureRead, || {
            report::direct(
                self.txns,
                AnomalyKind::FutureRead,
                &[id],
                format!(
                    "T1 read key {key_text} with {element}, which it appends itself only later"
                ),
            )
        });
    }

    /// The element `id` appended to `key` (its first), if any.
    fn appended_by(&self, id: TxnId, key: KeyId) -> impl Iterator<Item = &'h Value> + '_ {
        self.txns
            .mops_of(id)
            .iter()
            .filter(move |m| m.kind == MopKind::Append && m.key == key)
            .map(|m| m.value)
    }
}

impl Explain for ListAppend<'_, '_> {
    fn why(&self, from: TxnId, to: TxnId, kind: EdgeKind, (a, b): (&str, &str)) -> String {
        let writer_of =
            |key: KeyId, element: &Value| self.writers.get(&(key, element)).map(|w| w.txn);
        match kind {
            EdgeKind::Ww => {
                for mop in self.txns.mops_of(to) {
                    if mop.kind != MopKind::Append {
                        continue;
                    }
                    let order = self.orders[mop.key as usize];
                    let after_from = |at: usize| {
                        at > 0
                            && order[at] == *mop.value
                            && writer_of(mop.key, &order[at - 1]) == Some(from)
                    };
                    if let Some(at) = (0..order.len()).find(|&at| after_from(at)) {
                        return format!(
                            "{a} appended {} to key {}; {b} appended {} right after it (the \
                             longest read of {} is {})",
                            order[at - 1],
                            self.txns.key(mop.key),
                            mop.value,
                            self.txns.key(mop.key),
                            show(order)
                        );
                    }
                    if let Some(last) = order.last()
                        && writer_of(mop.key, last) == Some(from)
                        && !self.writers[&(mop.key, mop.value)].observed
                    {
                        return format!(
                            "{a} appended {last} to key {}, the last element any read saw; {b} \
                             appended {}, which no read saw, so it came later",
                            self.txns.key(mop.key),
                            mop.value
                        );
                    }
                }
            }
            EdgeKind::Wr => {
                for (_, key, read) in self.external_reads(to) {
                    if let Some(last) = read.last()
                        && writer_of(key, last) == Some(from)
                    {
                        return format!(
                            "{a} appended {last} to key {}; {b} read {} as {}, ending with it",
                            self.txns.key(key),
                            self.txns.key(key),
                            show(read)
                        );
                    }
                }
            }
            EdgeKind::Rw => {
                for (_, key, read) in self.external_reads(from) {
                    let order = self.orders[key as usize];
                    if let Some(next) = order.get(read.len())
                        && writer_of(key, next) == Some(to)
                        && self.appended_by(to, key).any(|e| e == next)
                    {
                        return format!(
                            "{a} read key {} as {} without {next}; {b} appended {next}, the \
                             next element of {} (whose longest read is {})",
                            self.txns.key(key),
                            show(read),
                            self.txns.key(key),
                            show(order)
                        );
                    }
                    if read.len() == order.len()
                        && let Some(element) = self
                            .appended_by(to, key)
                            .find(|e| !self.writers[&(key, *e)].observed)
                    {
                        return format!(
                            "{a} read key {} as {}; {b} committed an append of {element} that \
                             no read saw, so it came after every version read",
                            self.txns.key(key),
                            show(read)
                        );
                    }
                }
            }
            EdgeKind::Process | EdgeKind::Realtime => {}
        }
        // Every edge the analysis adds is explained above; this is a safety net for a history
        // so broken (an element twice in a read) that the search above misses it.
        format!("{a} -> {b}: a {kind} dependency")
    }
}
