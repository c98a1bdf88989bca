//! The engine as a file: what `hsmdrill serve --state FILE` writes after
//! every change and reads back on start.
//!
//! A snapshot is one JSON object:
//!
//! ```text
//! {"format": "hsmdrill-state", "version": 3, "config": <EngineConfig>,
//!  "now": <ms since the epoch>, "virtual_clock": false, "state": <State>,
//!  "trail": {"id": …, "seed": …, "next": …, "events": [<TrailEvent>, …]},
//!  "partitions": [{"config": …, "state": …, "trail": …}, …],
//!  "access_keys": {"AKIA…": "444455556666"}}
//! ```
//!
//! The top level is the world's default partition (its own account and
//! Region); `partitions` and `access_keys`, written only when a
//! [`Cloud`](super::cloud::Cloud) has them (`cloud/persist.rs`), are the
//! other accounts and Regions and the access key → account map. Version 2
//! files (one partition) read as a cloud with only the default one; an
//! older build refuses a version 3 file by its version.
//!
//! `now` is the clock's instant when the snapshot was taken; a restored
//! engine's clock continues from it ([`SavedClock::resume`]), or from the
//! last trail event's time if that is later, so time spent stopped does not
//! count and no new event is dated before an old one.
//!
//! `state` is the whole [`State`]: the id generator's position (so ids stay
//! unique after a restart), subnets, clusters with their HSMs, users,
//! passwords, lockouts, logins and key material (AES keys as the base64 of
//! their 32 raw bytes), backups, key stores, keys, aliases and deleted key
//! ids. Runtime-only parts are rebuilt on load: PKCS #11 session pools are
//! stored as their capacity and come back empty, sessions held by an
//! "exhaust sessions" fault are released, per-second quota windows start
//! afresh.
//!
//! `trail` is the CloudTrail trail's seed and numbering, so event ids stay
//! the same and never repeat after a restore, and its events not yet in the
//! trail journal (`FILE.trail`, [`super::journal`]): all of them when there
//! is no journal, else the few recorded since the journal's last append.
//! [`Engine::restore_file`] reads the journal back with the snapshot and
//! keeps every event of either (the newest `trail_capacity` of them). A
//! snapshot is taken after the events it carries, so a change whose event
//! the file or the journal holds is in the snapshot too. Version 1 files
//! (before the trail was kept) are read with an empty trail.
//!
//! [`write_atomic`] replaces the file in one step (a temporary file created
//! with mode 0600, `fsync`, `rename`, `fsync` of the folder), so after a
//! crash at any moment the file holds either the previous snapshot or the
//! new one, whole. The file holds key material and passwords.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::clock::{Clock, Timestamp};
use super::config::EngineConfig;
use super::ids::random_u64;
use super::journal;
use super::network::NetworkCondition;
use super::state::State;
use super::trail::{SavedTrail, Trail, TrailEvent};
use super::Engine;

/// The `format` member of every state file.
pub const FORMAT: &str = "hsmdrill-state";

/// The `version` member this build writes.
pub const VERSION: u32 = 3;

/// The oldest version this build reads (version 1 has no trail; version 2
/// has no further partitions).
pub const OLDEST_VERSION: u32 = 1;

/// Why a snapshot could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The state could not be serialized.
    #[error("cannot serialize the state: {0}")]
    Serialize(String),
    /// The bytes are not a state file this build reads.
    #[error("not a usable hsmdrill state file: {0}")]
    Corrupt(String),
    /// A state file of another version.
    #[error(
        "hsmdrill state file version {found}, but this build reads versions {OLDEST_VERSION} to {VERSION}"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

#[derive(Serialize)]
pub(crate) struct SnapshotOut<'a> {
    format: &'static str,
    version: u32,
    config: &'a EngineConfig,
    now: Timestamp,
    virtual_clock: bool,
    state: &'a State,
    trail: SavedTrail,
    /// The cloud's other partitions (`cloud::persist`), left out when none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(crate) partitions: Vec<PartitionOut<'a>>,
    /// The cloud's access key → account map, left out when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) access_keys: Option<&'a BTreeMap<String, String>>,
}

