//! Properties over arbitrary bytes, shared by the cargo-fuzz targets (in `fuzz/`) and the
//! proptests that run them in every `cargo test`. Each panics when its property fails, which
//! is how a fuzzer notices.
//!
//! * [`file_log_recovery`]: a [`FileLog`] whose files were damaged in arbitrary ways either
//!   refuses to open with an error, or opens holding a prefix of what was written that ends
//!   where a batch ended (a batch is all-or-nothing: damage never leaves a part of one), and
//!   the hard state written or none; it reads it back and takes new writes. Never a panic,
//!   never a wrong entry. The log written first has several segments, and a truncation into
//!   the middle of a batch (so a seal segment) when it is long enough.
//! * [`tcp_frame_decoding`]: the TCP frame decoder, given arbitrary bytes, returns a value, a
//!   "need more bytes" or a typed error; never panics, never allocates past the frame limit,
//!   and what it decodes encodes back to the same frame. It decodes the transport's own types,
//!   so every variant of `RaftRequest`/`RaftResponse` is covered (InstallSnapshot included).

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::file_log::fs::FileSystem;
use crate::file_log::{FileLog, FileLogOptions};
use crate::log::{Log, LogError};
use crate::tcp::frame::{
    Envelope, FrameError, ServerFrame, decode_frame, encode_frame, read_frame,
};
use crate::tcp::{Hello, HelloReply, RaftRequest, RaftResponse};
use crate::testing::CrashFs;
use crate::types::{Entry, HardState, Payload};

const DIR: &str = "/log";
/// The frame limit the decoder is fuzzed with: small, so that oversize frames are common.
const MAX_FRAME_BYTES: u32 = 64 << 10;

fn options() -> FileLogOptions {
    FileLogOptions {
        segment_size_bytes: 300,
    }
}

fn entry(index: u64) -> Entry {
    Entry {
        term: 1 + index / 4,
        index,
        payload: match index % 5 {
            0 => Payload::Noop,
            n => Payload::Command(vec![index as u8; 10 * n as usize]),
        },
    }
}

const WRITTEN_STATE: HardState = HardState {
    current_term: 3,
    voted_for: Some(2),
};

/// What [`write_valid_log`] wrote.
struct Written {
    /// The entries the log holds.
    entries: Vec<Entry>,
    /// The lengths the log may be recovered to: where a batch ended, or a truncation did.
    batch_ends: Vec<u64>,
}

/// Write a valid log on `fs`: `count` entries in batches of 3 (several segments); from 6
/// entries on, a truncation into the middle of the last full batch and a new batch of 2;
/// and a hard state.
fn write_valid_log(fs: &CrashFs, count: u64) -> Written {
    let mut log =
        FileLog::open_with(fs.clone(), Path::new(DIR), options()).expect("a fresh log opens");
    let mut written = Written {
        entries: (1..=count).map(entry).collect(),
        batch_ends: vec![0],
    };
    for batch in written.entries.chunks(3) {
        log.append(batch).expect("an append on a healthy disk");
        written.batch_ends.push(batch[batch.len() - 1].index);
    }
    if count >= 6 {
        let from = 3 * (count / 3 - 1) + 2;
        log.truncate(from).expect("a truncation on a healthy disk");
        let batch: Vec<Entry> = (from..from + 2)
            .map(|index| Entry {
                term: 9,
                ..entry(index)
            })
            .collect();
        log.append(&batch).expect("an append on a healthy disk");
        written.entries.truncate(from as usize - 1);
        written.entries.extend(batch);
        written.batch_ends.retain(|&end| end < from);
        written.batch_ends.extend([from - 1, from + 1]);
    }
    log.save_hard_state(WRITTEN_STATE)
        .expect("a save on a healthy disk");
    written
}

/// Damage the files on `fs` as `script` says: 4 bytes per change (what, which file, where).
fn damage(fs: &CrashFs, script: &[u8]) {
    for change in script.chunks_exact(4) {
        let files = fs.files();
        if files.is_empty() {
            return;
        }
        let path = &files[change[1] as usize % files.len()];
        let Ok(mut bytes) = fs.contents(path) else {
            continue;
        };
        let at = usize::from(u16::from_le_bytes([change[2], change[3]]));
        match change[0] % 5 {
            0 if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= 1 << (change[3] % 8);
            }
            1 => bytes.truncate(at % (bytes.len() + 1)),
            2 => bytes.extend(std::iter::repeat_n(change[3], at % 24 + 1)),
            3 => {
                let removed = fs.remove(path).and_then(|()| fs.sync_dir(Path::new(DIR)));
                if removed.is_ok() {
                    continue;
                }
            }
            _ if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = 0;
            }
            _ => {}
        }
        fs.put_durable(path, &bytes).expect("planting a file");
    }
}

