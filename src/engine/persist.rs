//! The engine as rows: what `hsmdrill serve --state FILE` writes after
//! every change and reads back on start. No I/O here: the server keeps the
//! rows in its SQLite file (`server/store.rs`); this module says what the
//! rows are, which changed, and how an engine is built back from them.
//!
//! A row is one entity of the [`State`] as JSON, keyed by its [`Kind`] and
//! id: a subnet, a cluster (its HSMs, users, passwords, lockouts, logins,
//! certificates, link condition; not its key material), a backup (with the
//! copy of the cluster it holds), a key store, a KMS key, an alias, the id
//! of a key deleted at the end of its waiting period. A cluster's key
//! material is a row per key ([`HsmKey`], the AES key as the base64 of its
//! 32 raw bytes) keyed by cluster and key reference, so a cluster with
//! 100,000 keys is not rewritten when one is added. Beside the rows, each
//! partition has its config, the id generator's position (so ids stay
//! unique after a restart) and its trail's seed and numbering.
//!
//! **What changed.** Every map of the state is a [`Tracked`] map, which
//! records the key of each entry changed through it. [`Engine::take_delta`]
//! drains those records under the state's write lock, so a delta is one
//! instant of the engine, and turns them into [`RowChange`]s: the entry as
//! it is now, or its deletion. A cluster put in whole (a cluster restored
//! from a backup) has all its material rewritten; one changed in place
//! only the material whose keys changed. Network links are the one part
//! changed through a shared handle (a flaky link spends a failure per call):
//! a delta also carries every cluster whose link condition differs from the
//! one last handed out. A whole delta ([`Engine::take_delta`] with `whole`)
//! is every row, for a new state file or after a write failed (whose drained
//! changes are then lost to the tracking); a delta is whole too when a map's
//! record overflowed (more changes than it keeps, see [`Tracked`]).
//!
//! **Back from rows.** [`Engine::from_rows`] builds an engine from a
//! partition's [`Rows`]. Runtime-only parts are rebuilt: PKCS #11 session
//! pools are stored as their capacity and come back empty, sessions held by
//! an "exhaust sessions" fault are released, per-second quota windows start
//! afresh. The clock is the caller's ([`SavedClock::resume`]), continuing
//! from the saved instant or from the last trail event's time if that is
//! later, so time spent stopped does not count and no new event is dated
//! before an old one.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::clock::{Clock, Timestamp};
use super::cloudhsm::cluster::Cluster;
use super::cloudhsm::keys::{HsmKey, KeyStoreOfCluster};
use super::config::EngineConfig;
use super::ids::IdGen;
use super::network::NetworkCondition;
use super::state::State;
use super::tracked::{Change, Tracked};
use super::trail::{SavedTrail, Trail};
use super::Engine;

/// Why rows could not be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The state could not be serialized.
    #[error("cannot serialize the state: {0}")]
    Serialize(String),
    /// A row is not what this build reads.
    #[error("not a usable hsmdrill state file: {0}")]
    Corrupt(String),
}

/// The kinds of entity, one table each in a state file.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub enum Kind {
    /// A VPC subnet.
    Subnet,
    /// A CloudHSM cluster (without its key material).
    Cluster,
    /// A CloudHSM backup.
    Backup,
    /// A custom key store.
    Store,
    /// A KMS key.
    Key,
    /// A KMS alias.
    Alias,
    /// The id of a key deleted at the end of its waiting period.
    DeletedKey,
}

impl Kind {
    /// Every kind, in the order an engine is built back.
    pub const ALL: [Kind; 7] = [
        Kind::Subnet,
        Kind::Cluster,
        Kind::Backup,
        Kind::Store,
        Kind::Key,
        Kind::Alias,
        Kind::DeletedKey,
    ];

    /// Its table's name in a state file.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Subnet => "subnets",
            Kind::Cluster => "clusters",
            Kind::Backup => "backups",
            Kind::Store => "key_stores",
            Kind::Key => "keys",
            Kind::Alias => "aliases",
            Kind::DeletedKey => "deleted_keys",
        }
    }
}