/// A partition other than the default one, as a state file holds it: its
/// engine's config, state and whole trail (no journal holds it).
#[derive(Serialize)]
pub(crate) struct PartitionOut<'a> {
    pub(crate) config: &'a EngineConfig,
    pub(crate) state: &'a State,
    pub(crate) trail: SavedTrail,
}

/// A [`PartitionOut`] read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartitionIn {
    pub(crate) config: EngineConfig,
    pub(crate) state: State,
    pub(crate) trail: SavedTrail,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotIn {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    config: EngineConfig,
    now: Timestamp,
    #[serde(default)]
    virtual_clock: bool,
    state: State,
    #[serde(default)]
    trail: Option<SavedTrail>,
    #[serde(default)]
    pub(crate) partitions: Vec<PartitionIn>,
    #[serde(default)]
    pub(crate) access_keys: BTreeMap<String, String>,
}

impl SnapshotIn {
    /// The id of the default partition's trail, if the file has one.
    pub(crate) fn trail_id(&self) -> Option<u64> {
        self.trail.as_ref().map(|t| t.id)
    }
}

/// How the clock stood when a snapshot was taken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SavedClock {
    /// Its instant.
    pub now: Timestamp,
    /// Whether it moved only when told to.
    pub is_virtual: bool,
}

impl SavedClock {
    /// A clock of the same kind continuing from the saved instant: virtual
    /// stays virtual, a real-time clock follows real time from `now`.
    pub fn resume(self) -> Clock {
        if self.is_virtual {
            Clock::virtual_at(self.now)
        } else {
            Clock::running_from(self.now)
        }
    }
}

/// Taken before a call that only reads, to tell afterwards whether it may
/// have changed the state all the same (see [`Engine::read_mark`]).
#[derive(Clone, Copy, Debug)]
pub struct ReadMark {
    due: i64,
    flaky: bool,
}

impl Engine {
    /// The engine as a state file: config, the clock's current instant, the
    /// whole state and the trail's events past the journal's mark
    /// ([`Trail::journaled`]), serialized under the state's read lock.
    pub fn snapshot_json(&self) -> Result<Vec<u8>, PersistError> {
        let st = self.state.read();
        let snapshot = self.snapshot_out(&st);
        serde_json::to_vec(&snapshot).map_err(|e| PersistError::Serialize(e.to_string()))
    }

    /// The snapshot of this engine as the default partition, with no other
    /// partition; `st` is its state, locked by the caller.
    pub(crate) fn snapshot_out<'a>(&'a self, st: &'a State) -> SnapshotOut<'a> {
        SnapshotOut {
            format: FORMAT,
            version: VERSION,
            config: &self.config,
            now: self.clock.now(),
            virtual_clock: self.clock.is_virtual(),
            state: st,
            // Taken with the state's lock held: a service event (a key
            // deleted at the end of its waiting period) is recorded under
            // the write lock with its change, so the two come together.
            trail: self.trail.saved(),
            partitions: Vec::new(),
            access_keys: None,
        }
    }

