//! `hsmdrill serve --state FILE`: every acknowledged change and every
//! acknowledged trail event on disk before the answer.
//!
//! Two files: FILE, the engine's whole snapshot (`engine::persist`), and
//! FILE.trail, the trail journal (`engine::journal`), appended to and
//! `fsync`ed. After an engine call that may have changed the state, the
//! request thread writes the snapshot (temporary file with mode 0600,
//! fsync, rename, fsync of the folder), then appends to the journal the
//! trail events it does not hold yet, and only then answers. A call that
//! only reads (Describe, List, the data plane, LookupEvents) appends its
//! events to the journal and answers. Both go through one mutex (the
//! commit): each call takes a ticket *after* its engine work, and a write
//! covers every ticket issued before its snapshot was taken, so a caller
//! whose change a later write already holds returns at once; likewise a
//! caller whose events a later append holds (group commit: one `fsync` for
//! the events of every call that queued behind the one writing).
//!
//! The order is what keeps the two files in step. Events are taken from
//! the trail before the snapshot, and a call records its event after its
//! change, so the snapshot holds the change of every event taken; the
//! snapshot also carries every event the journal does not hold yet, so a
//! crash between the two writes loses neither. An append of events that
//! include a change's (a control-plane call, a key deleted at the end of its
//! waiting period) writes the snapshot first, so the journal never holds an
//! event whose change a crash could undo (which would then be done, and
//! recorded, again). Hence a `kill -9` at any moment loses nothing
//! acknowledged, and no event comes back twice.
//!
//! Which requests write the snapshot: every AWS operation but the
//! Describe/List and cryptographic ones, every control API call but health,
//! a world reset (the new world is on disk before it replaces the old one in
//! memory). A read writes it only if work fell due during it or a link is
//! flaky (`Engine::read_mark`), or if a change it may have seen is not on
//! disk yet: a change under way in another call, or one whose write failed.
//! Such a read answers only once that change is on disk, so nothing a client
//! is told (a key listed, a ciphertext under it) rests on a change a crash
//! can lose. If a write fails the answer is 500 `InternalFailure`: the
//! change (or the read) is not acknowledged. A failed append after a
//! written snapshot fails nothing (the snapshot holds the events); the
//! journal is written anew before the next append.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use parking_lot::Mutex;

use super::protocol::WireError;
use super::ServerState;
use crate::engine::cloud::Cloud;
use crate::engine::dispatch::Operation;
use crate::engine::journal::{journal_path, Journal};
use crate::engine::trail::{EventType, TrailEvent};
use crate::engine::Engine;

/// The state file, the trail journal and the group commit that writes them.
#[derive(Debug)]
pub(super) struct Persister {
    path: PathBuf,
    /// Tickets taken by calls that finished and need their changes on disk.
    issued: AtomicU64,
    /// What is on disk. Its lock serializes writers.
    commit: Mutex<Commit>,
    /// `Commit::written`, readable without waiting for a write under way.
    durable: AtomicU64,
    /// Calls that may change the state, from before their engine work until
    /// their write returned: what they changed may be in memory only.
    changing: AtomicU64,
}

/// What the commit's lock guards.
#[derive(Debug)]
struct Commit {
    /// The highest ticket whose changes are on disk.
    written: u64,
    /// The journal, open for appending; `None` when it must be written anew
    /// first (an append failed, or a world reset could not write it).
    journal: Option<Journal>,
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
    // The one operation of the cloud rather than an engine: it writes a
    // backup into another partition.
    if operation == "CopyBackupToRegion" {
        return Effect::Changes;
    }
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
            | Operation::DescribeBackups
            | Operation::ListResourceTags
            | Operation::GetKeyPolicy
            | Operation::ListKeyPolicies
            | Operation::GetKeyRotationStatus
            | Operation::ListKeyRotations
            | Operation::ListGrants
            | Operation::ListRetirableGrants,
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
            | Operation::RestoreBackup
            | Operation::UpdateAlias
            | Operation::UpdateKeyDescription
            | Operation::TagResource
            | Operation::UntagResource
            | Operation::PutKeyPolicy
            | Operation::EnableKeyRotation
            | Operation::DisableKeyRotation
            | Operation::RotateKeyOnDemand
            | Operation::CreateGrant
            | Operation::RetireGrant
            | Operation::RevokeGrant,
        ) => Effect::Changes,
    }
}