/// One change to a partition's rows.
#[derive(Clone, Debug)]
pub enum RowChange {
    /// An entity as it is now.
    Put {
        /// Its kind.
        kind: Kind,
        /// Its id (an alias's name).
        id: String,
        /// The entity as JSON.
        json: String,
    },
    /// An entity that is gone.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: String,
    },
    /// A key of a cluster's material as it is now.
    PutMaterial {
        /// The cluster.
        cluster: String,
        /// The key reference.
        reference: u64,
        /// The [`HsmKey`] as JSON.
        json: String,
    },
    /// A key of a cluster's material that is gone.
    DeleteMaterial {
        /// The cluster.
        cluster: String,
        /// The key reference.
        reference: u64,
    },
    /// Every key of a cluster's material (the cluster is gone, or its
    /// material is put anew after this).
    DeleteMaterialsOf {
        /// The cluster.
        cluster: String,
    },
}

/// What changed in an engine since the last drain.
#[derive(Debug)]
pub struct Delta {
    /// Whether `changes` is every row: the partition's rows are to be
    /// replaced by them.
    pub whole: bool,
    /// The id generator's position, as JSON.
    pub ids: String,
    /// The rows to write or delete, in order.
    pub changes: Vec<RowChange>,
}

/// A partition as a state file holds it, read back.
#[derive(Debug)]
pub struct Rows {
    /// Its engine's config.
    pub config: EngineConfig,
    /// The id generator's position, as JSON.
    pub ids: String,
    /// Every entity: kind, id, JSON.
    pub entities: Vec<(Kind, String, String)>,
    /// Every key of every cluster's material: cluster, [`HsmKey`] JSON.
    pub materials: Vec<(String, String)>,
    /// The trail's seed, numbering and newest events.
    pub trail: SavedTrail,
}

/// How the clock stood when the state was last written.
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

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, PersistError> {
    serde_json::to_string(value).map_err(|e| PersistError::Serialize(e.to_string()))
}

/// Puts or deletes the entries of `map` named in `changes`.
fn entity_changes<V: Serialize>(
    kind: Kind,
    map: &Tracked<String, V>,
    changes: BTreeMap<String, Change>,
    out: &mut Vec<RowChange>,
) -> Result<(), PersistError> {
    for id in changes.into_keys() {
        out.push(match map.get(&id) {
            Some(v) => RowChange::Put {
                kind,
                json: to_json(v)?,
                id,
            },
            None => RowChange::Delete { kind, id },
        });
    }
    Ok(())
}

/// Every key of a cluster's material, put.
fn all_materials(
    cluster: &str,
    keys: &KeyStoreOfCluster,
    out: &mut Vec<RowChange>,
) -> Result<(), PersistError> {
    for k in keys.iter() {
        out.push(RowChange::PutMaterial {
            cluster: cluster.to_owned(),
            reference: k.reference,
            json: to_json(k)?,
        });
    }
    Ok(())
}

/// Every entity of a kind, put.
fn all_entities<V: Serialize>(
    kind: Kind,
    map: &Tracked<String, V>,
    out: &mut Vec<RowChange>,
) -> Result<(), PersistError> {
    for (id, v) in map {
        out.push(RowChange::Put {
            kind,
            id: id.clone(),
            json: to_json(v)?,
        });
    }
    Ok(())
}

/// Every row of `st`.
fn whole(st: &State) -> Result<Vec<RowChange>, PersistError> {
    let mut out = Vec::new();
    all_entities(Kind::Subnet, &st.subnets, &mut out)?;
    all_entities(Kind::Cluster, &st.clusters, &mut out)?;
    for (id, c) in &st.clusters {
        all_materials(id, &c.keys, &mut out)?;
    }
    all_entities(Kind::Backup, &st.backups, &mut out)?;
    all_entities(Kind::Store, &st.stores, &mut out)?;
    all_entities(Kind::Key, &st.keys, &mut out)?;
    all_entities(Kind::Alias, &st.aliases, &mut out)?;
    all_entities(Kind::DeletedKey, &st.deleted_keys, &mut out)?;
    Ok(out)
}

/// Whether a map of `st` (or a cluster's material) recorded more changes
/// than it keeps: the partition must then be written whole.
fn overflowed(st: &State) -> bool {
    st.subnets.overflowed()
        || st.clusters.overflowed()
        || st.backups.overflowed()
        || st.stores.overflowed()
        || st.keys.overflowed()
        || st.aliases.overflowed()
        || st.deleted_keys.overflowed()
        || st.clusters.values().any(|c| c.keys.overflowed())
}

