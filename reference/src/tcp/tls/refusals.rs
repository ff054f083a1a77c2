//! Refusals logged at most once per caller address per interval, with a count: a peer that
//! retries with a bad certificate every few milliseconds (or a scanner) must not flood the log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long a caller address's refusals after a logged one are only counted.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The most caller addresses remembered; past it, the ones whose interval is over are
/// forgotten, then (a flood of addresses) all of them.
const MAX_ADDRESSES: usize = 1024;

/// Per address (a caller's IP, the port left out since each connection gets a new one; or
/// the address a connector dials), when its last refusal was logged and how many were counted
/// since.
#[derive(Debug)]
pub struct RefusalLog {
    interval: Duration,
    addresses: Mutex<BTreeMap<String, (Instant, u64)>>,
}

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog::new(REFUSAL_LOG_INTERVAL)
    }
}

impl RefusalLog {
    /// Log each address at most once per `interval`.
    pub fn new(interval: Duration) -> RefusalLog {
        RefusalLog {
            interval,
            addresses: Mutex::new(BTreeMap::new()),
        }
    }

    /// A refusal at address `peer`, now: `Some(n)` when it is to be logged, `n` being the
    /// refusals of this address since the last line (this one included), else `None`.
    pub fn note(&self, peer: &str) -> Option<u64> {
        let now = Instant::now();
        let mut addresses = self.addresses.lock().expect("no panic while held");
        if addresses.len() >= MAX_ADDRESSES && !addresses.contains_key(peer) {
            let interval = self.interval;
            addresses.retain(|_, (logged, _)| now.duration_since(*logged) < interval);
            if addresses.len() >= MAX_ADDRESSES {
                addresses.clear();
            }
        }
        match addresses.get_mut(peer) {
            Some((logged, count)) if now.duration_since(*logged) < self.interval => {
                *count += 1;
                None
            }
            Some((logged, count)) => {
                let refusals = *count + 1;
                (*logged, *count) = (now, 0);
                Some(refusals)
            }
            None => {
                addresses.insert(peer.to_owned(), (now, 0));
                Some(1)
            }
        }
    }

    /// Log (`tracing` warn) that a caller at `peer` was refused for `reason`, unless its IP
    /// address was logged less than an interval ago; the line counts the refusals it stands
    /// for.
    pub fn caller_refused(&self, peer: std::net::SocketAddr, reason: &str) {
        if let Some(refusals) = self.note(&peer.ip().to_string()) {
            tracing::warn!(%peer, %reason, refusals, "TLS connection refused");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_line_per_address_per_interval_counting_the_rest() {
        let log = RefusalLog::new(Duration::from_secs(10));
        let (a, b) = ("10.0.0.1", "10.0.0.2");
        assert_eq!(log.note(a), Some(1), "the first refusal is logged");
        assert_eq!(log.note(b), Some(1), "another address has its own interval");
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(log.note(a), None, "within the interval: counted only");
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(log.note(a), Some(6), "the five counted and this one");
        assert_eq!(log.note(a), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_addresses_is_bounded() {
        let log = RefusalLog::new(Duration::from_secs(10));
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            assert_eq!(log.note(&i.to_string()), Some(1));
        }
        assert!(log.addresses.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
