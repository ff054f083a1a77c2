//! The power cut of a `rafty node --lazy-fs` process: SIGUSR1 runs a signal handler that cuts
//! every file of the node's `LazyFs` back to its length at its last sync ([`cut_to_synced`],
//! from [`LazyFs::synced_lengths`]), writes one line to stderr, the bytes of unsynced writes
//! it loses (the count [`LazyFs::unsynced_bytes`] keeps) and how many of them it cut from the
//! files, and ends the process at once with `_exit(POWER_CUT_EXIT_CODE)`: no destructor runs,
//! nothing more reaches the disk, and the unsynced writes, which live in the process's memory
//! or were written into a file and not yet synced, are gone.
//!
//! The handler runs wherever the process was when the signal came, in the middle of an append
//! between its write and its fsync included, which is where a power cut hurts. (A handler in
//! the node's event loop would only ever run between two appends, where nothing is unsynced:
//! every cut would lose nothing.) A sync hands a batch to the kernel before its fsync: a cut
//! then finds the batch in the file, and cuts it off, as a real power cut may lose it. (A
//! thread still writing while the handler runs may put bytes back before `_exit`: some of a
//! batch surviving is also what a real cut may leave.) It does only what is async-signal-safe:
//! atomic loads, `fstat`, `ftruncate`, `clock_gettime`, `write`, `_exit`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
use rafty::NodeId;
use rafty::file_log::fs::{FileSystem, LazyFs, SyncedLengths};

use super::node::{POWER_CUT_EXIT_CODE, POWER_CUT_SIGNAL};

/// The node the line names.
static NODE: AtomicU64 = AtomicU64::new(0);
/// The unsynced bytes of the node's `LazyFs`, once it is open.
static UNSYNCED: OnceLock<Arc<AtomicU64>> = OnceLock::new();
/// The synced length of each open file of the node's `LazyFs`, once it is open.
static SYNCED: OnceLock<Arc<SyncedLengths>> = OnceLock::new();

/// Make [`POWER_CUT_SIGNAL`] cut this process's power (node `id`), from now on.
pub fn install(id: NodeId) -> std::io::Result<()> {
    NODE.store(id, Ordering::Relaxed);
    let handler = SigHandler::Handler(on_power_cut);
    let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only reads atomics and calls async-signal-safe functions.
    unsafe { sigaction(POWER_CUT_SIGNAL, &action) }.map_err(std::io::Error::from)?;
    Ok(())
}

/// The node's `LazyFs`, once open: the power cut reports its unsynced bytes and cuts its
/// files back to their synced lengths.
pub fn report<F: FileSystem>(fs: &LazyFs<F>) {
    let _ = UNSYNCED.set(fs.unsynced_bytes());
    let _ = SYNCED.set(fs.synced_lengths());
}

/// Cut every file in `lengths` that is longer than its synced length back to it; how many
/// files and bytes were cut. Async-signal-safe (atomic loads, `fstat`, `ftruncate`): the power
/// cut's handler calls it, and a test may.
pub fn cut_to_synced(lengths: &SyncedLengths) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    lengths.for_each(|fd, synced| {
        // SAFETY: a zeroed `stat` is a valid value for fstat to overwrite.
        let mut status: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat and ftruncate are async-signal-safe and touch only `status` and the
        // file; a descriptor closed meanwhile fails them harmlessly.
        unsafe {
            if libc::fstat(fd, &mut status) != 0 {
                return;
            }
            let size = status.st_size.max(0) as u64;
            if size > synced && libc::ftruncate(fd, synced as libc::off_t) == 0 {
                files += 1;
                bytes += size - synced;
            }
        }
    });
    (files, bytes)
}

extern "C" fn on_power_cut(_: libc::c_int) {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime is async-signal-safe and writes `now` only.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let mut line = Line {
        bytes: [0; 256],
        len: 0,
    };
    line.digits(now.tv_sec as u64, 1);
    line.text(b".");
    line.digits(now.tv_nsec as u64 / 1000, 6);
    line.text(b" n");
    line.digits(NODE.load(Ordering::Relaxed), 1);
    line.text(b" power cut (SIGUSR1): ");
    let lost = UNSYNCED
        .get()
        .map_or(0, |count| count.load(Ordering::Relaxed));
    let (files, cut) = SYNCED
        .get()
        .map_or((0, 0), |lengths| cut_to_synced(lengths));
    line.digits(lost, 1);
    line.text(b" unsynced bytes lost (");
    line.digits(cut, 1);
    line.text(b" bytes cut from ");
    line.digits(files, 1);
    line.text(b" files back to their synced length)\n");
    // SAFETY: write and _exit are async-signal-safe; the buffer outlives the call.
    unsafe {
        libc::write(2, line.bytes.as_ptr().cast(), line.len);
        libc::_exit(POWER_CUT_EXIT_CODE);
    }
}

/// A line built without allocating.
struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Line {
    fn text(&mut self, text: &[u8]) {
        for &byte in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = byte;
                self.len += 1;
            }
        }
    }

    /// `number` in decimal, zero-padded to `width` digits.
    fn digits(&mut self, mut number: u64, width: usize) {
        let mut reversed = [b'0'; 20];
        let mut count = 0;
        while number > 0 || count < width.clamp(1, 20) {
            reversed[count] = b'0' + (number % 10) as u8;
            number /= 10;
            count += 1;
        }
        for index in (0..count).rev() {
            self.text(&[reversed[index]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_built_in_decimal_with_padding() {
        let mut line = Line {
            bytes: [0; 256],
            len: 0,
        };
        line.digits(1_796_653_377, 1);
        line.text(b".");
        line.digits(42, 6);
        line.text(b" ");
        line.digits(0, 1);
        line.text(b" ");
        line.digits(u64::MAX, 1);
        let text = std::str::from_utf8(&line.bytes[..line.len]).unwrap();
        assert_eq!(text, "1796653377.000042 0 18446744073709551615");
    }
}
