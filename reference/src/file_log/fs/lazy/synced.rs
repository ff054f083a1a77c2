//! [`SyncedLengths`]: the length each open file of a [`LazyFs`](super::LazyFs) had at its last
//! sync, by file descriptor, in a fixed table of atomics, so that a power cut's signal handler
//! (which must neither allocate nor lock) can cut every file back to what it had synced.
//!
//! Why it is needed: a sync first writes the file's pending changes into the operating
//! system's page cache, then fsyncs. A process killed between the two leaves those writes to
//! the kernel, which keeps them: the batch being synced survives a cut that a real power
//! failure may well have lost. Cutting each file back to its synced length loses it, as the
//! disk may.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// How many open files one [`SyncedLengths`] tracks at once; a file opened beyond them is
/// counted ([`SyncedLengths::untracked`]) and never cut back.
pub const SYNCED_LENGTH_SLOTS: usize = 256;

/// A slot's descriptor when no file holds it.
const FREE: i32 = -1;
/// A slot's descriptor while a file is being entered in it.
const CLAIMING: i32 = -2;

/// One open file: its descriptor (or [`FREE`]) and its length at its last sync.
#[derive(Debug)]
struct Slot {
    fd: AtomicI32,
    synced: AtomicU64,
}

/// The synced length of each open file, by descriptor (see the module's doc). Only atomics:
/// [`SyncedLengths::for_each`] may run in a signal handler.
#[derive(Debug)]
pub struct SyncedLengths {
    slots: [Slot; SYNCED_LENGTH_SLOTS],
    untracked: AtomicU64,
}

impl Default for SyncedLengths {
    fn default() -> Self {
        SyncedLengths {
            slots: std::array::from_fn(|_| Slot {
                fd: AtomicI32::new(FREE),
                synced: AtomicU64::new(0),
            }),
            untracked: AtomicU64::new(0),
        }
    }
}

impl SyncedLengths {
    /// Enter the file `fd`, `synced` bytes long on the disk; its slot, or `None` (counted) when
    /// every slot is taken.
    pub(super) fn claim(&self, fd: RawFd, synced: u64) -> Option<usize> {
        for (index, slot) in self.slots.iter().enumerate() {
            let claimed =
                slot.fd
                    .compare_exchange(FREE, CLAIMING, Ordering::AcqRel, Ordering::Relaxed);
            if claimed.is_ok() {
                slot.synced.store(synced, Ordering::Release);
                slot.fd.store(fd, Ordering::Release);
                return Some(index);
            }
        }
        self.untracked.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// The file in slot `index` is `synced` bytes long on the disk, durably.
    pub(super) fn set(&self, index: usize, synced: u64) {
        self.slots[index].synced.store(synced, Ordering::Release);
    }

    /// The file in slot `index` is being closed: forget it before its descriptor is.
    pub(super) fn release(&self, index: usize) {
        self.slots[index].fd.store(FREE, Ordering::Release);
    }

    /// Call `each` with the descriptor and synced length of every open file. Only atomic
    /// loads: async-signal-safe, for a power cut's handler (which then `ftruncate`s each file
    /// longer than its synced length). A file closed while this runs may be seen with its old
    /// descriptor.
    pub fn for_each(&self, mut each: impl FnMut(RawFd, u64)) {
        for slot in &self.slots {
            let fd = slot.fd.load(Ordering::Acquire);
            if fd >= 0 {
                each(fd, slot.synced.load(Ordering::Acquire));
            }
        }
    }

    /// How many files were opened while every slot was taken (never cut back).
    pub fn untracked(&self) -> u64 {
        self.untracked.load(Ordering::Relaxed)
    }
}
