//! World fixtures: a YAML file that describes a starting world, loaded into
//! an [`Engine`].
//!
//! A runbook begins from a world in which things already exist: a CloudHSM
//! cluster with HSMs and users, a custom key store that may already be
//! `CONNECTED`, KMS keys with aliases, backups. No API call builds such a
//! world in one step (AWS itself takes minutes of `CreateCluster`,
//! `InitializeCluster`, `cluster activate`, `CreateCustomKeyStore`, …), so
//! this module writes it straight into the engine's [`State`] through
//! `Engine::mutate_state`, drawing every made-up identifier from the seeded
//! [`IdGen`](super::ids::IdGen) in a fixed order: the same file always gives
//! the same ids, passwords and addresses. Only key material is random (as
//! everywhere in the engine).
//!
//! ```yaml
//! seed: 1
//! account: "111122223333"
//! region: us-west-2
//! clusters:
//!   - id: cluster-1a23b4cdefg
//!     backups: [backup-9g87f6edcba]
//! custom_key_stores:
//!   - {id: cks-1234567890abcdef0, name: ExampleKeyStore, cluster: cluster-1a23b4cdefg, connected: true}
//! keys:
//!   - {id: 1234abcd-12ab-34cd-56ef-1234567890ab, store: ExampleKeyStore, aliases: [alias/app]}
//! ```
//!
//! The full schema, with every default, is `scenarios/worlds/example.yaml`.
//! In short:
//!
//! - top level: the [`EngineConfig`] fields (`seed`, `account`, `region`,
//!   `timing`, `pkcs11`, `key_store_request_quota`, `max_custom_key_stores`,
//!   `trail_capacity`) and four lists, `subnets`, `clusters`,
//!   `custom_key_stores` and `keys`; every key is optional and unknown keys
//!   are errors;
//! - a cluster gets a subnet per Availability Zone (two by default), one
//!   `ACTIVE` HSM per zone, the users `admin` / `adminPassword1` and
//!   `kmsuser` / `kmsPassword1`, a trust anchor and a cluster certificate
//!   (its backup lineage) unless told otherwise;
//! - a key store with `connected: true` is connected the way
//!   `ConnectCustomKeyStore` would leave it: KMS logged in as `kmsuser`,
//!   `kmsuser`'s password rotated to a secret only the engine knows, one
//!   address taken in each of the cluster's subnets for KMS's network
//!   interfaces;
//! - a key gets fresh material in its store's cluster, owned by `kmsuser`;
//! - `backups` are taken after the keys exist, so they hold the material.
//!
//! Errors never panic. A [`WorldError`] names the file, the document path of
//! the offending item (`clusters[0].users[1].role`), its line and column, and
//! what was expected. Syntax and type errors come from `serde_yaml` through
//! `serde_path_to_error`; semantic errors (an unknown cluster, a duplicate
//! alias, a password `kmsuser` does not have) are located by a second, cheap
//! walk over the document to the offending path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::clock::{Clock, EPOCH};
use super::cloudhsm::backup::BackupState;
use super::cloudhsm::cluster::{cluster_csr, pem, Cluster, ClusterState, Hsm, HsmState};
use super::cloudhsm::users::{self, Lockout, Role, User};
use super::config::{EngineConfig, Pkcs11Config, Timing};
use super::kms::key::KeyStatus;
use super::kms::keystore::{ConnectionErrorCode, ConnectionState, KeyStore};
use super::kms::KMSUSER;
use super::state::{Alias, State, Subnet};
use super::Engine;

/// Why a world file could not be loaded.
///
/// Displays as ``<file>:<line>:<column>: at `<path>`: <message>``, leaving out
/// what is unknown (an I/O error has no path, a semantic error may have no
/// position).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct WorldError {
    file: String,
    path: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
}

impl WorldError {
    /// The file (or the origin given to [`load_str`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The document path of the offending item, as `clusters[0].users[1].role`;
    /// empty when the error concerns the whole document.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The 1-based line, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The 1-based column, when known.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// What is wrong and what was expected.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if !self.file.is_empty() {
            f.write_str(&self.file)?;
            wrote = true;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        if !self.path.is_empty() {
            write!(f, "at `{}`: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for WorldError {}

/// Loads the world file at `path` into a new engine on a virtual clock
/// standing at [`EPOCH`]. A file that cannot be read is a [`WorldError`]
/// naming it.
pub fn load_file(path: &Path) -> Result<Engine, WorldError> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, &origin),
        Err(e) => Err(WorldError {
            file: origin,
            path: String::new(),
            line: None,
            column: None,
            message: format!("cannot read the world file: {e}"),
        }),
    }
}

/// Loads a world from YAML text into a new engine on a virtual clock standing
/// at [`EPOCH`]. `origin` names the text in errors (usually its file name).
pub fn load_str(yaml: &str, origin: &str) -> Result<Engine, WorldError> {
    load_str_with_clock(yaml, origin, Clock::virtual_at(EPOCH))
}

/// Loads a world from YAML text into a new engine on `clock` (`hsmdrill
/// serve` uses a clock that follows real time from [`EPOCH`]).
pub fn load_str_with_clock(yaml: &str, origin: &str, clock: Clock) -> Result<Engine, WorldError> {
    let cx = Ctx { yaml, origin };
    let doc = parse(&cx)?;
    let config = engine_config(&doc, &cx)?;
    let engine = Engine::with_clock(config, clock);
    engine.mutate_state(|st| {
        Builder {
            engine: &engine,
            cx: &cx,
        }
        .build(st, &doc)
    })?;
    Ok(engine)
}

