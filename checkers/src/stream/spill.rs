//! The streaming check's first pass: reads a history once, in batches parsed in parallel
//! ([`source`](super::source)), pairs each client's invocation with its completion, translates the pair under the
//! model (to refuse bad input early and to drop what constrains nothing), and spills the pair
//! to the bucket file of its key.
//!
//! Architecture invariant: what this pass holds does not grow with the history: one batch of
//! lines and their ops, one open invocation per client process, and a write buffer per bucket.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{HistoryError, Location};
use crate::history::{Op, OpType, Operation, Process};
use crate::import::independent::unwrap_op;
use crate::import::unreadable::LineErrors;
use crate::model::{Model, Translated};
use crate::stream::Progress;
use crate::stream::codec::{self, Record};
use crate::stream::source::{NO_INDEX, Source};

/// The write buffer of each bucket file.
const BUCKET_BUFFER_BYTES: usize = 64 << 10;

/// What the first pass found.
pub(crate) struct Spilled {
    /// The bucket files, in bucket order.
    pub(crate) buckets: Vec<PathBuf>,
    /// Operations spilled (each will be a call).
    pub(crate) calls: u64,
    /// Operations that constrain nothing (failed, or indeterminate reads).
    pub(crate) skipped: usize,
    /// Operations of functions the model does not have.
    pub(crate) unsupported: usize,
}

/// An operation of a function the model does not have: the first, by invocation.
struct FirstUnsupported {
    position: usize,
    line: usize,
    function: String,
}

/// The pass's state.
struct Pass<'m, M> {
    model: &'m M,
    file: String,
    /// Each client process's open invocation: its position, line and op.
    open: BTreeMap<u64, (usize, usize, Op)>,
    writers: Vec<BufWriter<File>>,
    calls: u64,
    skipped: usize,
    unsupported: usize,
    first_unsupported: Option<FirstUnsupported>,
    /// A `jepsen.independent` history: each client op's `[key value]` tuple is unwrapped.
    independent: bool,
}

/// The history a pass reads: its file (named in errors), its ops, and whether it is a
/// `jepsen.independent` one (each client op's `[key value]` tuple unwrapped as it is read).
pub(crate) struct Input<'s> {
    pub(crate) path: &'s Path,
    pub(crate) source: &'s mut dyn Source,
    pub(crate) independent: bool,
}

/// Reads the history `input` and spills its calls into `buckets` files in `dir`. Lines that
/// cannot be read go to `errors`; every other error names the file and line.
pub(crate) fn spill<M: Model>(
    model: &M,
    input: Input<'_>,
    dir: &Path,
    buckets: usize,
    errors: &mut LineErrors,
    skip_unsupported: bool,
    progress: &dyn Progress,
) -> Result<Spilled, HistoryError> {
    let Input {
        path,
        source,
        independent,
    } = input;
    let file = path.display().to_string();
    let io_error = |file: &str| {
        let file = file.to_owned();
        move |source| HistoryError::Io { file, source }
    };
    let mut paths = Vec::with_capacity(buckets);
    let mut writers = Vec::with_capacity(buckets);
    for bucket in 0..buckets {
        let bucket_path = dir.join(format!("bucket-{bucket:04}"));
        let writer =
            File::create(&bucket_path).map_err(io_error(&bucket_path.display().to_string()))?;
        writers.push(BufWriter::with_capacity(BUCKET_BUFFER_BYTES, writer));
        paths.push(bucket_path);
    }
    let mut pass = Pass {
        model,
        file: file.clone(),
        open: BTreeMap::new(),
        writers,
        calls: 0,
        skipped: 0,
        unsupported: 0,
        first_unsupported: None,
        independent,
    };
    let mut position = 0;
    while let Some(batch) = source.next_batch()? {
        let mut paired = Vec::new();
        for (line, parsed) in batch.ops {
            match parsed {
                Ok(mut op) => {
                    if op.index == NO_INDEX {
                        op.index = position as u64;
                    }
                    paired.extend(pass.event(position, line, op)?);
                    position += 1;
                }
                Err(reason) => errors.bad(HistoryError::malformed(&file, line, reason))?,
            }
        }
        pass.operations(paired)?;
        progress.reading(batch.bytes_read);
    }
    pass.finish(paths, skip_unsupported)
}

