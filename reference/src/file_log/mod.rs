//! `FileLog`: a durable [`Log`] on files, for production.
//!
//! * Entries go into **segment** files (a versioned header, then records framed with their
//!   length and CRC32C; see `segment.rs` and `record.rs`); a new segment starts once the
//!   current one passes [`FileLogOptions::segment_size_bytes`].
//! * [`Log::append`] writes the whole batch with one write and **one fsync** (group commit);
//!   a batch never spans two segments, so a segment may pass the size limit by one batch.
//! * **A batch is all-or-nothing.** Each record says how many records of its batch follow it,
//!   so the last one closes the batch. After a crash (process crash or power loss, torn writes
//!   included) recovery keeps a batch only if its closing record is on disk, and cuts an open
//!   batch at the end of the log off whole: an interrupted append leaves all of its batch or
//!   none of it, never a part.
//! * The hard state lives in its own file, replaced atomically: temporary file, fsync, rename,
//!   fsync of the directory.
//! * [`Log::truncate`] is durable: later segments are removed (newest first, the directory
//!   synced after each), then the segment holding the new last entry is cut and synced. A cut
//!   into the middle of a batch would leave the batch's first part open, so first an empty
//!   segment starting at the cut is created (a *seal*: an open batch followed by the next
//!   segment is complete), then the old one is cut.
//! * [`Log::compact`] (Raft §7) first writes the compaction *base* (index and term) to its
//!   own file, replaced atomically like the hard state, and only then removes the segments
//!   that hold nothing after the base (oldest first, the directory synced after each); a
//!   segment partly covered stays whole, its records below the base unread. If the log's
//!   entry at the index has another term (or the log is shorter), every segment goes, newest
//!   first. `first_index()` is the base + 1 and `term(base)` answers the base's term, after a
//!   reopen too. Truncating at the first index is allowed (a batch the base cuts is sealed as
//!   any other), below it is a contract error. See `compaction.rs`.
//! * [`FileLog::open`] recovers: it cuts an interrupted append off the end (an open batch and
//!   any torn record, never acknowledged), finishes an interrupted truncation, syncs every
//!   segment it keeps and the directory (a process crash may have left writes the disk never
//!   made durable, and the node is about to build on them), and refuses,
//!   with [`LogError::Corrupted`] naming the file and offset, any damage before the tail (an
//!   open batch followed by more records included) and segments of another format version.
//!   It finishes a compaction a crash interrupted (the base file is there, segments it
//!   covers still are: they go, by the same rule), and refuses a gap between the base and
//!   the first segment as corruption naming the segment. Reads check every record's CRC
//!   again.
//!
//! After any I/O error the log refuses every later write and read (fail-stop): its view of
//! the files can no longer be trusted; reopen it to recover.
//!
//! Limits: one process per directory (not enforced by a lock yet); a record's payload is at
//! most 4 GiB and a batch at most 2^32 entries; damage at the very end of the log that looks
//! exactly like a cut-off write (the last record's bytes zeroed or missing) is treated as a
//! torn tail, so the whole last batch is cut even if it had been synced and acknowledged (a
//! disk that zeroes synced sectors is indistinguishable from a torn append without a second
//! write per batch; a single flipped bit is never mistaken, each header has its own CRC);
//! a crash that keeps a later part of
//! an unsynced batch but not an earlier one (a disk writing back out of order) leaves non-zero
//! bytes after a hole, which recovery refuses as corruption rather than guess.

use std::io;
use std::path::{Path, PathBuf};

use crate::log::{Log, LogError};
use crate::memory::{check_batch, check_range, check_truncate};
use crate::types::{Entry, HardState, LogIndex, Term};

mod base;
mod compaction;
pub mod fs;
mod hard_state;
mod record;
mod segment;
mod small_file;

use base::Base;
use fs::{FileSystem, FsFile, StdFs};
use record::{Location, Parsed, Record};
use segment::Segment;

