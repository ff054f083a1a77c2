//! Length-prefixed frames: a big-endian `u32` length, then that many bytes of postcard.
//!
//! Decoding never panics and never allocates more than the configured maximum: a length above
//! it is [`FrameError::TooLarge`] before any buffer exists, and bytes that do not decode as the
//! expected type are [`FrameError::Malformed`].

use std::io;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use crate::tcp::envelope::{Envelope, ServerFrame};

/// The size of the length prefix, in bytes.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Why a frame could not be written, read or decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame's length is above the maximum; nothing was allocated for it.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The length announced (incoming) or needed (outgoing).
        len: u64,
        /// The configured maximum.
        max: u32,
    },
    /// The frame's bytes are not a valid message of the expected type.
    #[error("malformed frame of {len} bytes: {reason}")]
    Malformed {
        /// The frame's length.
        len: u32,
        /// What the decoder found wrong.
        reason: String,
    },
    /// The value could not be serialized (a bug in a `Serialize` implementation).
    #[error("cannot encode frame: {reason}")]
    Encode {
        /// The serializer's complaint.
        reason: String,
    },
    /// The stream ended cleanly between frames.
    #[error("connection closed")]
    Closed,
    /// The stream ended in the middle of a frame.
    #[error("connection closed in the middle of a frame ({read} of {expected} bytes read)")]
    Truncated {
        /// Bytes of the frame (prefix included) that arrived.
        read: usize,
        /// Bytes the frame needed (prefix included), when the prefix was complete.
        expected: usize,
    },
    /// The stream failed.
    #[error("i/o error ({kind:?}): {message}")]
    Io {
        /// The error's kind.
        kind: io::ErrorKind,
        /// The error's text.
        message: String,
    },
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> Self {
        FrameError::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// Serialize `value` into a complete frame (prefix included), refusing one whose body exceeds
/// `max_frame_bytes`.
pub fn encode_frame<T: Serialize>(value: &T, max_frame_bytes: u32) -> Result<Vec<u8>, FrameError> {
    let mut bytes = vec![0u8; LENGTH_PREFIX_BYTES];
    bytes = postcard::to_extend(value, bytes).map_err(|error| FrameError::Encode {
        reason: error.to_string(),
    })?;
    let len = (bytes.len() - LENGTH_PREFIX_BYTES) as u64;
    if len > u64::from(max_frame_bytes) {
        return Err(FrameError::TooLarge {
            len,
            max: max_frame_bytes,
        });
    }
    bytes[..LENGTH_PREFIX_BYTES].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(bytes)
}

/// Decode one frame body (without prefix) as a `T`; trailing bytes are malformed.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let len = body.len() as u32;
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|error| FrameError::Malformed {
            len,
            reason: error.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(FrameError::Malformed {
            len,
            reason: format!("{} trailing bytes after the message", rest.len()),
        });
    }
    Ok(value)
}

/// Decode the first frame of `buffer`: `Ok(None)` if it is not complete yet, otherwise the
/// value and the number of bytes it used (prefix included).
pub fn decode_frame<T: DeserializeOwned>(
    buffer: &[u8],
    max_frame_bytes: u32,
) -> Result<Option<(T, usize)>, FrameError> {
    let Some(prefix) = buffer.first_chunk::<LENGTH_PREFIX_BYTES>() else {
        return Ok(None);
    };
    let len = check_length(*prefix, max_frame_bytes)?;
    let end = LENGTH_PREFIX_BYTES + len;
    match buffer.get(LENGTH_PREFIX_BYTES..end) {
        None => Ok(None),
        Some(body) => Ok(Some((decode_body(body)?, end))),
    }
}

fn check_length(
    prefix: [u8; LENGTH_PREFIX_BYTES],
    max_frame_bytes: u32,
) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix);
    if len > max_frame_bytes {
        return Err(FrameError::TooLarge {
            len: u64::from(len),
            max: max_frame_bytes,
        });
    }
    Ok(len as usize)
}

/// Read one frame from `reader` and decode it as a `T`. Cancel-safe only between frames: drop
/// the stream if a read is abandoned midway.
pub async fn read_frame<T, R>(reader: &mut R, max_frame_bytes: u32) -> Result<T, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin + ?Sized,
{
    let frame = read_frame_within(reader, max_frame_bytes, None).await?;
    Ok(frame.expect("without an idle limit no read gives up"))
}