/// How [`file_log_recovery`] ended, for tests that check the inputs reach both outcomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The log refused to open, with this error.
    Refused(String),
    /// The log opened with `kept` of the `written` entries.
    Recovered {
        /// Entries recovered.
        kept: u64,
        /// Entries written before the damage.
        written: u64,
    },
}

/// Recovery of a `FileLog` from damaged files: see the [module documentation](self).
///
/// `data[0]` sets how many entries are written first; the rest is a damage script.
///
/// # Panics
///
/// When the property fails: a panic inside `FileLog`, a wrong entry served, a part of a batch
/// recovered, an error on a log that opened, or a recovered log that refuses new writes.
pub fn file_log_recovery(data: &[u8]) -> Recovery {
    let Some((&count, script)) = data.split_first() else {
        return Recovery::Recovered {
            kept: 0,
            written: 0,
        };
    };
    let fs = CrashFs::new(u64::from(count));
    let written = write_valid_log(&fs, u64::from(count % 24));
    let Written {
        entries: written,
        batch_ends,
    } = written;
    damage(&fs, script);
    fs.crash();
    let mut log = match FileLog::open_with(fs.clone(), Path::new(DIR), options()) {
        Ok(log) => log,
        Err(error @ (LogError::Corrupted { .. } | LogError::Io(_))) => {
            return Recovery::Refused(error.to_string());
        }
        Err(error) => panic!("open failed with a contract error: {error}"),
    };
    let last = log.last_index();
    let read = log
        .entries(1, last + 1)
        .unwrap_or_else(|error| panic!("a recovered log failed to read 1..={last}: {error}"));
    assert!(
        written.starts_with(&read),
        "recovered entries 1..={last} are not a prefix of those written"
    );
    assert!(
        batch_ends.contains(&last),
        "recovered entries 1..={last}: a part of a batch (batches ended at {batch_ends:?})"
    );
    for entry in &read {
        assert_eq!(log.term(entry.index).ok(), Some(Some(entry.term)));
    }
    let state = log.hard_state();
    assert!(
        state == WRITTEN_STATE || state == HardState::default(),
        "recovered hard state {state:?} was never written"
    );
    let next = Entry {
        term: 9,
        index: last + 1,
        payload: Payload::Command(b"after recovery".to_vec()),
    };
    log.append(std::slice::from_ref(&next))
        .unwrap_or_else(|error| panic!("a recovered log refused an append: {error}"));
    drop(log);
    let log = FileLog::open_with(fs, Path::new(DIR), options())
        .unwrap_or_else(|error| panic!("reopening a recovered log failed: {error}"));
    assert_eq!(log.last_index(), last + 1);
    assert_eq!(log.entries(last + 1, last + 2).ok(), Some(vec![next]));
    Recovery::Recovered {
        kept: last,
        written: written.len() as u64,
    }
}

/// Poll `future` once: decoding from an in-memory slice never waits.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("reading a frame from a slice waited"),
    }
}

/// Decode `data` as one frame of `T` every way the transport does, and check the results
/// agree and re-encode.
fn decode_as<T>(data: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let decoded = decode_frame::<T>(data, MAX_FRAME_BYTES);
    if let Err(FrameError::TooLarge { len, max }) = &decoded {
        assert!(
            *len > u64::from(*max),
            "TooLarge for a frame within the limit"
        );
    }
    let mut reader = data;
    let streamed = poll_once(read_frame::<T, _>(&mut reader, MAX_FRAME_BYTES));
    if let Ok(Some((value, used))) = decoded {
        assert!(
            used <= data.len() && used >= 4,
            "used {used} of {} bytes",
            data.len()
        );
        let encoded = encode_frame(&value, MAX_FRAME_BYTES).expect("a decoded value encodes");
        let again = decode_frame::<T>(&encoded, MAX_FRAME_BYTES)
            .expect("a re-encoded frame decodes")
            .expect("a re-encoded frame is whole");
        assert_eq!(again.0, value, "decode(encode(value)) differs");
        assert_eq!(
            streamed.ok(),
            Some(value),
            "read_frame and decode_frame disagree"
        );
    }
}

/// The TCP frame decoder over arbitrary bytes: see the [module documentation](self).
///
/// # Panics
///
/// When the property fails: a panic in the decoder, an oversize frame not refused, a value
/// that does not re-encode to itself, or the two decoders disagreeing.
pub fn tcp_frame_decoding(data: &[u8]) {
    decode_as::<Hello>(data);
    decode_as::<HelloReply>(data);
    decode_as::<Envelope<RaftRequest>>(data);
    decode_as::<ServerFrame<RaftResponse>>(data);
    // As a connection reads it: the bytes arriving in pieces, frames taken off the front.
    let mut buffer = Vec::new();
    for piece in data.chunks(7) {
        buffer.extend_from_slice(piece);
        loop {
            match decode_frame::<Envelope<RaftRequest>>(&buffer, MAX_FRAME_BYTES) {
                Ok(Some((_, used))) => {
                    buffer.drain(..used);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}
