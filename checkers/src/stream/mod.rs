//! The streaming check of a history file too large to hold: the same verdict as
//! [`check`](crate::check) in memory bounded by the bucket size, not by the history.
//!
//! 1. One pass over the file ([`spill`]): batches parsed in parallel ([`source`]: JSON or EDN
//!    lines, or EDN forms cut between top-level forms), each client's
//!    invocation paired with its completion, the pair translated under the model (so bad input
//!    is refused naming its line, and what constrains nothing is dropped) and appended, in a
//!    compact binary form ([`codec`]), to the spill file of its key's bucket (a hash of the
//!    key, the same every run). The number of buckets grows with the file, so that a bucket
//!    holds about [`BUCKET_SOURCE_BYTES`] of the file's text.
//! 2. The buckets are read back one at a time, in order; a bucket's operations are grouped by
//!    key into partitions, sorted cheapest first (fewest calls, then first appearance), and fed
//!    to the race ([`race`](crate::linearizability)), which checks up to 64 keys at once in
//!    parallel and stops at the first round in which a key is proved illegal. A history of one
//!    bucket (any file under [`BUCKET_SOURCE_BYTES`]) is raced exactly as the in-memory check
//!    races it, with the same key reported; a larger one is raced bucket after bucket. Either
//!    way the outcome depends on step counts only, never on threads.
//!
//! Architecture invariant: memory does not grow with the number of keys or operations: the
//! first pass holds one batch of lines, one open invocation per client process and one write
//! buffer per bucket; the second holds the bucket being drawn from, the partitions in the
//! race's window (at most 64) and their searches (bounded by the memory budget, which admits
//! long keys a few at a time). So the peak is about two buckets' operations (each ~1/B of the
//! file) plus the budget, for files up to `MAX_BUCKETS * BUCKET_SOURCE_BYTES` (16 GiB); past
//! that the buckets grow with the file.

mod codec;
mod edn_forms;
mod source;
mod spill;

pub use source::streams;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::error::HistoryError;
use crate::import::{Format, ReadOptions, Unreadable, unreadable::LineErrors};
use crate::linearizability::race::{self, Drawn};
use crate::linearizability::search::{Call, Calls, Stop};
use crate::linearizability::{CheckOptions, CheckResult, Verdict, report, settle};
use crate::model::{Model, Translated};
use crate::value::Value;
use codec::Record;
use spill::operation_of;

/// About how much of the file's text one bucket holds.
pub const BUCKET_SOURCE_BYTES: u64 = 32 << 20;
/// The most buckets (each has a write buffer open during the first pass).
pub const MAX_BUCKETS: usize = 512;

/// What a long check reports as it goes (a progress bar). Every method defaults to nothing.
pub trait Progress: Sync {
    /// The first pass starts on a file of `bytes`.
    fn start_reading(&self, bytes: u64) {
        let _ = bytes;
    }
    /// The first pass has read `bytes` so far.
    fn reading(&self, bytes: u64) {
        let _ = bytes;
    }
    /// The check starts on `calls` operations.
    fn start_checking(&self, calls: u64) {
        let _ = calls;
    }
    /// `calls` more operations were checked.
    fn checked(&self, calls: u64) {
        let _ = calls;
    }
}

/// No progress shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A streaming check's result, and what reading the file skipped.
#[derive(Debug, Clone)]
pub struct Streamed {
    /// The check's result.
    pub result: CheckResult,
    /// Lines skipped because they could not be read ([`ReadOptions::skip_unreadable`]).
    pub unreadable: Unreadable,
    /// How many buckets the keys were spilled to.
    pub buckets: usize,
}

/// How to read a file for a streaming check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// How to treat lines that cannot be read.
    pub read: ReadOptions,
    /// Spill to this many buckets instead of [`buckets_for`] the file's size (at least 1).
    pub buckets: Option<usize>,
    /// The file's format (any but [`Format::JepsenLog`]: see [`streams`]).
    pub format: Format,
    /// Whether the history is a `jepsen.independent` one, whose client ops' `[key value]`
    /// tuples are unwrapped as they are read ([`unwrap_tuples`](crate::import::unwrap_tuples)
    /// does it in memory, with the same errors).
    pub independent: bool,
}

