//! Time as an input. Everything that needs the time of day or a steady
//! clock reads it through [`Clock`], so that tests and the deterministic
//! simulation drive the same code with a clock of their own
//! ([`ManualClock`]). [`SystemClock`] is the one implementation that reads
//! the operating system.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of time.
pub trait Clock: Send + Sync {
    /// Wall-clock milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Time since an arbitrary origin that never goes backwards (for
    /// timeouts, bans and rate limits; unlike the wall clock it does not
    /// jump when the system time is set).
    fn monotonic(&self) -> Duration;

    /// Wall-clock seconds since the Unix epoch.
    fn now_unix(&self) -> u64 {
        self.now_millis() / 1000
    }
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for tests and simulations. Its
/// monotonic time is the wall time minus the wall time it started at.
#[derive(Debug)]
pub struct ManualClock {
    start: u64,
    now: AtomicU64,
}

impl ManualClock {
    /// A clock reading `unix_millis`.
    pub fn new(unix_millis: u64) -> ManualClock {
        ManualClock {
            start: unix_millis,
            now: AtomicU64::new(unix_millis),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.now.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sets the wall time; it never goes back before the start.
    pub fn set_millis(&self, unix_millis: u64) {
        self.now
            .store(unix_millis.max(self.start), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.now_millis() - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_000_000);
        assert_eq!(c.now_unix(), 1000);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now_millis(), 1_001_500);
        assert_eq!(c.monotonic(), Duration::from_millis(1500));
        c.set_millis(5);
        assert_eq!(c.monotonic(), Duration::ZERO);
    }
}
