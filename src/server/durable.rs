//! `hsmdrill serve --state FILE`: every acknowledged change and every
//! acknowledged trail event on disk before the answer.
//!
//! FILE is an SQLite database (`store.rs`) holding each partition's rows
//! (`engine::persist`) and the trail. After an engine call that may have
//! changed the state, the request thread writes, in one transaction, what
//! changed since the last write in every partition (the engine's
//! [`Delta`](crate::engine::persist::Delta): the entities changed, not the
//! world) and the trail events not written yet, and only then answers. A
//! call that only reads (Describe, List, the data plane, LookupEvents)
//! writes its events alone and answers. Both go through one mutex (the
//! commit): each call takes a ticket *after* its engine work, and a write
//! covers every ticket issued before it drained the changes, so a caller
//! whose change a later write already holds returns at once; likewise a
//! caller whose events a later write holds (group commit: one transaction,
//! one `fsync`, for every call that queued behind the one writing).
//!
//! The order keeps the trail and the state in step. A write takes each
//! partition's unwritten events before draining its changes, and a call
//! records its event after its change, so the transaction holds the change
//! of every event it holds. A read's events are written alone only if none
//! records a change (a control-plane call's, a key deleted at the end of
//! its waiting period); otherwise the whole write runs, so the file never
//! holds an event whose change a crash could undo (which would then be
//! done, and recorded, again). Hence a `kill -9` at any moment loses
//! nothing acknowledged, and no event comes back twice.
//!
//! Which requests write changes: every AWS operation but the Describe/List
//! and cryptographic ones, every control API call but health, a world reset
//! (the new world is on disk before it replaces the old one in memory). A
//! read writes them only if work fell due during it or a link is flaky
//! (`Engine::read_mark`), or if a change it may have seen is not on disk
//! yet: a change under way in another call, or one whose write failed. Such
//! a read answers only once that change is on disk, so nothing a client is
//! told (a key listed, a ciphertext under it) rests on a change a crash can
//! lose. If a write fails the answer is 500 `InternalFailure`: the change
//! (or the read) is not acknowledged, and since its drained changes are no
//! longer tracked, the next write writes every partition whole. So does a
//! write that finds the file deleted or replaced behind the server's back
//! (it writes a new file at the path) and the first write of a partition
//! created since the last one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use parking_lot::Mutex;

use super::protocol::WireError;
use super::store::{PartitionWrite, Reader, Store, TrailQuery, Write, TRAIL_RETENTION_MILLIS};
use super::ServerState;
use crate::engine::cloud::{Cloud, Partition};
use crate::engine::dispatch::Operation;
use crate::engine::trail::{EventType, Query, TrailEvent};
use crate::engine::{Engine, Timestamp};

/// The state file and the group commit that writes it.
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
    /// LookupEvents' connection to the file (opened when first needed).
    reader: Mutex<Option<Reader>>,
    /// Where the pages LookupEvents handed out ended (see [`PageEnd`]), so
    /// the next page starts there instead of walking every event before it.
    page_ends: Mutex<BTreeMap<PageEnd, u64>>,
}

/// A page of LookupEvents handed out: the trail (its id, so a world reset
/// forgets it), the query (its debug form), and the offset the next page starts at (its
/// `NextToken`); it maps to the number of the page's last event.
type PageEnd = (u64, String, usize);

/// Most page ends remembered; past it they are forgotten (the next pages
/// then walk their offset, which is only slower).
const PAGE_ENDS: usize = 4096;

/// What the commit's lock guards.
#[derive(Debug)]
struct Commit {
    /// The highest ticket whose changes are on disk.
    written: u64,
    /// The open file; `None` after it could not be opened.
    store: Option<Store>,
    /// The partitions whose rows the file holds: the others (new since the
    /// last write, or all after a failed one) are written whole.
    partitions: BTreeSet<Partition>,
    /// Whether the file was opened anew at its path since the last write,
    /// which then replaces whatever that file holds.
    reopened: bool,
    /// The retention cutoff (ms) of the last deletion of old events.
    pruned: i64,
}