impl<M: Model> Pass<'_, M> {
    fn error(&self, line: usize, reason: String) -> HistoryError {
        HistoryError::malformed(&self.file, line, reason)
    }

    /// One event: pairs it (as [`History::operations`](crate::History::operations) does,
    /// with the same errors); the operation it completes, if it does.
    fn event(
        &mut self,
        position: usize,
        line: usize,
        mut op: Op,
    ) -> Result<Option<Record>, HistoryError> {
        let Process::Client(process) = op.process else {
            return Ok(None);
        };
        if self.independent {
            let invoked = match op.kind {
                OpType::Invoke => None,
                _ => self
                    .open
                    .get(&process)
                    .and_then(|(_, line, invoke)| invoke.key.as_ref().map(|key| (key, *line))),
            };
            unwrap_op(&mut op, invoked).map_err(|reason| self.error(line, reason))?;
        }
        if op.kind == OpType::Invoke {
            if let Some((_, earlier, _)) = self.open.get(&process) {
                return Err(self.error(
                    line,
                    format!(
                        "process {process} invokes :{} while its invocation at line {earlier} \
                         has not completed",
                        op.f
                    ),
                ));
            }
            self.open.insert(process, (position, line, op));
            return Ok(None);
        }
        let Some((invoke_position, invoke_line, invoke)) = self.open.remove(&process) else {
            return Err(self.error(
                line,
                format!(
                    "process {process} completes :{} ({}) without an open invocation",
                    op.f, op.kind
                ),
            ));
        };
        if invoke.f != op.f {
            return Err(self.error(
                line,
                format!(
                    "process {process} completes :{} but invoked :{} at line {invoke_line}",
                    op.f, invoke.f
                ),
            ));
        }
        Ok(Some(Record {
            invoke_position,
            invoke_line,
            invoke,
            completion: Some((position, op)),
        }))
    }

    /// Translates paired operations (in parallel) and spills each to its key's bucket, or
    /// counts it; the first that cannot be translated is an error naming its line.
    fn operations(&mut self, records: Vec<Record>) -> Result<(), HistoryError> {
        let model = self.model;
        let buckets = self.writers.len();
        let sorted: Vec<Sorted> = records
            .par_iter()
            .map(|record| sort(model, record, buckets))
            .collect();
        for (record, sorted) in records.iter().zip(sorted) {
            match sorted {
                Sorted::Unsupported => {
                    self.unsupported += 1;
                    let earlier = self
                        .first_unsupported
                        .as_ref()
                        .is_some_and(|first| first.position < record.invoke_position);
                    if !earlier {
                        self.first_unsupported = Some(FirstUnsupported {
                            position: record.invoke_position,
                            line: record.invoke_line,
                            function: record.invoke.f.to_string(),
                        });
                    }
                }
                Sorted::Malformed(reason) => return Err(self.error(record.invoke_line, reason)),
                Sorted::Skip => self.skipped += 1,
                Sorted::Spill(bucket, bytes) => {
                    self.calls += 1;
                    let file = &self.file;
                    self.writers[bucket]
                        .write_all(&bytes)
                        .map_err(|source| HistoryError::Io {
                            file: format!("the spill file of {file}"),
                            source,
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Spills the invocations never completed (indeterminate), flushes the buckets, and
    /// refuses the history if it has unsupported operations and they may not be skipped.
    fn finish(
        mut self,
        paths: Vec<PathBuf>,
        skip_unsupported: bool,
    ) -> Result<Spilled, HistoryError> {
        let open = std::mem::take(&mut self.open);
        let never_completed = open
            .into_values()
            .map(|(invoke_position, invoke_line, invoke)| Record {
                invoke_position,
                invoke_line,
                invoke,
                completion: None,
            })
            .collect();
        self.operations(never_completed)?;
        for (writer, path) in self.writers.iter_mut().zip(&paths) {
            writer.flush().map_err(|source| HistoryError::Io {
                file: path.display().to_string(),
                source,
            })?;
        }
        if let Some(first) = self.first_unsupported.filter(|_| !skip_unsupported) {
            return Err(HistoryError::Unsupported {
                location: Location {
                    file: self.file,
                    line: first.line,
                },
                function: first.function,
                model: self.model.name().to_owned(),
                count: self.unsupported,
            });
        }
        Ok(Spilled {
            buckets: paths,
            calls: self.calls,
            skipped: self.skipped,
            unsupported: self.unsupported,
        })
    }
}

/// What becomes of a paired operation.
enum Sorted {
    /// A function the model does not have.
    Unsupported,
    /// The model cannot read it: why.
    Malformed(String),
    /// It constrains nothing.
    Skip,
    /// Its encoding, for this bucket.
    Spill(usize, Vec<u8>),
}

/// Translates a paired operation under `model` (to refuse it or skip it) and encodes it for
/// the bucket of its key.
fn sort<M: Model>(model: &M, record: &Record, buckets: usize) -> Sorted {
    let operation = operation_of(record);
    if !model.knows(operation.f()) {
        return Sorted::Unsupported;
    }
    match model.translate(&operation) {
        Err(reason) => Sorted::Malformed(reason),
        Ok(Translated::Skip) => Sorted::Skip,
        Ok(Translated::Call { .. }) => {
            let mut bytes = Vec::new();
            codec::encode_key(model.partition(&operation), &mut bytes);
            let bucket = bucket_of(&bytes, buckets);
            bytes.clear();
            codec::encode(record, &mut bytes);
            Sorted::Spill(bucket, bytes)
        }
    }
}

/// The paired operation a record holds.
pub(crate) fn operation_of(record: &Record) -> Operation<'_> {
    Operation {
        invoke_position: record.invoke_position,
        invoke: &record.invoke,
        completion_position: record.completion.as_ref().map(|(position, _)| *position),
        completion: record.completion.as_ref().map(|(_, op)| op),
    }
}

/// The bucket of a key's encoding: FNV-1a, the same on every machine and run.
pub(crate) fn bucket_of(key: &[u8], buckets: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % buckets as u64) as usize
}