/// How many buckets a file of `bytes` is spilled to.
pub fn buckets_for(bytes: u64) -> usize {
    bytes
        .div_ceil(BUCKET_SOURCE_BYTES)
        .clamp(1, MAX_BUCKETS as u64) as usize
}

/// Checks the history at `path` (in `stream.format`) for linearizability under `model`,
/// streaming (see the module's documentation). Spill files go to a temporary folder in the system's, removed
/// on return. Errors are as [`check`](crate::check)'s, naming the file and line (the first
/// met while reading), or an I/O error.
pub fn check_file<M: Model>(
    model: &M,
    path: &Path,
    options: &CheckOptions,
    stream: &StreamOptions,
    progress: &dyn Progress,
) -> Result<Streamed, HistoryError> {
    let started = Instant::now();
    let file = path.display().to_string();
    let io_error = |source| HistoryError::Io {
        file: file.clone(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io_error)?.len();
    let buckets = stream.buckets.unwrap_or(buckets_for(bytes)).max(1);
    let dir = tempfile::Builder::new()
        .prefix("rafty-check-")
        .tempdir()
        .map_err(|source| HistoryError::Io {
            file: "a temporary folder for the spill files".to_owned(),
            source,
        })?;
    progress.start_reading(bytes);
    let mut errors = LineErrors::new(&stream.read);
    let mut source = source::open(path, stream.format, stream.read.skip_unreadable)?;
    let input = spill::Input {
        path,
        source: source.as_mut(),
        independent: stream.independent,
    };
    let spilled = spill::spill(
        model,
        input,
        dir.path(),
        buckets,
        &mut errors,
        options.skip_unsupported,
        progress,
    )?;
    progress.start_checking(spilled.calls);
    let stop = Stop::new(started, options);
    let source = Buckets {
        model,
        paths: spilled.buckets.iter(),
        bucket: 0,
        drawn: VecDeque::new(),
    };
    let mut partitions = 0;
    let raced = race::race(
        model,
        source.inspect(|_| partitions += 1),
        &stop,
        &mut |calls| progress.checked(calls as u64),
    );
    let mut result = CheckResult {
        valid: Verdict::Linearizable,
        model: model.name().to_owned(),
        operations: spilled.calls as usize,
        skipped: spilled.skipped,
        unsupported: spilled.unsupported,
        partitions,
        steps: raced.steps,
        reason: None,
        counterexample: None,
    };
    let counterexample =
        |loaded: Loaded, calls: Vec<Call<M::Input, M::Output>>, stuck, linearized: Vec<usize>| {
            let records = loaded.records().map_err(|reason| {
                HistoryError::malformed(
                    "a spill file",
                    1,
                    format!("corrupt, read back for the counterexample: {reason}"),
                )
            })?;
            Ok(report::counterexample(
                model,
                loaded.key.as_ref(),
                &calls,
                stuck,
                &linearized,
                |call: &Call<M::Input, M::Output>| {
                    let record = &records[call.operation];
                    (operation_of(record), record.invoke_line)
                },
            ))
        };
    settle(
        &mut result,
        raced.outcome,
        options,
        |loaded: &Loaded| loaded.key.clone(),
        counterexample,
    )?;
    Ok(Streamed {
        result,
        unreadable: errors.skipped,
        buckets,
    })
}

/// A partition read back from its bucket: its key, and where each call's record is in the
/// bucket's bytes (a call's `operation` indexes `offsets`).
struct Loaded {
    key: Option<Value>,
    bucket: Arc<Vec<u8>>,
    offsets: Vec<usize>,
}

impl Loaded {
    /// The records of the partition's calls, decoded again (for a counterexample).
    fn records(&self) -> Result<Vec<Record>, String> {
        self.offsets
            .iter()
            .map(|&offset| codec::decode_at(&self.bucket, offset))
            .collect()
    }
}

/// The partitions of the spill files, bucket after bucket, cheapest first within each.
struct Buckets<'m, 'p, M: Model> {
    model: &'m M,
    paths: std::slice::Iter<'p, std::path::PathBuf>,
    bucket: usize,
    drawn: VecDeque<Drawn<M, Loaded>>,
}

impl<M: Model> Iterator for Buckets<'_, '_, M> {
    type Item = Result<Drawn<M, Loaded>, HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.drawn.is_empty() {
            let path = self.paths.next()?;
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(source) => {
                    return Some(Err(HistoryError::Io {
                        file: path.display().to_string(),
                        source,
                    }));
                }
            };
            // Read whole: its disk space goes back now.
            let _ = std::fs::remove_file(path);
            match partitions(self.model, bytes, self.bucket) {
                Ok(drawn) => self.drawn = drawn,
                Err(reason) => {
                    return Some(Err(HistoryError::malformed(
                        &path.display().to_string(),
                        1,
                        format!("a spill file is corrupt: {reason}"),
                    )));
                }
            }
            self.bucket += 1;
        }
        self.drawn.pop_front().map(Ok)
    }
}

