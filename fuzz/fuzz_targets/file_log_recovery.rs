//! FileLog recovery over damaged segment and hard-state files (on an in-memory CrashFs):
//! refused with an error, or recovered to a prefix of what was written that ends where a batch
//! ended (never a part of a batch); never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rafty::testing::fuzz::file_log_recovery(data);
});
