//! Writing frames without a hop to another task: [`FrameWriter::send`] hands a frame to the
//! stream at once, in the caller's task, when the stream takes it without waiting (the usual
//! case on a socket with room in its send buffer); only what the stream does not take at once
//! is queued for the flusher task, which writes it in order. A request therefore reaches the
//! kernel from the task that made it: no channel, no wake-up of a writer task (which on a
//! multi-thread runtime is often a wake-up of another thread).
//!
//! `send` never waits and is all-or-nothing per frame (written, or written in part and the rest
//! queued), so no caller can leave half a frame behind by giving up. Once a write fails, or the
//! flusher's write stalls past its deadline, every later `send` fails.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

type BoxedWrite = Pin<Box<dyn AsyncWrite + Send>>;

struct State<H> {
    /// The stream; `None` while the flusher writes queued bytes outside the lock.
    stream: Option<BoxedWrite>,
    /// Bytes accepted but not yet handed to the stream, in order.
    queued: Vec<u8>,
    /// The stream took bytes but its flush is still pending.
    needs_flush: bool,
    /// Released once everything queued before them is written (the server's in-flight slots).
    held: Vec<H>,
    /// Why writing failed; once set, every send fails.
    failed: Option<String>,
    /// No more frames will come: the flusher ends once the queue is written.
    finishing: bool,
}

struct Shared<H> {
    state: Mutex<State<H>>,
    /// Wakes the flusher: something was queued, writing failed or finished, or (on drop) every
    /// handle is gone.
    work: Arc<Notify>,
}

impl<H> Drop for Shared<H> {
    fn drop(&mut self) {
        // The last handle is gone (a server task aborted mid-connection): the stream is
        // dropped with the state, and the flusher, which holds only a weak reference, ends.
        self.work.notify_one();
    }
}

impl<H> Shared<H> {
    fn lock(&self) -> MutexGuard<'_, State<H>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why [`FrameWriter::send`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendError {
    /// Why writing failed.
    pub(crate) reason: String,
    /// True if some of the frame (perhaps all of it) was handed to the stream before the
    /// failure, so the peer may have received it; false if none of it was.
    pub(crate) wrote_some: bool,
}

/// The writing half of a connection (see the module). Clones share it.
pub(crate) struct FrameWriter<H> {
    shared: Arc<Shared<H>>,
}

impl<H> Clone for FrameWriter<H> {
    fn clone(&self) -> Self {
        FrameWriter {
            shared: self.shared.clone(),
        }
    }
}

impl<H: Send + 'static> FrameWriter<H> {
    /// A writer on `stream`, and its flusher, a future to spawn: it writes what
    /// [`Self::send`] queued and ends, with the reason, when a write fails or takes longer than
    /// `stall_timeout` (if any), or once [`Self::finish`] was called and the queue is written.
    pub(crate) fn new<W: AsyncWrite + Send + 'static>(
        stream: W,
        stall_timeout: Option<Duration>,
    ) -> (
        FrameWriter<H>,
        impl Future<Output = String> + Send + 'static,
    ) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                stream: Some(Box::pin(stream)),
                queued: Vec::new(),
                needs_flush: false,
                held: Vec::new(),
                failed: None,
                finishing: false,
            }),
            work: Arc::new(Notify::new()),
        });
        let flusher = flush_loop(Arc::downgrade(&shared), shared.work.clone(), stall_timeout);
        (FrameWriter { shared }, flusher)
    }

    /// Write `frame` now, as far as the stream takes it without waiting, and queue the rest
    /// for the flusher; `hold` is dropped once the whole frame is written. Never waits. Fails
    /// if writing already failed or fails now, saying whether any of `frame` reached the
    /// stream before it failed.
    pub(crate) fn send(&self, frame: &[u8], hold: Option<H>) -> Result<(), SendError> {
        let mut state = self.shared.lock();
        if let Some(reason) = &state.failed {
            return Err(SendError {
                reason: reason.clone(),
                wrote_some: false,
            });
        }
        let mut written = 0;
        if state.queued.is_empty()
            && !state.needs_flush
            && let Some(stream) = state.stream.as_mut()
        {
            match write_now(stream.as_mut(), frame, &mut written) {
                Ok(flushed) => {
                    if written == frame.len() && flushed {
                        return Ok(());
                    }
                    state.needs_flush = written == frame.len();
                }
                Err(error) => {
                    let reason = format!("write failed: {error}");
                    state.failed = Some(reason.clone());
                    drop(state);
                    self.shared.work.notify_one();
                    return Err(SendError {
                        reason,
                        wrote_some: written > 0,
                    });
                }
            }
        }
        state.queued.extend_from_slice(&frame[written..]);
        state.held.extend(hold);
        drop(state);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Fail every later send with `reason` and stop the flusher.
    pub(crate) fn fail(&self, reason: String) {
        self.shared.lock().failed.get_or_insert(reason);
        self.shared.work.notify_one();
    }

    /// No more frames: the flusher ends once what is queued is written.
    pub(crate) fn finish(&self) {
        self.shared.lock().finishing = true;
        self.shared.work.notify_one();
    }
}