// ---------------------------------------------------------------------------
// The schema

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldDoc {
    seed: Option<u64>,
    account: Option<String>,
    region: Option<String>,
    timing: Option<Timing>,
    pkcs11: Option<Pkcs11Config>,
    key_store_request_quota: Option<u32>,
    max_custom_key_stores: Option<usize>,
    trail_capacity: Option<usize>,
    #[serde(default)]
    subnets: Vec<SubnetDoc>,
    #[serde(default)]
    clusters: Vec<ClusterDoc>,
    #[serde(default)]
    custom_key_stores: Vec<StoreDoc>,
    #[serde(default)]
    keys: Vec<KeyDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubnetDoc {
    id: String,
    availability_zone: String,
    free_addresses: Option<u32>,
}

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
enum ClusterStateDoc {
    #[serde(rename = "UNINITIALIZED")]
    Uninitialized,
    #[serde(rename = "INITIALIZED")]
    Initialized,
    #[serde(rename = "ACTIVE")]
    Active,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterDoc {
    id: Option<String>,
    state: Option<ClusterStateDoc>,
    hsm_type: Option<String>,
    availability_zones: Option<Vec<String>>,
    subnets: Option<BTreeMap<String, String>>,
    hsms: Option<Vec<String>>,
    trust_anchor: Option<String>,
    users: Option<Vec<UserDoc>>,
    #[serde(default)]
    backups: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq)]
enum RoleDoc {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "crypto-user")]
    CryptoUser,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserDoc {
    username: String,
    role: RoleDoc,
    password: Option<String>,
    #[serde(default)]
    locked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreDoc {
    id: Option<String>,
    name: String,
    cluster: Option<String>,
    password: Option<String>,
    #[serde(default)]
    connected: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    id: Option<String>,
    store: Option<String>,
    #[serde(default)]
    description: String,
    enabled: Option<bool>,
    #[serde(default)]
    aliases: Vec<String>,
}

// ---------------------------------------------------------------------------
// Defaults

/// Free addresses of a subnet the file does not describe.
const DEFAULT_FREE_ADDRESSES: u32 = 250;
/// The users of a cluster whose file entry has none.
const DEFAULT_ADMIN_PASSWORD: &str = "adminPassword1";
/// `kmsuser`'s password when the file does not say.
const DEFAULT_KMSUSER_PASSWORD: &str = "kmsPassword1";
/// The HSM types CloudHSM offers.
const HSM_TYPES: &[&str] = &["hsm1.medium", "hsm2m.medium"];

/// The trust anchor (`customerCA.crt`) of a cluster whose file gives none.
fn default_trust_anchor(cluster_id: &str) -> String {
    pem(
        "CERTIFICATE",
        &format!("hsmdrill customerCA for {cluster_id}"),
    )
}

/// The cluster certificate: the backup lineage of `cluster_id`.
fn cluster_certificate(cluster_id: &str) -> String {
    pem(
        "CERTIFICATE",
        &format!("hsmdrill cluster certificate for {cluster_id}"),
    )
}

// ---------------------------------------------------------------------------
// Checks on identifiers

/// `prefix` followed by `len` ASCII alphanumerics.
///
/// The CloudHSM v2 model says `cluster-[2-7a-zA-Z]{11,16}` and
/// `backup-[2-7a-zA-Z]{11,16}`, but the troubleshooting page's own examples
/// (`cluster-1a23b4cdefg`, `backup-9g87f6edcba`) have digits outside `2-7`;
/// world files accept every ASCII digit so the page's ids can be used as
/// they are.
fn is_aws_id(s: &str, prefix: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        len.contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn is_cluster_id(s: &str) -> bool {
    is_aws_id(s, "cluster-", 11..=16)
}

fn is_backup_id(s: &str) -> bool {
    is_aws_id(s, "backup-", 11..=16)
}

fn is_subnet_id(s: &str) -> bool {
    is_aws_id(s, "subnet-", 8..=17)
}

fn is_store_id(s: &str) -> bool {
    is_aws_id(s, "cks-", 1..=60)
}

/// A key id as KMS makes them: a UUID in lowercase hex. Uppercase would load
/// and encrypt, but the ciphertext blob stores the id as 16 bytes and gives
/// it back in lowercase, so its ciphertexts would never decrypt.
fn is_key_id(s: &str) -> bool {
    let lower_hex = |g: &str| g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && lower_hex(g))
}

/// Why an alias name is not valid, if it is not (KMS `AliasNameType`).
fn alias_problem(name: &str) -> Option<&'static str> {
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Some("an alias name is `alias/` followed by a name, as `alias/app`");
    }
    if name.starts_with("alias/aws/") {
        return Some("names beginning with `alias/aws/` are reserved for AWS managed keys");
    }
    if name.len() > 256 {
        return Some("an alias name has at most 256 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
    {
        return Some("an alias name has only letters, digits and `:/_-`");
    }
    None
}

/// An `a, b or c` list of back-quoted items.
fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.split_last() {
        None => "(none)".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// The text being loaded, for errors.
struct Ctx<'a> {
    yaml: &'a str,
    origin: &'a str,
}

impl Ctx<'_> {
    /// A semantic error at `path`, located in the text if possible.
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> WorldError {
        let path = path.into();
        let (line, column) = locate(self.yaml, &path).unzip();
        WorldError {
            file: self.origin.to_owned(),
            path,
            line,
            column,
            message: message.into(),
        }
    }
}