/// Read one frame like [`read_frame`], giving up when the stream goes quiet for `idle`: no
/// byte of a next frame within `idle` is `Ok(None)` (an idle connection), and a frame that has
/// begun but brings no byte for `idle` is [`FrameError::Io`] of kind `TimedOut` (a stream
/// stalled in the middle of a frame). The limit is on silence, not on the frame: a large frame
/// that keeps arriving, however slowly, is read whole. The stream is unusable after either.
pub async fn read_frame_or_idle<T, R>(
    reader: &mut R,
    max_frame_bytes: u32,
    idle: Duration,
) -> Result<Option<T>, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin + ?Sized,
{
    read_frame_within(reader, max_frame_bytes, Some(idle)).await
}

/// One read into `buffer`, or `None` if `idle` (when given) passes first.
async fn read_some<R>(
    reader: &mut R,
    buffer: &mut [u8],
    idle: Option<Duration>,
) -> io::Result<Option<usize>>
where
    R: AsyncRead + Unpin + ?Sized,
{
    match idle {
        None => reader.read(buffer).await.map(Some),
        Some(idle) => match tokio::time::timeout(idle, reader.read(buffer)).await {
            Ok(read) => read.map(Some),
            Err(_elapsed) => Ok(None),
        },
    }
}

async fn read_frame_within<T, R>(
    reader: &mut R,
    max_frame_bytes: u32,
    idle: Option<Duration>,
) -> Result<Option<T>, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin + ?Sized,
{
    let stalled = |read: usize, expected: usize, idle: Duration| FrameError::Io {
        kind: io::ErrorKind::TimedOut,
        message: format!(
            "no byte for {idle:?} in the middle of a frame ({read} of {expected} bytes read)"
        ),
    };
    let mut prefix = [0u8; LENGTH_PREFIX_BYTES];
    let mut filled = 0;
    while filled < LENGTH_PREFIX_BYTES {
        match read_some(reader, &mut prefix[filled..], idle).await? {
            None if filled == 0 => return Ok(None),
            None => return Err(stalled(filled, 0, idle.unwrap_or_default())),
            Some(0) if filled == 0 => return Err(FrameError::Closed),
            Some(0) => {
                return Err(FrameError::Truncated {
                    read: filled,
                    expected: 0,
                });
            }
            Some(n) => filled += n,
        }
    }
    let len = check_length(prefix, max_frame_bytes)?;
    let expected = LENGTH_PREFIX_BYTES + len;
    let mut body = vec![0u8; len];
    let mut read = 0;
    while read < len {
        match read_some(reader, &mut body[read..], idle).await? {
            None => {
                let idle = idle.unwrap_or_default();
                return Err(stalled(LENGTH_PREFIX_BYTES + read, expected, idle));
            }
            Some(0) => {
                return Err(FrameError::Truncated {
                    read: LENGTH_PREFIX_BYTES + read,
                    expected,
                });
            }
            Some(n) => read += n,
        }
    }
    decode_body(&body).map(Some)
}