/// The answer when the state file or the trail journal cannot be written.
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

/// Whether an event records a change to the state (or may): its change must
/// be on disk before the event is in the journal.
fn records_a_change(e: &TrailEvent) -> bool {
    e.event_type == EventType::ServiceEvent || effect_of(&e.name) == Effect::Changes
}

impl ServerState {
    /// Makes the server durable (`hsmdrill serve --state FILE`): writes the
    /// trail journal (FILE.trail, with the events the engine holds) and the
    /// engine's snapshot to `state_file` now, and from then on every change
    /// and every trail event before answering. Blocks on file I/O. Fails if
    /// a file cannot be written, or if the server already has a state file.
    pub fn persist_to(&self, state_file: PathBuf) -> Result<(), String> {
        let engine = self.engine();
        let (events, next) = engine.trail().since(0);
        // The journal first: a crash before the snapshot leaves the old
        // snapshot with a journal of the same trail (a restored one), or no
        // snapshot at all (a new world, whose journal is then ignored).
        let journal = Journal::create(
            &journal_path(&state_file),
            engine.trail().id(),
            &events,
            engine.config().trail_capacity,
        )
        .map_err(|e| format!("{}: {e}", journal_path(&state_file).display()))?;
        engine.trail().mark_journaled(next);
        self.persist
            .set(Persister {
                path: state_file,
                issued: AtomicU64::new(0),
                commit: Mutex::new(Commit {
                    written: 0,
                    journal: Some(journal),
                }),
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

    /// Writes the engine's snapshot to the state file and its new trail
    /// events to the journal (a no-op without a state file). Blocks on file
    /// I/O: call it off the async runtime. When it returns `Ok`, every
    /// change made and every event recorded by an engine call that finished
    /// before it was called is on disk.
    pub fn save(&self) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        let mine = p.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut commit = p.commit.lock();
        if commit.written >= mine {
            // A snapshot taken after this call's engine work is on disk,
            // with this call's events (in it, or in the journal).
            return Ok(());
        }
        self.write(p, &mut commit)
    }

    /// The snapshot, then the events it carries into the journal. Every
    /// ticket issued so far was taken after its engine call, so a snapshot
    /// taken now holds all their changes.
    fn write(&self, p: &Persister, commit: &mut Commit) -> Result<(), String> {
        let upto = p.issued.load(Ordering::SeqCst);
        let cloud = self.cloud();
        let engine = cloud.default_engine().clone();
        // Taken before the snapshot: their changes are in it. (Only the
        // default partition has a journal; the others' events are all in
        // the snapshot: `engine::cloud::persist`.)
        let (events, next) = engine.trail().since(engine.trail().journaled());
        cloud.save_to(&p.path).map_err(|e| e.to_string())?;
        commit.written = upto;
        p.durable.store(upto, Ordering::SeqCst);
        if !events.is_empty() {
            // The snapshot holds these events until the journal does: a
            // failed append only means writing the journal anew next time.
            if let Err(e) = append(p, &engine, commit, &events, next) {
                eprintln!(
                    "hsmdrill: cannot append to the trail journal (it will be written anew): {e}"
                );
            }
        }
        Ok(())
    }

    /// Makes the trail events `engine` recorded before `upto` durable, for
    /// a call that changed nothing: appends them to the journal, or writes
    /// the snapshot first if one of the events to append records a change
    /// (another call's, or work that fell due), which must be on disk
    /// before its event is. Blocks on file I/O.
    fn journal(&self, engine: &Arc<Engine>, upto: u64) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        if engine.trail().journaled() >= upto {
            return Ok(());
        }
        let mut commit = p.commit.lock();
        if engine.trail().journaled() >= upto || !Arc::ptr_eq(engine, &self.engine()) {
            // Appended while this call waited; or the world was reset and
            // its trail went with it.
            return Ok(());
        }
        let (events, next) = engine.trail().since(engine.trail().journaled());
        if events.iter().any(records_a_change) {
            p.issued.fetch_add(1, Ordering::SeqCst);
            return self.write(p, &mut commit);
        }
        append(p, engine, &mut commit, &events, next)
    }

    /// A world reset. With a state file the new world is written first and
    /// replaces the old one in memory only once it is on disk; then its
    /// journal. Blocks on file I/O.
    pub(super) fn replace(&self, cloud: Cloud) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            *self.cloud.write() = Arc::new(cloud);
            return Ok(());
        };
        let mut commit = p.commit.lock();
        let upto = p.issued.load(Ordering::SeqCst);
        let engine = cloud.default_engine().clone();
        let (events, next) = engine.trail().since(0);
        // The snapshot names the new trail and holds its events (none is
        // journaled yet), so until the new journal is written the old one
        // is not read into the new world.
        cloud.save_to(&p.path).map_err(|e| e.to_string())?;
        *self.cloud.write() = Arc::new(cloud);
        // Calls before the reset changed the old world, which is gone.
        commit.written = upto;
        p.durable.store(upto, Ordering::SeqCst);
        commit.journal = None;
        if let Err(e) = append(p, &engine, &mut commit, &events, next) {
            eprintln!("hsmdrill: cannot write the trail journal (it will be written anew): {e}");
        }
        Ok(())
    }
}

