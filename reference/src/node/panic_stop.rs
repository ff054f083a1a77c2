//! Fail-stop on a panic of the event loop: a broken internal invariant panics (it is a bug),
//! and the node then stops like on a storage error, reporting the panic to its observer,
//! instead of letting the panic escape into the runtime. Under `--cfg tokio_unstable` with
//! `UnhandledPanic::ShutdownRuntime` (as turmoil sets it) an escaping task panic makes tokio's
//! current-thread scheduler drop tasks while its core is borrowed, which panics again and
//! aborts the whole process; a simulation harness could then not even report the seed.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use super::Status;
use super::events::{NodeEvent, Observer};
use crate::types::NodeId;

/// Runs `event_loop`; if it panics, marks the node stopped and reports
/// [`NodeEvent::Stopped`] with the panic message. The default panic hook still prints it.
pub(crate) async fn fail_stop_on_panic(
    id: NodeId,
    observer: Option<Arc<dyn Observer>>,
    status: Arc<Mutex<Status>>,
    event_loop: impl Future<Output = ()>,
) {
    if let Err(message) = (CatchPanic {
        inner: Box::pin(event_loop),
    })
    .await
    {
        status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .running = false;
        if let Some(observer) = observer {
            let reason = format!("event loop panicked: {message}");
            observer.on_event(id, &NodeEvent::Stopped { reason });
        }
    }
}

/// The message a panic carried (`panic!("...")` gives a `&str` or a `String`), or
/// "unknown panic" for any other payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// A future that turns a panic while polling `inner` into `Err(message)`.
struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future<Output = ()>> Future for CatchPanic<F> {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}