/// Tunables of a [`FileLog`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLogOptions {
    /// A batch that would take a non-empty segment past this size starts a new segment.
    pub segment_size_bytes: u64,
}

impl Default for FileLogOptions {
    fn default() -> Self {
        FileLogOptions {
            segment_size_bytes: 64 << 20,
        }
    }
}

/// A durable, segmented [`Log`] in one directory. See the [module documentation](self).
pub struct FileLog<FS: FileSystem = StdFs> {
    fs: FS,
    dir: PathBuf,
    options: FileLogOptions,
    hard_state: HardState,
    segments: Vec<Segment<FS::File>>,
    /// Where the log starts: every entry up to `base.index` was compacted away.
    base: Base,
    /// Whether the records before `first_index()` in the first segment end with a complete
    /// batch (true when it holds none): a truncation at `first_index()` must otherwise seal
    /// that batch, as one at any other index would.
    base_closes_batch: bool,
    /// `locations[i]` is where the entry with index `base.index + 1 + i` is.
    locations: Vec<Location>,
    /// The sequence number of the next segment created (see `segment.rs`).
    next_sequence: u64,
    /// Set by the first I/O error; every later call fails with it.
    failed: Option<String>,
    /// `rafty_log_append_seconds` and `rafty_log_fsync_seconds` (see `node::metrics`),
    /// registered once when the log is opened.
    timings: Timings,
}

/// The histograms an append records into: a handle each, so an append builds no label.
struct Timings {
    append: metrics::Histogram,
    fsync: metrics::Histogram,
}

impl Timings {
    fn new() -> Timings {
        Timings {
            append: metrics::histogram!("rafty_log_append_seconds"),
            fsync: metrics::histogram!("rafty_log_fsync_seconds"),
        }
    }
}

impl FileLog<StdFs> {
    /// Open (or create) the log in `dir` on the real filesystem, with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, LogError> {
        FileLog::open_with(StdFs, dir.as_ref(), FileLogOptions::default())
    }
}

