//! One live, multiplexed connection on the calling side: requests carry ids, a reader task
//! hands each response to the call that waits for it; each call writes its own request
//! ([`FrameWriter`]: at once when the socket takes it, otherwise through the flusher task, in
//! order).

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, ReadHalf};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::AbortHandle;

use crate::tcp::channel::CallError;
use crate::tcp::frame::{Envelope, ServerFrame, encode_frame, read_frame};
use crate::tcp::stream::Stream;
use crate::tcp::writer::FrameWriter;

/// A request frame at least this long is large: on a slow link it may take longer to arrive
/// than a short call's deadline (a snapshot chunk, a big AppendEntries batch).
pub(crate) const LARGE_REQUEST_BYTES: usize = 64 << 10;

/// How a call's wait ended.
enum Reply<Resp> {
    Response(Resp),
    Failed(String),
    Lost(String),
}

/// The calls waiting on a connection.
struct Pending<Resp> {
    next_id: u64,
    waiters: BTreeMap<u64, oneshot::Sender<Reply<Resp>>>,
    /// The waiting calls whose request is large ([`LARGE_REQUEST_BYTES`] or more).
    large: BTreeSet<u64>,
    closed: Option<String>,
}

/// What the connection's tasks and its calls share.
struct Shared<Resp> {
    pending: Mutex<Pending<Resp>>,
    /// Frames received so far: a call that times out while this did not move has seen a
    /// silent connection, which is then dropped.
    received: AtomicU64,
    slots: Semaphore,
}

impl<Resp> Shared<Resp> {
    fn lock(&self) -> MutexGuard<'_, Pending<Resp>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn deliver(&self, id: u64, reply: Reply<Resp>) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let waiter = {
            let mut pending = self.lock();
            pending.large.remove(&id);
            pending.waiters.remove(&id)
        };
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(reply);
            }
            None => tracing::debug!(id, "response to a call that gave up"),
        }
    }

    /// Fail every waiting call and refuse new ones. The first reason wins.
    fn close(&self, reason: String) {
        let waiters = {
            let mut pending = self.lock();
            if pending.closed.is_none() {
                pending.closed = Some(reason.clone());
            }
            pending.large.clear();
            std::mem::take(&mut pending.waiters)
        };
        self.slots.close();
        for waiter in waiters.into_values() {
            let _ = waiter.send(Reply::Lost(reason.clone()));
        }
    }
}

/// Removes a call's waiter if the call is abandoned (deadline) before its answer arrives.
struct WaiterGuard<'a, Resp> {
    shared: &'a Shared<Resp>,
    id: u64,
}

impl<Resp> Drop for WaiterGuard<'_, Resp> {
    fn drop(&mut self) {
        let mut pending = self.shared.lock();
        pending.waiters.remove(&self.id);
        pending.large.remove(&self.id);
    }
}

/// A handshaken connection with its reader and flusher tasks, which end when it is dropped.
pub(crate) struct Connection<Req, Resp> {
    addr: String,
    max_frame_bytes: u32,
    writer: FrameWriter<()>,
    shared: Arc<Shared<Resp>>,
    tasks: [AbortHandle; 2],
    _request: PhantomData<fn(Req)>,
}

impl<Req, Resp> Drop for Connection<Req, Resp> {
    fn drop(&mut self) {
        self.tasks.iter().for_each(AbortHandle::abort);
    }
}