/// How far the retention cutoff moves before old events are deleted again.
const PRUNE_EVERY_MILLIS: i64 = 3_600 * 1000;

impl Commit {
    /// The cutoff before which events are to be deleted now, if it moved
    /// far enough since the last time.
    fn prune_before(&self, now: Timestamp) -> Option<Timestamp> {
        let cutoff = now.as_millis().saturating_sub(TRAIL_RETENTION_MILLIS);
        (cutoff >= self.pruned.saturating_add(PRUNE_EVERY_MILLIS))
            .then(|| Timestamp::from_millis(cutoff))
    }
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

impl Commit {
    /// The open file, opened anew (and to be written whole) if it is gone
    /// or was replaced.
    fn store(&mut self, path: &Path) -> Result<&mut Store, String> {
        if !self.store.as_ref().is_some_and(Store::is_in_place) {
            self.store = None;
            self.partitions.clear();
            self.store = Some(Store::open(path)?);
            self.reopened = true;
        }
        self.store
            .as_mut()
            .ok_or_else(|| format!("{}: not open", path.display()))
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

/// Whether an event records a change to the state (or may): its change must
/// be on disk before the event is.
fn records_a_change(e: &TrailEvent) -> bool {
    e.event_type == EventType::ServiceEvent || effect_of(&e.name) == Effect::Changes
}

/// Every partition of `cloud`, drained (whole unless `written` holds it),
/// with its unwritten events (every event it holds, for a file written
/// anew) taken first (see the module docs), and where each partition's
/// trail stood.
fn drain<'a>(
    cloud: &'a Cloud,
    engines: &'a [Arc<Engine>],
    written: &BTreeSet<Partition>,
    anew: bool,
) -> Result<(Vec<PartitionWrite<'a>>, Vec<u64>), String> {
    let default = cloud.default_engine();
    let mut out = Vec::with_capacity(engines.len());
    let mut nexts = Vec::with_capacity(engines.len());
    for engine in engines {
        let partition = Partition::of(engine);
        let trail = engine.trail();
        let (events, next) = trail.since(if anew { 0 } else { trail.journaled() });
        let delta = engine
            .take_delta(!written.contains(&partition))
            .map_err(|e| e.to_string())?;
        nexts.push(next);
        out.push(PartitionWrite {
            partition,
            is_default: Arc::ptr_eq(engine, default),
            config: engine.config(),
            trail: (trail.id(), trail.seed(), next),
            delta: Some(delta),
            events,
        });
    }
    Ok((out, nexts))
}

impl ServerState {
    /// Makes the server durable (`hsmdrill serve --state FILE`): opens the
    /// state file (creating it), writes the world to it now unless it holds
    /// this very world already (the server was restored from it), and from
    /// then on every change and every trail event before answering. Blocks
    /// on file I/O. Fails if the file cannot be written or is not a state
    /// file this build reads (it is then left as it is), or if the server
    /// already has a state file.
    pub fn persist_to(&self, state_file: PathBuf) -> Result<(), String> {
        let store = Store::open(&state_file)?;
        let cloud = self.cloud();
        let engines = cloud.partitions();
        // A restored cloud's trails keep their ids (random per world):
        // the file holds this world if it names every partition's trail.
        let on_file = store.trail_ids()?;
        let restored = on_file.len() == engines.len()
            && engines
                .iter()
                .all(|e| on_file.get(&Partition::of(e)) == Some(&e.trail().id()));
        let partitions = if restored {
            engines.iter().map(|e| Partition::of(e)).collect()
        } else {
            BTreeSet::new()
        };
        self.persist
            .set(Persister {
                path: state_file,
                issued: AtomicU64::new(0),
                commit: Mutex::new(Commit {
                    written: 0,
                    store: Some(store),
                    partitions,
                    reopened: false,
                    pruned: i64::MIN,
                }),
                durable: AtomicU64::new(0),
                changing: AtomicU64::new(0),
                reader: Mutex::new(None),
                page_ends: Mutex::new(BTreeMap::new()),
            })
            .map_err(|p| format!("already persisting to {}", p.path.display()))?;
        if restored {
            return Ok(());
        }
        // Another world's rows (or none): replaced by this one's.
        self.write_cloud(&cloud, true)
    }

