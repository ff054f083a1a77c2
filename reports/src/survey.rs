//! The first pass over a history's events: what every figure must know before it can place an
//! operation (the clock, the history's end, the range of its latencies, how many operations
//! there are to sample from), in O(client processes).

use rafty_checkers::{HistoryError, OpType};

use crate::events::Events;
use crate::extract::Clock;
use crate::pairing::{Paired, Pairing, Step};

/// The smallest positive and the largest latency of the completed operations, on one clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Latencies {
    /// The smallest latency above zero, if any.
    pub smallest_positive: Option<u64>,
    /// The largest latency, if any operation completed.
    pub largest: Option<u64>,
}

impl Latencies {
    fn observe(&mut self, latency: u64) {
        if latency > 0 {
            self.smallest_positive =
                Some(self.smallest_positive.map_or(latency, |s| s.min(latency)));
        }
        self.largest = Some(self.largest.map_or(latency, |l| l.max(latency)));
    }
}

/// What one pass over a history tells of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Survey {
    /// How many events.
    pub events: usize,
    /// Whether every event has a time.
    pub timed: bool,
    /// The latest time of any event (0 when none has one).
    pub latest_time: u64,
    /// How many client operations.
    pub operations: usize,
    /// How many of them are indeterminate (`info`, or never completed).
    pub indeterminate: usize,
    /// Latencies in nanoseconds (meaningful when `timed`).
    pub nanos: Latencies,
    /// Latencies in event positions.
    pub positions: Latencies,
}

impl Survey {
    /// Reads every event of `events` once; an event that cannot be read or paired is an error
    /// naming its file and line.
    pub fn read(events: &Events<'_>) -> Result<Survey, HistoryError> {
        let mut survey = Survey {
            timed: true,
            ..Survey::default()
        };
        let mut pairing = Pairing::new(events.file_name());
        events.for_each(|event| {
            survey.events += 1;
            survey.timed &= event.op.time.is_some();
            survey.latest_time = survey.latest_time.max(event.op.time.unwrap_or(0));
            if let Step::Completed(paired) = pairing.step(event)? {
                survey.operation(&paired);
            }
            Ok(())
        })?;
        for paired in pairing.finish() {
            survey.operation(&paired);
        }
        Ok(survey)
    }

    fn operation(&mut self, paired: &Paired) {
        self.operations += 1;
        let Some(completion) = &paired.completion else {
            self.indeterminate += 1;
            return;
        };
        if completion.op.kind == OpType::Info {
            self.indeterminate += 1;
        }
        let invoked = &paired.invoke;
        self.nanos.observe(
            completion
                .op
                .time
                .unwrap_or(0)
                .saturating_sub(invoked.op.time.unwrap_or(0)),
        );
        self.positions
            .observe(completion.position.saturating_sub(invoked.position) as u64);
    }

    /// The history's clock: nanoseconds when every event has a time, else positions.
    pub fn clock(&self) -> Clock {
        if self.timed {
            Clock::Nanos
        } else {
            Clock::Events
        }
    }

    /// The latest time on `clock` (0 when empty).
    pub fn end(&self, clock: Clock) -> u64 {
        match clock {
            Clock::Nanos => self.latest_time,
            Clock::Events => self.events.saturating_sub(1) as u64,
        }
    }

    /// The latencies' range on `clock`.
    pub fn latencies(&self, clock: Clock) -> Latencies {
        match clock {
            Clock::Nanos => self.nanos,
            Clock::Events => self.positions,
        }
    }
}
