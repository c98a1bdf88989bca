//! `hsmdrill serve --state FILE`: every acknowledged change on disk before
//! the answer.
//!
//! After an engine call that may have changed the state, the request
//! thread writes the engine's whole snapshot with
//! `engine::persist::write_atomic` (temporary file with mode 0600, fsync,
//! rename, fsync of the folder) and only then answers. Writers queue on one
//! mutex; each call takes a ticket *after* its engine work, and a write
//! covers every ticket issued before its snapshot was taken, so a caller
//! whose change a later write already holds returns at once (group commit).
//! The file therefore always holds every change acknowledged so far, and a
//! `kill -9` at any moment loses nothing acknowledged.
//!
//! Which requests write: every AWS operation but the Describe/List and
//! cryptographic ones, every control API call but health, a world reset
//! (the new world is on disk before it replaces the old one in memory). A
//! read writes only if work fell due during it or a link is flaky
//! (`Engine::read_mark`), or if a change it may have seen is not on disk
//! yet: a change under way in another call, or one whose write failed. Such
//! a read answers only once that change is on disk, so nothing a client is
//! told (a key listed, a ciphertext under it) rests on a change a crash can
//! lose. If the write fails the answer is 500 `InternalFailure`: the change
//! (or the read) is not acknowledged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use parking_lot::Mutex;

use super::protocol::WireError;
use super::ServerState;
use crate::engine::dispatch::Operation;
use crate::engine::Engine;

/// The state file and the group commit that writes it.
#[derive(Debug)]
pub(super) struct Persister {
    path: PathBuf,
    /// Tickets taken by calls that finished and need their changes on disk.
    issued: AtomicU64,
    /// The highest ticket whose changes are on disk. Its lock serializes
    /// writers.
    written: Mutex<u64>,
    /// `written`, readable without waiting for a write under way.
    durable: AtomicU64,
    /// Calls that may change the state, from before their engine work until
    /// their write returned: what they changed may be in memory only.
    changing: AtomicU64,
}

impl Persister {
    /// Whether a change may be in memory and not on disk: one is under way,
    /// or a ticket was issued that no write covered (its write failed, or
    /// is still under way).
    fn behind(&self) -> bool {
        self.changing.load(Ordering::SeqCst) > 0
            || self.issued.load(Ordering::SeqCst) > self.durable.load(Ordering::SeqCst)
    }
}

/// Counts a change call as under way until dropped (even by a panic).
struct Changing<'a>(&'a AtomicU64);