/// Forgets every recorded change of `st` (they are written whole).
fn forget_changes(st: &mut State) {
    st.subnets.take_changes();
    st.backups.take_changes();
    st.stores.take_changes();
    st.keys.take_changes();
    st.aliases.take_changes();
    st.deleted_keys.take_changes();
    // Every cluster (there are few): one whose record overflowed is not
    // necessarily among the changed ones.
    let ids: Vec<String> = st.clusters.keys().cloned().collect();
    for id in ids {
        if let Some(c) = st.clusters.get_mut(&id) {
            c.keys.take_changes();
        }
    }
    st.clusters.take_changes();
}

impl Engine {
    /// What changed since the last call (every row if `whole`), drained
    /// under the state's write lock (see the module docs). After an error
    /// the drained changes are lost: write the whole state next.
    pub fn take_delta(&self, whole: bool) -> Result<Delta, PersistError> {
        let mut st = self.state.write();
        let mut links = self.links_written.lock();
        let now: Vec<(String, NetworkCondition)> = st
            .clusters
            .iter()
            .map(|(id, c)| (id.clone(), c.link.condition()))
            .collect();
        for (id, condition) in &now {
            if links.get(id) != Some(condition) {
                st.clusters.mark(id);
            }
        }
        *links = now.into_iter().collect();
        drop(links);
        let ids = to_json(&st.ids)?;
        if whole || overflowed(&st) {
            forget_changes(&mut st);
            return Ok(Delta {
                whole: true,
                ids,
                changes: self::whole(&st)?,
            });
        }
        let mut out = Vec::new();
        let changes = st.subnets.take_changes();
        entity_changes(Kind::Subnet, &st.subnets, changes, &mut out)?;
        let changed_clusters = st.clusters.take_changes();
        for (id, change) in changed_clusters {
            let Some(c) = st.clusters.get_mut(&id) else {
                out.push(RowChange::Delete {
                    kind: Kind::Cluster,
                    id: id.clone(),
                });
                out.push(RowChange::DeleteMaterialsOf { cluster: id });
                continue;
            };
            let keys = c.keys.take_changes();
            out.push(RowChange::Put {
                kind: Kind::Cluster,
                id: id.clone(),
                json: to_json(&*c)?,
            });
            match change {
                Change::Replaced => {
                    out.push(RowChange::DeleteMaterialsOf {
                        cluster: id.clone(),
                    });
                    all_materials(&id, &c.keys, &mut out)?;
                }
                Change::Touched => {
                    for reference in keys.into_keys() {
                        out.push(match c.keys.get(reference) {
                            Some(k) => RowChange::PutMaterial {
                                cluster: id.clone(),
                                reference,
                                json: to_json(k)?,
                            },
                            None => RowChange::DeleteMaterial {
                                cluster: id.clone(),
                                reference,
                            },
                        });
                    }
                }
            }
        }
        // `get_mut` above recorded the clusters again.
        st.clusters.take_changes();
        let changes = st.backups.take_changes();
        entity_changes(Kind::Backup, &st.backups, changes, &mut out)?;
        let changes = st.stores.take_changes();
        entity_changes(Kind::Store, &st.stores, changes, &mut out)?;
        let changes = st.keys.take_changes();
        entity_changes(Kind::Key, &st.keys, changes, &mut out)?;
        let changes = st.aliases.take_changes();
        entity_changes(Kind::Alias, &st.aliases, changes, &mut out)?;
        let changes = st.deleted_keys.take_changes();
        entity_changes(Kind::DeletedKey, &st.deleted_keys, changes, &mut out)?;
        Ok(Delta {
            whole: false,
            ids,
            changes: out,
        })
    }

    /// Every row of the engine, its config and its whole trail (as held in
    /// memory), without draining anything: what a state file holds of it.
    pub fn rows(&self) -> Result<Rows, PersistError> {
        let st = self.state.read();
        let mut entities = Vec::new();
        let mut materials = Vec::new();
        for change in whole(&st)? {
            match change {
                RowChange::Put { kind, id, json } => entities.push((kind, id, json)),
                RowChange::PutMaterial { cluster, json, .. } => materials.push((cluster, json)),
                RowChange::Delete { .. }
                | RowChange::DeleteMaterial { .. }
                | RowChange::DeleteMaterialsOf { .. } => {}
            }
        }
        let (events, next) = self.trail.since(0);
        Ok(Rows {
            config: self.config.clone(),
            ids: to_json(&st.ids)?,
            entities,
            materials,
            trail: SavedTrail {
                id: self.trail.id(),
                seed: self.trail.seed(),
                next,
                events,
            },
        })
    }

