//! Keys already resolved for the data plane, per thread, until the state
//! changes.
//!
//! Resolving a key for Encrypt or Decrypt (`crypto_ops::usable_in`) looks up
//! the key, its store, its cluster, kmsuser and the backing key, and checks
//! R1, R2, R4 and R7 on the way: all of it reads only the engine's state, so
//! its outcome holds until the state next changes, which the state lock's
//! write count tells ([`crate::engine::state::StateLock::writes`]). A
//! successful resolution is kept here with that count; a call that names
//! the key the same way while the count has not moved starts from it and
//! does only what does not depend on the state: the store's request quota,
//! the network path (a flaky link spends a failure per call) and a PKCS #11
//! session. The cache is per thread so that calls on different threads
//! share nothing but the key's own `Arc`s.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::engine::cloudhsm::keys::KeyMaterial;
use crate::engine::cloudhsm::pkcs11::SessionPool;
use crate::engine::kms::crypto::Names;
use crate::engine::kms::key::MaterialVersion;
use crate::engine::network::Link;
use crate::engine::trail::CryptoKey;

/// Entries a thread keeps (one per key and way of naming it).
const ENTRIES: usize = 16;

/// Numbers engines, so that one engine's entries never serve another
/// (an address can be reused once an engine is dropped).
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// A fresh engine number.
pub(crate) fn next_instance() -> u64 {
    INSTANCES.fetch_add(1, Ordering::Relaxed)
}

/// A key that passed every check of the state, as resolved.
#[derive(Debug)]
pub(super) struct Resolved {
    /// How the call named the key (what a later call must name it as).
    pub given: Arc<str>,
    /// Whether `given` came from a blob, the call naming no key (its
    /// events record the key's ARN).
    pub by_blob: bool,
    /// What the trail records of the key, shared by the events of every
    /// call that starts from this resolution; also the key's ARN, which the
    /// response names, and the id of the material that encrypts (the blob
    /// names it).
    pub key: Arc<CryptoKey>,
    /// The material that encrypts.
    pub material: Arc<KeyMaterial>,
    /// The start of the blobs it makes (the key and the backing key).
    pub names: Names,
    /// Every version of an `AWS_KMS` key's material (empty for a key in a
    /// key store).
    pub versions: Vec<MaterialVersion>,
    /// For a key in a custom key store: what each call still checks.
    pub store: Option<ResolvedStore>,
}

/// The parts of a key store's cluster a call uses without the lock.
#[derive(Debug)]
pub(super) struct ResolvedStore {
    /// The store, for its request quota.
    pub store_id: Arc<str>,
    /// The network path from KMS to the cluster.
    pub link: Arc<Link>,
    /// The session pools of the cluster's active HSMs (never empty).
    pub pools: Vec<Arc<SessionPool>>,
}

/// A resolution and when it was made.
struct Entry {
    /// The engine that resolved it.
    instance: u64,
    /// Its state's write count then.
    writes: u64,
    resolved: Arc<Resolved>,
}

thread_local! {
    static RESOLVED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The key `given` names (read from a blob if `by_blob`), as engine
/// `instance` resolved it at write count `writes`, if this thread has it.
pub(super) fn cached(
    instance: u64,
    writes: u64,
    given: &str,
    by_blob: bool,
) -> Option<Arc<Resolved>> {
    RESOLVED.with(|cell| {
        cell.borrow()
            .iter()
            .find(|e| {
                e.instance == instance
                    && e.writes == writes
                    && e.resolved.by_blob == by_blob
                    && *e.resolved.given == *given
            })
            .map(|e| e.resolved.clone())
    })
}

/// Keeps `resolved`, made by engine `instance` at write count `writes`, for
/// this thread's next calls, in place of an entry that can no longer serve
/// (another count of the same engine) or else the oldest.
pub(super) fn remember(instance: u64, writes: u64, resolved: Arc<Resolved>) {
    RESOLVED.with(|cell| {
        let mut entries = cell.borrow_mut();
        entries.retain(|e| e.instance != instance || e.writes == writes);
        if entries.len() >= ENTRIES {
            entries.remove(0);
        }
        entries.push(Entry {
            instance,
            writes,
            resolved,
        });
    });
}
