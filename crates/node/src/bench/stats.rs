//! Figures of a load-generator run: percentiles of per-transaction
//! latencies (nearest-rank, so every reported value is one that was
//! measured) and rates over a window.

use std::time::Duration;

/// A percentile that cannot be given.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PercentileError {
    /// No latency was measured.
    #[error("no latencies to take a percentile of")]
    Empty,
    /// The percentile is not a number in 0..=100.
    #[error("percentile {0} is not between 0 and 100")]
    OutOfRange(f64),
}

/// Latencies of many transactions, sorted once for percentiles.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// The latencies in `values`, in any order.
    pub fn new(mut values: Vec<Duration>) -> Latencies {
        values.sort_unstable();
        Latencies(values)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `p`-th percentile by the nearest-rank method: the smallest
    /// measured value with at least `p` % of the values at or below it
    /// (`p = 0` gives the smallest, `p = 100` the largest).
    pub fn percentile(&self, p: f64) -> Result<Duration, PercentileError> {
        if !(0.0..=100.0).contains(&p) {
            return Err(PercentileError::OutOfRange(p));
        }
        let n = self.0.len();
        if n == 0 {
            return Err(PercentileError::Empty);
        }
        // p·n/100 rather than (p/100)·n: exact for whole percentiles of
        // whole counts, so p99 of 100 values is the 99th, not the 100th.
        let rank = (p * n as f64 / 100.0).ceil() as usize;
        Ok(self.0[rank.clamp(1, n) - 1])
    }

    /// The largest latency, if any.
    pub fn max(&self) -> Option<Duration> {
        self.0.last().copied()
    }
}

/// `count` events over `window`, per second; `None` for an empty window.
pub fn per_second(count: usize, window: Duration) -> Option<f64> {
    (!window.is_zero()).then(|| count as f64 / window.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        // Given in reverse: the order of arrival does not matter.
        let l = Latencies::new((1..=100).rev().map(ms).collect());
        assert_eq!(l.len(), 100);
        assert_eq!(l.percentile(0.0), Ok(ms(1)));
        assert_eq!(l.percentile(1.0), Ok(ms(1)));
        assert_eq!(l.percentile(50.0), Ok(ms(50)));
        assert_eq!(l.percentile(99.0), Ok(ms(99)));
        assert_eq!(l.percentile(99.5), Ok(ms(100)));
        assert_eq!(l.percentile(100.0), Ok(ms(100)));
        assert_eq!(l.max(), Some(ms(100)));
    }

    #[test]
    fn small_samples_give_measured_values() {
        let one = Latencies::new(vec![ms(7)]);
        for p in [0.0, 50.0, 99.0, 100.0] {
            assert_eq!(one.percentile(p), Ok(ms(7)));
        }
        let two = Latencies::new(vec![ms(20), ms(10)]);
        assert_eq!(two.percentile(50.0), Ok(ms(10)));
        assert_eq!(two.percentile(50.1), Ok(ms(20)));
        assert_eq!(two.percentile(99.0), Ok(ms(20)));
        let three = Latencies::new(vec![ms(3), ms(1), ms(2)]);
        assert_eq!(three.percentile(50.0), Ok(ms(2)));
        // Ties are values like any other.
        let same = Latencies::new(vec![ms(5); 1000]);
        assert_eq!(same.percentile(99.0), Ok(ms(5)));
    }

    #[test]
    fn no_values_or_a_percentile_outside_the_range_is_an_error() {
        let empty = Latencies::new(Vec::new());
        assert!(empty.is_empty());
        assert_eq!(empty.percentile(50.0), Err(PercentileError::Empty));
        assert_eq!(empty.max(), None);
        let l = Latencies::new(vec![ms(1), ms(2)]);
        assert_eq!(l.percentile(-0.1), Err(PercentileError::OutOfRange(-0.1)));
        assert_eq!(l.percentile(100.5), Err(PercentileError::OutOfRange(100.5)));
        assert!(matches!(
            l.percentile(f64::NAN),
            Err(PercentileError::OutOfRange(p)) if p.is_nan()
        ));
        assert!(l.percentile(f64::INFINITY).is_err());
        // The range is checked before emptiness.
        assert_eq!(
            empty.percentile(101.0),
            Err(PercentileError::OutOfRange(101.0))
        );
    }

    #[test]
    fn rates_over_a_window() {
        assert_eq!(per_second(5_000, Duration::from_secs(2)), Some(2_500.0));
        assert_eq!(per_second(0, Duration::from_secs(1)), Some(0.0));
        assert_eq!(per_second(10, Duration::ZERO), None);
    }
}