/// Write a frame made by [`encode_frame`] and flush it.
pub async fn write_frame<W>(writer: &mut W, frame: &[u8]) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tcp::handshake::Hello;
    use crate::tcp::raft::RaftRequest;

    const MAX: u32 = 1024;

    #[test]
    fn a_frame_round_trips() {
        let value = (7u64, String::from("seven"));
        let frame = encode_frame(&value, MAX).unwrap();
        assert_eq!(
            decode_frame::<(u64, String)>(&frame, MAX),
            Ok(Some((value, frame.len())))
        );
    }

    #[test]
    fn an_incomplete_frame_needs_more_bytes() {
        let frame = encode_frame(&String::from("hello"), MAX).unwrap();
        for cut in 0..frame.len() {
            assert_eq!(
                decode_frame::<String>(&frame[..cut], MAX),
                Ok(None),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_oversize_length_is_rejected_before_reading_the_body() {
        let prefix = u32::MAX.to_be_bytes();
        assert_eq!(
            decode_frame::<String>(&prefix, MAX),
            Err(FrameError::TooLarge {
                len: u64::from(u32::MAX),
                max: MAX
            })
        );
    }

    #[test]
    fn an_oversize_value_is_not_encoded() {
        let error = encode_frame(&vec![0u8; 2000], MAX).unwrap_err();
        assert!(
            matches!(error, FrameError::TooLarge { max: MAX, .. }),
            "{error}"
        );
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        let mut frame = encode_frame(&1u8, MAX).unwrap();
        frame.push(9);
        frame[3] = 2;
        let error = decode_frame::<u8>(&frame, MAX).unwrap_err();
        assert_eq!(
            error,
            FrameError::Malformed {
                len: 2,
                reason: "1 trailing bytes after the message".into()
            }
        );
    }

    #[tokio::test]
    async fn reading_an_empty_stream_is_closed_and_a_cut_frame_is_truncated() {
        let mut empty: &[u8] = &[];
        assert_eq!(
            read_frame::<u8, _>(&mut empty, MAX).await,
            Err(FrameError::Closed)
        );
        let frame = encode_frame(&String::from("abc"), MAX).unwrap();
        let mut cut: &[u8] = &frame[..frame.len() - 1];
        assert_eq!(
            read_frame::<String, _>(&mut cut, MAX).await,
            Err(FrameError::Truncated {
                read: frame.len() - 1,
                expected: frame.len()
            })
        );
    }

    /// Writes `frame` into a pipe `piece` bytes at a time, `pause` apart.
    fn trickle(frame: Vec<u8>, piece: usize, pause: Duration) -> tokio::io::DuplexStream {
        let (near, mut far) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            for bytes in frame.chunks(piece) {
                tokio::time::sleep(pause).await;
                if far.write_all(bytes).await.is_err() {
                    return;
                }
            }
            // Keep the pipe open: silence, not an end.
            std::future::pending::<()>().await;
        });
        near
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_that_keeps_arriving_is_read_whole_however_long_it_takes() {
        let text: String = (0..200)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let frame = encode_frame(&text, MAX).unwrap();
        // One byte every 2 s: the frame takes over 400 s, far past the 30 s idle limit.
        let mut stream = trickle(frame, 1, Duration::from_secs(2));
        let read = read_frame_or_idle::<String, _>(&mut stream, MAX, Duration::from_secs(30));
        assert_eq!(read.await, Ok(Some(text)));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_before_a_frame_is_idle_and_silence_inside_one_is_a_stall() {
        let idle = Duration::from_secs(30);
        let (mut quiet, _keep) = tokio::io::duplex(64);
        let read = read_frame_or_idle::<String, _>(&mut quiet, MAX, idle).await;
        assert_eq!(read, Ok(None));
        // A prefix announcing 100 bytes, 10 of them, then nothing.
        let mut cut = 100u32.to_be_bytes().to_vec();
        cut.extend([7; 10]);
        let (mut stalled, mut far) = tokio::io::duplex(256);
        far.write_all(&cut).await.unwrap();
        let error = read_frame_or_idle::<String, _>(&mut stalled, MAX, idle)
            .await
            .unwrap_err();
        let FrameError::Io { kind, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*kind, io::ErrorKind::TimedOut);
        assert!(message.contains("14 of 104 bytes"), "{message}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_frame::<Envelope<RaftRequest>>(&bytes, MAX);
            let _ = decode_frame::<Hello>(&bytes, MAX);
            let _ = decode_body::<Envelope<RaftRequest>>(&bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let mut reader: &[u8] = &bytes;
                while read_frame::<Envelope<RaftRequest>, _>(&mut reader, MAX).await.is_ok() {}
            });
        }

        #[test]
        fn arbitrary_frames_after_a_valid_prefix_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            let result = decode_frame::<Envelope<RaftRequest>>(&frame, MAX);
            prop_assert!(!matches!(result, Ok(None)), "a complete frame is decoded or refused");
        }

        #[test]
        fn any_string_round_trips(text in ".{0,200}") {
            let frame = encode_frame(&text, MAX).unwrap();
            prop_assert_eq!(decode_frame::<String>(&frame, MAX), Ok(Some((text, frame.len()))));
        }
    }
}
