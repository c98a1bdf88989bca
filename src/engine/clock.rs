//! Time for the engine: a virtual clock that only moves when told to.
//!
//! Scenarios run on [`Clock::virtual_at`], starting at the page's own example
//! instant (`1499288695.918`), so ids, `CreationDate`s and every response are a
//! function of the seed and the steps. `hsmdrill serve` uses
//! [`Clock::system`], which follows real time from the same starting point.
//! This is the only module that reads a system clock.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// An instant on the engine's clock, in milliseconds since the Unix epoch
/// (persisted as that integer).
#[derive(
    Clone, Copy, Debug, Default, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

/// Where every virtual clock starts: `CreationDate: 1.499288695918E9` in the
/// troubleshooting page's DescribeCustomKeyStores example.
pub const EPOCH: Timestamp = Timestamp(1_499_288_695_918);

impl Timestamp {
    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as AWS JSON prints timestamps (`1499288695.918`).
    pub fn as_epoch_seconds(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// This instant moved forward by `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }

    /// ISO 8601 in UTC with a `Z`, as CloudTrail prints `eventTime`
    /// (`2017-07-05T21:04:55Z`).
    pub fn to_iso8601(self) -> String {
        // Whole seconds, as CloudTrail prints them. An instant outside the
        // years 0000-9999 (only a crafted state file holds one) prints as
        // its milliseconds.
        time::OffsetDateTime::from_unix_timestamp(self.0.div_euclid(1000))
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
                ))
                .ok()
            })
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

/// The engine's clock. Reading it never blocks. Clones share one clock:
/// the partitions of an [`engine::cloud::Cloud`](super::cloud::Cloud) (one
/// per account and Region) all read and move the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    mode: Arc<Mode>,
}

#[derive(Debug)]
enum Mode {
    /// Moves only through [`Clock::advance`].
    Virtual(AtomicI64),
    /// Real elapsed time since `started`, added to `base`, plus any manual
    /// advances (the server's `/_hsmdrill/clock/advance`).
    System {
        base: i64,
        started: Instant,
        skipped: AtomicI64,
    },
}

impl Clock {
    /// A virtual clock standing at `at`.
    pub fn virtual_at(at: Timestamp) -> Self {
        Self {
            mode: Arc::new(Mode::Virtual(AtomicI64::new(at.0))),
        }
    }

    /// A clock that follows real time, starting from the wall clock now.
    pub fn system() -> Self {
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(EPOCH.0);
        Self {
            mode: Arc::new(Mode::System {
                base,
                started: Instant::now(),
                skipped: AtomicI64::new(0),
            }),
        }
    }

    /// A clock that follows real time from `start`: what `hsmdrill serve`
    /// uses, so a world's dates and a running server's agree and waiting
    /// periods can still be skipped with [`Clock::advance`].
    pub fn running_from(start: Timestamp) -> Self {
        Self {
            mode: Arc::new(Mode::System {
                base: start.0,
                started: Instant::now(),
                skipped: AtomicI64::new(0),
            }),
        }
    }

    /// Whether this clock only moves when told to.
    pub fn is_virtual(&self) -> bool {
        matches!(*self.mode, Mode::Virtual(_))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        match &*self.mode {
            Mode::Virtual(ms) => Timestamp(ms.load(Ordering::SeqCst)),
            Mode::System {
                base,
                started,
                skipped,
            } => {
                let real = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                Timestamp(
                    base.saturating_add(real)
                        .saturating_add(skipped.load(Ordering::SeqCst)),
                )
            }
        }
    }

    /// Moves the clock forward by `d`. Pending work that falls due is done by
    /// the engine on its next call.
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        match &*self.mode {
            // Saturating: an absurd wait in a scenario must not wrap time.
            Mode::Virtual(a) | Mode::System { skipped: a, .. } => {
                let _ = a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                    Some(v.saturating_add(ms))
                });
            }
        }
    }

    /// Moves the clock to `at` if that is later than now (never back).
    pub fn advance_to(&self, at: Timestamp) {
        match &*self.mode {
            Mode::Virtual(now) => {
                now.fetch_max(at.0, Ordering::SeqCst);
            }
            Mode::System { .. } => {
                let now = self.now();
                if at > now {
                    self.advance(Duration::from_millis((at.0 - now.0) as u64));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_prints_as_the_page_example() {
        assert_eq!(EPOCH.as_epoch_seconds(), 1_499_288_695.918);
        assert_eq!(EPOCH.to_iso8601(), "2017-07-05T21:04:55Z");
    }

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let c = Clock::virtual_at(EPOCH);
        assert_eq!(c.now(), EPOCH);
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), Timestamp::from_millis(EPOCH.as_millis() + 2000));
        c.advance_to(EPOCH);
        assert_eq!(c.now(), Timestamp::from_millis(EPOCH.as_millis() + 2000));
    }

    #[test]
    fn leap_day_formats() {
        // 2020-02-29T00:00:00Z
        assert_eq!(
            Timestamp::from_millis(1_582_934_400_000).to_iso8601(),
            "2020-02-29T00:00:00Z"
        );
    }
}