/// Appends `events` (the trail's events from its journal mark up to `next`)
/// to the journal and moves the mark; writes the journal anew instead, with
/// every event the trail holds up to `next`, when it is full or must be (an
/// append failed, or the file was deleted or replaced).
fn append(
    p: &Persister,
    engine: &Engine,
    commit: &mut Commit,
    events: &[TrailEvent],
    next: u64,
) -> Result<(), String> {
    let trail = engine.trail();
    let appended = match commit
        .journal
        .as_mut()
        .filter(|j| !j.is_full() && j.is_in_place())
    {
        Some(j) => j
            .append(events)
            .map_err(|e| format!("{}: {e}", j.path().display())),
        None => {
            let path = journal_path(&p.path);
            let (all, _) = trail.since(0);
            let upto: Vec<TrailEvent> = all.into_iter().filter(|e| e.seq < next).collect();
            Journal::create(&path, trail.id(), &upto, engine.config().trail_capacity)
                .map(|j| commit.journal = Some(j))
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    };
    match appended {
        Ok(()) => {
            trail.mark_journaled(next);
            Ok(())
        }
        Err(e) => {
            // It may end in a torn record now: nothing is appended after
            // one.
            commit.journal = None;
            Err(e)
        }
    }
}

/// Runs an engine call and, with a state file, makes what it changed
/// durable before returning. Calls that may block (file I/O, an emulated
/// HSM latency, a wait for a session) run on the blocking pool; the rest run
/// on the worker itself, since handing a few microseconds of work to
/// another thread and back costs more than the work.
pub(super) async fn on_engine_as<T: Send + 'static>(
    state: &Arc<ServerState>,
    engine: Arc<Engine>,
    effect: Effect,
    f: impl FnOnce(&Engine) -> T + Send + 'static,
) -> Result<T, WireError> {
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
                // Outside the default partition there is no journal: the
                // events this read recorded reach the disk in a snapshot.
                let journaled = Arc::ptr_eq(&engine, server.cloud().default_engine());
                // A change this read may have seen (the change counted
                // itself before its engine work) is on disk before the
                // answer; so are the events it recorded (or returned, for
                // LookupEvents).
                if !journaled || engine.may_have_changed_since(mark) || p.behind() {
                    server.save().map_err(|e| not_durable(&e))?;
                } else {
                    let upto = engine.trail().position();
                    server.journal(&engine, upto).map_err(|e| not_durable(&e))?;
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

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::{json, Value};

    use super::*;
    use crate::engine::dispatch::Api;
    use crate::engine::journal;
    use crate::engine::persist::SavedClock;
    use crate::engine::world;

    const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn example(extra: &str) -> Engine {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        let yaml = fs::read_to_string(path).unwrap() + extra;
        world::load_str(&yaml, "example.yaml").unwrap()
    }

    /// A server started from the example world (and `extra`) that persists
    /// to `state.json` in a new temporary folder, removed when dropped.
    fn persisted(extra: &str) -> (tempfile::TempDir, PathBuf, Arc<ServerState>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let server = ServerState::new(example(extra), None);
        server.persist_to(path.clone()).unwrap();
        (dir, path, server)
    }

    /// The engine `hsmdrill serve --state` would restore from `path`.
    fn restore(path: &Path) -> Engine {
        Engine::restore_file(path, SavedClock::resume)
            .unwrap()
            .unwrap()
    }

    fn encrypt(e: &Engine) {
        e.call_api(
            Api::Kms,
            "Encrypt",
            json!({"KeyId": KEY, "Plaintext": "aGk="}),
        )
        .unwrap();
    }

    fn journaled(path: &Path) -> journal::Contents {
        journal::read(&journal_path(path)).unwrap().unwrap()
    }

    fn names(c: &journal::Contents) -> Vec<String> {
        c.events.iter().map(|e| e.name.to_string()).collect()
    }

    #[test]
    fn an_event_is_journaled_only_once_its_change_is_on_disk() {
        let (_dir, path, server) = persisted("");
        let engine = server.engine();
        // Events of reads alone are appended; the state file is left as it
        // is.
        let before = fs::read(&path).unwrap();
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(names(&journaled(&path)), ["Encrypt"]);
        // A change not written yet (its call still under way) and a read
        // after it: appending the read's events would carry the change's
        // event, so the snapshot with the change is written first.
        let out = engine
            .call_api(
                Api::Kms,
                "CreateKey",
                json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-1234567890abcdef0"}),
            )
            .unwrap();
        let key = out["KeyMetadata"]["KeyId"].as_str().unwrap();
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(v["state"]["keys"][key].is_object());
        assert_eq!(
            names(&journaled(&path)),
            ["Encrypt", "CreateKey", "Encrypt"]
        );
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
        // A world reset: the new world's journal is named for its trail,
        // and the old world's events are gone with it.
        server.replace(example("").into()).unwrap();
        let new = server.engine();
        assert_eq!(journaled(&path).trail_id, new.trail().id());
        assert_ne!(new.trail().id(), engine.trail().id());
        encrypt(&new);
        server.journal(&new, new.trail().position()).unwrap();
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), new.trail_events(None));
        assert_eq!(restored.trail_events(None).len(), 1);
        // A call that ran on the old world appends nothing to the new one.
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert_eq!(journaled(&path).events.len(), 1);
    }

    #[test]
    fn a_journal_deleted_behind_the_server_s_back_is_written_anew() {
        let (_dir, path, server) = persisted("");
        let engine = server.engine();
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        fs::remove_file(journal_path(&path)).unwrap();
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert_eq!(names(&journaled(&path)), ["Encrypt", "Encrypt"]);
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
    }

    #[test]
    fn a_full_journal_is_written_anew_with_the_trail_s_events() {
        let (_dir, path, server) = persisted("\ntrail_capacity: 10\n");
        let engine = server.engine();
        let mut longest = 0;
        for _ in 0..110 {
            for _ in 0..10 {
                encrypt(&engine);
            }
            server.journal(&engine, engine.trail().position()).unwrap();
            longest = longest.max(journaled(&path).events.len());
        }
        assert!(longest >= 1000, "{longest}");
        assert!(journaled(&path).events.len() < 1000, "written anew");
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
        assert_eq!(restored.trail_events(None).len(), 10);
    }
}