/// Offer `frame` to `stream` without waiting, counting in `written` the bytes it took (also
/// when it then fails); returns whether it also flushed.
fn write_now(
    mut stream: Pin<&mut (dyn AsyncWrite + Send)>,
    frame: &[u8],
    written: &mut usize,
) -> io::Result<bool> {
    let mut context = Context::from_waker(Waker::noop());
    while *written < frame.len() {
        match stream.as_mut().poll_write(&mut context, &frame[*written..]) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(count)) => *written += count,
            Poll::Ready(Err(error)) => return Err(error),
            // The flusher polls again with a real waker.
            Poll::Pending => return Ok(false),
        }
    }
    match stream.poll_flush(&mut context) {
        Poll::Ready(Ok(())) => Ok(true),
        Poll::Ready(Err(error)) => Err(error),
        Poll::Pending => Ok(false),
    }
}

async fn flush_loop<H>(
    shared: Weak<Shared<H>>,
    wake: Arc<Notify>,
    stall_timeout: Option<Duration>,
) -> String {
    loop {
        let work = {
            let Some(shared) = shared.upgrade() else {
                return "every handle is gone".into();
            };
            let mut state = shared.lock();
            if let Some(reason) = &state.failed {
                return reason.clone();
            }
            if state.queued.is_empty() && !state.needs_flush {
                if state.finishing {
                    return "finished".into();
                }
                None
            } else {
                state.needs_flush = false;
                let Some(stream) = state.stream.take() else {
                    return "the stream is gone".into();
                };
                let bytes = std::mem::take(&mut state.queued);
                Some((stream, bytes, std::mem::take(&mut state.held)))
            }
        };
        let Some((mut stream, bytes, held)) = work else {
            wake.notified().await;
            continue;
        };
        let write = async {
            stream.write_all(&bytes).await?;
            stream.flush().await
        };
        let outcome = match stall_timeout {
            Some(deadline) => tokio::time::timeout(deadline, write)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("a write stalled for {deadline:?}"),
                    ))
                }),
            None => write.await,
        };
        let Some(shared) = shared.upgrade() else {
            return "every handle is gone".into();
        };
        let mut state = shared.lock();
        match outcome {
            Ok(()) => {
                state.stream = Some(stream);
                drop(state);
                drop(held);
            }
            Err(error) => {
                let reason = format!("write failed: {error}");
                return state.failed.get_or_insert(reason).clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn frames_arrive_in_order_whether_written_at_once_or_queued() {
        // A pipe of 64 bytes: most of these frames do not fit at once and go to the flusher.
        let (near, mut far) = tokio::io::duplex(64);
        let (writer, flusher) = FrameWriter::<()>::new(near, None);
        let flusher = tokio::spawn(flusher);
        let mut expected = Vec::new();
        for size in [10usize, 50, 200, 3, 1000] {
            let frame: Vec<u8> = (0..size).map(|i| (i + size) as u8).collect();
            writer.send(&frame, None).unwrap();
            expected.extend(frame);
        }
        writer.finish();
        let mut received = vec![0u8; expected.len()];
        far.read_exact(&mut received).await.unwrap();
        assert_eq!(received, expected);
        assert_eq!(flusher.await.unwrap(), "finished");
    }

    #[tokio::test]
    async fn a_hold_is_released_once_its_frame_is_written() {
        let (near, mut far) = tokio::io::duplex(8);
        let (writer, flusher) = FrameWriter::<Arc<()>>::new(near, None);
        tokio::spawn(flusher);
        let hold = Arc::new(());
        writer.send(&[7u8; 32], Some(hold.clone())).unwrap();
        assert_eq!(Arc::strong_count(&hold), 2, "held while queued");
        let mut received = [0u8; 32];
        far.read_exact(&mut received).await.unwrap();
        tokio::task::yield_now().await;
        assert_eq!(Arc::strong_count(&hold), 1, "released once written");
    }

    #[tokio::test]
    async fn a_failed_writer_refuses_later_frames() {
        let (near, far) = tokio::io::duplex(64);
        drop(far);
        let (writer, flusher) = FrameWriter::<()>::new(near, None);
        let flusher = tokio::spawn(flusher);
        assert!(writer.send(b"hello", None).is_err());
        assert!(writer.send(b"again", None).is_err());
        assert!(flusher.await.unwrap().contains("write failed"));
    }

    #[tokio::test]
    async fn dropping_every_handle_closes_the_stream() {
        let (near, mut far) = tokio::io::duplex(64);
        let (writer, flusher) = FrameWriter::<()>::new(near, None);
        let flusher = tokio::spawn(flusher);
        writer.send(b"last", None).unwrap();
        drop(writer);
        assert_eq!(flusher.await.unwrap(), "every handle is gone");
        let mut received = Vec::new();
        far.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"last");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_fails_after_its_deadline() {
        let (near, _far) = tokio::io::duplex(4);
        let (writer, flusher) = FrameWriter::<()>::new(near, Some(Duration::from_secs(1)));
        let flusher = tokio::spawn(flusher);
        writer.send(&[1u8; 16], None).unwrap();
        let reason = flusher.await.unwrap();
        assert!(reason.contains("stalled"), "{reason}");
        assert!(writer.send(b"x", None).is_err());
    }

    /// A stream that takes up to `accept` bytes, then fails every write; its flush fails if
    /// `flush_fails`.
    struct Failing {
        accept: usize,
        flush_fails: bool,
    }

    impl AsyncWrite for Failing {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.accept == 0 {
                return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
            }
            let count = bytes.len().min(self.accept);
            self.accept -= count;
            Poll::Ready(Ok(count))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            if self.flush_fails {
                Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
            } else {
                Poll::Ready(Ok(()))
            }
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn failing(accept: usize, flush_fails: bool) -> FrameWriter<()> {
        let stream = Failing {
            accept,
            flush_fails,
        };
        FrameWriter::<()>::new(stream, None).0
    }

    #[tokio::test]
    async fn a_write_failing_before_any_byte_says_nothing_was_written() {
        let error = failing(0, false).send(b"frame", None).unwrap_err();
        assert!(!error.wrote_some, "{error:?}");
    }

    #[tokio::test]
    async fn a_write_failing_part_way_says_some_was_written() {
        let error = failing(2, false).send(b"frame", None).unwrap_err();
        assert!(error.wrote_some, "{error:?}");
    }

    #[tokio::test]
    async fn a_flush_failing_after_the_whole_frame_says_some_was_written() {
        let error = failing(usize::MAX, true).send(b"frame", None).unwrap_err();
        assert!(error.wrote_some, "{error:?}");
    }

    #[tokio::test]
    async fn a_frame_refused_by_a_failed_writer_was_not_written() {
        let writer = failing(0, false);
        assert!(writer.send(b"first", None).is_err());
        let error = writer.send(b"second", None).unwrap_err();
        assert!(!error.wrote_some, "{error:?}");
    }
}
