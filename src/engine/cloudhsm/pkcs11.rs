//! The PKCS #11 session pool of one HSM: where burst traffic contends.
//!
//! Every cryptographic operation holds one session of one HSM for as long as
//! the HSM works on it (the emulated per-operation latency). A request that
//! cannot get a session within the configured wait fails; KMS reports that as
//! `KMSInternalException` naming PKCS #11 sessions (R2), and the caller backs
//! off and retries. The pool is shared by `Arc` so the data plane uses it
//! without the engine's lock.
//!
//! Taking and returning a session is one atomic operation on the count of
//! sessions in use while nobody waits. Callers that wait queue in FIFO
//! order, and a returned session is handed to the oldest of them directly:
//! a caller arriving later cannot take it first (it sees the queue and
//! fails, or joins the queue), so waiters neither starve nor convoy on a
//! lock every release would need.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A bounded pool of sessions.
#[derive(Debug)]
pub struct SessionPool {
    capacity: usize,
    /// Sessions held, including those handed to a waiter not yet awake.
    in_use: AtomicUsize,
    /// How many callers are in `waiters`; read without the lock by the fast
    /// paths.
    waiting: AtomicUsize,
    /// Callers waiting for a session, oldest first.
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
    /// Virtual-time schedule for simultaneous operations on a virtual clock:
    /// the window it belongs to, and when each session is next free (µs).
    schedule: Mutex<(u64, Vec<i64>)>,
}

/// One caller waiting in [`SessionPool::acquire`].
#[derive(Debug)]
struct Waiter {
    /// Set, under the queue's lock, when a session was handed over.
    granted: AtomicBool,
    thread: Thread,
}

/// A session held until dropped. An operation borrows its pool for the
/// moment it holds one (`Session<&SessionPool>`: no reference count to
/// touch on the data plane); a fault that holds sessions across calls owns
/// a share of it (the default, `Arc`).
#[derive(Debug)]
pub struct Session<P: Deref<Target = SessionPool> = Arc<SessionPool>> {
    pool: P,
}

impl SessionPool {
    /// A pool of `capacity` sessions.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            in_use: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(VecDeque::new()),
            schedule: Mutex::new((0, Vec::new())),
        })
    }

    /// How many sessions the pool has.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many are held right now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }

    /// Counts one more session in use if one is free.
    fn take(&self) -> bool {
        self.in_use
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    /// A session if one is free now and nobody is waiting for one.
    pub fn try_acquire(&self) -> Option<Session<&Self>> {
        self.take_now().then(|| Session { pool: self })
    }

    /// Counts one more session in use if one is free and nobody is waiting
    /// for one.
    fn take_now(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) == 0 && self.take()
    }

    /// A session, waiting up to `wait` for one to be freed, after every
    /// caller that started waiting before.
    pub fn acquire(&self, wait: Duration) -> Option<Session<&Self>> {
        if let Some(s) = self.try_acquire() {
            return Some(s);
        }
        if wait.is_zero() {
            return None;
        }
        let deadline = Instant::now() + wait;
        let me = Arc::new(Waiter {
            granted: AtomicBool::new(false),
            thread: std::thread::current(),
        });
        {
            let mut q = self.waiters.lock();
            q.push_back(me.clone());
            self.waiting.fetch_add(1, Ordering::SeqCst);
        }
        // A session returned between `try_acquire` and joining the queue
        // saw nobody waiting and was not handed over: hand it out now.
        self.hand_over();
        loop {
            if me.granted.load(Ordering::Acquire) {
                return Some(Session { pool: self });
            }
            let now = Instant::now();
            if now >= deadline {
                let mut q = self.waiters.lock();
                // Grants happen under this lock, so this answer is final.
                if me.granted.load(Ordering::Acquire) {
                    return Some(Session { pool: self });
                }
                if let Some(i) = q.iter().position(|w| Arc::ptr_eq(w, &me)) {
                    q.remove(i);
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                }
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// Gives free sessions to waiters, oldest first.
    fn hand_over(&self) {
        let mut q = self.waiters.lock();
        while !q.is_empty() && self.take() {
            if let Some(w) = q.pop_front() {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                w.granted.store(true, Ordering::Release);
                w.thread.unpark();
            }
        }
    }

    /// Returns a session.
    fn release(&self) {
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        // Ordered after the decrement: a caller that joins the queue after
        // this load sees the free session in its own `hand_over`.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.hand_over();
        }
    }

    /// Admits one operation in virtual time, inside the simultaneous window
    /// `window`: it starts at `now` or when a session frees up, whichever is
    /// later, if that is within `wait`, and holds the session for `latency`
    /// (all in µs). Sessions held for real (an exhaust fault) are not
    /// available. Deterministic: the outcome depends only on the order of
    /// admissions, so a burst's tally is the same every run.
    pub fn admit_virtual(&self, window: u64, now: i64, latency: i64, wait: i64) -> bool {
        let available = self.capacity.saturating_sub(self.in_use());
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
        (0..count)
            .map_while(|_| self.take_now().then(|| Session { pool: self.clone() }))
            .collect()
    }
}

impl<P: Deref<Target = SessionPool>> Drop for Session<P> {
    fn drop(&mut self) {
        self.pool.release();
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

    #[test]
    fn a_freed_session_goes_to_the_oldest_waiter_not_a_newcomer() {
        let p = SessionPool::new(1);
        let held = p.try_acquire().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut waiters = Vec::new();
        for name in ["first", "second"] {
            let (pool, tx) = (p.clone(), tx.clone());
            waiters.push(std::thread::spawn(move || {
                let s = pool.acquire(Duration::from_secs(10));
                tx.send(name).unwrap();
                // Keep it a moment so the order of the sends is the order of
                // the grants.
                std::thread::sleep(Duration::from_millis(20));
                drop(s);
            }));
            while p.waiting.load(Ordering::SeqCst) < waiters.len() {
                std::thread::yield_now();
            }
        }
        // Someone is queued: a newcomer does not jump the queue.
        assert!(p.try_acquire().is_none());
        drop(held);
        assert_eq!(rx.recv().unwrap(), "first");
        assert_eq!(rx.recv().unwrap(), "second");
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(p.in_use(), 0);
        assert!(p.try_acquire().is_some());
    }

    #[test]
    fn waiters_that_time_out_leave_the_queue() {
        let p = SessionPool::new(1);
        let held = p.try_acquire().unwrap();
        assert!(p.acquire(Duration::from_millis(5)).is_none());
        assert_eq!(p.waiting.load(Ordering::SeqCst), 0);
        drop(held);
        assert!(p.try_acquire().is_some());
    }

    #[test]
    fn no_session_is_lost_or_doubled_under_contention() {
        let p = SessionPool::new(3);
        let busy = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (p, busy) = (p.clone(), busy.clone());
                std::thread::spawn(move || {
                    let mut got = 0;
                    for _ in 0..500 {
                        if let Some(_s) = p.acquire(Duration::from_secs(30)) {
                            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= 3, "{now} sessions of 3 in use");
                            std::thread::yield_now();
                            busy.fetch_sub(1, Ordering::SeqCst);
                            got += 1;
                        }
                    }
                    got
                })
            })
            .collect();
        let got: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(got, 12 * 500, "every waiter got a session in time");
        assert_eq!(p.in_use(), 0);
        assert_eq!(p.waiting.load(Ordering::SeqCst), 0);
    }
}
