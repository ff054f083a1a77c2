//! Latency percentiles (hdrhistogram) and the spread of a value across rounds.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The highest latency a histogram records; slower operations are clamped to it.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// Latency percentiles, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Operations recorded.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Slowest recorded.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

/// A histogram of nanosecond latencies, 3 significant figures, 1 ns to 60 s.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

/// Record `latencies_ns` into `histogram`, clamping each into its range.
pub fn record_all(histogram: &mut Histogram<u64>, latencies_ns: &[u64]) {
    for &latency in latencies_ns {
        histogram.saturating_record(latency.clamp(1, MAX_LATENCY_NS));
    }
}

/// Record `count` operations of `latency_ns` into `histogram`, clamped into its range.
pub fn record_n_clamped(histogram: &mut Histogram<u64>, latency_ns: u64, count: u64) {
    histogram.saturating_record_n(latency_ns.clamp(1, MAX_LATENCY_NS), count);
}

/// The histogram's non-empty buckets as `(value, count)` pairs: a compact form to send between
/// processes; [`from_counts`] rebuilds an equal histogram.
pub fn to_counts(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
    histogram
        .iter_recorded()
        .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
        .collect()
}

/// The histogram [`to_counts`] described.
pub fn from_counts(counts: &[(u64, u64)]) -> Histogram<u64> {
    let mut histogram = new_histogram();
    for &(value, count) in counts {
        record_n_clamped(&mut histogram, value, count);
    }
    histogram
}

/// The percentiles of `histogram`.
pub fn summarize(histogram: &Histogram<u64>) -> LatencySummary {
    if histogram.is_empty() {
        return LatencySummary::default();
    }
    let micros = |nanos: u64| nanos as f64 / 1_000.0;
    LatencySummary {
        count: histogram.len(),
        p50_us: micros(histogram.value_at_quantile(0.50)),
        p90_us: micros(histogram.value_at_quantile(0.90)),
        p99_us: micros(histogram.value_at_quantile(0.99)),
        p999_us: micros(histogram.value_at_quantile(0.999)),
        max_us: micros(histogram.max()),
        mean_us: histogram.mean() / 1_000.0,
    }
}

/// Minimum, median and maximum of a value across rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    /// The lowest.
    pub min: f64,
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The highest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; all zeros when there are none.
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Spread {
            min: sorted[0],
            median: median_of_sorted(&sorted),
            max: sorted[sorted.len() - 1],
        }
    }

    /// (max - min) / median, as a percentage; 0 when the median is 0.
    pub fn range_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

/// The median of already sorted values (which must not be empty).
pub fn median_of_sorted(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_reports_min_median_max() {
        let spread = Spread::of(&[30.0, 10.0, 20.0]);
        assert_eq!((spread.min, spread.median, spread.max), (10.0, 20.0, 30.0));
        assert_eq!(Spread::of(&[1.0, 3.0]).median, 2.0);
        assert_eq!(spread.range_percent(), 100.0);
    }

    #[test]
    fn counts_rebuild_the_same_histogram() {
        let mut histogram = new_histogram();
        record_all(&mut histogram, &[1_000, 1_000, 250_000, 7_000_000]);
        let rebuilt = from_counts(&to_counts(&histogram));
        assert_eq!(summarize(&rebuilt), summarize(&histogram));
        assert_eq!(rebuilt.len(), 4);
    }

    #[test]
    fn percentiles_come_out_in_microseconds() {
        let mut histogram = new_histogram();
        let latencies: Vec<u64> = (1..=1000).map(|micros| micros * 1_000).collect();
        record_all(&mut histogram, &latencies);
        let summary = summarize(&histogram);
        assert_eq!(summary.count, 1000);
        assert!((summary.p50_us - 500.0).abs() < 1.0, "{summary:?}");
        assert!((summary.max_us - 1000.0).abs() < 1.0, "{summary:?}");
    }
}