    /// An engine from a state file, with the trail events the file holds
    /// (not those of a journal: see [`Engine::restore_file`]). `clock` is
    /// given how the clock stood when the snapshot was taken and makes the
    /// restored engine's clock (usually [`SavedClock::resume`]), so time
    /// continues from there.
    pub fn restore(
        bytes: &[u8],
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Engine, PersistError> {
        Ok(build(parse(bytes)?, Vec::new(), clock))
    }

    /// Reads the state file at `path`, and the trail journal beside it
    /// ([`journal::journal_path`]) if it belongs with this file's trail:
    /// `Ok(None)` if there is no state file. Only the world's own
    /// partition: [`Cloud::restore_file`](super::cloud::Cloud::restore_file)
    /// reads every account and Region. A journal whose header cannot
    /// be read is an error; its torn last record, if any, is dropped.
    pub fn restore_file(
        path: &Path,
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Option<Engine>, PersistError> {
        let Some(bytes) = read_if_any(path)? else {
            return Ok(None);
        };
        let snapshot = parse(&bytes)?;
        let journaled = match &snapshot.trail {
            Some(trail) => match journal::read(&journal::journal_path(path))? {
                Some(j) if j.trail_id == trail.id => j.events,
                // Another world's journal: a reset wrote this file and
                // was cut short before it wrote the new journal.
                Some(_) | None => Vec::new(),
            },
            None => Vec::new(),
        };
        Ok(Some(build(snapshot, journaled, clock)))
    }

    /// Writes the engine's snapshot to `path` with [`write_atomic`].
    pub fn save_to(&self, path: &Path) -> Result<(), PersistError> {
        let bytes = self.snapshot_json()?;
        write_atomic(path, &bytes).map_err(|source| PersistError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// A mark to take before a call that does not mean to change the state
    /// (a Describe, an Encrypt), for front ends that persist after changes.
    pub fn read_mark(&self) -> ReadMark {
        let flaky = self
            .state
            .read()
            .clusters
            .values()
            .any(|c| matches!(c.link.condition(), NetworkCondition::Flaky(_)));
        ReadMark {
            due: self.next_due.load(Ordering::Acquire),
            flaky,
        }
    }

    /// Whether the state may have changed since `mark` although only reads
    /// ran since: scheduled work fell due (which any call does first: a
    /// connect attempt judged, a key deleted at the end of its waiting
    /// period, a daily backup), or a flaky link may have spent a failure.
    /// Such work is a function of the state and the clock, so it is redone
    /// the same way after a restore from an earlier snapshot; persisting it
    /// keeps the restored clock from standing before what clients saw.
    pub fn may_have_changed_since(&self, mark: ReadMark) -> bool {
        mark.flaky || self.clock.now().as_millis() >= mark.due
    }
}

/// Reads a state file's bytes.
pub(crate) fn parse(bytes: &[u8]) -> Result<SnapshotIn, PersistError> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| PersistError::Corrupt(e.to_string()))?;
    if header.format != FORMAT {
        return Err(PersistError::Corrupt(format!(
            "format is {:?}, not {FORMAT:?}",
            header.format
        )));
    }
    if !(OLDEST_VERSION..=VERSION).contains(&header.version) {
        return Err(PersistError::Version {
            found: header.version,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let snapshot: SnapshotIn = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| PersistError::Corrupt(format!("at {}: {}", e.path(), e.inner())))?;
    de.end().map_err(|e| PersistError::Corrupt(e.to_string()))?;
    Ok(snapshot)
}

/// The engine a snapshot and the events of its journal make (its other
/// partitions, if any, are `cloud::persist`'s to build).
pub(crate) fn build(
    snapshot: SnapshotIn,
    journaled: Vec<TrailEvent>,
    clock: impl FnOnce(SavedClock) -> Clock,
) -> Engine {
    let capacity = snapshot.config.trail_capacity;
    let (trail, latest) = match snapshot.trail {
        Some(saved) => {
            let mut events = journaled;
            events.extend(saved.events);
            let latest = events.iter().map(|e| e.time).max();
            let trail = Trail::restored(saved.seed, saved.id, saved.next, events, capacity);
            (trail, latest)
        }
        None => {
            // A version 1 file: the trail starts empty and its numbering
            // from zero, so its ids need a fresh seed not to repeat earlier
            // ones.
            let seed =
                random_u64().unwrap_or(snapshot.config.seed ^ snapshot.now.as_millis() as u64);
            (Trail::new(seed, capacity), None)
        }
    };
    // Events journaled after the last snapshot were seen by clients: the
    // clock does not go back before them.
    let saved = SavedClock {
        now: latest.map_or(snapshot.now, |t| t.max(snapshot.now)),
        is_virtual: snapshot.virtual_clock,
    };
    let mut engine = Engine::with_clock(snapshot.config, clock(saved));
    engine.trail = trail;
    {
        let mut st = engine.state.write();
        *st = snapshot.state;
        engine.reschedule(&st);
    }
    engine
}

/// Replaces `path` with `bytes` atomically and durably: writes
/// `<path>.tmp` (created afresh with mode 0600 on Unix), `fsync`s it,
/// renames it over `path` and `fsync`s the folder, so that once this
/// returns the new content survives a crash, and a crash before leaves the
/// old content whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(path);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)
}

/// `<path>.tmp`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// `fsync`s the folder holding `path`, so a rename in it is durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            Some(_) | None => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = (path, File::open);
        Ok(())
    }
}

/// `#[serde(with = "map_as_pairs")]`: a map whose keys are not strings (an
/// enum), as a list of `[key, value]` pairs, since JSON object keys must be
/// strings.
pub mod map_as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the map as `[[key, value], …]`.
    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    /// Reads `[[key, value], …]`.
    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// The bytes of the file at `path`, or `None` if there is none.
pub(crate) fn read_if_any(path: &Path) -> Result<Option<Vec<u8>>, PersistError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PersistError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::engine::dispatch::Api;
    use crate::engine::world::{self, example};
    use crate::engine::EPOCH;