    /// An engine from a partition's rows, on `clock` (see the module docs).
    /// Every event in `rows` counts as written to the state file.
    pub fn from_rows(rows: Rows, clock: Clock) -> Result<Engine, PersistError> {
        let corrupt = |what: &str, id: &str, e: serde_json::Error| {
            PersistError::Corrupt(format!("{what} {id:?}: {e}"))
        };
        let mut st = State::new(rows.config.seed);
        st.ids = serde_json::from_str::<IdGen>(&rows.ids)
            .map_err(|e| corrupt("the id generator", "", e))?;
        let mut maps: BTreeMap<Kind, Vec<(String, String)>> = BTreeMap::new();
        for (kind, id, json) in rows.entities {
            maps.entry(kind).or_default().push((id, json));
        }
        st.subnets = Tracked::unchanged(read(Kind::Subnet, &mut maps)?);
        let mut clusters: BTreeMap<String, Cluster> = read(Kind::Cluster, &mut maps)?;
        st.backups = Tracked::unchanged(read(Kind::Backup, &mut maps)?);
        st.stores = Tracked::unchanged(read(Kind::Store, &mut maps)?);
        st.keys = Tracked::unchanged(read(Kind::Key, &mut maps)?);
        st.aliases = Tracked::unchanged(read(Kind::Alias, &mut maps)?);
        st.deleted_keys = Tracked::unchanged(read(Kind::DeletedKey, &mut maps)?);
        let mut by_cluster: BTreeMap<String, BTreeMap<u64, HsmKey>> = BTreeMap::new();
        for (cluster, json) in rows.materials {
            let k: HsmKey =
                serde_json::from_str(&json).map_err(|e| corrupt("key material of", &cluster, e))?;
            by_cluster
                .entry(cluster)
                .or_default()
                .insert(k.reference, k);
        }
        for (id, c) in &mut clusters {
            let keys = by_cluster.remove(id).unwrap_or_default();
            c.keys = KeyStoreOfCluster::from_parts(keys, c.keys.next_reference());
        }
        if let Some(orphan) = by_cluster.keys().next() {
            return Err(PersistError::Corrupt(format!(
                "key material of cluster {orphan:?}, which is not in the file"
            )));
        }
        st.clusters = Tracked::unchanged(clusters);
        let capacity = rows.config.trail_capacity;
        let saved = rows.trail;
        let mut engine = Engine::with_clock(rows.config, clock);
        engine.trail = Trail::restored(saved.seed, saved.id, saved.next, saved.events, capacity);
        engine.trail.mark_journaled(engine.trail.position());
        *engine.links_written.lock() = st
            .clusters
            .iter()
            .map(|(id, c)| (id.clone(), c.link.condition()))
            .collect();
        engine.reschedule(&st);
        *engine.state.write() = st;
        Ok(engine)
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
    /// the same way after a restore from an earlier state; persisting it
    /// keeps the restored clock from standing before what clients saw.
    pub fn may_have_changed_since(&self, mark: ReadMark) -> bool {
        mark.flaky || self.clock.now().as_millis() >= mark.due
    }
}

/// The entities of one kind among a partition's rows, taken out of `rows`.
fn read<V: serde::de::DeserializeOwned>(
    kind: Kind,
    rows: &mut BTreeMap<Kind, Vec<(String, String)>>,
) -> Result<BTreeMap<String, V>, PersistError> {
    let mut map = BTreeMap::new();
    for (id, json) in rows.remove(&kind).unwrap_or_default() {
        let v = serde_json::from_str(&json)
            .map_err(|e| PersistError::Corrupt(format!("{} row {id:?}: {e}", kind.table())))?;
        map.insert(id, v);
    }
    Ok(map)
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
    use std::fs;
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::engine::dispatch::Api;
    use crate::engine::network::NetworkCondition;
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
        Engine::from_rows(e.rows().unwrap(), Clock::virtual_at(e.now())).unwrap()
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

    /// The kinds and ids a delta puts, and those it deletes.
    fn summary(d: &Delta) -> (Vec<String>, Vec<String>) {
        let (mut put, mut deleted) = (Vec::new(), Vec::new());
        for c in &d.changes {
            match c {
                RowChange::Put { kind, id, .. } => put.push(format!("{}/{id}", kind.table())),
                RowChange::PutMaterial { cluster, .. } => put.push(format!("material/{cluster}")),
                RowChange::Delete { kind, id } => deleted.push(format!("{}/{id}", kind.table())),
                RowChange::DeleteMaterial { cluster, .. }
                | RowChange::DeleteMaterialsOf { cluster } => {
                    deleted.push(format!("material/{cluster}"))
                }
            }
        }
        (put, deleted)
    }

    #[test]
    fn a_delta_holds_only_what_changed() {
        let e = example();
        let first = e.take_delta(true).unwrap();
        assert!(first.whole);
        let (put, _) = summary(&first);
        assert!(put.contains(&format!("keys/{KEY}")), "{put:?}");
        assert!(put.contains(&format!("material/{CLUSTER}")), "{put:?}");
        // Reads change nothing.
        encrypt(&e, KEY, b"read");
        kms(&e, "DescribeKey", json!({"KeyId": KEY}));
        let d = e.take_delta(false).unwrap();
        assert!(!d.whole);
        assert_eq!(summary(&d), (vec![], vec![]));
        // CreateKey: the key, its cluster's record and one material row,
        // not the cluster's other material.
        let key = create_key(&e);
        let (put, deleted) = summary(&e.take_delta(false).unwrap());
        let materials = put.iter().filter(|p| p.starts_with("material/")).count();
        assert_eq!(materials, 1, "{put:?}");
        assert!(put.contains(&format!("keys/{key}")), "{put:?}");
        assert!(put.contains(&format!("clusters/{CLUSTER}")), "{put:?}");
        assert!(deleted.is_empty(), "{deleted:?}");
        // The cluster record does not carry the material.
        let cluster_json = e
            .rows()
            .unwrap()
            .entities
            .into_iter()
            .find(|(k, id, _)| *k == Kind::Cluster && id == CLUSTER)
            .unwrap()
            .2;
        let v: Value = serde_json::from_str(&cluster_json).unwrap();
        assert!(v["keys"]["next_reference"].is_u64(), "{v}");
        assert!(v["keys"].get("keys").is_none(), "{v}");
        // A deletion at the end of the waiting period deletes the key row
        // and its material row.
        kms(
            &e,
            "ScheduleKeyDeletion",
            json!({"KeyId": key, "PendingWindowInDays": 7}),
        );
        e.take_delta(false).unwrap();
        e.advance(Duration::from_secs(8 * 86_400));
        let (put, deleted) = summary(&e.take_delta(false).unwrap());
        assert!(deleted.contains(&format!("keys/{key}")), "{deleted:?}");
        assert!(
            deleted.contains(&format!("material/{CLUSTER}")),
            "{deleted:?}"
        );
        assert!(put.contains(&format!("deleted_keys/{key}")), "{put:?}");
        // A flaky link spends a failure through a shared handle: its
        // cluster is in the next delta all the same.
        e.set_network(CLUSTER, NetworkCondition::Flaky(1)).unwrap();
        e.take_delta(false).unwrap();
        let _ = e.call_api(
            Api::Kms,
            "Encrypt",
            json!({"KeyId": KEY, "Plaintext": "aGk="}),
        );
        assert_eq!(e.network(CLUSTER).unwrap(), NetworkCondition::Ok);
        let (put, _) = summary(&e.take_delta(false).unwrap());
        assert!(put.contains(&format!("clusters/{CLUSTER}")), "{put:?}");
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
    fn rows_that_do_not_read_are_refused_with_a_reason() {
        let e = example();
        let err = |rows: Rows| {
            Engine::from_rows(rows, Clock::virtual_at(EPOCH))
                .unwrap_err()
                .to_string()
        };
        let mut rows = e.rows().unwrap();
        rows.entities.retain(|(k, _, _)| *k != Kind::Cluster);
        assert!(err(rows).contains("key material of cluster"));
        let mut rows = e.rows().unwrap();
        for (k, _, json) in &mut rows.entities {
            if *k == Kind::Key {
                *json = "7".into();
            }
        }
        let why = err(rows);
        assert!(
            why.starts_with("not a usable hsmdrill state file: keys row"),
            "{why}"
        );
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
}