    /// The state file, if the server has one.
    pub fn state_file(&self) -> Option<&Path> {
        self.persist.get().map(|p| p.path.as_path())
    }

    /// Writes what changed in the engines and their new trail events to
    /// the state file (a no-op without one). Blocks on file I/O: call it
    /// off the async runtime. When it returns `Ok`, every change made and
    /// every event recorded by an engine call that finished before it was
    /// called is on disk.
    pub fn save(&self) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        let mine = p.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut commit = p.commit.lock();
        if commit.written >= mine {
            // A write that drained after this call's engine work is on
            // disk, with this call's events.
            return Ok(());
        }
        self.write(p, &mut commit, &self.cloud(), false)
    }

    /// `cloud` whole, replacing whatever the file holds (a new file, a
    /// world reset).
    fn write_cloud(&self, cloud: &Cloud, reset: bool) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        let mut commit = p.commit.lock();
        commit.partitions.clear();
        self.write(p, &mut commit, cloud, reset)
    }

    /// One transaction: every partition's changes (whole where the file
    /// does not hold it) and unwritten events. Every ticket issued so far
    /// was taken after its engine call, so the drain holds all their
    /// changes. On failure every partition is written whole next time.
    fn write(
        &self,
        p: &Persister,
        commit: &mut Commit,
        cloud: &Cloud,
        reset: bool,
    ) -> Result<(), String> {
        let upto = p.issued.load(Ordering::SeqCst);
        let engines = cloud.partitions();
        let result = (|| {
            commit.store(&p.path)?;
            let anew = reset || commit.reopened;
            let (writes, nexts) = drain(cloud, &engines, &commit.partitions, anew)?;
            let any_whole = writes
                .iter()
                .any(|w| w.delta.as_ref().is_some_and(|d| d.whole));
            let now = cloud.now();
            let prune_before = commit.prune_before(now);
            let write = Write {
                reset: anew,
                partitions: writes,
                now,
                virtual_clock: cloud.clock().is_virtual(),
                access_keys: any_whole.then(|| cloud.access_keys()),
                prune_before,
            };
            commit.store(&p.path)?.write(&write)?;
            if let Some(cutoff) = prune_before {
                commit.pruned = cutoff.as_millis();
            }
            Ok::<_, String>(nexts)
        })();
        match result {
            Ok(nexts) => {
                for (engine, next) in engines.iter().zip(nexts) {
                    engine.trail().mark_journaled(next);
                    commit.partitions.insert(Partition::of(engine));
                }
                commit.written = upto;
                commit.reopened = false;
                p.durable.store(upto, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                commit.partitions.clear();
                Err(e)
            }
        }
    }

    /// Makes the trail events `engine` recorded before `upto` durable, for
    /// a call that changed nothing: writes them alone, or runs the whole
    /// write if one of them records a change (another call's, or work that
    /// fell due), which must be on disk before its event is. Blocks on
    /// file I/O.
    fn journal(&self, engine: &Arc<Engine>, upto: u64) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            return Ok(());
        };
        if engine.trail().journaled() >= upto {
            return Ok(());
        }
        let mut commit = p.commit.lock();
        let cloud = self.cloud();
        let partition = Partition::of(engine);
        let current = cloud
            .existing(&partition)
            .is_some_and(|e| Arc::ptr_eq(engine, &e));
        if engine.trail().journaled() >= upto || !current {
            // Written while this call waited; or the world was reset and
            // its trail went with it.
            return Ok(());
        }
        let trail = engine.trail();
        let (events, next) = trail.since(trail.journaled());
        let in_place = commit.store.as_ref().is_some_and(Store::is_in_place);
        if events.iter().any(records_a_change)
            || !in_place
            || !commit.partitions.contains(&partition)
        {
            p.issued.fetch_add(1, Ordering::SeqCst);
            return self.write(p, &mut commit, &cloud, false);
        }
        let now = cloud.now();
        let prune_before = commit.prune_before(now);
        let write = Write {
            reset: false,
            partitions: vec![PartitionWrite {
                is_default: Arc::ptr_eq(engine, cloud.default_engine()),
                partition,
                config: engine.config(),
                trail: (trail.id(), trail.seed(), next),
                delta: None,
                events,
            }],
            now,
            virtual_clock: cloud.clock().is_virtual(),
            access_keys: None,
            prune_before,
        };
        commit.store(&p.path)?.write(&write)?;
        if let Some(cutoff) = prune_before {
            commit.pruned = cutoff.as_millis();
        }
        trail.mark_journaled(next);
        Ok(())
    }

    /// One page of `engine`'s trail events named `name` (all if `None`),
    /// newest first, rendered as CloudTrail records them, and how many
    /// there are as far as a client paging through needs to know (more
    /// than `skip + take` exactly when another page follows). With a state
    /// file the page comes from the file's indexed trail table, which
    /// keeps every event of the retention rather than the newest
    /// `trail_capacity`; first, work that fell due is done and every event
    /// the engine recorded is written, so the file shows what the engine
    /// does. Blocks on file I/O.
    pub(super) fn trail_page(
        &self,
        engine: &Arc<Engine>,
        q: &Query<'_>,
        skip: usize,
        take: usize,
    ) -> (Vec<serde_json::Value>, usize) {
        let Some(p) = self.persist.get() else {
            return engine.trail_page(q, skip, take);
        };
        let trail = engine.trail();
        let key: PageEnd = (trail.id(), format!("{q:?}"), skip);
        let before_seq = p.page_ends.lock().get(&key).copied();
        let query = TrailQuery {
            query: *q,
            before_seq,
            skip: if before_seq.is_some() { 0 } else { skip },
            take,
        };
        match self.lookup(engine, &query) {
            Ok((events, more)) => {
                if let Some(last) = events.last() {
                    let mut ends = p.page_ends.lock();
                    if ends.len() >= PAGE_ENDS {
                        ends.clear();
                    }
                    ends.insert((key.0, key.1, skip.saturating_add(events.len())), last.seq);
                }
                let (account, region) = (&engine.config().account, &engine.config().region);
                let page: Vec<_> = events
                    .iter()
                    .map(|e| trail.render(e, account, region))
                    .collect();
                let total = skip.saturating_add(page.len()) + usize::from(more);
                (page, total)
            }
            Err(e) => {
                eprintln!("hsmdrill: cannot read the trail from the state file (answering from memory): {e}");
                engine.trail_page(q, skip, take)
            }
        }
    }

    /// The file's page for `query` (see [`ServerState::trail_page`]); an
    /// error without a state file.
    fn lookup(
        &self,
        engine: &Arc<Engine>,
        query: &TrailQuery<'_>,
    ) -> Result<(Vec<TrailEvent>, bool), String> {
        let p = self
            .persist
            .get()
            .ok_or_else(|| "no state file".to_owned())?;
        engine.catch_up();
        let position = engine.trail().position();
        if engine.trail().journaled() < position {
            self.journal(engine, position)?;
        }
        let mut reader = p.reader.lock();
        if !reader.as_ref().is_some_and(Reader::is_in_place) {
            *reader = Some(Reader::open(&p.path)?);
        }
        let reader = reader
            .as_ref()
            .ok_or_else(|| format!("{}: not open", p.path.display()))?;
        reader
            .lookup(&Partition::of(engine), query)
            .map_err(|e| format!("{}: {e}", p.path.display()))
    }

    /// A world reset. With a state file the new world is written first
    /// (replacing every row of the old one, its trail's included) and
    /// replaces the old one in memory only once it is on disk. Blocks on
    /// file I/O.
    pub(super) fn replace(&self, cloud: Cloud) -> Result<(), String> {
        let Some(p) = self.persist.get() else {
            *self.cloud.write() = Arc::new(cloud);
            return Ok(());
        };
        let mut commit = p.commit.lock();
        let upto = p.issued.load(Ordering::SeqCst);
        commit.partitions.clear();
        self.write(p, &mut commit, &cloud, true)?;
        *self.cloud.write() = Arc::new(cloud);
        // Calls before the reset changed the old world, which is gone.
        commit.written = commit.written.max(upto);
        p.durable.store(commit.written, Ordering::SeqCst);
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
                // A change this read may have seen (the change counted
                // itself before its engine work) is on disk before the
                // answer; so are the events it recorded (or returned, for
                // LookupEvents).
                if engine.may_have_changed_since(mark) || p.behind() {
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

    use rusqlite::Connection;
    use serde_json::json;

    use super::*;
    use crate::engine::dispatch::Api;
    use crate::engine::persist::SavedClock;
    use crate::engine::trail::Lookup;
    use crate::engine::world;

    const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn example(extra: &str) -> Engine {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        let yaml = fs::read_to_string(path).unwrap() + extra;
        world::load_str(&yaml, "example.yaml").unwrap()
    }

    /// A server started from the example world (and `extra`) that persists
    /// to `state.db` in a new temporary folder, removed when dropped.
    fn persisted(extra: &str) -> (tempfile::TempDir, PathBuf, Arc<ServerState>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let server = ServerState::new(example(extra), None);
        server.persist_to(path.clone()).unwrap();
        (dir, path, server)
    }

    /// The default partition `hsmdrill serve --state` would restore from
    /// `path`.
    fn restore(path: &Path) -> Arc<Engine> {
        super::super::store::read_cloud(path, SavedClock::resume)
            .unwrap()
            .unwrap()
            .default_engine()
            .clone()
    }

    fn encrypt(e: &Engine) {
        e.call_api(
            Api::Kms,
            "Encrypt",
            json!({"KeyId": KEY, "Plaintext": "aGk="}),
        )
        .unwrap();
    }

    fn create_key(e: &Engine) -> String {
        let out = e
            .call_api(
                Api::Kms,
                "CreateKey",
                json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-1234567890abcdef0"}),
            )
            .unwrap();
        out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
    }

    /// The names of the trail's events in the file, oldest first.
    fn names(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT name FROM trail ORDER BY seq").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn has_key(path: &Path, key: &str) -> bool {
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT count(*) FROM keys WHERE id = ?1", [key], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    }

    #[test]
    fn an_event_is_written_alone_only_if_its_change_is_on_disk() {
        let (_dir, path, server) = persisted("");
        let engine = server.engine();
        // Events of reads alone are written.
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert_eq!(names(&path), ["Encrypt"]);
        // A change not written yet (its call still under way) and a read
        // after it: writing the read's events would carry the change's
        // event, so the change is written with them.
        let key = create_key(&engine);
        encrypt(&engine);
        assert!(!has_key(&path, &key));
        server.journal(&engine, engine.trail().position()).unwrap();
        assert!(has_key(&path, &key));
        assert_eq!(names(&path), ["Encrypt", "CreateKey", "Encrypt"]);
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
        // A world reset: the old world's rows and events are gone with it.
        server.replace(example("").into()).unwrap();
        let new = server.engine();
        assert_ne!(new.trail().id(), engine.trail().id());
        assert!(!has_key(&path, &key));
        assert!(names(&path).is_empty());
        encrypt(&new);
        server.journal(&new, new.trail().position()).unwrap();
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), new.trail_events(None));
        assert_eq!(restored.trail_events(None).len(), 1);
        // A call that ran on the old world writes nothing to the new one.
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert_eq!(names(&path).len(), 1);
    }

    #[test]
    fn a_state_file_deleted_behind_the_server_s_back_is_written_anew_whole() {
        let (_dir, path, server) = persisted("");
        let engine = server.engine();
        let key = create_key(&engine);
        server.save().unwrap();
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let _ = fs::remove_file(PathBuf::from(name));
        }
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        assert!(has_key(&path, &key));
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
        assert!(restored.with_state(|st| st.keys.contains_key(&key)));
    }

    #[test]
    fn a_restart_resumes_the_file_and_keeps_its_events_past_the_capacity() {
        let (_dir, path, server) = persisted("\ntrail_capacity: 10\n");
        let engine = server.engine();
        for _ in 0..25 {
            encrypt(&engine);
            server.journal(&engine, engine.trail().position()).unwrap();
        }
        assert_eq!(names(&path).len(), 25, "the file keeps every event");
        let restored = restore(&path);
        assert_eq!(restored.trail_events(None), engine.trail_events(None));
        assert_eq!(restored.trail_events(None).len(), 10);
        // Persisting a restored world to its own file writes nothing anew:
        // its events stay.
        drop(server);
        let again = ServerState::new(
            super::super::store::read_cloud(&path, SavedClock::resume)
                .unwrap()
                .unwrap(),
            None,
        );
        again.persist_to(path.clone()).unwrap();
        assert_eq!(names(&path).len(), 25);
        let e = again.engine();
        encrypt(&e);
        again.journal(&e, e.trail().position()).unwrap();
        assert_eq!(names(&path).len(), 26);
        // Another world persisted to it replaces it.
        let other = ServerState::new(example(""), None);
        other.persist_to(path.clone()).unwrap();
        assert!(names(&path).is_empty());
    }

    #[test]
    fn lookups_read_the_file_s_indexed_trail_which_keeps_the_retention() {
        let (_dir, path, server) = persisted("\ntrail_capacity: 5\n");
        let engine = server.engine();
        let key = create_key(&engine);
        server.save().unwrap();
        for _ in 0..12 {
            encrypt(&engine);
            server.journal(&engine, engine.trail().position()).unwrap();
        }
        // Memory holds the newest 5; the file all 13.
        assert_eq!(engine.trail().since(0).0.len(), 5);
        let (page, total) = server.trail_page(&engine, &Query::default(), 0, 50);
        assert_eq!((page.len(), total), (13, 13));
        assert_eq!(page[12]["eventName"], "CreateKey");
        assert_eq!(page[0], engine.trail_events(None)[4], "rendered alike");
        // Paging by name: a total past the page exactly when more follow.
        let (page, total) = server.trail_page(&engine, &Query::named(Some("Encrypt")), 0, 5);
        assert_eq!((page.len(), total), (5, 6));
        // A page after one handed out starts where it ended (not walking
        // the offset), so an event recorded meanwhile does not shift it.
        let (first, _) = server.trail_page(&engine, &Query::named(Some("Encrypt")), 0, 5);
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        let (second, _) = server.trail_page(&engine, &Query::named(Some("Encrypt")), 5, 5);
        let seq = |e: &serde_json::Value| e["eventID"].clone();
        assert!(second
            .iter()
            .all(|e| !first.iter().any(|f| seq(f) == seq(e))));
        let (page, total) = server.trail_page(&engine, &Query::named(Some("Encrypt")), 10, 5);
        assert_eq!((page.len(), total), (2, 12), "continued from the second");
        // An offset no page ended at is walked: now 13 Encrypts.
        let (page, total) = server.trail_page(&engine, &Query::named(Some("Encrypt")), 11, 5);
        assert_eq!((page.len(), total), (2, 13));
        // By resource: the new key's events, and the world key's.
        let by = |arn: &str| {
            let q = TrailQuery {
                query: Query {
                    attribute: Some(Lookup::ResourceName(arn)),
                    ..Query::default()
                },
                before_seq: None,
                skip: 0,
                take: 50,
            };
            server.lookup(&engine, &q).unwrap().0
        };
        let created = by(&engine.key_arn(&key));
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].name, "CreateKey");
        assert_eq!(by(&engine.key_arn(KEY)).len(), 13);
        // Past the retention, events older than 90 days of the clock go.
        engine.advance(std::time::Duration::from_secs(91 * 86_400));
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        let (page, _) = server.trail_page(&engine, &Query::default(), 0, 50);
        let cutoff = engine.now().as_millis() - TRAIL_RETENTION_MILLIS;
        assert!(!page.is_empty() && page.len() < 14, "{}", page.len());
        assert!(names(&path).len() < 14);
        let conn = Connection::open(&path).unwrap();
        let (oldest, resources): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT min(time) FROM trail), (SELECT count(*) FROM trail_resources)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(oldest >= cutoff);
        assert!(resources < 14, "{resources}");
    }

    #[test]
    fn every_lookup_attribute_finds_in_the_file_what_it_finds_in_memory() {
        let (_dir, _path, server) = persisted("");
        let engine = server.engine();
        let key = create_key(&engine);
        encrypt(&engine);
        engine.advance(std::time::Duration::from_millis(1500));
        engine.call_api(Api::Kms, "ListKeys", json!({})).unwrap();
        encrypt(&engine);
        engine
            .call_api(
                Api::Kms,
                "ScheduleKeyDeletion",
                json!({"KeyId": key, "PendingWindowInDays": 7}),
            )
            .unwrap();
        // The waiting period ends: KMS's own DeleteKey (AWS Internal).
        engine.advance(std::time::Duration::from_secs(8 * 86_400));
        encrypt(&engine);
        server.journal(&engine, engine.trail().position()).unwrap();
        let all = engine.trail_events(None);
        assert!(all.iter().any(|e| e["eventName"] == "DeleteKey"), "{all:?}");
        let first_id = all[0]["eventID"].as_str().unwrap().to_owned();
        let arn = engine.key_arn(&key);
        let second = |e: &serde_json::Value| {
            time::OffsetDateTime::parse(
                e["eventTime"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .unix_timestamp()
                * 1000
        };
        let (t0, t1) = (second(&all[1]), second(&all[3]));
        let attributes = [
            None,
            Some(Lookup::EventId(&first_id)),
            Some(Lookup::EventId("no-such-id")),
            Some(Lookup::EventName("Encrypt")),
            Some(Lookup::ReadOnly(true)),
            Some(Lookup::ReadOnly(false)),
            Some(Lookup::Username("hsmdrill")),
            Some(Lookup::Username("AWS Internal")),
            Some(Lookup::Username("somebody")),
            Some(Lookup::ResourceType("AWS::KMS::Key")),
            Some(Lookup::ResourceType("AWS::S3::Bucket")),
            Some(Lookup::ResourceName(&arn)),
            Some(Lookup::EventSource("kms.amazonaws.com")),
            Some(Lookup::EventSource("s3.amazonaws.com")),
            Some(Lookup::AccessKeyId("AKIAIOSFODNN7EXAMPLE")),
        ];
        let ranges = [
            (None, None),
            (Some(t0), None),
            // Half a second in: the events shown at second t0 are before it.
            (Some(t0 + 500), Some(t1)),
            (None, Some(t1 + 999)),
        ];
        let mut found = 0;
        for attribute in attributes {
            for (start, end) in ranges {
                let q = Query {
                    attribute,
                    start: start.map(Timestamp::from_millis),
                    end: end.map(Timestamp::from_millis),
                };
                let memory = engine.trail_page(&q, 0, 50);
                let file = server.trail_page(&engine, &q, 0, 50);
                assert_eq!(file.0, memory.0, "{q:?}");
                found += memory.0.len();
            }
        }
        assert!(found > 40, "{found}");
    }
}
