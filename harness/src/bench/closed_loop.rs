//! N clients in closed loop: each submits one operation, waits for its outcome, submits the
//! next. Only operations that start after the warm-up and finish before the end of the window
//! count.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What the clients of one round did within the measured window.
#[derive(Clone, Debug, Default)]
pub struct RoundOutcome {
    /// Operations that succeeded within the window.
    pub ops: u64,
    /// Operations that failed within the window.
    pub errors: u64,
    /// The first failure seen, to tell the reader what went wrong.
    pub first_error: Option<String>,
    /// The client latency (submit to answer) of every successful operation, in nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// The leaders' commit latency (propose to commit known, see
    /// [`super::commit_clock`]) of the entries proposed within the window, in nanoseconds;
    /// `None` if not measured.
    pub commit_latencies: Option<Histogram<u64>>,
    /// Real mode: the duration of every log append (write + fsync of a batch) of every node
    /// within the window, in nanoseconds; `None` if not measured.
    pub append_latencies: Option<Histogram<u64>>,
    /// The length of the window.
    pub window: Duration,
    /// Peak resident memory (`VmHWM`) in bytes when the round ended: of each node process
    /// (real mode), or of this whole process (in process: the three nodes and the clients,
    /// and the peak of every earlier round of the run too). Empty if not measured.
    pub peak_rss_bytes: Vec<u64>,
    /// The most entries any node had applied when the round ended (warm-up included).
    pub entries_applied: u64,
    /// In process: what the leader's event loop did in the window; `None` if not measured.
    pub loop_stats: Option<super::loop_stats::LoopSummary>,
}

/// When a round measures: operations that start at or after `from` and finish by `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The end of the warm-up.
    pub from: Instant,
    /// The end of the measurement.
    pub until: Instant,
}

impl Window {
    /// A window that opens `warmup` from now and lasts `duration`.
    pub fn after(warmup: Duration, duration: Duration) -> Window {
        let from = Instant::now() + warmup;
        Window {
            from,
            until: from + duration,
        }
    }

    /// How long it lasts.
    pub fn duration(&self) -> Duration {
        self.until.duration_since(self.from)
    }

    /// Wait (on tokio's timer) until the window opens.
    pub async fn opened(&self) {
        tokio::time::sleep_until(self.from.into()).await;
    }

    /// Wait (on tokio's timer) until the window closes.
    pub async fn closed(&self) {
        tokio::time::sleep_until(self.until.into()).await;
    }
}

impl RoundOutcome {
    /// Successful operations per second of window.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.window.as_secs_f64()
    }
}

/// One client's tally.
#[derive(Default)]
struct Tally {
    errors: u64,
    first_error: Option<String>,
    latencies_ns: Vec<u64>,
}

/// Pause after a failed operation, so a client that is refused at once does not spin.
const ERROR_PAUSE: Duration = Duration::from_millis(1);

/// Run `clients` closed-loop clients until `window` closes, counting what falls inside it;
/// `submit(client)` performs one operation of client number `client`.
pub async fn run_clients<F, Fut>(clients: usize, window: Window, submit: F) -> RoundOutcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let submit = Arc::new(submit);
    run_stateful_clients(
        clients,
        window,
        |client| client,
        move |client| {
            let operation = submit(client);
            async move { (client, operation.await) }
        },
    )
    .await
}

/// [`run_clients`] for clients that keep state from one operation to the next (a
/// [`rafty::node::Submitter`] and its timer): `state(client)` makes client number `client`'s
/// state once, and `submit(state)` performs one operation and hands the state back.
pub async fn run_stateful_clients<S, N, F, Fut>(
    clients: usize,
    window: Window,
    state: N,
    submit: F,
) -> RoundOutcome
where
    S: Send + 'static,
    N: Fn(usize) -> S,
    F: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (S, Result<(), String>)> + Send + 'static,
{
    let submit = Arc::new(submit);
    let Window {
        from: measure_from,
        until: measure_until,
    } = window;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let submit = submit.clone();
            let mut state = state(client);
            tokio::spawn(async move {
                let mut tally = Tally::default();
                // One clock read per operation: the next operation starts when this one
                // finished (a closed loop submits again at once).
                let mut start = Instant::now();
                loop {
                    if start >= measure_until {
                        return tally;
                    }
                    let (returned, outcome) = submit(state).await;
                    state = returned;
                    let finish = Instant::now();
                    let counted = start >= measure_from && finish <= measure_until;
                    match outcome {
                        Ok(()) if counted => {
                            let nanos = finish.duration_since(start).as_nanos();
                            tally
                                .latencies_ns
                                .push(u64::try_from(nanos).unwrap_or(u64::MAX));
                        }
                        Ok(()) => {}
                        Err(error) => {
                            if counted {
                                tally.errors += 1;
                                tally.first_error.get_or_insert(error);
                            }
                            tokio::time::sleep(ERROR_PAUSE).await;
                            start = Instant::now();
                            continue;
                        }
                    }
                    start = finish;
                }
            })
        })
        .collect();
    let mut outcome = RoundOutcome {
        window: window.duration(),
        ..RoundOutcome::default()
    };
    for task in tasks {
        let tally = task.await.expect("a benchmark client panicked");
        outcome.ops += tally.latencies_ns.len() as u64;
        outcome.errors += tally.errors;
        if outcome.first_error.is_none() {
            outcome.first_error = tally.first_error;
        }
        outcome.latencies_ns.extend(tally.latencies_ns);
    }
    outcome
}