    const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const STORE: &str = "cks-1234567890abcdef0";
    const CLUSTER: &str = "cluster-1a23b4cdefg";

    fn kms(e: &Engine, op: &str, input: Value) -> Value {
        e.call_api(Api::Kms, op, input)
            .unwrap_or_else(|err| panic!("{op}: {err}"))
    }

    /// A KMS operation whose input is the example key store's id.
    fn kms_on_store(e: &Engine, op: &str) -> Value {
        kms(e, op, json!({"CustomKeyStoreId": STORE}))
    }

    fn round_trip(e: &Engine) -> Engine {
        let bytes = e.snapshot_json().unwrap();
        Engine::restore(&bytes, SavedClock::resume).unwrap()
    }

    fn create_key(e: &Engine) -> String {
        kms(
            e,
            "CreateKey",
            json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
        )["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn encrypt(e: &Engine, key: &str, text: &[u8]) -> Value {
        use base64::Engine as _;
        let plain = base64::engine::general_purpose::STANDARD.encode(text);
        kms(e, "Encrypt", json!({"KeyId": key, "Plaintext": plain}))["CiphertextBlob"].clone()
    }

    fn decrypt(e: &Engine, blob: &Value) -> Vec<u8> {
        use base64::Engine as _;
        let out = kms(e, "Decrypt", json!({"CiphertextBlob": blob}));
        base64::engine::general_purpose::STANDARD
            .decode(out["Plaintext"].as_str().unwrap())
            .unwrap()
    }

    #[test]
    fn a_restored_engine_answers_as_the_original_and_decrypts_its_ciphertexts() {
        let e = example();
        let key = create_key(&e);
        let blob = encrypt(&e, &key, b"before the crash");
        let old_blob = encrypt(&e, KEY, b"example key");
        e.advance(Duration::from_secs(90));
        let r = round_trip(&e);
        assert_eq!(r.now(), e.now());
        assert_eq!(r.config(), e.config());
        assert_eq!(
            kms(&r, "DescribeCustomKeyStores", json!({})),
            kms(&e, "DescribeCustomKeyStores", json!({}))
        );
        assert_eq!(
            kms(&r, "DescribeKey", json!({"KeyId": key})),
            kms(&e, "DescribeKey", json!({"KeyId": key}))
        );
        assert_eq!(
            kms(&r, "ListAliases", json!({})),
            kms(&e, "ListAliases", json!({}))
        );
        assert_eq!(
            r.call_api(Api::CloudHsmV2, "DescribeClusters", json!({}))
                .unwrap(),
            e.call_api(Api::CloudHsmV2, "DescribeClusters", json!({}))
                .unwrap()
        );
        assert_eq!(
            r.call_api(Api::CloudHsmV2, "DescribeBackups", json!({}))
                .unwrap(),
            e.call_api(Api::CloudHsmV2, "DescribeBackups", json!({}))
                .unwrap()
        );
        assert_eq!(decrypt(&r, &blob), b"before the crash");
        assert_eq!(decrypt(&r, &old_blob), b"example key");
        // And the other way: what the restored engine encrypts, the
        // original decrypts (same material).
        let after = encrypt(&r, &key, b"after");
        assert_eq!(decrypt(&e, &after), b"after");
        // Session pools come back with their capacity, none in use.
        r.with_state(|st| {
            for c in st.clusters.values() {
                for h in &c.hsms {
                    assert_eq!(h.pool.capacity(), e.config().pkcs11.sessions_per_hsm);
                    assert_eq!(h.pool.in_use(), 0);
                }
            }
        });
    }

    #[test]
    fn ids_continue_after_a_restore_without_collision() {
        let e = example();
        let before = create_key(&e);
        let r = round_trip(&e);
        // The id generator carries on from where it stood: the restored
        // engine makes the very id the original makes next.
        let next_r = create_key(&r);
        let next_e = create_key(&e);
        assert_eq!(next_r, next_e);
        assert_ne!(next_r, before);
        assert_ne!(next_r, KEY);
        let backup_r = r.take_backup(CLUSTER).unwrap();
        let backup_e = e.take_backup(CLUSTER).unwrap();
        assert_eq!(backup_r, backup_e);
        assert_ne!(backup_r, "backup-9g87f6edcba");
    }

    #[test]
    fn a_locked_user_stays_locked_and_passwords_survive() {
        let e = example();
        kms_on_store(&e, "DisconnectCustomKeyStore");
        for _ in 0..5 {
            e.cloudhsm_cli(
                CLUSTER,
                "x",
                "login --username kmsuser --role crypto-user --password wrongPass1",
            );
        }
        let r = round_trip(&e);
        let locked = |eng: &Engine| {
            eng.with_state(|st| st.clusters[CLUSTER].users.get("kmsuser").map(|u| u.lockout))
        };
        assert!(locked(&r).unwrap().is_locked());
        assert_eq!(locked(&r), locked(&e));
        // The admin's password is what the world set, and a CLI session's
        // login survives too.
        let out = r.cloudhsm_cli(
            CLUSTER,
            "admin",
            "login --username admin --role admin --password adminPassword1",
        );
        assert_eq!(out["error_code"], 0, "{out}");
        let r2 = round_trip(&r);
        let again = r2.cloudhsm_cli(
            CLUSTER,
            "admin",
            "login --username admin --role admin --password adminPassword1",
        );
        assert_ne!(again["error_code"], 0, "still logged in: {again}");
        // What KMS believes kmsuser's password is (rotated at connect) is
        // kept as well.
        let pw = |eng: &Engine| eng.with_state(|st| st.stores[STORE].password.clone());
        assert_eq!(pw(&r2), pw(&e));
    }

    #[test]
    fn a_key_pending_deletion_keeps_its_date_and_is_deleted_on_time() {
        let e = example();
        let key = create_key(&e);
        kms(
            &e,
            "ScheduleKeyDeletion",
            json!({"KeyId": key, "PendingWindowInDays": 7}),
        );
        let described = kms(&e, "DescribeKey", json!({"KeyId": key}));
        let r = round_trip(&e);
        let after = kms(&r, "DescribeKey", json!({"KeyId": key}));
        assert_eq!(after["KeyMetadata"]["KeyState"], "PendingDeletion");
        assert_eq!(
            after["KeyMetadata"]["DeletionDate"],
            described["KeyMetadata"]["DeletionDate"]
        );
        // The deletion is still scheduled in the restored engine.
        r.advance(Duration::from_secs(8 * 86_400));
        assert!(r
            .call_api(Api::Kms, "DescribeKey", json!({"KeyId": key}))
            .is_err());
    }

    #[test]
    fn pending_work_and_faults_survive() {
        let e = example();
        kms_on_store(&e, "DisconnectCustomKeyStore");
        kms_on_store(&e, "ConnectCustomKeyStore");
        e.set_network(CLUSTER, NetworkCondition::Flaky(2)).unwrap();
        e.set_security_group_ok(CLUSTER, false).unwrap();
        let r = round_trip(&e);
        assert_eq!(r.network(CLUSTER).unwrap(), NetworkCondition::Flaky(2));
        let state = |eng: &Engine| {
            kms(eng, "DescribeCustomKeyStores", json!({}))["CustomKeyStores"][0].clone()
        };
        assert_eq!(state(&r)["ConnectionState"], "CONNECTING");
        r.advance(Duration::from_secs(5));
        e.advance(Duration::from_secs(5));
        assert_eq!(state(&r), state(&e));
        assert_eq!(state(&r)["ConnectionState"], "FAILED");
    }

    #[test]
    fn the_snapshot_is_json_with_format_version_and_clock() {
        let e = example();
        let v: Value = serde_json::from_slice(&e.snapshot_json().unwrap()).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert_eq!(v["version"], VERSION);
        assert_eq!(v["now"], EPOCH.as_millis());
        assert_eq!(v["virtual_clock"], true);
        assert_eq!(v["config"]["seed"], 1);
        assert!(v["state"]["clusters"][CLUSTER]["keys"]["keys"].is_object());
    }

    #[test]
    fn a_real_time_clock_resumes_from_the_saved_instant() {
        let at = Timestamp::from_millis(EPOCH.as_millis() + 123_456);
        let c = SavedClock {
            now: at,
            is_virtual: false,
        }
        .resume();
        assert!(!c.is_virtual());
        assert!(c.now() >= at);
        assert!(c.now().as_millis() < at.as_millis() + 60_000);
        let v = SavedClock {
            now: at,
            is_virtual: true,
        }
        .resume();
        assert!(v.is_virtual());
        assert_eq!(v.now(), at);
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let e = example();
        let good = e.snapshot_json().unwrap();
        let err = |bytes: &[u8]| {
            Engine::restore(bytes, SavedClock::resume)
                .unwrap_err()
                .to_string()
        };
        assert!(err(b"").starts_with("not a usable hsmdrill state file"));
        assert!(err(&good[..good.len() / 2]).starts_with("not a usable"));
        assert!(err(b"{\"format\": \"x\", \"version\": 1}").contains("format is \"x\""));
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        v["version"] = json!(99);
        assert_eq!(
            err(v.to_string().as_bytes()),
            "hsmdrill state file version 99, but this build reads versions 1 to 3"
        );
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        v["state"]["keys"] = json!(7);
        assert!(err(v.to_string().as_bytes()).contains("at state.keys"));
    }

    /// Every event as LookupEvents renders it, oldest first.
    fn trail(e: &Engine) -> Vec<Value> {
        e.trail_events(None)
    }

    fn event_ids(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|v| v["eventID"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A control-plane call, a failed one and the data plane.
    fn some_calls(e: &Engine) {
        let key = create_key(e);
        encrypt(e, &key, b"trail");
        assert!(e
            .call_api(Api::Kms, "DescribeKey", json!({"KeyId": "alias/none"}))
            .is_err());
        e.advance(Duration::from_secs(3));
    }

    #[test]
    fn the_trail_survives_a_round_trip_with_the_same_ids_and_numbering() {
        let e = example();
        some_calls(&e);
        let before = trail(&e);
        assert!(before.len() >= 3);
        let r = round_trip(&e);
        assert_eq!(trail(&r), before, "the same events, ids, times and content");
        // Numbering continues: the next event is the one the original makes
        // next, and no id is handed out twice.
        encrypt(&r, KEY, b"after");
        encrypt(&e, KEY, b"after");
        let (after_r, after_e) = (trail(&r), trail(&e));
        assert_eq!(event_ids(&after_r), event_ids(&after_e));
        let mut ids = event_ids(&after_r);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), before.len() + 1);
    }

    #[test]
    fn the_trail_capacity_holds_after_a_restore() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        let yaml = fs::read_to_string(path).unwrap() + "\ntrail_capacity: 3\n";
        let e = world::load_str(&yaml, "example.yaml").unwrap();
        for _ in 0..4 {
            encrypt(&e, KEY, b"x");
        }
        let r = round_trip(&e);
        assert_eq!(trail(&r), trail(&e));
        assert_eq!(trail(&r).len(), 3);
        encrypt(&r, KEY, b"y");
        encrypt(&e, KEY, b"y");
        assert_eq!(trail(&r).len(), 3);
        assert_eq!(trail(&r), trail(&e));
    }

