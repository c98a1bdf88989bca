//! The custom key store operations: CreateCustomKeyStore,
//! ConnectCustomKeyStore, DisconnectCustomKeyStore, UpdateCustomKeyStore,
//! DeleteCustomKeyStore and DescribeCustomKeyStores, plus the judgement of a
//! connect attempt when its time is up.
//!
//! Configuration errors that are easy to detect raise at once and leave the
//! store as it was (R3); everything that needs the cluster's answer is
//! judged when the attempt completes and shows as `FAILED` with a
//! `ConnectionErrorCode`.

use serde_json::{json, Value};

use super::api::{
    CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse, CustomKeyStoreIdRequest,
    CustomKeyStoresListEntry, DescribeCustomKeyStoresRequest, DescribeCustomKeyStoresResponse,
    Empty, UpdateCustomKeyStoreRequest,
};
use super::keystore::{ConnectionErrorCode, ConnectionState, KeyStore};
use super::{add_present, check_enum, check_len, page, required, Recorded, KMSUSER};
use crate::engine::cloudhsm::cluster::Cluster;
use crate::engine::cloudhsm::pki;
use crate::engine::cloudhsm::users::{LoginError, Role, SessionId};
use crate::engine::config::Timing;
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::ids::IdKind;
use crate::engine::machines::Transition;
use crate::engine::state::State;
use crate::engine::Engine;

impl Engine {
    /// CreateCustomKeyStore (CloudHSM key stores).
    pub fn create_custom_key_store(
        &self,
        req: &CreateCustomKeyStoreRequest,
    ) -> Result<CreateCustomKeyStoreResponse> {
        self.audited(
            "CreateCustomKeyStore",
            json!({
                "customKeyStoreName": req.custom_key_store_name,
                "clusterId": req.cloud_hsm_cluster_id,
            }),
            || self.create_custom_key_store_inner(req),
            |r| {
                (
                    json!({"customKeyStoreId": r.custom_key_store_id}),
                    Value::Null,
                    vec![],
                )
            },
        )
    }

