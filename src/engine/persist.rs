//! The engine as a file: what `hsmdrill serve --state FILE` writes after
//! every change and reads back on start.
//!
//! A snapshot is one JSON object:
//!
//! ```text
//! {"format": "hsmdrill-state", "version": 1, "config": <EngineConfig>,
//!  "now": <ms since the epoch>, "virtual_clock": false, "state": <State>}
//! ```
//!
//! `now` is the clock's instant when the snapshot was taken; a restored
//! engine's clock continues from it ([`SavedClock::resume`]), so time spent
//! stopped does not count.
//!
//! `state` is the whole [`State`]: the id generator's position (so ids stay
//! unique after a restart), subnets, clusters with their HSMs, users,
//! passwords, lockouts, logins and key material (AES keys as the base64 of
//! their 32 raw bytes), backups, key stores, keys, aliases and deleted key
//! ids. Runtime-only parts are rebuilt on load: PKCS #11 session pools are
//! stored as their capacity and come back empty, sessions held by an
//! "exhaust sessions" fault are released, per-second quota windows start
//! afresh. The trail is not stored: after a restore it starts empty (with
//! a fresh event-id seed, so event ids do not repeat those of before).
//!
//! [`write_atomic`] replaces the file in one step (a temporary file created
//! with mode 0600, `fsync`, `rename`, `fsync` of the folder), so after a
//! crash at any moment the file holds either the previous snapshot or the
//! new one, whole. The file holds key material and passwords.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::clock::{Clock, Timestamp};
use super::config::EngineConfig;
use super::network::NetworkCondition;
use super::state::State;
use super::trail::Trail;
use super::Engine;

/// The `format` member of every state file.
pub const FORMAT: &str = "hsmdrill-state";

/// The `version` member this build writes and reads.
pub const VERSION: u32 = 1;

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
    #[error("hsmdrill state file version {found}, but this build reads version {VERSION}")]
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
struct SnapshotOut<'a> {
    format: &'static str,
    version: u32,
    config: &'a EngineConfig,
    now: Timestamp,
    virtual_clock: bool,
    state: &'a State,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotIn {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    config: EngineConfig,
    now: Timestamp,
    #[serde(default)]
    virtual_clock: bool,
    state: State,
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
    /// The engine as a state file: config, the clock's current instant and
    /// the whole state, serialized under the state's read lock.
    pub fn snapshot_json(&self) -> Result<Vec<u8>, PersistError> {
        let st = self.state.read();
        let snapshot = SnapshotOut {
            format: FORMAT,
            version: VERSION,
            config: &self.config,
            now: self.clock.now(),
            virtual_clock: self.clock.is_virtual(),
            state: &st,
        };
        serde_json::to_vec(&snapshot).map_err(|e| PersistError::Serialize(e.to_string()))
    }

    /// An engine from a state file. `clock` is given how the clock stood
    /// when the snapshot was taken and makes the restored engine's clock
    /// (usually [`SavedClock::resume`]), so time continues from there.
    pub fn restore(
        bytes: &[u8],
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Engine, PersistError> {
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| PersistError::Corrupt(e.to_string()))?;
        if header.format != FORMAT {
            return Err(PersistError::Corrupt(format!(
                "format is {:?}, not {FORMAT:?}",
                header.format
            )));
        }
        if header.version != VERSION {
            return Err(PersistError::Version {
                found: header.version,
            });
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let snapshot: SnapshotIn = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| PersistError::Corrupt(format!("at {}: {}", e.path(), e.inner())))?;
        de.end().map_err(|e| PersistError::Corrupt(e.to_string()))?;
        let saved = SavedClock {
            now: snapshot.now,
            is_virtual: snapshot.virtual_clock,
        };
        let mut engine = Engine::with_clock(snapshot.config, clock(saved));
        // A fresh seed for event ids: the trail starts empty and its
        // numbering from zero, and its ids must not repeat earlier ones.
        let seed = fresh_seed().unwrap_or(engine.config.seed ^ snapshot.now.as_millis() as u64);
        engine.trail = Trail::new(seed, engine.config.trail_capacity);
        {
            let mut st = engine.state.write();
            *st = snapshot.state;
            engine.reschedule(&st);
        }
        Ok(engine)
    }

    /// Reads the state file at `path`: `Ok(None)` if there is none.
    pub fn restore_file(
        path: &Path,
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Option<Engine>, PersistError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PersistError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        Engine::restore(&bytes, clock).map(Some)
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

/// 64 bits from the system's random source.
fn fresh_seed() -> Option<u64> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut b).ok()?;
    Some(u64::from_le_bytes(b))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::engine::dispatch::Api;
    use crate::engine::world;
    use crate::engine::EPOCH;

    const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const STORE: &str = "cks-1234567890abcdef0";
    const CLUSTER: &str = "cluster-1a23b4cdefg";

    fn example() -> Engine {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        world::load_file(Path::new(path)).unwrap()
    }

    fn kms(e: &Engine, op: &str, input: Value) -> Value {
        e.call_api(Api::Kms, op, input)
            .unwrap_or_else(|err| panic!("{op}: {err}"))
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
        kms(
            &e,
            "DisconnectCustomKeyStore",
            json!({"CustomKeyStoreId": STORE}),
        );
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
        kms(
            &e,
            "DisconnectCustomKeyStore",
            json!({"CustomKeyStoreId": STORE}),
        );
        kms(
            &e,
            "ConnectCustomKeyStore",
            json!({"CustomKeyStoreId": STORE}),
        );
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
            "hsmdrill state file version 99, but this build reads version 1"
        );
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        v["state"]["keys"] = json!(7);
        assert!(err(v.to_string().as_bytes()).contains("at state.keys"));
    }

    #[test]
    fn write_atomic_replaces_the_file_with_mode_0600_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("hsmdrill-persist-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
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
            Engine::restore_file(&dir.join("none.json"), SavedClock::resume)
                .unwrap()
                .is_none()
        );
        let e = example();
        e.save_to(&path).unwrap();
        let r = Engine::restore_file(&path, SavedClock::resume)
            .unwrap()
            .unwrap();
        assert_eq!(r.now(), e.now());
        let _ = fs::remove_dir_all(&dir);
    }
}