/// A decoded record's key, where its encoding is, and its call.
type Decoded<M> = (
    Option<Value>,
    usize,
    Call<<M as Model>::Input, <M as Model>::Output>,
);

/// Decodes a bucket's records (in parallel), groups them into partitions by key (in order of
/// first invocation), makes their calls (in invocation order), and orders the partitions
/// cheapest first; ranks are `bucket << 32` plus the order of first invocation.
fn partitions<M: Model>(
    model: &M,
    bytes: Vec<u8>,
    bucket: usize,
) -> Result<VecDeque<Drawn<M, Loaded>>, String> {
    let decoded: Vec<Decoded<M>> = codec::split(&bytes)?
        .par_iter()
        .map(|&(offset, encoded)| {
            let record = codec::decode(encoded)?;
            let key = model.partition(&operation_of(&record)).cloned();
            Ok((key, offset, call(model, &record)))
        })
        .collect::<Result<_, String>>()?;
    let mut order: Vec<u32> = (0..decoded.len() as u32).collect();
    order.sort_unstable_by_key(|&i| decoded[i as usize].2.call);
    let mut decoded: Vec<Option<Decoded<M>>> = decoded.into_iter().map(Some).collect();
    let bucket_bytes = Arc::new(bytes);
    let mut loaded: Vec<(Loaded, Calls<M>)> = Vec::new();
    let mut by_key: HashMap<Option<Value>, usize> = HashMap::new();
    for i in order {
        let (key, offset, mut call) = decoded[i as usize]
            .take()
            .expect("each record is taken once");
        let slot = match by_key.get(&key) {
            Some(&slot) => slot,
            None => {
                by_key.insert(key.clone(), loaded.len());
                let partition = Loaded {
                    key,
                    bucket: Arc::clone(&bucket_bytes),
                    offsets: Vec::new(),
                };
                loaded.push((partition, Vec::new()));
                loaded.len() - 1
            }
        };
        let (partition, calls) = &mut loaded[slot];
        call.operation = calls.len();
        partition.offsets.push(offset);
        calls.push(call);
    }
    let mut drawn: Vec<Drawn<M, Loaded>> = loaded
        .into_iter()
        .enumerate()
        .map(|(rank, (partition, calls))| ((bucket << 32) | rank, partition, calls))
        .collect();
    drawn.sort_by_key(|(rank, _, calls)| (calls.len(), *rank));
    Ok(drawn.into())
}

/// The call of a record (its `operation` still to be set).
fn call<M: Model>(model: &M, record: &Record) -> Call<M::Input, M::Output> {
    let operation = operation_of(record);
    let Ok(Translated::Call { input, output }) = model.translate(&operation) else {
        unreachable!("the first pass spilled only operations that translate to calls");
    };
    let ret = output.as_ref().and(operation.completion_position);
    Call {
        operation: 0,
        input,
        // An output without a completion to bound it is indeterminate.
        output: output.filter(|_| ret.is_some()),
        call: operation.invoke_position,
        ret,
    }
}

/// The start of a history file (its first batch, about a mebibyte), as a history: enough to
/// decide how to stream the rest (its model and whether it is a `jepsen.independent` one).
/// Lines that cannot be read are passed over (the check reports them).
pub fn head(
    path: &Path,
    format: Format,
    read: &ReadOptions,
) -> Result<crate::History, HistoryError> {
    let mut source = source::open(path, format, read.skip_unreadable)?;
    let mut history = crate::History::from_source(path.display().to_string());
    if let Some(batch) = source.next_batch()? {
        for (line, parsed) in batch.ops {
            if let Ok(mut op) = parsed {
                if op.index == source::NO_INDEX {
                    op.index = history.len() as u64;
                }
                history.push_at_line(op, line);
            }
        }
    }
    Ok(history)
}