    fn create_custom_key_store_inner(
        &self,
        req: &CreateCustomKeyStoreRequest,
    ) -> Result<CreateCustomKeyStoreResponse> {
        let name = required("CustomKeyStoreName", &req.custom_key_store_name, 1, 256)?;
        if let Some(t) = &req.custom_key_store_type {
            check_enum(
                "CustomKeyStoreType",
                t,
                &["AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"],
            )?;
            if t == "EXTERNAL_KEY_STORE" {
                return Err(Error::new(
                    ErrorKind::UnsupportedOperation,
                    "hsmdrill emulates AWS CloudHSM key stores only; external key stores are not supported.",
                ));
            }
        }
        let cluster_id = required("CloudHsmClusterId", &req.cloud_hsm_cluster_id, 19, 24)?;
        let anchor = required(
            "TrustAnchorCertificate",
            &req.trust_anchor_certificate,
            1,
            5000,
        )?;
        let password = required("KeyStorePassword", &req.key_store_password, 7, 32)?;

        let mut st = self.state.write();
        // "If you try to create a custom key store with all the same property
        // values as an existing disconnected custom key store, KMS returns
        // the ID of the existing store" (create-keystore).
        if let Some(existing) = st.stores.values().find(|s| {
            s.name == name
                && s.cluster_id == cluster_id
                && same_certificate(&s.trust_anchor, anchor)
                && s.password == password
                && s.state == ConnectionState::Disconnected
        }) {
            return Ok(CreateCustomKeyStoreResponse {
                custom_key_store_id: existing.id.clone(),
            });
        }
        if st.stores.values().any(|s| s.name == name) {
            return Err(name_in_use(name));
        }
        if st.stores.len() >= self.config.max_custom_key_stores {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "You have reached the quota of {} custom key stores in this account and Region.",
                    self.config.max_custom_key_stores
                ),
            ));
        }
        let cluster = find_cluster(&st, cluster_id)?;
        if let Some(other) = st
            .stores
            .values()
            .find(|s| shares_history(&st, &s.cluster_id, cluster))
        {
            return Err(Error::new(
                ErrorKind::CloudHsmClusterInUse,
                format!(
                    "The CloudHSM cluster {cluster_id} is already associated with custom key store {}, or shares backup history with its cluster.",
                    other.id
                ),
            ));
        }
        check_cluster_for_store(&st, cluster, true)?;
        if !cluster
            .trust_anchor
            .as_deref()
            .is_some_and(|t| same_certificate(t, anchor))
        {
            return Err(Error::new(
                ErrorKind::IncorrectTrustAnchor,
                format!("The trust anchor certificate is not the trust anchor certificate of CloudHSM cluster {cluster_id} (the customerCA.crt created when the cluster was initialized)."),
            ));
        }
        let id = st.ids.id(IdKind::CustomKeyStore);
        let store = KeyStore {
            id: id.clone(),
            name: name.to_owned(),
            cluster_id: cluster_id.to_owned(),
            trust_anchor: anchor.to_owned(),
            password: password.to_owned(),
            state: ConnectionState::Disconnected,
            creation_date: self.clock.now(),
        };
        st.stores.insert(id.clone(), store);
        Ok(CreateCustomKeyStoreResponse {
            custom_key_store_id: id,
        })
    }

    /// ConnectCustomKeyStore: returns at once; the attempt completes when the
    /// clock passes `timing.connect_seconds` (R9).
    pub fn connect_custom_key_store(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        self.store_call("ConnectCustomKeyStore", req, || self.connect_inner(req))
    }

    fn connect_inner(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        let id = required("CustomKeyStoreId", &req.custom_key_store_id, 1, 64)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let store = find_store(&st, id)?;
        let completes_at = now.plus(Timing::secs(self.config.timing.connect_seconds));
        let next = store.state.on_connect(completes_at, id)?;
        if let Transition::To(_) = next {
            // R3: easy-to-detect configuration errors fail the call itself
            // and the store stays DISCONNECTED. A deleted cluster is not one
            // of them: it shows as CLUSTER_NOT_FOUND.
            if let Some(cluster) = st.clusters.get(&store.cluster_id).filter(|c| c.exists()) {
                if !cluster.state.serves_kms() {
                    return Err(not_active(cluster));
                }
                if !cluster.security_group_ok {
                    return Err(invalid_configuration(format!(
                        "The security group for CloudHSM cluster {} must allow inbound and outbound TCP traffic on ports 2223-2225 to itself.",
                        cluster.id
                    )));
                }
            }
        }
        if let (Transition::To(s), Some(store)) = (next, st.stores.get_mut(id)) {
            store.state = s;
        }
        self.reschedule(&st);
        Ok(Empty {})
    }

    /// Judges a connect attempt whose time is up, against the world as it is
    /// now; on success KMS is logged in as `kmsuser` and has rotated its
    /// password. Returns the failure's `ConnectionErrorCode`, if any.
    pub(crate) fn judge_connect(
        &self,
        st: &mut State,
        store_id: &str,
    ) -> Option<ConnectionErrorCode> {
        let (cluster_id, password) = match st.stores.get(store_id) {
            Some(s) => (s.cluster_id.clone(), s.password.clone()),
            None => return Some(ConnectionErrorCode::InternalError),
        };
        let State {
            clusters,
            subnets,
            ids,
            stores,
            ..
        } = st;
        let Some(cluster) = clusters.get_mut(&cluster_id).filter(|c| c.exists()) else {
            return Some(ConnectionErrorCode::ClusterNotFound);
        };
        if cluster.internal_errors > 0 {
            cluster.internal_errors -= 1;
            return Some(ConnectionErrorCode::InternalError);
        }
        if cluster
            .subnet_mapping
            .values()
            .any(|s| !subnets.contains_key(s))
        {
            return Some(ConnectionErrorCode::SubnetNotFound);
        }
        if cluster.active_hsms().next().is_none() {
            return Some(ConnectionErrorCode::InsufficientCloudhsmHsms);
        }
        // KMS places one ENI in each subnet of the cluster.
        if cluster
            .subnet_mapping
            .values()
            .any(|s| subnets.get(s).is_some_and(|s| s.free_addresses == 0))
        {
            return Some(ConnectionErrorCode::InsufficientFreeAddressesInSubnet);
        }
        if !cluster.security_group_ok || !cluster.link.cross() {
            return Some(ConnectionErrorCode::NetworkErrors);
        }
        match cluster.users.get(KMSUSER) {
            Some(u) if u.role == Role::CryptoUser => {
                if u.lockout.is_locked() {
                    return Some(ConnectionErrorCode::UserLockedOut);
                }
            }
            Some(_) | None => return Some(ConnectionErrorCode::UserNotFound),
        }
        if cluster.users.is_logged_in_by_cli(KMSUSER) {
            return Some(ConnectionErrorCode::UserLoggedIn);
        }
        let session = SessionId::Kms(store_id.to_owned());
        match cluster.users.login_counting(
            session,
            KMSUSER,
            Role::CryptoUser,
            &password,
            self.config.kms_failed_logins_count,
        ) {
            Ok(_) | Err(LoginError::SessionAlreadyLoggedIn) => {}
            Err(LoginError::InvalidCredentials) => {
                return Some(ConnectionErrorCode::InvalidCredentials)
            }
            Err(LoginError::Locked) => return Some(ConnectionErrorCode::UserLockedOut),
            Err(LoginError::UserNotFound) => return Some(ConnectionErrorCode::UserNotFound),
            Err(LoginError::UserLoggedInElsewhere) => {
                return Some(ConnectionErrorCode::UserLoggedIn)
            }
        }
        // R9: "during it KMS rotates the kmsuser password to a value only it
        // knows".
        let secret = ids.secret_password();
        cluster.users.set_password(KMSUSER, &secret);
        if let Some(s) = stores.get_mut(store_id) {
            s.password = secret;
        }
        for subnet in cluster.subnet_mapping.values() {
            if let Some(s) = subnets.get_mut(subnet) {
                let _ = s.take_address();
            }
        }
        None
    }

    /// DisconnectCustomKeyStore: logs KMS out of the cluster and removes its
    /// network interfaces; keys become `Unavailable` at once.
    pub fn disconnect_custom_key_store(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        self.store_call("DisconnectCustomKeyStore", req, || {
            self.disconnect_inner(req)
        })
    }

    fn disconnect_inner(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        let id = required("CustomKeyStoreId", &req.custom_key_store_id, 1, 64)?;
        let mut st = self.state.write();
        let now = self.clock.now();
        let store = find_store(&st, id)?;
        let was_connected = store.state == ConnectionState::Connected;
        let completes_at = now.plus(Timing::secs(self.config.timing.disconnect_seconds));
        let next = store.state.on_disconnect(now, completes_at, id)?;
        let cluster_id = store.cluster_id.clone();
        if let Transition::To(s) = next {
            if let Some(store) = st.stores.get_mut(id) {
                store.state = s;
            }
            let State {
                clusters, subnets, ..
            } = &mut *st;
            if let Some(c) = clusters.get_mut(&cluster_id) {
                c.users.logout(&SessionId::Kms(id.to_owned()));
                if was_connected {
                    for subnet in c.subnet_mapping.values() {
                        if let Some(s) = subnets.get_mut(subnet) {
                            s.release_address();
                        }
                    }
                }
            }
        }
        self.reschedule(&st);
        Ok(Empty {})
    }

    /// UpdateCustomKeyStore: rename (connected or disconnected), tell KMS the
    /// current `kmsuser` password, or move to a related cluster (R5, R7).
    pub fn update_custom_key_store(&self, req: &UpdateCustomKeyStoreRequest) -> Result<Empty> {
        let mut params = json!({"customKeyStoreId": req.custom_key_store_id});
        add_present(&mut params, "clusterId", req.cloud_hsm_cluster_id.as_ref());
        add_present(
            &mut params,
            "newCustomKeyStoreName",
            req.new_custom_key_store_name.as_ref(),
        );
        self.audited(
            "UpdateCustomKeyStore",
            params,
            || self.update_inner(req),
            |_| self.store_recorded(req.custom_key_store_id.as_deref()),
        )
    }

    fn update_inner(&self, req: &UpdateCustomKeyStoreRequest) -> Result<Empty> {
        let id = required("CustomKeyStoreId", &req.custom_key_store_id, 1, 64)?;
        if let Some(n) = &req.new_custom_key_store_name {
            check_len("NewCustomKeyStoreName", n, 1, 256)?;
        }
        if let Some(p) = &req.key_store_password {
            check_len("KeyStorePassword", p, 7, 32)?;
        }
        if let Some(c) = &req.cloud_hsm_cluster_id {
            check_len("CloudHsmClusterId", c, 19, 24)?;
        }
        let mut st = self.state.write();
        let store = find_store(&st, id)?;
        if req.key_store_password.is_some() || req.cloud_hsm_cluster_id.is_some() {
            store
                .state
                .require_disconnected(id, "UpdateCustomKeyStore")?;
        } else if !matches!(
            store.state,
            ConnectionState::Connected | ConnectionState::Disconnected
        ) {
            return Err(store.state.invalid_state(id, "UpdateCustomKeyStore"));
        }
        if let Some(n) = &req.new_custom_key_store_name {
            if st.stores.values().any(|s| s.name == *n && s.id != id) {
                return Err(name_in_use(n));
            }
        }
        if let Some(new_cluster) = &req.cloud_hsm_cluster_id {
            let target = find_cluster(&st, new_cluster)?;
            if !shares_history(&st, &store.cluster_id, target) {
                return Err(Error::new(
                    ErrorKind::CloudHsmClusterNotRelated,
                    format!(
                        "CloudHSM cluster {new_cluster} is not related to cluster {} of custom key store {id}: it does not share its backup history.",
                        store.cluster_id
                    ),
                ));
            }
            check_cluster_for_store(&st, target, true)?;
        }
        let Some(store) = st.stores.get_mut(id) else {
            return Err(store_not_found(id));
        };
        if let Some(n) = &req.new_custom_key_store_name {
            store.name = n.clone();
        }
        if let Some(p) = &req.key_store_password {
            // R5: this "tells KMS the current password, changes nothing in
            // the cluster".
            store.password = p.clone();
        }
        if let Some(c) = &req.cloud_hsm_cluster_id {
            store.cluster_id = c.clone();
        }
        Ok(Empty {})
    }

    /// DeleteCustomKeyStore: the store must be disconnected and hold no keys.
    pub fn delete_custom_key_store(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        self.audited(
            "DeleteCustomKeyStore",
            json!({"customKeyStoreId": req.custom_key_store_id}),
            // The event names the store as it was before it went.
            || {
                let recorded = self.store_recorded(req.custom_key_store_id.as_deref());
                self.delete_store_inner(req).map(|empty| (empty, recorded))
            },
            |(_, recorded)| recorded.clone(),
        )
        .map(|(empty, _)| empty)
    }

    fn delete_store_inner(&self, req: &CustomKeyStoreIdRequest) -> Result<Empty> {
        let id = required("CustomKeyStoreId", &req.custom_key_store_id, 1, 64)?;
        let mut st = self.state.write();
        let store = find_store(&st, id)?;
        store
            .state
            .require_disconnected(id, "DeleteCustomKeyStore")?;
        if st
            .keys
            .values()
            .any(|k| k.store_id().is_some_and(|s| **s == *id))
        {
            return Err(Error::new(
                ErrorKind::CustomKeyStoreHasCMKs,
                format!("Custom key store {id} contains KMS keys. Schedule them for deletion and wait until they are deleted before deleting the custom key store."),
            ));
        }
        st.stores.remove(id);
        Ok(Empty {})
    }

    /// DescribeCustomKeyStores, in creation order, with paging.
    pub fn describe_custom_key_stores(
        &self,
        req: &DescribeCustomKeyStoresRequest,
    ) -> Result<DescribeCustomKeyStoresResponse> {
        let mut params = json!({});
        add_present(
            &mut params,
            "customKeyStoreId",
            req.custom_key_store_id.as_ref(),
        );
        add_present(
            &mut params,
            "customKeyStoreName",
            req.custom_key_store_name.as_ref(),
        );
        self.audited(
            "DescribeCustomKeyStores",
            params,
            || self.describe_stores_inner(req),
            |_| (Value::Null, Value::Null, vec![]),
        )
    }

    fn describe_stores_inner(
        &self,
        req: &DescribeCustomKeyStoresRequest,
    ) -> Result<DescribeCustomKeyStoresResponse> {
        if let Some(i) = &req.custom_key_store_id {
            check_len("CustomKeyStoreId", i, 1, 64)?;
        }
        if let Some(n) = &req.custom_key_store_name {
            check_len("CustomKeyStoreName", n, 1, 256)?;
        }
        if req.custom_key_store_id.is_some() && req.custom_key_store_name.is_some() {
            // The model says "but not both"; the error name is unconfirmed
            // (docs/fidelity.md I6): ValidationException.
            return Err(Error::new(
                ErrorKind::Validation,
                "Specify either CustomKeyStoreId or CustomKeyStoreName, but not both.",
            ));
        }
        let st = self.state.read();
        let mut stores: Vec<&KeyStore> = st
            .stores
            .values()
            .filter(|s| {
                req.custom_key_store_id.as_ref().is_none_or(|i| s.id == *i)
                    && req
                        .custom_key_store_name
                        .as_ref()
                        .is_none_or(|n| s.name == *n)
            })
            .collect();
        if stores.is_empty() {
            if let Some(i) = &req.custom_key_store_id {
                return Err(store_not_found(i));
            }
            if let Some(n) = &req.custom_key_store_name {
                return Err(Error::new(
                    ErrorKind::CustomKeyStoreNotFound,
                    format!(
                        "Custom key store named {n} does not exist in this account and Region."
                    ),
                ));
            }
        }
        stores.sort_by(|a, b| (a.creation_date, &a.id).cmp(&(b.creation_date, &b.id)));
        let entries: Vec<(String, CustomKeyStoresListEntry)> = stores
            .into_iter()
            .map(|s| (s.id.clone(), list_entry(s)))
            .collect();
        let (page, next) = page(&entries, req.limit, req.marker.as_deref(), 1000)?;
        Ok(DescribeCustomKeyStoresResponse {
            custom_key_stores: page,
            truncated: next.is_some(),
            next_marker: next,
        })
    }

    /// Connect or Disconnect, audited with the store's name and cluster.
    fn store_call(
        &self,
        name: &'static str,
        req: &CustomKeyStoreIdRequest,
        run: impl FnOnce() -> Result<Empty>,
    ) -> Result<Empty> {
        self.audited(
            name,
            json!({"customKeyStoreId": req.custom_key_store_id}),
            run,
            |_| self.store_recorded(req.custom_key_store_id.as_deref()),
        )
    }

    /// What a key store call's event records: no response elements, the
    /// store's name and cluster as `additionalEventData`.
    fn store_recorded(&self, id: Option<&str>) -> Recorded {
        let st = self.state.read();
        let additional = id
            .and_then(|i| st.stores.get(i))
            .map(|s| json!({"customKeyStoreName": s.name, "clusterId": s.cluster_id}))
            .unwrap_or(Value::Null);
        (Value::Null, additional, vec![])
    }
}

