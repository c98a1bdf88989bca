//! `hsmdrill serve --state` survives `kill -9`.
//!
//! - A child server is killed with SIGKILL in the middle of a stream of
//!   CreateKey/Encrypt calls and restarted on the same file; every key it
//!   acknowledged still exists and every ciphertext it acknowledged still
//!   decrypts (a few rounds with different kill points).
//! - The trail (`crash/trail.rs`): after a SIGKILL and a restart
//!   LookupEvents returns every event acknowledged before, with the same
//!   EventIds, times and content; a journal whose last record a crash tore
//!   loses only that record.
//! - The crash loop: a server with two key stores is SIGKILLed at random
//!   moments of a concurrent workload (CreateKey, Encrypt, CreateAlias,
//!   ScheduleKeyDeletion, and per store the kmsuser password cycle
//!   Disconnect → CloudHSM CLI `user change-password` → UpdateCustomKeyStore
//!   → Connect), then restarted on the same file, many times. After every
//!   restart every acknowledged change is there: keys and their states,
//!   aliases, each store's connection state, the kmsuser password the
//!   cluster holds and the one KMS was told (a store whose acknowledged
//!   cycle reached UpdateCustomKeyStore connects), every acknowledged
//!   ciphertext decrypts to its plaintext, and the trail holds every event
//!   acknowledged (or returned by LookupEvents) before the kill, once, with
//!   the same id, and no event whose change was lost. A request in flight
//!   at the kill may or may not have taken effect; the checks allow both,
//!   and nothing else. `cargo test` runs a short loop (6 kills); the long
//!   one is ignored:
//!
//!   ```sh
//!   HSMDRILL_CRASH_KILLS=100 cargo test --release --test integration -- --ignored crash:: --nocapture
//!   ```
//!
//!   The kill moments come from a seeded generator; the seed is printed and
//!   `HSMDRILL_CRASH_SEED=<seed>` replays the same kill moments and choices
//!   (thread timing still varies).
//!
//! Loopback only, bounded in time. The binary under test is `hsmdrill`
//! (`HSMDRILL_BIN` overrides it).
//!
//! Layout: this file holds what the tests share (the child server, scratch
//! folders, the model of what the crash loop was told); `stream.rs` the SIGKILL in a stream of calls; `state_file.rs`
//! a state file that is corrupt, cannot be written, or was not written
//! before a read; `trail.rs` the trail; `workload.rs` the crash loop's
//! workers and what they were told, `crash_loop.rs` the loop and its checks
//! after every restart.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::example_world as world;
use crate::support::http::kms;
use crate::support::serve::ServeProcess;

mod crash_loop;
mod state_file;
mod stream;
mod trail;
mod workload;

const STORE: &str = "cks-1234567890abcdef0";

/// A folder of its own under the system's temporary folder, kept (its
/// logs tell what a failed round saw); a passing test removes it.
fn scratch(name: &str) -> PathBuf {
    crate::support::temp_dir(name).keep()
}

/// A child `hsmdrill serve` with its stderr in a log file, SIGKILLed when
/// dropped.
struct Server {
    process: ServeProcess,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `hsmdrill serve --state <state>` on the example world.
    fn start(state: &Path, log: &Path) -> Server {
        Server::start_with(state, log, &world(), 2)
    }

    /// Starts `hsmdrill serve --state <state> --world <world>
    /// --connect-seconds <connect_seconds>`.
    fn start_with(state: &Path, log: &Path, world: &Path, connect_seconds: u64) -> Server {
        let connect_seconds = connect_seconds.to_string();
        let process = ServeProcess::start_logged(
            [
                "--connect-seconds".as_ref(),
                connect_seconds.as_ref(),
                "--world".as_ref(),
                world.as_os_str(),
                "--state".as_ref(),
                state.as_os_str(),
            ],
            log,
        );
        Server {
            addr: process.addr(),
            process,
            log: log.to_owned(),
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap: the server
    /// must not have exited on its own.
    fn kill(self) {
        let status = self.process.kill();
        assert!(!status.success(), "killed, not exited: {status}");
    }

    fn kms(&self, op: &str, input: &Value) -> io::Result<(u16, Value)> {
        kms(self.addr, op, input)
    }
}

// ---------------------------------------------------------------------------
// What the crash loop's workers were told (`workload.rs`), checked after
// every restart (`crash_loop.rs`, `trail.rs`)

/// The steps of a store's kmsuser password cycle, in order.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Step {
    /// The store was seen CONNECTED: a cycle may start.
    Connected,
    /// DisconnectCustomKeyStore.
    Disconnect,
    /// `login` as admin in the cycle's CLI session.
    Login,
    /// `user change-password` of kmsuser to the cycle's password.
    ChangePassword,
    /// `logout` of the cycle's CLI session.
    Logout,
    /// UpdateCustomKeyStore with the cycle's password.
    Update,
    /// ConnectCustomKeyStore.
    Connect,
}

/// What the client knows of one store.
#[derive(Debug)]
struct StoreModel {
    id: &'static str,
    cluster: &'static str,
    /// The last acknowledged step of the current cycle.
    acked: Step,
    /// The step whose request was sent and not answered, if any: it may or
    /// may not have taken effect.
    in_flight: Option<Step>,
    /// The cycle's new kmsuser password.
    password: String,
}

/// What happened to a key's deletion.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Deletion {
    None,
    InFlight,
    Acked,
}

#[derive(Debug)]
struct KeyModel {
    id: String,
    /// Keys meant for deletion never get ciphertexts.
    deletion: Deletion,
}

/// Everything acknowledged so far, over all rounds.
#[derive(Default)]
struct Model {
    keys: Vec<KeyModel>,
    aliases: Vec<(String, String)>,
    /// (ciphertext, plaintext, key id)
    ciphertexts: Vec<(String, Vec<u8>, String)>,
    stores: Vec<StoreModel>,
    /// Documented rejections seen by the workers, by exception name.
    rejected: std::collections::BTreeMap<String, usize>,
    /// This round's KMS requests, for the trail check.
    requests: trail::RoundRequests,
    /// What LookupEvents showed.
    trail: trail::TrailSeen,
}

/// Fails on a panic in a server's log.
fn assert_no_panic(log: &Path) {
    let text = fs::read_to_string(log).unwrap_or_default();
    assert!(
        !text.contains("panicked"),
        "the server panicked ({}): {text}",
        log.display()
    );
}
