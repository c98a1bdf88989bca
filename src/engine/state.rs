//! Everything the engine holds, in one structure behind the engine's lock.
//!
//! Maps are `BTreeMap`s so that anything iterated into a response comes out
//! in a stable order, each inside a [`Tracked`] that records which entries
//! changed, so that `hsmdrill serve --state` writes only those
//! (`persist.rs`). The data plane reads this under a shared lock just long
//! enough to resolve a key into `Arc`s (material, session pools, link), then
//! works without it.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::{Deserialize, Serialize};

use super::clock::Timestamp;
use super::cloudhsm::backup::Backup;
use super::cloudhsm::cluster::Cluster;
use super::ids::IdGen;
use super::kms::key::Key;
use super::kms::keystore::KeyStore;
use super::tracked::Tracked;

/// A VPC subnet a cluster can use.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// Its Availability Zone.
    pub availability_zone: String,
    /// Free private addresses (each HSM and each KMS ENI takes one).
    pub free_addresses: u32,
    /// The next address handed out, as its last octet.
    pub next_host: u32,
    /// The subnet's third octet, so addresses differ between subnets.
    pub octet: u32,
}

impl Subnet {
    /// Takes one address; `None` if none is free.
    pub fn take_address(&mut self) -> Option<String> {
        if self.free_addresses == 0 {
            return None;
        }
        self.free_addresses -= 1;
        self.next_host += 1;
        Some(format!("10.0.{}.{}", self.octet, self.next_host))
    }

    /// Gives one address back.
    pub fn release_address(&mut self) {
        self.free_addresses = self.free_addresses.saturating_add(1);
    }
}

/// A KMS alias.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Alias {
    /// `alias/…`.
    pub name: String,
    /// The key id it points to.
    pub target_key_id: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// When it last changed.
    pub last_updated_date: Timestamp,
}

/// The engine's state (persisted entry by entry by `hsmdrill serve
/// --state`, see `persist.rs`).
#[derive(Debug, Deserialize, Serialize)]
pub struct State {
    /// Seeded ids.
    pub ids: IdGen,
    /// Subnets of the account's VPC, by id.
    pub subnets: Tracked<String, Subnet>,
    /// Clusters, by id.
    pub clusters: Tracked<String, Cluster>,
    /// Backups, by id.
    pub backups: Tracked<String, Backup>,
    /// Custom key stores, by id.
    pub stores: Tracked<String, KeyStore>,
    /// KMS keys, by key id.
    pub keys: Tracked<String, Key>,
    /// Aliases, by name.
    pub aliases: Tracked<String, Alias>,
    /// Ids of keys deleted at the end of their waiting period, so that a
    /// blob naming one is told apart from a blob naming no key at all.
    pub deleted_keys: Tracked<String, ()>,
}

impl State {
    /// An empty world whose ids come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            ids: IdGen::new(seed),
            subnets: Tracked::new(),
            clusters: Tracked::new(),
            backups: Tracked::new(),
            stores: Tracked::new(),
            keys: Tracked::new(),
            aliases: Tracked::new(),
            deleted_keys: Tracked::new(),
        }
    }
}

/// The engine's lock around its [`State`], counting the write locks it has
/// handed out, so that a reader can tell that nothing has changed since it
/// last looked (every call asks whether some key's material came or went,
/// which would otherwise mean looking at every key).
#[derive(Debug)]
pub(crate) struct StateLock {
    state: RwLock<State>,
    writes: AtomicU64,
}

impl StateLock {
    pub(crate) fn new(state: State) -> Self {
        Self {
            state: RwLock::new(state),
            writes: AtomicU64::new(0),
        }
    }

    /// The state, shared.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read()
    }

    /// The state, to change; counted before it is handed out, so a reader
    /// that sees the same count twice saw the same state.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        let guard = self.state.write();
        self.writes.fetch_add(1, Ordering::AcqRel);
        guard
    }

    /// Write locks handed out so far. Stable while the caller holds a read
    /// guard.
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }
}