fn list_entry(s: &KeyStore) -> CustomKeyStoresListEntry {
    CustomKeyStoresListEntry {
        custom_key_store_id: s.id.clone(),
        custom_key_store_name: s.name.clone(),
        cloud_hsm_cluster_id: s.cluster_id.clone(),
        trust_anchor_certificate: s.trust_anchor.clone(),
        connection_state: s.state.as_str().to_owned(),
        connection_error_code: s.state.error_code().map(|c| c.as_str().to_owned()),
        creation_date: s.creation_date.as_epoch_seconds(),
        custom_key_store_type: "AWS_CLOUDHSM".to_owned(),
    }
}

/// Whether the cluster `id` names is `cluster` or shares its backup history.
/// A deleted cluster keeps its record (state DELETED), so its certificate is
/// still there to compare with (R7).
fn shares_history(st: &State, id: &str, cluster: &Cluster) -> bool {
    id == cluster.id || st.clusters.get(id).is_some_and(|c| related(st, c, cluster))
}

/// Related clusters share backup lineage: they descend (CreateCluster
/// `SourceBackupId`) from the same original cluster, or hold the same
/// cluster certificate, compared as certificates (docs/fidelity.md I17).
fn related(st: &State, a: &Cluster, b: &Cluster) -> bool {
    let same_certificate = match (
        &a.certificates.cluster_certificate,
        &b.certificates.cluster_certificate,
    ) {
        (Some(x), Some(y)) => same_certificate(x, y),
        (None, _) | (_, None) => false,
    };
    a.id == b.id || same_certificate || lineage_root(st, a) == lineage_root(st, b)
}

