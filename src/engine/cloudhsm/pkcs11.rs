//! The PKCS #11 session pool of one HSM: where burst traffic contends.
//!
//! Every cryptographic operation holds one session of one HSM for as long as
//! the HSM works on it (the emulated per-operation latency). A request that
//! cannot get a session within the configured wait fails; KMS reports that as
//! `KMSInternalException` naming PKCS #11 sessions (R2), and the caller backs
//! off and retries. The pool is a counter under a small mutex with a condvar,
//! shared by `Arc` so the data plane uses it without the engine's lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A bounded pool of sessions.
#[derive(Debug)]
pub struct SessionPool {
    capacity: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
    /// Virtual-time schedule for simultaneous operations on a virtual clock:
    /// the window it belongs to, and when each session is next free (µs).
    schedule: Mutex<(u64, Vec<i64>)>,
}

/// A session held until dropped.
#[derive(Debug)]
pub struct Session {
    pool: Arc<SessionPool>,
}

impl SessionPool {
    /// A pool of `capacity` sessions.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            schedule: Mutex::new((0, Vec::new())),
        })
    }

    /// How many sessions the pool has.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many are held right now.
    pub fn in_use(&self) -> usize {
        *self.in_use.lock()
    }

    /// A session if one is free now.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Session> {
        let mut n = self.in_use.lock();
        if *n < self.capacity {
            *n += 1;
            Some(Session { pool: self.clone() })
        } else {
            None
        }
    }

    /// A session, waiting up to `wait` for one to be freed.
    pub fn acquire(self: &Arc<Self>, wait: Duration) -> Option<Session> {
        let deadline = Instant::now() + wait;
        let mut n = self.in_use.lock();
        loop {
            if *n < self.capacity {
                *n += 1;
                return Some(Session { pool: self.clone() });
            }
            if wait.is_zero() || self.freed.wait_until(&mut n, deadline).timed_out() {
                if *n < self.capacity {
                    *n += 1;
                    return Some(Session { pool: self.clone() });
                }
                return None;
            }
        }
    }

    /// Admits one operation in virtual time, inside the simultaneous window
    /// `window`: it starts at `now` or when a session frees up, whichever is
    /// later, if that is within `wait`, and holds the session for `latency`
    /// (all in µs). Sessions held for real (an exhaust fault) are not
    /// available. Deterministic: the outcome depends only on the order of
    /// admissions, so a burst's tally is the same every run.
    pub fn admit_virtual(&self, window: u64, now: i64, latency: i64, wait: i64) -> bool {
        let available = self.capacity.saturating_sub(*self.in_use.lock());
        let mut schedule = self.schedule.lock();
        let (epoch, free_at) = &mut *schedule;
        if *epoch != window {
            *epoch = window;
            free_at.clear();
        }
        free_at.resize(available, i64::MIN);
        free_at.truncate(available);
        let Some(slot) = free_at.iter_mut().min_by_key(|t| **t) else {
            return false;
        };
        let start = (*slot).max(now);
        if start.saturating_sub(now) > wait {
            return false;
        }
        *slot = start.saturating_add(latency);
        true
    }

    /// Takes `count` sessions at once and keeps them until the returned guard
    /// is dropped: the "exhaust sessions" fault.
    pub fn hold(self: &Arc<Self>, count: usize) -> Vec<Session> {
        (0..count).map_while(|_| self.try_acquire()).collect()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut n = self.pool.in_use.lock();
        *n = n.saturating_sub(1);
        drop(n);
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_refuses_and_a_release_frees() {
        let p = SessionPool::new(2);
        let a = p.try_acquire().unwrap();
        let _b = p.try_acquire().unwrap();
        assert!(p.try_acquire().is_none());
        assert!(p.acquire(Duration::from_millis(5)).is_none());
        drop(a);
        assert!(p.try_acquire().is_some());
    }

    #[test]
    fn virtual_admission_is_by_virtual_time() {
        let p = SessionPool::new(2);
        // Two sessions, 1 ms each, no wait: two of three simultaneous
        // operations get in.
        assert!(p.admit_virtual(1, 0, 1000, 0));
        assert!(p.admit_virtual(1, 0, 1000, 0));
        assert!(!p.admit_virtual(1, 0, 1000, 0));
        // With a 1 ms wait the third starts when one frees up.
        assert!(p.admit_virtual(1, 0, 1000, 1000));
        // A later moment finds sessions free again.
        assert!(p.admit_virtual(1, 5000, 1000, 0));
        // A new window starts afresh.
        assert!(p.admit_virtual(2, 0, 1000, 0));
        // Sessions held for real are not available.
        let _held = p.hold(2);
        assert!(!p.admit_virtual(3, 0, 1000, 0));
    }

    #[test]
    fn a_waiter_gets_a_session_freed_by_another_thread() {
        let p = SessionPool::new(1);
        let held = p.try_acquire().unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || p2.acquire(Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        assert!(t.join().unwrap());
        assert_eq!(p.in_use(), 0);
    }
}