impl<'a> Changing<'a> {
    fn start(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Changing(counter)
    }
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a request may change the state.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Effect {
    /// It may: persist after it.
    Changes,
    /// It reads: persist only if the engine says it may have changed anyway.
    Reads,
}

/// Whether an AWS operation may change the state. Unknown names change
/// nothing: they fail before the engine does anything.
pub(super) fn effect_of(operation: &str) -> Effect {
    match Operation::from_name(operation) {
        None
        | Some(
            Operation::DescribeCustomKeyStores
            | Operation::DescribeKey
            | Operation::ListKeys
            | Operation::ListAliases
            | Operation::Encrypt
            | Operation::Decrypt
            | Operation::ReEncrypt
            | Operation::GenerateDataKey
            | Operation::GenerateDataKeyWithoutPlaintext
            | Operation::GenerateRandom
            | Operation::DescribeClusters
            | Operation::DescribeBackups,
        ) => Effect::Reads,
        Some(
            Operation::CreateCustomKeyStore
            | Operation::ConnectCustomKeyStore
            | Operation::DisconnectCustomKeyStore
            | Operation::UpdateCustomKeyStore
            | Operation::DeleteCustomKeyStore
            | Operation::CreateKey
            | Operation::CreateAlias
            | Operation::DeleteAlias
            | Operation::EnableKey
            | Operation::DisableKey
            | Operation::ScheduleKeyDeletion
            | Operation::CancelKeyDeletion
            | Operation::CreateCluster
            | Operation::InitializeCluster
            | Operation::DeleteCluster
            | Operation::CreateHsm
            | Operation::DeleteHsm
            | Operation::DeleteBackup
            | Operation::RestoreBackup,
        ) => Effect::Changes,
    }
}

/// The answer when the state file cannot be written.
pub(super) fn not_durable(e: &str) -> WireError {
    eprintln!("hsmdrill: cannot write the state file: {e}");
    WireError::client(
        "InternalFailure",
        format!(
            "hsmdrill could not write its state file ({e}); the request is not acknowledged and may not survive a restart."
        ),
    )
    .with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ServerState {
    /// Makes the server durable (`hsmdrill serve --state FILE`): writes the
    /// engine's snapshot to `state_file` now, and after every change from
    /// then on, before answering. Blocks on file I/O. Fails if the file
    /// cannot be written, or if the server already has a state file.
    pub fn persist_to(&self, state_file: PathBuf) -> Result<(), String> {
        self.persist
            .set(Persister {
                path: state_file,
                issued: AtomicU64::new(0),
                written: Mutex::new(0),
                durable: AtomicU64::new(0),
                changing: AtomicU64::new(0),
            })
            .map_err(|p| format!("already persisting to {}", p.path.display()))?;
        self.save()
    }

    /// The state file, if the server has one.
    pub fn state_file(&self) -> Option<&Path> {
        self.persist.get().map(|p| p.path.as_path())
    }

    /// Writes the engine's snapshot to the state file (a no-op without
    /// one). Blocks on file I/O: call it off the async runtime. When it
    /// returns `Ok`, every change made by an engine call that finished
    /// before it was called is on disk.
    pub fn save(&self) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        let mine = p.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut written = p.written.lock();
        if *written >= mine {
            // A snapshot taken after this call's engine work is on disk.
            return Ok(());
        }
        // Every ticket up to `upto` was taken after its engine call, so a
        // snapshot taken now holds all their changes.
        let upto = p.issued.load(Ordering::SeqCst);
        self.engine().save_to(&p.path).map_err(|e| e.to_string())?;
        *written = upto;
        p.durable.store(upto, Ordering::SeqCst);
        Ok(())
    }

    /// A world reset. With a state file the new world is written first and
    /// replaces the old one in memory only once it is on disk. Blocks on
    /// file I/O.
    pub(super) fn replace(&self, engine: Engine) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            *self.engine.write() = Arc::new(engine);
            return Ok(());
        };
        let mut written = p.written.lock();
        let upto = p.issued.load(Ordering::SeqCst);
        engine.save_to(&p.path).map_err(|e| e.to_string())?;
        *self.engine.write() = Arc::new(engine);
        // Calls before the reset changed the old world, which is gone.
        *written = upto;
        p.durable.store(upto, Ordering::SeqCst);
        Ok(())
    }
}

/// Runs an engine call and, with a state file, makes what it changed
/// durable before returning. Calls that may block (file I/O, an emulated
/// HSM latency, a wait for a session) run on the blocking pool; the rest run
/// on the worker itself, since handing a few microseconds of work to
/// another thread and back costs more than the work.
pub(super) async fn on_engine_as<T: Send + 'static>(
    state: &Arc<ServerState>,
    effect: Effect,
    f: impl FnOnce(&Engine) -> T + Send + 'static,
) -> Result<T, WireError> {
    let engine = state.engine();
    if state.persist.get().is_none() && !engine.calls_may_block() {
        return Ok(f(&engine));
    }
    let server = state.clone();
    tokio::task::spawn_blocking(move || {
        let Some(p) = server.persist.get() else {
            return Ok(f(&engine));
        };
        match effect {
            Effect::Changes => {
                let changing = Changing::start(&p.changing);
                let out = f(&engine);
                let saved = server.save();
                drop(changing);
                saved.map_err(|e| not_durable(&e))?;
                Ok(out)
            }
            Effect::Reads => {
                let mark = engine.read_mark();
                let out = f(&engine);
                // A change this read may have seen (the change counted
                // itself before its engine work) is on disk before the
                // answer.
                if engine.may_have_changed_since(mark) || p.behind() {
                    server.save().map_err(|e| not_durable(&e))?;
                }
                Ok(out)
            }
        }
    })
    .await
    .map_err(|e| {
        WireError::client("InternalFailure", format!("the engine call failed: {e}"))
            .with_status(StatusCode::INTERNAL_SERVER_ERROR)
    })?
}
