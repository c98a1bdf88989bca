//! The embedded AWS: KMS with CloudHSM key stores, and the CloudHSM clusters
//! behind them.
//!
//! [`Engine`] is the world. It is `Send + Sync` and every method takes
//! `&self`, so one engine serves a scenario runner, 64 test threads or an
//! HTTP server alike. Inside:
//!
//! - [`state::State`] (clusters, HSMs, users, key material, backups, key
//!   stores, keys, aliases) behind one `RwLock`. Control-plane operations
//!   take it for writing; the data plane (Encrypt, Decrypt, …) takes it for
//!   reading only to resolve a key into shared handles, then does PKCS #11
//!   session work and AES outside it.
//! - [`clock::Clock`]: virtual in scenarios, real time in `serve`. Work that
//!   takes time (a connect attempt, an HSM coming up, the end of a deletion
//!   waiting period, daily backups) is stored as states carrying the instant
//!   they complete, and done by `catch_up` at the start of the next call once
//!   the clock has passed it (`schedule.rs`).
//! - [`trail::Trail`]: every KMS call, as CloudTrail would record it.
//! - `persist.rs`: the engine as rows, for `hsmdrill serve --state` (whose
//!   SQLite file is the server's business): what changed since the last
//!   drain ([`tracked::Tracked`] maps record it), the whole state, and an
//!   engine built back from rows.
//!
//! An engine is one AWS account in one Region; [`cloud::Cloud`] holds one
//! per partition, on one shared clock, and runs the operations that span
//! them (`CopyBackupToRegion`).
//!
//! Operations live by service: `kms/` (custom key stores, keys, crypto),
//! `cloudhsm/` (CloudHSM v2 management, the CloudHSM CLI). `dispatch.rs` is
//! the one entry point that takes an AWS operation name and JSON input and
//! returns JSON output or an AWS error; every front end goes through it. The
//! engine knows nothing of scenarios, DSLs, Gherkin or HTTP.

pub mod clock;
pub mod cloud;
pub mod cloudhsm;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod faults;
pub mod ids;
pub mod kms;
pub mod machines;
pub mod network;
pub mod persist;
mod schedule;
mod shapes;
pub mod state;
pub mod tracked;
pub mod trail;
pub mod world;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

pub use clock::{Clock, Timestamp, EPOCH};
pub use config::EngineConfig;
pub use error::{Error, ErrorKind, Result};
pub use network::NetworkCondition;
pub use state::State;

/// The embedded world.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    clock: Clock,
    state: state::StateLock,
    trail: trail::Trail,
    /// The earliest instant at which some pending work falls due, so that
    /// calls skip the write lock when nothing is due.
    next_due: AtomicI64,
    /// Spreads data-plane calls over a cluster's HSMs.
    round_robin: AtomicUsize,
    /// Per key store: the current one-second window and calls in it.
    quota_windows: Mutex<BTreeMap<String, (i64, u32)>>,
    /// Each cluster's link condition as last handed to the state file
    /// (`persist.rs`): a flaky link spends its failures through a shared
    /// handle, which the state's change tracking cannot see.
    links_written: Mutex<BTreeMap<String, NetworkCondition>>,
    /// Open simultaneous windows (see [`Engine::begin_simultaneous`]).
    simultaneous: AtomicUsize,
    /// Numbers simultaneous windows, so session schedules start afresh.
    window: AtomicU64,
    /// When the engine last caught up, which every call does first: a key's
    /// material found missing now went at or after this instant (R7,
    /// `schedule::observe_material`).
    last_seen: AtomicI64,
    /// The state's write count when a look at every key last found no key
    /// whose material KMS would see differently (`schedule::catch_up`): until
    /// the state changes, nothing is to be found.
    material_unchanged_at: AtomicU64,
    /// What material presence depended on at the last look that found
    /// nothing (`schedule::MaterialInputs`): a write that left it as it
    /// was cannot have made news, so the look is skipped.
    material_inputs: Mutex<Option<schedule::MaterialInputs>>,
    /// This engine's number among the process's engines (the data plane's
    /// per-thread cache of resolved keys, `kms/resolved.rs`).
    instance: u64,
}

impl Engine {
    /// An empty engine on a virtual clock standing at [`EPOCH`].
    pub fn new(config: EngineConfig) -> Self {
        Self::with_clock(config, Clock::virtual_at(EPOCH))
    }

    /// An empty engine on the given clock.
    pub fn with_clock(config: EngineConfig, clock: Clock) -> Self {
        Self {
            trail: trail::Trail::new(config.seed, config.trail_capacity),
            state: state::StateLock::new(State::new(config.seed)),
            material_unchanged_at: AtomicU64::new(u64::MAX),
            material_inputs: Mutex::new(None),
            instance: kms::resolved::next_instance(),
            next_due: AtomicI64::new(i64::MAX),
            round_robin: AtomicUsize::new(0),
            quota_windows: Mutex::new(BTreeMap::new()),
            links_written: Mutex::new(BTreeMap::new()),
            simultaneous: AtomicUsize::new(0),
            window: AtomicU64::new(0),
            last_seen: AtomicI64::new(clock.now().as_millis()),
            config,
            clock,
        }
    }