fn parse(cx: &Ctx<'_>) -> Result<WorldDoc, WorldError> {
    let de = serde_yaml::Deserializer::from_str(cx.yaml);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        let location = inner.location();
        WorldError {
            file: cx.origin.to_owned(),
            message: bare_message(&inner.to_string(), &path),
            path,
            line: location.as_ref().map(serde_yaml::Location::line),
            column: location.as_ref().map(serde_yaml::Location::column),
        }
    })
}

/// A `serde_yaml` message without what [`WorldError`] shows anyway: its own
/// `path: ` prefix and its ` at line L column C` suffix.
fn bare_message(message: &str, path: &str) -> String {
    let mut m = message;
    // serde_yaml names the mapping for an unknown field, we name the field:
    // drop its path whenever it is ours or an ancestor of ours.
    if let Some((prefix, rest)) = m.split_once(": ") {
        let ancestor = path
            .strip_prefix(prefix)
            .is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('['));
        if !prefix.is_empty() && ancestor {
            m = rest;
        }
    }
    if let Some(i) = m.rfind(" at line ") {
        let tail = m.get(i + " at line ".len()..).unwrap_or_default();
        let mut words = tail.split(' ');
        let is_mark = matches!(
            (words.next(), words.next(), words.next(), words.next()),
            (Some(l), Some("column"), Some(c), None)
                if l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
        );
        if is_mark {
            m = m.get(..i).unwrap_or(m);
        }
    }
    m.to_owned()
}

fn engine_config(doc: &WorldDoc, cx: &Ctx<'_>) -> Result<EngineConfig, WorldError> {
    let mut config = EngineConfig::default();
    if let Some(seed) = doc.seed {
        config.seed = seed;
    }
    if let Some(account) = &doc.account {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(cx.err(
                "account",
                format!("`{account}` is not an AWS account id: expected 12 digits, as \"111122223333\" (quote it so YAML keeps it a string)"),
            ));
        }
        config.account = account.clone();
    }
    if let Some(region) = &doc.region {
        let ok = region
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
            && region.bytes().last().is_some_and(|b| b.is_ascii_digit())
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(cx.err(
                "region",
                format!("`{region}` is not a Region name: expected one like `us-west-2`"),
            ));
        }
        config.region = region.clone();
    }
    if let Some(timing) = &doc.timing {
        config.timing = timing.clone();
    }
    if let Some(pkcs11) = &doc.pkcs11 {
        if pkcs11.sessions_per_hsm == 0 {
            return Err(cx.err(
                "pkcs11.sessions_per_hsm",
                "an HSM needs at least one PKCS #11 session: expected 1 or more",
            ));
        }
        config.pkcs11 = pkcs11.clone();
    }
    if doc.key_store_request_quota.is_some() {
        config.key_store_request_quota = doc.key_store_request_quota;
    }
    if let Some(max) = doc.max_custom_key_stores {
        config.max_custom_key_stores = max;
    }
    if let Some(capacity) = doc.trail_capacity {
        config.trail_capacity = capacity;
    }
    Ok(config)
}

// ---------------------------------------------------------------------------
// Building the state

struct Builder<'a> {
    engine: &'a Engine,
    cx: &'a Ctx<'a>,
}

