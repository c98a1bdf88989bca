//! What the console shows of one partition now ([`PartitionView`]): its
//! clusters with their HSMs, network, session pools and users, its key
//! stores and keys (from [`Sample`], the report's lanes), and its latest
//! CloudTrail events.
//!
//! Read straight from the engine's state, as the report's samples are, so
//! watching adds no CloudTrail event. Nothing secret is copied: users are
//! their name, role and lockout (never a password), keys their id, alias,
//! state and the id of their backing key (never material).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::history::Lane;
use crate::engine::machines::Lockout;
use crate::engine::trail::Query;
use crate::engine::{Engine, NetworkCondition};
use crate::scenario::sample::{KeySample, Sample, StoreSample};

/// How many trail events the console lists.
pub const TRAIL_EVENTS: usize = 12;

/// One account in one Region.
#[derive(Debug, PartialEq, Serialize)]
pub struct PartitionView {
    /// The Region.
    pub region: String,
    /// The account id.
    pub account: String,
    /// The engine's clock, ms since the Unix epoch.
    pub now: i64,
    /// Every cluster, in id order.
    pub clusters: Vec<ClusterView>,
    /// Every custom key store, in id order.
    pub stores: Vec<StoreSample>,
    /// Every KMS key, in id order.
    pub keys: Vec<KeyView>,
    /// The latest trail events, newest first.
    pub trail: Vec<TrailLine>,
    /// The timeline of the last minutes (filled in from the server's
    /// [`super::history::History`]).
    pub history: Vec<Lane>,
}

/// One KMS key, and where its key material is.
#[derive(Debug, PartialEq, Serialize)]
pub struct KeyView {
    /// Id, alias and state.
    #[serde(flatten)]
    pub sample: KeySample,
    /// For a key in a custom key store: its store's cluster.
    pub cluster: Option<String>,
    /// For a key in a custom key store: the `id` attribute of its backing
    /// key in the cluster (hex; an id, never the material).
    pub backing_key_id: Option<String>,
}

/// One cluster.
#[derive(Debug, PartialEq, Serialize)]
pub struct ClusterView {
    /// `ClusterId`.
    pub id: String,
    /// `State` (wire name).
    pub state: String,
    /// The network path from KMS: `ok`, `blocked` or `flaky (N calls)`.
    pub network: String,
    /// Whether the security group lets KMS in.
    pub security_group_ok: bool,
    /// Every HSM.
    pub hsms: Vec<HsmView>,
    /// Every CloudHSM user.
    pub users: Vec<UserView>,
}

/// One HSM and its PKCS #11 session pool.
#[derive(Debug, PartialEq, Serialize)]
pub struct HsmView {
    /// `HsmId`.
    pub id: String,
    /// `AvailabilityZone`.
    pub availability_zone: String,
    /// `State` (wire name).
    pub state: String,
    /// Sessions held now.
    pub sessions_in_use: usize,
    /// Sessions the pool has.
    pub sessions: usize,
}

/// One CloudHSM user: never its password.
#[derive(Debug, PartialEq, Serialize)]
pub struct UserView {
    /// Username.
    pub username: String,
    /// Role (wire name).
    pub role: String,
    /// Wrong passwords in a row so far.
    pub failed_logins: u32,
    /// Locked out.
    pub locked: bool,
}

/// One CloudTrail event, as its list line.
#[derive(Debug, PartialEq, Serialize)]
pub struct TrailLine {
    /// `eventTime`.
    pub time: Value,
    /// `eventSource`.
    pub source: Value,
    /// `eventName`.
    pub name: Value,
    /// `errorCode`, if the call failed.
    pub error: Value,
}

impl PartitionView {
    /// `engine` now (reading first does the work the clock made due).
    pub fn of(engine: &Engine) -> PartitionView {
        let sample = Sample::of(engine);
        let (clusters, backing) = engine.with_state(|st| {
            let backing: BTreeMap<String, (String, String)> = st
                .keys
                .values()
                .filter_map(|k| {
                    let b = k.store()?;
                    let store = st.stores.get(&*b.store_id)?;
                    Some((
                        k.id.to_string(),
                        (store.cluster_id.clone(), b.backing_key_id.to_string()),
                    ))
                })
                .collect();
            let clusters = st
                .clusters
                .values()
                .map(|c| ClusterView {
                    id: c.id.clone(),
                    state: c.state.as_str().to_owned(),
                    network: match c.link.condition() {
                        NetworkCondition::Ok => "ok".to_owned(),
                        NetworkCondition::Blocked => "blocked".to_owned(),
                        NetworkCondition::Flaky(n) => format!("flaky ({n} calls)"),
                    },
                    security_group_ok: c.security_group_ok,
                    hsms: c
                        .hsms
                        .iter()
                        .map(|h| HsmView {
                            id: h.id.clone(),
                            availability_zone: h.availability_zone.clone(),
                            state: h.state.as_str().to_owned(),
                            sessions_in_use: h.pool.in_use(),
                            sessions: h.pool.capacity(),
                        })
                        .collect(),
                    users: c
                        .users
                        .iter()
                        .map(|u| {
                            let (failed_logins, locked) = match u.lockout {
                                Lockout::Open { failures } => (failures, false),
                                Lockout::Locked => (0, true),
                            };
                            UserView {
                                username: u.username.clone(),
                                role: u.role.as_str().to_owned(),
                                failed_logins,
                                locked,
                            }
                        })
                        .collect(),
                })
                .collect();
            (clusters, backing)
        });
        let keys = sample
            .keys
            .into_iter()
            .map(|k| {
                let (cluster, backing_key_id) = backing.get(&k.id).cloned().unzip();
                KeyView {
                    sample: k,
                    cluster,
                    backing_key_id,
                }
            })
            .collect();
        let (events, _) = engine.trail_page(&Query::default(), 0, TRAIL_EVENTS);
        let trail = events
            .iter()
            .map(|e| {
                let member = |name: &str| e.get(name).cloned().unwrap_or(Value::Null);
                TrailLine {
                    time: member("eventTime"),
                    source: member("eventSource"),
                    name: member("eventName"),
                    error: member("errorCode"),
                }
            })
            .collect();
        PartitionView {
            region: engine.config().region.clone(),
            account: engine.config().account.clone(),
            now: engine.now().as_millis(),
            clusters,
            stores: sample.stores,
            keys,
            trail,
            history: Vec::new(),
        }
    }
}