    /// The same engine with connect attempts taking `seconds` (if given):
    /// `hsmdrill serve --connect-seconds`.
    pub fn with_connect_seconds(mut self, seconds: Option<u64>) -> Self {
        if let Some(s) = seconds {
            self.config.timing.connect_seconds = s;
        }
        self
    }

    /// How this engine was set up.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Whether a call may wait on something other than the CPU: an emulated
    /// HSM latency or a wait for a PKCS #11 session. Without either every
    /// call is a few microseconds of work under short locks, which an async
    /// front end may run on its own threads.
    pub fn calls_may_block(&self) -> bool {
        self.config.pkcs11.hsm_latency_micros > 0 || self.config.pkcs11.session_wait_micros > 0
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the clock forward by `d` and does the work that falls due.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.catch_up();
    }

    /// Moves the clock until no transitional work is pending (connect and
    /// disconnect attempts, clusters, HSMs and backups in progress) and
    /// returns how far it moved. Deletion waiting periods and daily backups
    /// are not transitional: use [`Engine::advance`] for them.
    pub fn settle(&self) -> Duration {
        let start = self.clock.now();
        loop {
            let mut st = self.state.write();
            let now = self.clock.now();
            self.catch_up_locked(&mut st, now);
            // catch_up_locked has done everything due by `now`, so what is
            // left lies in the future.
            match schedule::next_transitional(&st) {
                Some(t) if t > now => self.clock.advance_to(t),
                Some(_) | None => break,
            }
        }
        let moved = self.clock.now().as_millis() - start.as_millis();
        Duration::from_millis(u64::try_from(moved).unwrap_or(0))
    }

    /// Opens a window in which data-plane calls happen at once, as a burst
    /// of traffic does. On a virtual clock each call then holds a PKCS #11
    /// session for the HSM latency *in virtual time* and waits for one at
    /// most the session wait, so how many calls of a burst get a session
    /// depends only on the pool sizes, the latency, the wait and the clock,
    /// never on thread timing. Outside a window (or on a real clock) the
    /// pools work in real time. Windows nest; close each with
    /// [`Engine::end_simultaneous`].
    pub fn begin_simultaneous(&self) {
        if self.simultaneous.fetch_add(1, Ordering::SeqCst) == 0 {
            self.window.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Closes a window opened by [`Engine::begin_simultaneous`].
    pub fn end_simultaneous(&self) {
        let _ = self
            .simultaneous
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// The open simultaneous window, if any (virtual clocks only).
    fn simultaneous_window(&self) -> Option<u64> {
        (self.clock.is_virtual() && self.simultaneous.load(Ordering::SeqCst) > 0)
            .then(|| self.window.load(Ordering::SeqCst))
    }

    /// Every trail event named `name` (all if `None`) as CloudTrail records
    /// it, oldest first.
    pub fn trail_events(&self, name: Option<&str>) -> Vec<serde_json::Value> {
        self.catch_up();
        self.trail
            .events(name)
            .iter()
            .map(|e| {
                self.trail
                    .render(e, &self.config.account, &self.config.region)
            })
            .collect()
    }

    /// One page of the trail events `q` looks up, as CloudTrail records
    /// them, newest first (`skip` passed over, at most `take`), and how many
    /// such events there are: only the page is rendered.
    pub fn trail_page(
        &self,
        q: &trail::Query<'_>,
        skip: usize,
        take: usize,
    ) -> (Vec<serde_json::Value>, usize) {
        self.catch_up();
        let (page, total) = self.trail.page(q, skip, take);
        let rendered = page
            .iter()
            .map(|e| {
                self.trail
                    .render(e, &self.config.account, &self.config.region)
            })
            .collect();
        (rendered, total)
    }

    /// The trail itself, for front ends that write it to a file
    /// (`hsmdrill serve --state`).
    pub fn trail(&self) -> &trail::Trail {
        &self.trail
    }

    /// Reads the state (for front ends that show or check it).
    pub fn with_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.catch_up();
        f(&self.state.read())
    }

    /// Changes the state directly, then reschedules pending work. For world
    /// loading and fault injection, which build what no API call can.
    pub(crate) fn mutate_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut st = self.state.write();
        let now = self.clock.now();
        self.catch_up_locked(&mut st, now);
        let out = f(&mut st);
        self.reschedule(&st);
        out
    }

    /// The ARN of the key with this id.
    pub fn key_arn(&self, key_id: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/{key_id}",
            self.config.region, self.config.account
        )
    }

    /// The ARN of an alias.
    pub fn alias_arn(&self, alias: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:{alias}",
            self.config.region, self.config.account
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Engine>();
    }
}
