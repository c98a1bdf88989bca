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