impl Builder<'_> {
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> WorldError {
        self.cx.err(path, message)
    }

    fn build(&self, st: &mut State, doc: &WorldDoc) -> Result<(), WorldError> {
        for (i, s) in doc.subnets.iter().enumerate() {
            self.subnet(st, s, &format!("subnets[{i}]"))?;
        }
        let mut cluster_ids = Vec::new();
        for (i, c) in doc.clusters.iter().enumerate() {
            cluster_ids.push(self.cluster(st, c, &format!("clusters[{i}]"))?);
        }
        let max = self.engine.config().max_custom_key_stores;
        if doc.custom_key_stores.len() > max {
            return Err(self.err(
                format!("custom_key_stores[{max}]"),
                format!(
                    "too many custom key stores: expected at most {max} (max_custom_key_stores)"
                ),
            ));
        }
        for (i, s) in doc.custom_key_stores.iter().enumerate() {
            self.store(st, s, &format!("custom_key_stores[{i}]"))?;
        }
        for (i, k) in doc.keys.iter().enumerate() {
            self.key(st, k, &format!("keys[{i}]"))?;
        }
        for (i, (c, cluster_id)) in doc.clusters.iter().zip(&cluster_ids).enumerate() {
            for (j, b) in c.backups.iter().enumerate() {
                self.backup(st, c, cluster_id, b, &format!("clusters[{i}].backups[{j}]"))?;
            }
        }
        Ok(())
    }

    /// Checks that `az` is one of the Region's zones.
    fn zone(&self, az: &str, path: &str) -> Result<(), WorldError> {
        let zones = self.engine.config().availability_zones();
        if zones.iter().any(|z| z == az) {
            Ok(())
        } else {
            Err(self.err(
                path,
                format!(
                    "unknown Availability Zone `{az}`: expected one of the Region's, {}",
                    one_of(&zones)
                ),
            ))
        }
    }

    fn insert_subnet(st: &mut State, id: &str, az: &str, free: u32) {
        let octet = u32::try_from(st.subnets.len()).unwrap_or(u32::MAX) % 256;
        st.subnets.insert(
            id.to_owned(),
            Subnet {
                id: id.to_owned(),
                availability_zone: az.to_owned(),
                free_addresses: free,
                // AWS keeps the first four addresses of a subnet: hand out .4 on.
                next_host: 3,
                octet,
            },
        );
    }

    fn subnet(&self, st: &mut State, s: &SubnetDoc, path: &str) -> Result<(), WorldError> {
        if !is_subnet_id(&s.id) {
            return Err(self.err(
                format!("{path}.id"),
                format!(
                    "`{}` is not a subnet id: expected `subnet-` and 8 to 17 letters or digits",
                    s.id
                ),
            ));
        }
        if st.subnets.contains_key(&s.id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate subnet `{}`: expected each subnet once", s.id),
            ));
        }
        self.zone(&s.availability_zone, &format!("{path}.availability_zone"))?;
        Self::insert_subnet(
            st,
            &s.id,
            &s.availability_zone,
            s.free_addresses.unwrap_or(DEFAULT_FREE_ADDRESSES),
        );
        Ok(())
    }

    /// Availability Zone → subnet id for a cluster, creating the subnets the
    /// file does not list.
    fn subnet_mapping(
        &self,
        st: &mut State,
        c: &ClusterDoc,
        path: &str,
    ) -> Result<BTreeMap<String, String>, WorldError> {
        let mut mapping = BTreeMap::new();
        if let Some(given) = &c.subnets {
            if given.is_empty() {
                return Err(self.err(
                    format!("{path}.subnets"),
                    "a cluster needs at least one subnet: expected `Availability Zone: subnet id` entries",
                ));
            }
            for (az, id) in given {
                let p = format!("{path}.subnets.{az}");
                self.zone(az, &p)?;
                if !is_subnet_id(id) {
                    return Err(self.err(
                        p,
                        format!("`{id}` is not a subnet id: expected `subnet-` and 8 to 17 letters or digits"),
                    ));
                }
                match st.subnets.get(id) {
                    Some(s) if s.availability_zone != *az => {
                        return Err(self.err(
                            p,
                            format!(
                                "subnet `{id}` is in `{}` (under `subnets`): expected a subnet in `{az}`",
                                s.availability_zone
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => Self::insert_subnet(st, id, az, DEFAULT_FREE_ADDRESSES),
                }
                if mapping.values().any(|v| v == id) {
                    return Err(self.err(
                        p,
                        format!("subnet `{id}` is given for two zones: expected one subnet per Availability Zone"),
                    ));
                }
                mapping.insert(az.clone(), id.clone());
            }
            if let Some(zones) = &c.availability_zones {
                let listed: BTreeSet<&String> = zones.iter().collect();
                let mapped: BTreeSet<&String> = given.keys().collect();
                if listed != mapped {
                    return Err(self.err(
                        format!("{path}.availability_zones"),
                        format!(
                            "the zones do not match the keys of `subnets`: expected {} (or leave `availability_zones` out)",
                            one_of(&given.keys().collect::<Vec<_>>())
                        ),
                    ));
                }
            }
            return Ok(mapping);
        }
        let zones = match &c.availability_zones {
            Some(z) => z.clone(),
            None => self
                .engine
                .config()
                .availability_zones()
                .into_iter()
                .take(2)
                .collect(),
        };
        if zones.is_empty() {
            return Err(self.err(
                format!("{path}.availability_zones"),
                "a cluster needs at least one Availability Zone: expected a list such as [us-west-2a, us-west-2b]",
            ));
        }
        for (j, az) in zones.iter().enumerate() {
            let p = format!("{path}.availability_zones[{j}]");
            self.zone(az, &p)?;
            if mapping.contains_key(az) {
                return Err(self.err(
                    p,
                    format!("`{az}` is listed twice: expected each Availability Zone once"),
                ));
            }
            let id = st.ids.subnet_id();
            Self::insert_subnet(st, &id, az, DEFAULT_FREE_ADDRESSES);
            mapping.insert(az.clone(), id);
        }
        Ok(mapping)
    }

    fn users(
        &self,
        c: &ClusterDoc,
        state: ClusterStateDoc,
        path: &str,
    ) -> Result<Vec<User>, WorldError> {
        let open = Lockout::Open { failures: 0 };
        let docs = match (state, &c.users) {
            (ClusterStateDoc::Uninitialized, None) => return Ok(Vec::new()),
            (ClusterStateDoc::Uninitialized, Some(u)) if u.is_empty() => return Ok(Vec::new()),
            (ClusterStateDoc::Uninitialized, Some(_)) => {
                return Err(self.err(
                    format!("{path}.users"),
                    "an UNINITIALIZED cluster has no users yet: expected no `users` (or state INITIALIZED or ACTIVE)",
                ));
            }
            // Before `cluster activate` the admin has no password.
            (ClusterStateDoc::Initialized, None) => {
                return Ok(vec![User {
                    username: "admin".into(),
                    role: Role::Admin,
                    password: None,
                    lockout: open,
                }]);
            }
            (ClusterStateDoc::Active, None) => {
                return Ok(vec![
                    User {
                        username: "admin".into(),
                        role: Role::Admin,
                        password: Some(DEFAULT_ADMIN_PASSWORD.into()),
                        lockout: open,
                    },
                    User {
                        username: KMSUSER.into(),
                        role: Role::CryptoUser,
                        password: Some(DEFAULT_KMSUSER_PASSWORD.into()),
                        lockout: open,
                    },
                ]);
            }
            (ClusterStateDoc::Initialized | ClusterStateDoc::Active, Some(u)) => u,
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (j, u) in docs.iter().enumerate() {
            let p = format!("{path}.users[{j}]");
            if !users::is_valid_username(&u.username) {
                return Err(self.err(
                    format!("{p}.username"),
                    format!(
                        "`{}` is not a CloudHSM username: expected 1 to 31 letters, digits or `_`",
                        u.username
                    ),
                ));
            }
            if !seen.insert(u.username.to_ascii_lowercase()) {
                return Err(self.err(
                    format!("{p}.username"),
                    format!(
                        "duplicate user `{}`: expected each username once (names ignore case)",
                        u.username
                    ),
                ));
            }
            match (&u.password, state) {
                (Some(pw), _) if !users::is_valid_password(pw) => {
                    return Err(self.err(
                        format!("{p}.password"),
                        "not a CloudHSM password: expected 7 to 32 letters or digits, no special characters",
                    ));
                }
                (None, ClusterStateDoc::Active) => {
                    return Err(self.err(
                        p,
                        "missing `password`: every user of an ACTIVE cluster has one (7 to 32 letters or digits)",
                    ));
                }
                (Some(_) | None, _) => {}
            }
            out.push(User {
                username: u.username.clone(),
                role: match u.role {
                    RoleDoc::Admin => Role::Admin,
                    RoleDoc::CryptoUser => Role::CryptoUser,
                },
                password: u.password.clone(),
                lockout: if u.locked { Lockout::Locked } else { open },
            });
        }
        Ok(out)
    }

    /// Builds one cluster; returns its id.
    fn cluster(&self, st: &mut State, c: &ClusterDoc, path: &str) -> Result<String, WorldError> {
        let config = self.engine.config();
        let id = match &c.id {
            Some(id) if !is_cluster_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a cluster id: expected `cluster-` and 11 to 16 letters or digits, as `cluster-1a23b4cdefg`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.cluster_id(),
        };
        if st.clusters.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate cluster `{id}`: expected each cluster id once"),
            ));
        }
        let state_doc = c.state.unwrap_or(ClusterStateDoc::Active);
        let state = match state_doc {
            ClusterStateDoc::Uninitialized => ClusterState::Uninitialized,
            ClusterStateDoc::Initialized => ClusterState::Initialized,
            ClusterStateDoc::Active => ClusterState::Active,
        };
        if let Some(t) = &c.hsm_type {
            if !HSM_TYPES.contains(&t.as_str()) {
                return Err(self.err(
                    format!("{path}.hsm_type"),
                    format!("unknown HSM type `{t}`: expected {}", one_of(HSM_TYPES)),
                ));
            }
        }
        if c.trust_anchor.is_some() && state_doc == ClusterStateDoc::Uninitialized {
            return Err(self.err(
                format!("{path}.trust_anchor"),
                "an UNINITIALIZED cluster has no trust anchor yet (InitializeCluster gives it one): expected no `trust_anchor`",
            ));
        }
        if let Some(t) = &c.trust_anchor {
            if t.trim().is_empty() {
                return Err(self.err(
                    format!("{path}.trust_anchor"),
                    "an empty trust anchor: expected the PEM text of the customer CA certificate (or leave it out)",
                ));
            }
        }
        let users = self.users(c, state_doc, path)?;

        let vpc = st.ids.vpc_id();
        let security_group = st.ids.security_group_id();
        let mapping = self.subnet_mapping(st, c, path)?;
        let hsm_zones: Vec<String> = match &c.hsms {
            Some(z) => z.clone(),
            None => mapping.keys().cloned().collect(),
        };
        let mut hsms = Vec::new();
        for (j, az) in hsm_zones.iter().enumerate() {
            let p = format!("{path}.hsms[{j}]");
            let Some(subnet_id) = mapping.get(az) else {
                return Err(self.err(
                    p,
                    format!(
                        "`{az}` is not one of the cluster's Availability Zones: expected {}",
                        one_of(&mapping.keys().collect::<Vec<_>>())
                    ),
                ));
            };
            let Some(ip) = st.subnets.get_mut(subnet_id).and_then(Subnet::take_address) else {
                return Err(self.err(
                    p,
                    format!("subnet `{subnet_id}` has no free address for this HSM: expected a subnet with `free_addresses` left"),
                ));
            };
            let hsm_id = st.ids.hsm_id();
            let eni_id = st.ids.eni_id();
            hsms.push(Hsm::new(
                hsm_id,
                az.clone(),
                subnet_id.clone(),
                eni_id,
                ip,
                HsmState::Active,
                config.pkcs11.sessions_per_hsm,
            ));
        }

        let mut cluster = Cluster::new(
            id.clone(),
            state,
            vpc,
            security_group,
            mapping,
            EPOCH,
            EPOCH.plus(Timing::secs(config.timing.backup_interval_seconds)),
        );
        if let Some(t) = &c.hsm_type {
            cluster.hsm_type = t.clone();
        }
        cluster.certificates.cluster_csr = Some(cluster_csr(&id));
        if state_doc != ClusterStateDoc::Uninitialized {
            cluster.certificates.cluster_certificate = Some(cluster_certificate(&id));
            cluster.trust_anchor = Some(
                c.trust_anchor
                    .clone()
                    .unwrap_or_else(|| default_trust_anchor(&id)),
            );
        }
        for u in users {
            cluster.users.insert(u);
        }
        cluster.hsms = hsms;
        st.clusters.insert(id.clone(), cluster);
        Ok(id)
    }

    fn store(&self, st: &mut State, s: &StoreDoc, path: &str) -> Result<(), WorldError> {
        let id = match &s.id {
            Some(id) if !is_store_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a custom key store id: expected `cks-` and letters or digits, as `cks-1234567890abcdef0`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.custom_key_store_id(),
        };
        if st.stores.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate custom key store `{id}`: expected each id once"),
            ));
        }
        if s.name.is_empty() || s.name.chars().count() > 256 {
            return Err(self.err(
                format!("{path}.name"),
                "a custom key store name has 1 to 256 characters",
            ));
        }
        if st.stores.values().any(|o| o.name == s.name) {
            return Err(self.err(
                format!("{path}.name"),
                format!("duplicate custom key store name `{}`: expected names unique in the account and Region", s.name),
            ));
        }
        let cluster_ids: Vec<&String> = st.clusters.keys().collect();
        let cluster_id = match &s.cluster {
            Some(c) if st.clusters.contains_key(c) => c.clone(),
            Some(c) => {
                return Err(self.err(
                    format!("{path}.cluster"),
                    format!(
                        "unknown cluster `{c}`: expected the id of a cluster under `clusters`, {}",
                        one_of(&cluster_ids)
                    ),
                ));
            }
            None => match cluster_ids.as_slice() {
                [only] => (*only).clone(),
                _ => {
                    return Err(self.err(
                        path,
                        format!(
                            "missing `cluster`: expected the id of a cluster under `clusters`, {}",
                            one_of(&cluster_ids)
                        ),
                    ));
                }
            },
        };
        if let Some(other) = st.stores.values().find(|o| o.cluster_id == cluster_id) {
            return Err(self.err(
                format!("{path}.cluster"),
                format!(
                    "cluster `{cluster_id}` already backs custom key store `{}`: expected a cluster of its own (CloudHsmClusterInUseException)",
                    other.name
                ),
            ));
        }
        let Some(cluster) = st.clusters.get_mut(&cluster_id) else {
            return Err(self.err(format!("{path}.cluster"), "unknown cluster"));
        };
        let Some(trust_anchor) = cluster.trust_anchor.clone() else {
            return Err(self.err(
                format!("{path}.cluster"),
                format!("cluster `{cluster_id}` is UNINITIALIZED: expected an initialized cluster (one with a trust anchor)"),
            ));
        };
        let kms_password = cluster
            .users
            .get(KMSUSER)
            .filter(|u| u.role == Role::CryptoUser)
            .and_then(|u| u.password.clone());
        let password_path = if s.password.is_some() {
            format!("{path}.password")
        } else {
            format!("{path}.connected")
        };
        let password = match (&s.password, kms_password) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => p,
            (None, None) => {
                return Err(self.err(
                    path,
                    format!("missing `password`: cluster `{cluster_id}` has no crypto user `kmsuser` with a password to take it from"),
                ));
            }
        };
        if !users::is_valid_password(&password) {
            return Err(self.err(
                format!("{path}.password"),
                "not a kmsuser password: expected 7 to 32 letters or digits",
            ));
        }
        if s.connected && cluster.state != ClusterState::Active {
            return Err(self.err(
                format!("{path}.connected"),
                format!(
                    "cluster `{cluster_id}` is {}: a connected store needs an ACTIVE cluster",
                    cluster.state.as_str()
                ),
            ));
        }
        let store = KeyStore {
            id: id.clone(),
            name: s.name.clone(),
            cluster_id: cluster_id.clone(),
            trust_anchor,
            password,
            state: ConnectionState::Disconnected,
            creation_date: EPOCH,
        };
        st.stores.insert(id.clone(), store);
        if s.connected {
            self.connect(st, &id, &cluster_id, path, &password_path)?;
        }
        Ok(())
    }

    /// `connected: true`: the store is connected the way
    /// ConnectCustomKeyStore would leave it, through the same transitions
    /// and the same judgement of the attempt (docs/fidelity.md F2, I9), with
    /// the clock standing still: KMS logged in as `kmsuser`, its password
    /// rotated, a network interface in each of the cluster's subnets.
    fn connect(
        &self,
        st: &mut State,
        id: &str,
        cluster_id: &str,
        path: &str,
        password_path: &str,
    ) -> Result<(), WorldError> {
        let connected = format!("{path}.connected");
        let Some(state) = st.stores.get(id).map(|s| s.state) else {
            return Err(self.err(path, "unknown custom key store"));
        };
        let mut next = state;
        state
            .on_connect(EPOCH, id)
            .map_err(|e| self.err(connected.as_str(), e.message()))?
            .apply(&mut next);
        let judged = next.on_clock(EPOCH, || self.engine.judge_connect(st, id));
        judged.apply(&mut next);
        let Some(code) = next.error_code() else {
            if let Some(store) = st.stores.get_mut(id) {
                store.state = next;
            }
            return Ok(());
        };
        let (at, why) = match code {
            ConnectionErrorCode::InsufficientCloudhsmHsms => (
                connected,
                format!("cluster `{cluster_id}` has no HSM: a connected store needs at least one (`hsms`)"),
            ),
            ConnectionErrorCode::UserNotFound => (
                password_path.to_owned(),
                format!("cluster `{cluster_id}` has no crypto user `kmsuser`: a connected store needs one (add it to the cluster's `users`)"),
            ),
            ConnectionErrorCode::InvalidCredentials => (
                password_path.to_owned(),
                format!("the store's password does not match the password of `kmsuser` in cluster `{cluster_id}`: expected kmsuser's password (or leave `password` out)"),
            ),
            ConnectionErrorCode::UserLockedOut => (
                password_path.to_owned(),
                format!("`kmsuser` is locked in cluster `{cluster_id}`: a connected store needs it unlocked (`locked: false`)"),
            ),
            ConnectionErrorCode::UserLoggedIn => (
                password_path.to_owned(),
                format!("`kmsuser` is already logged in to cluster `{cluster_id}`"),
            ),
            ConnectionErrorCode::InsufficientFreeAddressesInSubnet
            | ConnectionErrorCode::SubnetNotFound => {
                let subnet_id = st
                    .clusters
                    .get(cluster_id)
                    .and_then(|c| {
                        c.subnet_mapping.values().find(|s| {
                            st.subnets.get(*s).is_none_or(|s| s.free_addresses == 0)
                        })
                    })
                    .cloned()
                    .unwrap_or_default();
                (
                    connected,
                    format!("subnet `{subnet_id}` has no free address for KMS's network interface: expected one free address in each of the cluster's subnets"),
                )
            }
            ConnectionErrorCode::InternalError
            | ConnectionErrorCode::NetworkErrors
            | ConnectionErrorCode::ClusterNotFound => (
                connected,
                format!(
                    "cluster `{cluster_id}` cannot be connected: {}",
                    code.as_str()
                ),
            ),
        };
        Err(self.err(at, why))
    }

    fn key(&self, st: &mut State, k: &KeyDoc, path: &str) -> Result<(), WorldError> {
        let id = match &k.id {
            Some(id) if !is_key_id(id) => {
                return Err(self.err(
                    format!("{path}.id"),
                    format!("`{id}` is not a key id: expected a UUID in lowercase hex, as `1234abcd-12ab-34cd-56ef-1234567890ab`"),
                ));
            }
            Some(id) => id.clone(),
            None => st.ids.uuid(),
        };
        if st.keys.contains_key(&id) {
            return Err(self.err(
                format!("{path}.id"),
                format!("duplicate key `{id}`: expected each key id once"),
            ));
        }
        let names: Vec<&String> = st.stores.values().map(|s| &s.name).collect();
        let store = match &k.store {
            Some(r) => st.stores.values().find(|s| s.id == *r || s.name == *r),
            None if st.stores.len() == 1 => st.stores.values().next(),
            None => None,
        };
        let Some(store) = store else {
            let (p, what) = match &k.store {
                Some(r) => (
                    format!("{path}.store"),
                    format!("unknown custom key store `{r}`"),
                ),
                None => (path.to_owned(), "missing `store`".to_owned()),
            };
            return Err(self.err(
                p,
                format!(
                    "{what}: expected the name or id of a store under `custom_key_stores`, {}",
                    one_of(&names)
                ),
            ));
        };
        let store_id = store.id.clone();
        let cluster_id = store.cluster_id.clone();
        if k.description.chars().count() > 8192 {
            return Err(self.err(
                format!("{path}.description"),
                "a key description has at most 8192 characters",
            ));
        }
        let mut aliases = Vec::new();
        for (j, a) in k.aliases.iter().enumerate() {
            let p = format!("{path}.aliases[{j}]");
            if let Some(problem) = alias_problem(a) {
                return Err(self.err(p, format!("`{a}` is not a valid alias name: {problem}")));
            }
            if st.aliases.contains_key(a) || aliases.contains(a) {
                return Err(self.err(
                    p,
                    format!("duplicate alias `{a}`: expected alias names unique in the account and Region"),
                ));
            }
            aliases.push(a.clone());
        }
        let Some(cluster) = st.clusters.get_mut(&cluster_id) else {
            return Err(self.err(
                format!("{path}.store"),
                format!("unknown cluster `{cluster_id}`"),
            ));
        };
        if cluster.state != ClusterState::Active {
            return Err(self.err(
                format!("{path}.store"),
                format!(
                    "the store's cluster `{cluster_id}` is {}: key material needs an ACTIVE cluster",
                    cluster.state.as_str()
                ),
            ));
        }
        let status = if k.enabled.unwrap_or(true) {
            KeyStatus::Enabled
        } else {
            KeyStatus::Disabled
        };
        self.engine
            .install_key(st, &store_id, id.clone(), k.description.clone(), status)
            .map_err(|e| self.err(path, e.message()))?;
        for name in aliases {
            st.aliases.insert(
                name.clone(),
                Alias {
                    name,
                    target_key_id: id.clone(),
                    creation_date: EPOCH,
                    last_updated_date: EPOCH,
                },
            );
        }
        Ok(())
    }

    /// Takes a backup of cluster `cluster_id` (the keys exist by now) and
    /// files it under the id the file gives, `READY`.
    fn backup(
        &self,
        st: &mut State,
        c: &ClusterDoc,
        cluster_id: &str,
        backup_id: &str,
        path: &str,
    ) -> Result<(), WorldError> {
        if !is_backup_id(backup_id) {
            return Err(self.err(
                path,
                format!("`{backup_id}` is not a backup id: expected `backup-` and 11 to 16 letters or digits, as `backup-9g87f6edcba`"),
            ));
        }
        if st.backups.contains_key(backup_id) {
            return Err(self.err(
                path,
                format!("duplicate backup `{backup_id}`: expected each backup id once"),
            ));
        }
        if c.state.unwrap_or(ClusterStateDoc::Active) != ClusterStateDoc::Active {
            return Err(self.err(
                path,
                "only an ACTIVE cluster is backed up: expected no `backups`",
            ));
        }
        let Some(seeded) = self.engine.take_backup_locked(st, cluster_id, EPOCH) else {
            return Err(self.err(path, format!("unknown cluster `{cluster_id}`")));
        };
        let Some(mut backup) = st.backups.remove(&seeded) else {
            return Err(self.err(path, "the backup was not recorded"));
        };
        backup.id = backup_id.to_owned();
        backup.state = BackupState::Ready;
        st.backups.insert(backup_id.to_owned(), backup);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Locating a path in the text

/// One step of a document path.
#[derive(Debug, Eq, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `clusters[0].users[1].role` as steps.
fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next() {
            if !name.is_empty() {
                out.push(Seg::Key(name.to_owned()));
            }
        }
        for p in pieces {
            match p.strip_suffix(']').and_then(|n| n.parse().ok()) {
                Some(n) => out.push(Seg::Index(n)),
                None => return out,
            }
        }
    }
    out
}