impl<Req, Resp> Connection<Req, Resp>
where
    Req: Serialize + Send + 'static,
    Resp: DeserializeOwned + Send + 'static,
{
    /// Start serving calls on `stream`, whose handshake is done.
    pub(crate) fn open<S: Stream>(
        stream: S,
        addr: String,
        max_frame_bytes: u32,
        max_in_flight: usize,
    ) -> Self {
        let max_in_flight = max_in_flight.max(1);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                next_id: 0,
                waiters: BTreeMap::new(),
                large: BTreeSet::new(),
                closed: None,
            }),
            received: AtomicU64::new(0),
            slots: Semaphore::new(max_in_flight),
        });
        let (reader, writer) = tokio::io::split(stream);
        let (writer, flusher) = FrameWriter::new(writer, None);
        let reading = tokio::spawn(read_loop(
            reader,
            shared.clone(),
            max_frame_bytes,
            addr.clone(),
        ));
        let writing = tokio::spawn(flush_loop(flusher, shared.clone(), addr.clone()));
        Connection {
            addr,
            max_frame_bytes,
            writer,
            shared,
            tasks: [reading.abort_handle(), writing.abort_handle()],
            _request: PhantomData,
        }
    }

    /// True once the connection failed or was closed; a new one must be dialled.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed.is_some()
    }

    /// Frames received so far.
    pub(crate) fn received(&self) -> u64 {
        self.shared.received.load(Ordering::Relaxed)
    }

    /// Close the connection: fail the calls waiting on it and stop its tasks.
    pub(crate) fn close(&self, reason: String) {
        self.writer.fail(reason.clone());
        self.shared.close(reason);
        self.tasks.iter().for_each(AbortHandle::abort);
    }

    /// True while a call made before call `id`, with a large request, still waits for its
    /// answer. When call `id` gives up at its deadline, such a call may be what holds the line
    /// (its frame still on its way to a slow reader), so the silence is no proof the connection
    /// is dead. A small request cannot explain a silence; it does not count.
    pub(crate) fn older_large_call_waiting(&self, id: u64) -> bool {
        self.shared.lock().large.range(..id).next().is_some()
    }

    /// Send `request` and wait for its answer. `id` is set to the call's id once it has one;
    /// `sent` becomes true once the request is queued for writing, after which a failure is
    /// indefinite.
    pub(crate) async fn call(
        &self,
        request: Req,
        id_slot: &mut Option<u64>,
        sent: &mut bool,
    ) -> Result<Resp, CallError> {
        let closed = |reason: String| CallError::Closed {
            addr: self.addr.clone(),
            reason,
        };
        let _slot = match self.shared.slots.acquire().await {
            Ok(slot) => slot,
            Err(_) => return Err(closed(self.close_reason())),
        };
        let (waiter, answer) = oneshot::channel();
        let id = {
            let mut pending = self.shared.lock();
            if let Some(reason) = &pending.closed {
                return Err(closed(reason.clone()));
            }
            let id = pending.next_id;
            pending.next_id += 1;
            pending.waiters.insert(id, waiter);
            id
        };
        *id_slot = Some(id);
        let _guard = WaiterGuard {
            shared: &self.shared,
            id,
        };
        let frame = encode_frame(&Envelope { id, body: request }, self.max_frame_bytes)
            .map_err(CallError::Encode)?;
        if frame.len() >= LARGE_REQUEST_BYTES {
            self.shared.lock().large.insert(id);
        }
        let lost = |reason: String| CallError::ConnectionLost {
            addr: self.addr.clone(),
            reason,
        };
        if let Err(error) = self.writer.send(&frame, None) {
            self.shared.close(error.reason.clone());
            if error.wrote_some {
                // Some of the frame, perhaps all of it (a failed flush), reached the stream:
                // the server may have read it whole. Indefinite.
                *sent = true;
                return Err(lost(error.reason));
            }
            // None of the frame reached the stream: the server cannot have seen it.
            return Err(closed(error.reason));
        }
        *sent = true;
        match answer.await {
            Ok(Reply::Response(response)) => Ok(response),
            Ok(Reply::Failed(reason)) => Err(CallError::Failed {
                addr: self.addr.clone(),
                reason,
            }),
            Ok(Reply::Lost(reason)) => Err(lost(reason)),
            Err(_) => Err(lost(self.close_reason())),
        }
    }

    fn close_reason(&self) -> String {
        self.shared
            .lock()
            .closed
            .clone()
            .unwrap_or_else(|| "connection closed".into())
    }
}

async fn read_loop<S: AsyncRead, Resp: DeserializeOwned>(
    mut reader: ReadHalf<S>,
    shared: Arc<Shared<Resp>>,
    max_frame_bytes: u32,
    addr: String,
) {
    let reason = loop {
        match read_frame::<ServerFrame<Resp>, _>(&mut reader, max_frame_bytes).await {
            Ok(ServerFrame::Response { id, body }) => shared.deliver(id, Reply::Response(body)),
            Ok(ServerFrame::Failed { id, reason }) => shared.deliver(id, Reply::Failed(reason)),
            Ok(ServerFrame::Goodbye { reason }) => {
                break format!("server closed the connection: {reason}");
            }
            Err(error) => break error.to_string(),
        }
    };
    tracing::debug!(%addr, %reason, "connection closed");
    shared.close(reason);
}

async fn flush_loop<Resp>(
    flusher: impl std::future::Future<Output = String>,
    shared: Arc<Shared<Resp>>,
    addr: String,
) {
    let reason = flusher.await;
    tracing::debug!(%addr, %reason, "writing stopped");
    shared.close(reason);
}
