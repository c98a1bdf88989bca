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
//!   `trail_capacity`, `kms_failed_logins_count`) and four lists, `subnets`, `clusters`,
//!   `custom_key_stores` and `keys`; every key is optional and unknown keys
//!   are errors; `accounts` and `regions` add further accounts and Regions
//!   (`partitions.rs`, loaded with [`load_cloud_str`] into a
//!   [`Cloud`](crate::engine::cloud::Cloud));
//! - a cluster gets a subnet per Availability Zone (two by default), one
//!   `ACTIVE` HSM per zone, the users `admin` / `adminPassword1` and
//!   `kmsuser` / `kmsPassword1`, and real certificates (`cloudhsm::pki`):
//!   the first HSM's identity and, once initialized, its CSR signed by the
//!   cluster's drill CA, whose certificate is the trust anchor, unless told
//!   otherwise;
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
//!
//! This file loads and reports; `schema.rs` is what the file may say (with
//! defaults and identifier checks), `build.rs` turns it into state section by
//! section, `locate.rs` finds a document path's line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::engine::clock::{Clock, EPOCH};
use crate::engine::cloudhsm::backup::BackupState;
use crate::engine::cloudhsm::cluster::{Certificates, Cluster, ClusterState, Hsm, HsmState};
use crate::engine::cloudhsm::pki;
use crate::engine::cloudhsm::users::{self, Lockout, Role, User};
use crate::engine::config::{EngineConfig, Pkcs11Config, Timing};
use crate::engine::ids::IdKind;
use crate::engine::kms::key::KeyStatus;
use crate::engine::kms::keystore::{ConnectionErrorCode, ConnectionState, KeyStore};
use crate::engine::kms::KMSUSER;
use crate::engine::state::{Alias, State, Subnet};
use crate::engine::Engine;

mod build;
mod locate;
mod partitions;
mod schema;
#[cfg(test)]
mod tests;

use self::build::Builder;
use self::locate::*;
use self::schema::*;

pub use self::partitions::{load_cloud_file, load_cloud_str, load_cloud_str_with_clock};

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

/// `scenarios/worlds/example.yaml`, the world of the engine's own tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn example() -> Engine {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
    load_file(Path::new(path)).unwrap()
}

/// Loads the world file at `path` into a new engine on a virtual clock
/// standing at [`EPOCH`]. A file that cannot be read is a [`WorldError`]
/// naming it.
pub fn load_file(path: &Path) -> Result<Engine, WorldError> {
    read_then(path, load_str)
}

/// Reads the world file at `path` and hands its text and name to `load`;
/// a file that cannot be read is a [`WorldError`] naming it.
fn read_then<T>(
    path: &Path,
    load: impl FnOnce(&str, &str) -> Result<T, WorldError>,
) -> Result<T, WorldError> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load(&text, &origin),
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
///
/// A world that declares `regions` or `accounts` is a cloud of several
/// partitions: load it with [`load_cloud_str_with_clock`]; here it is an
/// error rather than a world with parts silently missing.
pub fn load_str_with_clock(yaml: &str, origin: &str, clock: Clock) -> Result<Engine, WorldError> {
    let cx = Ctx { yaml, origin };
    let doc = parse(&cx)?;
    if !doc.regions.is_empty() || !doc.accounts.is_empty() {
        let what = if doc.regions.is_empty() {
            "accounts"
        } else {
            "regions"
        };
        return Err(cx.err(
            what,
            "this world has several accounts or Regions, which only a whole cloud holds: load it with `hsmdrill serve --world` or as a runbook's world",
        ));
    }
    default_partition(&cx, &doc, clock)
}

/// The world's own partition: its top-level settings and items.
fn default_partition(cx: &Ctx<'_>, doc: &WorldDoc, clock: Clock) -> Result<Engine, WorldError> {
    let config = engine_config(doc, cx)?;
    let engine = Engine::with_clock(config, clock);
    engine.mutate_state(|st| {
        Builder {
            engine: &engine,
            cx,
            at: "",
        }
        .build(st, doc)
    })?;
    Ok(engine)
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
    if let Some(counts) = doc.kms_failed_logins_count {
        config.kms_failed_logins_count = counts;
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