/// Line and column of the node at `path`, or of its nearest ancestor that
/// exists (a missing key is reported where its mapping is).
fn locate(yaml: &str, path: &str) -> Option<(usize, usize)> {
    let segs = segments(path);
    (1..=segs.len())
        .rev()
        .find_map(|n| segs.get(..n).and_then(|s| locate_exact(yaml, s)))
}

/// What the walk raises when it reaches its target.
const HERE: &str = "\u{1}hsmdrill: here";

fn locate_exact(yaml: &str, segs: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(yaml);
    match Walk(segs).deserialize(de) {
        Err(e) if e.to_string().contains(HERE) => e.location().map(|l| (l.line(), l.column())),
        Ok(()) | Err(_) => None,
    }
}

/// Walks down `.0` and fails with [`HERE`] at its end, so that `serde_yaml`
/// stamps the error with the node's position.
struct Walk<'p>(&'p [Seg]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.0.is_empty() {
            d.deserialize_any(Here)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *want {
                return map.next_value_seed(Walk(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk(rest)).map(|_| ())
    }
}

/// The target: whatever it is, fail with [`HERE`].
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("anything")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(HERE))
    }

    fn visit_some<D: de::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(HERE))
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(HERE))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_segments() {
        assert_eq!(
            segments("clusters[0].users[12].role"),
            vec![
                Seg::Key("clusters".into()),
                Seg::Index(0),
                Seg::Key("users".into()),
                Seg::Index(12),
                Seg::Key("role".into()),
            ]
        );
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn locate_finds_nested_nodes_and_falls_back_to_ancestors() {
        let yaml = "clusters:\n  - id: cluster-aaaaaaaaaaa\n    users:\n      - {username: a, role: admin}\n";
        assert_eq!(locate(yaml, "clusters[0].id"), Some((2, 9)));
        assert_eq!(locate(yaml, "clusters[0].users[0].role"), Some((4, 29)));
        assert_eq!(locate(yaml, "clusters[0].nope"), Some((2, 5)));
        assert_eq!(locate(yaml, "nothing"), None);
    }

    #[test]
    fn bare_message_drops_prefix_and_mark() {
        assert_eq!(
            bare_message("a[0].b: invalid type at line 3 column 7", "a[0].b"),
            "invalid type"
        );
        assert_eq!(bare_message("x at line y", ""), "x at line y");
        assert_eq!(
            bare_message("a[0]: unknown field `c` at line 1 column 2", "a[0].c"),
            "unknown field `c`"
        );
        assert_eq!(bare_message("a[1]: x", "a[10]"), "a[1]: x");
    }

    #[test]
    fn pem_wraps_at_64() {
        let p = default_trust_anchor("cluster-1a23b4cdefg");
        assert!(p.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(p.ends_with("-----END CERTIFICATE-----\n"));
        assert!(p.lines().all(|l| l.len() <= 64));
    }

    #[test]
    fn ids_are_checked() {
        assert!(is_cluster_id("cluster-1a23b4cdefg"));
        assert!(!is_cluster_id("cluster-short"));
        assert!(is_backup_id("backup-9g87f6edcba"));
        assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_key_id("1234abcd-12ab-34cd-56ef"));
        assert!(alias_problem("alias/app").is_none());
        assert!(alias_problem("alias/aws/x").is_some());
        assert!(alias_problem("app").is_some());
    }
}
