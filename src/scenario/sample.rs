//! What the world looked like after a step ([`Sample`]): every key store's
//! `ConnectionState` (and `ConnectionErrorCode`), every key's `KeyState`,
//! every cluster's state and count of active HSMs, and its `kmsuser`
//! (logged in by KMS, failed logins, locked out).
//!
//! The runner takes one after each top-level step through
//! [`Target::sample`](super::target::Target::sample), so the HTML report
//! can draw a timeline lane per store, key and cluster. A sample reads the
//! engine's state directly rather than calling DescribeCustomKeyStores,
//! DescribeKey and DescribeClusters: calls would add CloudTrail events that
//! `expect trail` steps and snapshots see, and sampling must change
//! nothing a scenario can observe. A running server has no such side door,
//! so a remote target samples nothing (see `remote/target.rs`).
//!
//! Only the world's own account and Region is sampled: a scenario that
//! acts `in region R` shows that Region's work as markers only.

use serde::Serialize;

use crate::engine::cloudhsm::users::SessionId;
use crate::engine::machines::{HsmState, Lockout};
use crate::engine::{Engine, State};

/// The world after one step, each list in id order.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Sample {
    /// Every custom key store.
    pub stores: Vec<StoreSample>,
    /// Every KMS key (deleted ones are gone from the list).
    pub keys: Vec<KeySample>,
    /// Every CloudHSM cluster.
    pub clusters: Vec<ClusterSample>,
}

/// One key store.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct StoreSample {
    /// `CustomKeyStoreId`.
    pub id: String,
    /// `CustomKeyStoreName`.
    pub name: String,
    /// `ConnectionState` (wire name).
    pub state: String,
    /// `ConnectionErrorCode` (wire name), only on a `FAILED` store.
    pub error_code: Option<String>,
}

/// One KMS key.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct KeySample {
    /// `KeyId`.
    pub id: String,
    /// Its first alias (`alias/app`), if it has one: what people call it.
    pub alias: Option<String>,
    /// `KeyState` as DescribeKey shows it (wire name).
    pub state: String,
}

/// One cluster.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ClusterSample {
    /// `ClusterId`.
    pub id: String,
    /// `State` (wire name).
    pub state: String,
    /// HSMs in state `ACTIVE`.
    pub active_hsms: usize,
    /// The `kmsuser` crypto user, if the cluster has one.
    pub kmsuser: Option<KmsUserSample>,
}

/// The `kmsuser` of a cluster.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
pub struct KmsUserSample {
    /// KMS holds a login as `kmsuser` (for a connected store).
    pub logged_in_by_kms: bool,
    /// Wrong passwords in a row so far.
    pub failed_logins: u32,
    /// Locked out (five wrong passwords).
    pub locked: bool,
}

/// The username KMS logs in as.
const KMSUSER: &str = "kmsuser";

impl Sample {
    /// The state of `engine` now. Reading it first does the work the clock
    /// has made due, as the next call would.
    pub fn of(engine: &Engine) -> Sample {
        engine.with_state(|st| Sample::of_state(engine, st))
    }

    fn of_state(engine: &Engine, st: &State) -> Sample {
        let stores = st
            .stores
            .values()
            .map(|s| StoreSample {
                id: s.id.clone(),
                name: s.name.clone(),
                state: s.state.as_str().to_owned(),
                error_code: s.state.error_code().map(|c| c.as_str().to_owned()),
            })
            .collect();
        // Each key's first alias (aliases are in name order), found in one
        // pass: the console samples worlds of many thousands of keys.
        let mut first_alias = std::collections::BTreeMap::new();
        for a in st.aliases.values() {
            first_alias
                .entry(a.target_key_id.as_str())
                .or_insert(a.name.as_str());
        }
        let keys = st
            .keys
            .values()
            .map(|k| KeySample {
                id: k.id.to_string(),
                alias: first_alias.get(&*k.id).map(|a| (*a).to_owned()),
                state: engine.key_state(st, k).as_str().to_owned(),
            })
            .collect();
        let clusters = st
            .clusters
            .values()
            .map(|c| ClusterSample {
                id: c.id.clone(),
                state: c.state.as_str().to_owned(),
                active_hsms: c
                    .hsms
                    .iter()
                    .filter(|h| h.state == HsmState::Active)
                    .count(),
                kmsuser: c.users.get(KMSUSER).map(|u| {
                    let (failed_logins, locked) = match u.lockout {
                        Lockout::Open { failures } => (failures, false),
                        Lockout::Locked => (0, true),
                    };
                    KmsUserSample {
                        logged_in_by_kms: c
                            .users
                            .sessions_of(KMSUSER)
                            .any(|s| matches!(s, SessionId::Kms(_))),
                        failed_logins,
                        locked,
                    }
                }),
            })
            .collect();
        Sample {
            stores,
            keys,
            clusters,
        }
    }
}