/// The original cluster of `c`'s backup lineage: `c` itself unless it was
/// made from a backup, then the root of the backup's cluster.
fn lineage_root<'s>(st: &'s State, c: &'s Cluster) -> &'s str {
    let mut id = c.id.as_str();
    let mut source = c.source_backup_id.as_deref();
    // Each step moves to an older cluster; the bound only guards against a
    // hand-edited state file with a cycle.
    for _ in 0..=st.clusters.len() {
        let Some(parent) = source
            .and_then(|b| st.backups.get(b))
            .map(|b| b.cluster_id.as_str())
        else {
            break;
        };
        id = parent;
        source = st
            .clusters
            .get(parent)
            .and_then(|p| p.source_backup_id.as_deref());
    }
    id
}

/// Certificates compare as certificates (DER), so line endings and PEM
/// wrapping do not matter (a PEM read on Windows is the same certificate);
/// text that is no certificate matches nothing (docs/fidelity.md F13).
fn same_certificate(a: &str, b: &str) -> bool {
    pki::same_certificates(a, b)
}

pub(crate) fn find_store<'s>(st: &'s State, id: &str) -> Result<&'s KeyStore> {
    st.stores.get(id).ok_or_else(|| store_not_found(id))
}

pub(crate) fn store_not_found(id: &str) -> Error {
    Error::new(
        ErrorKind::CustomKeyStoreNotFound,
        format!("Custom key store {id} does not exist in this account and Region."),
    )
}