    #[test]
    fn restore_file_keeps_the_journal_s_events_and_the_file_s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let jpath = journal::journal_path(&path);
        let e = example();
        some_calls(&e);
        // The journal holds the first events, the snapshot those after.
        let (events, next) = e.trail().since(0);
        let mut j =
            journal::Journal::create(&jpath, e.trail().id(), &events, e.config().trail_capacity)
                .unwrap();
        e.trail().mark_journaled(next);
        create_key(&e);
        e.save_to(&path).unwrap();
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["trail"]["events"].as_array().unwrap().len(), 1);
        assert_eq!(v["trail"]["events"][0]["name"], "CreateKey");
        // Events journaled after the last snapshot, later in time.
        e.advance(Duration::from_secs(600));
        let from = e.trail().position();
        encrypt(&e, KEY, b"journaled only");
        let (tail, _) = e.trail().since(from);
        j.append(&tail).unwrap();
        let r = Engine::restore_file(&path, SavedClock::resume)
            .unwrap()
            .unwrap();
        assert_eq!(trail(&r), trail(&e));
        // The clock resumes from the last event, not from the older
        // snapshot: nothing new is dated before what clients saw.
        assert_eq!(r.now(), e.now());
        // A journal of another trail (another world) is not read.
        journal::Journal::create(&jpath, e.trail().id() ^ 1, &events, 10).unwrap();
        let r = Engine::restore_file(&path, SavedClock::resume)
            .unwrap()
            .unwrap();
        assert_eq!(trail(&r).len(), 1);
        // An unreadable journal is refused, and left as it is.
        fs::write(&jpath, b"garbage\n").unwrap();
        let err = Engine::restore_file(&path, SavedClock::resume).unwrap_err();
        assert!(err.to_string().contains("state.json.trail"), "{err}");
        assert_eq!(fs::read(&jpath).unwrap(), b"garbage\n");
    }

    #[test]
    fn a_version_1_file_restores_with_an_empty_trail_and_fresh_ids() {
        let e = example();
        some_calls(&e);
        let mut v: Value = serde_json::from_slice(&e.snapshot_json().unwrap()).unwrap();
        v["version"] = json!(1);
        v.as_object_mut().unwrap().remove("trail");
        let r = Engine::restore(v.to_string().as_bytes(), SavedClock::resume).unwrap();
        assert!(trail(&r).is_empty());
        encrypt(&r, KEY, b"after");
        let new = event_ids(&trail(&r));
        assert!(!event_ids(&trail(&e)).contains(&new[0]));
    }

    #[test]
    fn write_atomic_replaces_the_file_with_mode_0600_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        // A temporary left by a crash is replaced, not appended to.
        fs::write(tmp_path(&path), b"leftover").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!tmp_path(&path).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            Engine::restore_file(&dir.path().join("none.json"), SavedClock::resume)
                .unwrap()
                .is_none()
        );
        let e = example();
        e.save_to(&path).unwrap();
        let r = Engine::restore_file(&path, SavedClock::resume)
            .unwrap()
            .unwrap();
        assert_eq!(r.now(), e.now());
    }
}
