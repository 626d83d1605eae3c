//! Time, injected: the manager reads the time only through a [`Clock`], so its timeouts, retries
//! and expiries can be driven by a [`ManualClock`] in tests, in milliseconds and without waiting.
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the manager reads the time.
pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time, microseconds since the Unix epoch (stored, shown, compared with deadlines).
    fn now_us(&self) -> i64;
    /// Monotonic time (liveness: how long since an agent was last heard).
    fn instant(&self) -> Instant;
}

/// The real time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        crate::model::now_us()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told ([`ManualClock::advance`]); both readings move together.
#[derive(Debug)]
pub struct ManualClock {
    start_us: i64,
    start: Instant,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at `start_us` (wall time).
    pub fn new(start_us: i64) -> ManualClock {
        ManualClock {
            start_us,
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.start_us
            .saturating_add(self.elapsed().as_micros().min(i64::MAX as u128) as i64)
    }

    fn instant(&self) -> Instant {
        self.start + self.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_both_readings_together() {
        let c = ManualClock::new(1_000);
        let (w, i) = (c.now_us(), c.instant());
        assert_eq!((c.now_us(), c.instant()), (w, i));
        c.advance(Duration::from_millis(3));
        assert_eq!(c.now_us(), 4_000);
        assert_eq!(c.instant() - i, Duration::from_millis(3));
    }
}