fn name_in_use(name: &str) -> Error {
    Error::new(
        ErrorKind::CustomKeyStoreNameInUse,
        format!("The custom key store name {name} is already in use in this account and Region."),
    )
}

fn find_cluster<'s>(st: &'s State, id: &str) -> Result<&'s Cluster> {
    st.clusters.get(id).filter(|c| c.exists()).ok_or_else(|| {
        Error::new(
            ErrorKind::CloudHsmClusterNotFound,
            format!("KMS cannot find the CloudHSM cluster with the specified cluster ID {id}."),
        )
    })
}

fn not_active(c: &Cluster) -> Error {
    Error::new(
        ErrorKind::CloudHsmClusterNotActive,
        format!(
            "The CloudHSM cluster {} is not active (its state is {}). Initialize and activate it first.",
            c.id,
            c.state.as_str()
        ),
    )
}

pub(crate) fn invalid_configuration(message: String) -> Error {
    Error::new(ErrorKind::CloudHsmClusterInvalidConfiguration, message)
}

/// The requirements of CreateCustomKeyStore and UpdateCustomKeyStore
/// (create-keystore "Assemble the prerequisites"): active; private subnets
/// in at least two Availability Zones; the security group rules; at least
/// two active HSMs in different Availability Zones.
pub(crate) fn check_cluster_for_store(st: &State, c: &Cluster, need_two_hsms: bool) -> Result<()> {
    // A DEGRADED cluster counts by its active HSMs (docs/fidelity.md I56).
    if !c.state.serves_kms() {
        return Err(not_active(c));
    }
    let zones = c
        .subnet_mapping
        .values()
        .filter(|s| st.subnets.contains_key(*s))
        .count();
    if zones < 2 {
        return Err(invalid_configuration(format!(
            "The CloudHSM cluster {} must have private subnets in at least two Availability Zones.",
            c.id
        )));
    }
    if !c.security_group_ok {
        return Err(invalid_configuration(format!(
            "The security group for CloudHSM cluster {} must allow inbound and outbound TCP traffic on ports 2223-2225 to itself.",
            c.id
        )));
    }
    if need_two_hsms && c.active_hsm_zones() < 2 {
        return Err(invalid_configuration(format!(
            "The CloudHSM cluster {} must contain at least two active HSMs, each in a different Availability Zone.",
            c.id
        )));
    }
    Ok(())
}
