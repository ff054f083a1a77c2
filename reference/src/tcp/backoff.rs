//! Exponential backoff between failed dials: deterministic, bounded, no randomness.

use std::time::Duration;

/// The bounds of the backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The largest delay; doubling stops here.
    pub max: Duration,
}

impl Default for BackoffConfig {
    /// From 10 ms, doubling, up to 500 ms: short next to an election timeout, so a healed
    /// partition is noticed quickly.
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(500),
        }
    }
}

/// Counts consecutive failures and says how long to wait before the next attempt:
/// `initial * 2^(failures - 1)`, capped at `max`. No jitter: the simulation needs the same
/// delays for the same history, and its scheduler already varies timing by seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    config: BackoffConfig,
    failures: u32,
}

impl Backoff {
    /// A backoff with no failures recorded.
    pub fn new(config: BackoffConfig) -> Backoff {
        Backoff {
            config,
            failures: 0,
        }
    }

    /// Record a failure and return the delay before the next attempt.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let shift = (self.failures - 1).min(31);
        let delay = self.config.initial.saturating_mul(1u32 << shift);
        delay.min(self.config.max)
    }

    /// Record a success: the next failure starts again from `initial`.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_initial_up_to_max() {
        let mut backoff = Backoff::new(BackoffConfig {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        });
        let delays: Vec<_> = (0..5).map(|_| backoff.fail().as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 50, 50]);
    }

    #[test]
    fn success_resets_the_delay() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        backoff.fail();
        backoff.fail();
        backoff.succeed();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.fail(), BackoffConfig::default().initial);
    }

    #[test]
    fn many_failures_never_overflow() {
        let mut backoff = Backoff::new(BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        });
        for _ in 0..100 {
            assert!(backoff.fail() <= Duration::from_secs(60));
        }
    }
}
