//! Log compaction (Raft §7) for [`FileLog`]: the base file first, then whole segments go.
//!
//! [`Log::compact`](crate::Log::compact)`(index, term)` writes the new base (`base.rs`)
//! durably *before* it removes anything, so the base is the compaction: everything after is
//! cleanup that [`FileLog::open_with`] repeats if a crash interrupted it. Which entries stay
//! follows from the disk alone, the same way both times:
//!
//! * the log holds an entry at `index` with term `term`: the entries after it stay; segments
//!   that hold only entries at or below `index` are removed, oldest first, the directory
//!   synced after each (so a crash never leaves a gap); a segment partly covered stays
//!   whole on disk, its records below the base unread;
//! * otherwise (the log is shorter, or its entry at `index` has another term: a follower
//!   installing a leader's snapshot) every entry goes: every segment is removed, *newest
//!   first*, each durably, so a crash leaves a prefix of the old segments, which still fails
//!   the term check at `index` (or is still too short) and is removed by the open that follows.

use super::FileLog;
use super::base::{self, Base};
use super::fs::FileSystem;
use crate::log::{Log, LogError};

impl<FS: FileSystem> FileLog<FS> {
    /// Compact the log through `new` (see the [module documentation](self)).
    pub(super) fn compact_through(&mut self, new: Base) -> Result<(), LogError> {
        if new.index <= self.base.index {
            if new.index == self.base.index && new.index > 0 && new.term != self.base.term {
                return Err(LogError::Contract(format!(
                    "compact: index {} was compacted with term {}, now asked with term {}",
                    new.index, self.base.term, new.term
                )));
            }
            return Ok(()); // already compacted
        }
        let keeps_suffix = self.term(new.index)? == Some(new.term);
        let saved = base::save(&self.fs, &self.dir, new);
        self.fail(
            format!("save the compaction base in {}", self.dir.display()),
            saved,
        )?;
        self.apply_base(new, keeps_suffix)
    }

    /// At open: the base file says `on_disk`; the segments recovered start at
    /// `first_index()` (at most `on_disk.index + 1`, `segment::recover` checked). Finish a
    /// compaction a crash interrupted, exactly as `compact` would have.
    pub(super) fn settle_base(&mut self, on_disk: Base) -> Result<(), LogError> {
        if on_disk.index < self.first_index() {
            // No compaction (index 0), or the segments start right after the base.
            self.base = on_disk;
            return Ok(());
        }
        let keeps_suffix =
            on_disk.index <= self.last_index() && self.location(on_disk.index).term == on_disk.term;
        let covered = self
            .segments
            .first()
            .is_some_and(|first| self.segment_end(0) <= on_disk.index && !first.is_empty());
        if covered || !keeps_suffix {
            tracing::warn!(dir = %self.dir.display(), index = on_disk.index, keeps_suffix,
                "finishing a compaction a crash interrupted");
        }
        self.apply_base(on_disk, keeps_suffix)
    }

    /// The last index the segment at `position` holds (its first index - 1 when empty).
    fn segment_end(&self, position: usize) -> u64 {
        match self.segments.get(position + 1) {
            Some(next) => next.first_index - 1,
            None => self.last_index(),
        }
    }

    /// Drop the entries through `new.index` from memory and their segments from disk; the
    /// base is durable already.
    fn apply_base(&mut self, new: Base, keeps_suffix: bool) -> Result<(), LogError> {
        if !keeps_suffix {
            self.keep_segments(0)?;
            self.locations.clear();
            self.base = new;
            self.base_closes_batch = true;
            return Ok(());
        }
        while let Some(first) = self.segments.first() {
            if first.is_empty() || self.segment_end(0) > new.index {
                break;
            }
            let path = first.path.clone();
            let removed = self
                .fs
                .remove(&path)
                .and_then(|()| self.fs.sync_dir(&self.dir));
            self.fail(format!("remove {}", path.display()), removed)?;
            self.segments.remove(0);
        }
        let holds_base = self
            .segments
            .first()
            .is_some_and(|first| first.first_index <= new.index);
        self.base_closes_batch = !holds_base || self.location(new.index).closes_batch;
        self.locations
            .drain(..(new.index - self.base.index) as usize);
        self.base = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