impl<FS: FileSystem> FileLog<FS> {
    /// Open (or create) the log in `dir` on `fs`, recovering what a crash left.
    pub fn open_with(fs: FS, dir: &Path, options: FileLogOptions) -> Result<Self, LogError> {
        segment::io_at("create", dir, ensure_dir(&fs, dir))?;
        let names = segment::io_at("list", dir, fs.list(dir))?;
        for temp in [hard_state::TEMP_FILE_NAME, base::TEMP_FILE_NAME] {
            if names.iter().any(|name| name == temp) {
                // Left by a crash before the rename: the old file is the current one.
                let temp = dir.join(temp);
                segment::io_at("remove", &temp, fs.remove(&temp))?;
                segment::io_at("sync", dir, fs.sync_dir(dir))?;
            }
        }
        let hard_state = hard_state::load(&fs, dir)?;
        let base = base::load(&fs, dir)?;
        let recovered = segment::recover(&fs, dir, base.index)?;
        let mut log = FileLog {
            fs,
            dir: dir.to_path_buf(),
            options,
            hard_state,
            segments: recovered.segments,
            base: Base {
                index: recovered.first_index - 1,
                term: 0,
            },
            base_closes_batch: true,
            locations: recovered.locations,
            next_sequence: recovered.next_sequence,
            failed: None,
            timings: Timings::new(),
        };
        // A compaction a crash interrupted after its base file was written: finish it.
        log.settle_base(base).map_err(|error| match error {
            LogError::Io(io) => LogError::Io(io::Error::new(
                io.kind(),
                format!("finishing a compaction in {}: {io}", dir.display()),
            )),
            other => other,
        })?;
        // After a process crash, the directory may hold entries the disk never made durable
        // (a renamed hard state, a new segment); the node acts on what it read, so make them
        // survive a power loss before it does.
        segment::io_at("sync", dir, log.fs.sync_dir(dir))?;
        Ok(log)
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many segment files the log has.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn check_healthy(&self) -> Result<(), LogError> {
        match &self.failed {
            Some(reason) => Err(LogError::Io(io::Error::other(format!(
                "log stopped after an earlier I/O error ({reason}); reopen it to recover"
            )))),
            None => Ok(()),
        }
    }

    /// Remember the first I/O error: the log stops serving (fail-stop).
    fn fail<T>(&mut self, what: String, result: io::Result<T>) -> Result<T, LogError> {
        result.map_err(|error| {
            let message = format!("{what}: {error}");
            self.failed.get_or_insert_with(|| message.clone());
            LogError::Io(io::Error::new(error.kind(), message))
        })
    }

    /// The header for a new segment starting at `first_index`, with the next sequence number.
    fn new_header(&mut self, first_index: LogIndex) -> [u8; segment::HEADER_BYTES] {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        segment::header(first_index, sequence)
    }

    /// The segment the next batch of `batch_bytes` of records goes to, starting a new one
    /// (not yet written: its header goes out with the batch) if needed; returns whether it did.
    fn segment_for(&mut self, first_index: LogIndex, batch_bytes: u64) -> Result<bool, LogError> {
        let roll = match self.segments.last() {
            None => true,
            Some(last) => {
                !last.is_empty() && last.end + batch_bytes > self.options.segment_size_bytes
            }
        };
        if roll {
            let path = self.dir.join(segment::file_name(first_index));
            let created = self.fs.create(&path);
            let file = self.fail(format!("create {}", path.display()), created)?;
            self.segments.push(Segment {
                first_index,
                path,
                file,
                end: segment::HEADER_BYTES as u64,
            });
        }
        let last = self.segments.last().expect("a segment");
        assert!(
            !last.is_empty() || last.first_index == first_index,
            "empty segment {} would receive entry {first_index}",
            last.path.display()
        );
        Ok(roll)
    }

    /// Create the empty segment that starts at `first_index`, durably: the seal that keeps
    /// the open batch before it and supersedes everything after (see `segment.rs`).
    fn create_seal(&mut self, first_index: LogIndex) -> Result<Segment<FS::File>, LogError> {
        let path = self.dir.join(segment::file_name(first_index));
        let header = self.new_header(first_index);
        let created = self.fs.create(&path).and_then(|mut file| {
            file.write_at(0, &header)?;
            file.sync()?;
            self.fs.sync_dir(&self.dir)?;
            Ok(file)
        });
        let file = self.fail(format!("create {}", path.display()), created)?;
        Ok(Segment {
            first_index,
            path,
            file,
            end: segment::HEADER_BYTES as u64,
        })
    }

    /// Remove every segment but the first `kept`, newest first and each durably, so that a
    /// crash half-way leaves a prefix of the log.
    fn keep_segments(&mut self, kept: usize) -> Result<(), LogError> {
        while self.segments.len() > kept {
            let segment = self.segments.pop().expect("a segment to remove");
            let removed = self
                .fs
                .remove(&segment.path)
                .and_then(|()| self.fs.sync_dir(&self.dir));
            self.fail(format!("remove {}", segment.path.display()), removed)?;
        }
        Ok(())
    }

    /// Cut the last segment to `new_end` bytes, durably.
    fn cut_last_segment(&mut self, new_end: u64) -> Result<(), LogError> {
        let segment = self.segments.last_mut().expect("a segment to cut");
        let path = segment.path.display().to_string();
        let cut = segment
            .file
            .set_len(new_end)
            .and_then(|()| segment.file.sync());
        self.fail(format!("truncate {path} to {new_end} bytes"), cut)?;
        self.segments.last_mut().expect("a segment").end = new_end;
        Ok(())
    }

    /// Read and check the records of entries `low..high`, all in the segment at `position`.
    fn read_run(
        &self,
        position: usize,
        low: LogIndex,
        high: LogIndex,
    ) -> Result<Vec<Entry>, LogError> {
        let segment = &self.segments[position];
        let first = *self.location(low);
        let last = *self.location(high - 1);
        let mut bytes = vec![0; (last.offset + last.size - first.offset) as usize];
        segment.file.read_at(first.offset, &mut bytes)?;
        let mut entries = Vec::with_capacity((high - low) as usize);
        let mut at = 0usize;
        for index in low..high {
            let offset = first.offset + at as u64;
            let damaged = |reason: String| LogError::Corrupted {
                location: format!("{} at offset {offset}", segment.path.display()),
                reason,
            };
            match record::parse(&bytes[at..]) {
                Parsed::Record(Record { entry, size, .. }) if entry.index == index => {
                    at += size as usize;
                    entries.push(entry);
                }
                Parsed::Record(Record { entry, .. }) => {
                    return Err(damaged(format!(
                        "entry has index {}, expected {index}",
                        entry.index
                    )));
                }
                Parsed::Incomplete(reason) | Parsed::Damaged(reason) => {
                    return Err(damaged(reason));
                }
            }
        }
        Ok(entries)
    }

    /// Where the entry at `index` (held: `first_index()..=last_index()`) is.
    fn location(&self, index: LogIndex) -> &Location {
        assert!(
            index > self.base.index,
            "index {index} is compacted (the log starts after {})",
            self.base.index
        );
        &self.locations[(index - self.base.index - 1) as usize]
    }

    /// The position in `segments` of the segment holding `index`.
    fn segment_of(&self, index: LogIndex) -> usize {
        let position = self
            .segments
            .partition_point(|segment| segment.first_index <= index);
        assert!(position > 0, "index {index} is before the first segment");
        position - 1
    }
}

/// Create `dir` and any missing parents, making each new entry durable in its parent.
pub(crate) fn ensure_dir<FS: FileSystem>(fs: &FS, dir: &Path) -> io::Result<()> {
    let not_empty = |path: &&Path| !path.as_os_str().is_empty();
    let mut missing = Vec::new();
    for ancestor in dir.ancestors().filter(not_empty) {
        match fs.list(ancestor) {
            Ok(_) => break,
            Err(error) if error.kind() == io::ErrorKind::NotFound => missing.push(ancestor),
            Err(error) => return Err(error),
        }
    }
    let Some(top) = missing.last() else {
        return Ok(());
    };
    fs.create_dir_all(dir)?;
    if let Some(parent) = top.parent().filter(not_empty) {
        fs.sync_dir(parent)?;
    }
    for made in missing.iter().rev() {
        fs.sync_dir(made)?;
    }
    Ok(())
}

impl<FS: FileSystem> Log for FileLog<FS> {
    fn hard_state(&self) -> HardState {
        self.hard_state
    }

    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.check_healthy()?;
        let saved = hard_state::save(&self.fs, &self.dir, state);
        self.fail(format!("save hard state in {}", self.dir.display()), saved)?;
        self.hard_state = state;
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let started = tokio::time::Instant::now();
        self.check_healthy()?;
        check_batch(self.last_index(), entries)?;
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let Ok(last_position) = u32::try_from(entries.len() - 1) else {
            return Err(LogError::Contract(format!(
                "append: a batch of {} entries; a batch holds at most 2^32",
                entries.len()
            )));
        };
        // Room for a segment header, sent only if this batch starts a new segment, so that
        // the header and the batch go out in one write.
        let mut bytes = vec![0; segment::HEADER_BYTES];
        let mut sizes = Vec::with_capacity(entries.len());
        for (position, entry) in (0..=last_position).zip(entries) {
            let size =
                record::encode(entry, last_position - position, &mut bytes).ok_or_else(|| {
                    LogError::Contract(format!(
                        "append: entry {} is {} bytes; a record holds at most 4 GiB",
                        entry.index,
                        entry.size_bytes()
                    ))
                })?;
            sizes.push(size);
        }
        let records_bytes = (bytes.len() - segment::HEADER_BYTES) as u64;
        let new_segment = self.segment_for(first.index, records_bytes)?;
        if new_segment {
            let header = self.new_header(first.index);
            bytes[..segment::HEADER_BYTES].copy_from_slice(&header);
        }
        let segment = self
            .segments
            .last_mut()
            .expect("segment_for leaves a segment");
        let start = segment.end;
        let (write_at, data) = if new_segment {
            (0, &bytes[..])
        } else {
            (start, &bytes[segment::HEADER_BYTES..])
        };
        let path = segment.path.display().to_string();
        // tokio's clock: the simulation's own time under turmoil, never read by the log.
        let mut synced_at = None;
        let written = segment.file.write_at(write_at, data).and_then(|()| {
            let sync_started = tokio::time::Instant::now();
            let synced = segment.file.sync();
            synced_at = Some((sync_started, tokio::time::Instant::now()));
            synced
        });
        self.fail(format!("append to {path}"), written)?;
        if new_segment {
            let synced = self.fs.sync_dir(&self.dir);
            self.fail(format!("sync {}", self.dir.display()), synced)?;
        }
        let mut offset = start;
        for (entry, size) in entries.iter().zip(sizes) {
            self.locations.push(Location {
                term: entry.term,
                offset,
                size,
                closes_batch: entry.index == first.index + LogIndex::from(last_position),
            });
            offset += size;
        }
        self.segments.last_mut().expect("a segment").end = offset;
        if let Some((sync_started, synced)) = synced_at {
            self.timings.fsync.record(synced - sync_started);
        }
        self.timings.append.record(started.elapsed());
        Ok(())
    }

    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.check_healthy()?;
        check_truncate(self.first_index(), self.last_index(), from)?;
        if from > self.last_index() {
            return Ok(());
        }
        // Whether the log may simply end at `from - 1`: it closes its batch (or there is
        // none). Otherwise the kept part of its batch needs a segment starting at `from`,
        // also when that part lies below the compaction base (its records are still in the
        // first segment, and a later append must not follow an open batch).
        let closes_batch = if from == self.first_index() {
            self.base_closes_batch
        } else {
            self.location(from - 1).closes_batch
        };
        let holder = self.segment_of(from);
        if !closes_batch && self.segments[holder].first_index < from {
            // The seal comes first and is the truncation: it supersedes the rest of the batch
            // and every later segment; a crash after it leaves what recovery finishes.
            let seal = self.create_seal(from)?;
            self.keep_segments(holder + 1)?;
            self.cut_last_segment(self.location(from).offset)?;
            self.segments.push(seal);
        } else if !closes_batch {
            // `from` starts a segment: the seal of the open batch before it. Keep it, empty.
            self.keep_segments(holder + 1)?;
            self.cut_last_segment(segment::HEADER_BYTES as u64)?;
        } else if self.segments[holder].first_index == from {
            self.keep_segments(holder)?;
        } else {
            self.keep_segments(holder + 1)?;
            self.cut_last_segment(self.location(from).offset)?;
        }
        self.locations
            .truncate((from - self.first_index()) as usize);
        Ok(())
    }

    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.check_healthy()?;
        check_range(self.first_index(), self.last_index(), low, high)?;
        let mut entries = Vec::with_capacity((high - low) as usize);
        let mut index = low;
        while index < high {
            let position = self.segment_of(index);
            let run_end = match self.segments.get(position + 1) {
                Some(next) => next.first_index.min(high),
                None => high,
            };
            entries.extend(self.read_run(position, index, run_end)?);
            index = run_end;
        }
        Ok(entries)
    }

    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.check_healthy()?;
        if index == 0 {
            return Ok(Some(0));
        }
        if index == self.base.index {
            return Ok(Some(self.base.term));
        }
        if index < self.base.index {
            return Ok(None);
        }
        Ok(self
            .locations
            .get((index - self.base.index - 1) as usize)
            .map(|location| location.term))
    }

    fn first_index(&self) -> LogIndex {
        self.base.index + 1
    }

    fn last_index(&self) -> LogIndex {
        self.base.index + self.locations.len() as LogIndex
    }

    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.check_healthy()?;
        self.compact_through(Base { index, term })
    }
}

#[cfg(test)]
mod tests;
