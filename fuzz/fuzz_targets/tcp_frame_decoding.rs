//! rafty::tcp's frame decoder over arbitrary bytes: a value, "need more" or a typed error;
//! never a panic, never an allocation past the frame limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rafty::testing::fuzz::tcp_frame_decoding(data);
});
