//! KMS key operations for keys in CloudHSM key stores: CreateKey,
//! DescribeKey, ListKeys, the alias operations, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, and the deletion KMS performs at
//! the end of the waiting period (R6).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::api::{
    AliasListEntry, AliasRequest, CreateKeyRequest, Empty, KeyIdRequest, KeyIdResponse,
    KeyListEntry, KeyMetadata, KeyMetadataResponse, ListAliasesResponse, ListKeysResponse,
    ListRequest, ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse,
};
use super::key::{
    Key, KeyOrigin, KeyState, KeyStatus, KmsMaterial, Material, MaterialVersion, StoreBacking,
};
use super::manage;
use super::store_ops::{check_cluster_for_store, find_store};
use super::KMSUSER;
use super::{add_present, check_enum, check_len, check_range, nothing_recorded, page, required};
use crate::engine::clock::Timestamp;
use crate::engine::cloudhsm::keys::KeyMaterial;
use crate::engine::cloudhsm::users::SessionId;
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::machines::key::Management;
use crate::engine::machines::Transition;
use crate::engine::state::{Alias, State};
use crate::engine::trail::{self, backing_key_json, EventDetail, EventType, JsonDetail};
use crate::engine::Engine;

const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
const KEY_USAGES: &[&str] = &[
    "SIGN_VERIFY",
    "ENCRYPT_DECRYPT",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
];
const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
];

impl Engine {
    /// CreateKey. With no arguments, a symmetric `AWS_KMS` key whose
    /// material KMS keeps; with `Origin: AWS_CLOUDHSM`, KMS logs in as
    /// `kmsuser` and makes an AES-256 key in the store's cluster, labelled
    /// with the key ARN. `Tags` and `Policy` are kept (`kms/manage/`).
    pub fn create_key(&self, req: &CreateKeyRequest) -> Result<KeyMetadataResponse> {
        // Every request parameter with a default is recorded, defaulted, as
        // in the guide's example (docs/fidelity.md F26).
        let key_spec = req
            .key_spec
            .as_deref()
            .or(req.customer_master_key_spec.as_deref())
            .unwrap_or("SYMMETRIC_DEFAULT");
        let mut params = json!({
            "origin": req.origin.as_deref().unwrap_or("AWS_KMS"),
            "bypassPolicyLockoutSafetyCheck": req.bypass_policy_lockout_safety_check.unwrap_or(false),
            "customerMasterKeySpec": req.customer_master_key_spec.as_deref().unwrap_or(key_spec),
            "keySpec": key_spec,
            "keyUsage": req.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT"),
        });
        add_present(
            &mut params,
            "customKeyStoreId",
            req.custom_key_store_id.as_ref(),
        );
        add_present(&mut params, "description", req.description.as_ref());
        add_present(&mut params, "tags", req.tags.as_ref());
        self.audited("CreateKey", params, || self.create_key_inner(req), |(r, key)| {
            let additional = match key.store() {
                Some(b) => json!({"backingKey": backing_key_json(b.key_handle, &b.backing_key_id)}),
                None => Value::Null,
            };
            (
                json!({"keyMetadata": key_metadata_json(serde_json::to_value(&r.key_metadata).unwrap_or(Value::Null))}),
                additional,
                vec![key.arn.to_string()],
            )
        })
        .map(|(r, _)| r)
    }

    fn create_key_inner(&self, req: &CreateKeyRequest) -> Result<(KeyMetadataResponse, Key)> {
        if let Some(d) = &req.description {
            check_len("Description", d, 0, 8192)?;
        }
        if let Some(p) = &req.policy {
            check_len("Policy", p, 1, 131_072)?;
        }
        let origin = req.origin.as_deref().unwrap_or("AWS_KMS");
        check_enum("Origin", origin, ORIGINS)?;
        if let Some(u) = &req.key_usage {
            check_enum("KeyUsage", u, KEY_USAGES)?;
        }
        for (field, spec) in [
            ("KeySpec", &req.key_spec),
            ("CustomerMasterKeySpec", &req.customer_master_key_spec),
        ] {
            if let Some(s) = spec {
                check_enum(field, s, KEY_SPECS)?;
            }
        }
        if let Some(id) = &req.custom_key_store_id {
            check_len("CustomKeyStoreId", id, 1, 64)?;
        }
        let tags = manage::tags::checked_tags(req.tags.as_deref().unwrap_or_default())?;
        let policy = match &req.policy {
            Some(p) => manage::policy::checked_policy(p)?.to_owned(),
            None => self.default_key_policy(),
        };
        match origin {
            "AWS_KMS" | "AWS_CLOUDHSM" => {}
            // docs/fidelity.md I36: the origins hsmdrill leaves out.
            other => {
                return Err(Error::new(
                    ErrorKind::UnsupportedOperation,
                    format!("Origin {other} is not supported by hsmdrill; use AWS_KMS, or AWS_CLOUDHSM with a CustomKeyStoreId."),
                ))
            }
        }
        let spec = req
            .key_spec
            .as_deref()
            .or(req.customer_master_key_spec.as_deref())
            .unwrap_or("SYMMETRIC_DEFAULT");
        let symmetric = spec == "SYMMETRIC_DEFAULT"
            && req
                .key_usage
                .as_deref()
                .is_none_or(|u| u == "ENCRYPT_DECRYPT");
        if !symmetric {
            let message = if origin == "AWS_CLOUDHSM" {
                "KMS keys in an AWS CloudHSM key store must be symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT)."
            } else {
                // docs/fidelity.md I36: asymmetric and HMAC keys are out of scope.
                "hsmdrill supports symmetric encryption KMS keys only (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT)."
            };
            return Err(Error::new(ErrorKind::UnsupportedOperation, message));
        }
        if req.multi_region == Some(true) {
            let message = if origin == "AWS_CLOUDHSM" {
                "You cannot create a multi-Region key in a custom key store."
            } else {
                "Multi-Region keys are not supported by hsmdrill."
            };
            return Err(Error::new(ErrorKind::UnsupportedOperation, message));
        }
        if origin == "AWS_KMS" {
            // docs/fidelity.md I37: a store id needs a store origin.
            if req.custom_key_store_id.is_some() {
                return Err(Error::new(
                    ErrorKind::UnsupportedOperation,
                    "A CustomKeyStoreId requires Origin AWS_CLOUDHSM (or EXTERNAL_KEY_STORE).",
                ));
            }
            let mut st = self.state.write();
            let key_id = st.ids.uuid();
            let key = self.install_kms_key(
                &mut st,
                key_id,
                req.description.clone().unwrap_or_default(),
                KeyStatus::Enabled,
            )?;
            let key = keep_tags_and_policy(&mut st, key, tags, policy);
            let meta = self.key_metadata(&st, &key);
            return Ok((KeyMetadataResponse { key_metadata: meta }, key));
        }
        // Which error AWS gives here is unconfirmed (docs/fidelity.md I6).
        let Some(store_id) = req.custom_key_store_id.as_deref() else {
            return Err(Error::new(
                ErrorKind::Validation,
                "CustomKeyStoreId is required when Origin is AWS_CLOUDHSM.",
            ));
        };
        let mut st = self.state.write();
        let store = find_store(&st, store_id)?;
        store.state.require_connected(store_id, "CreateKey")?;
        let cluster = st.clusters.get(&store.cluster_id).filter(|c| c.exists());
        let Some(cluster) = cluster else {
            return Err(Error::new(
                ErrorKind::KmsInternal,
                super::CANNOT_COMMUNICATE,
            ));
        };
        check_cluster_for_store(&st, cluster, true)?;
        if !cluster.link.cross() || !cluster.security_group_ok {
            return Err(Error::new(
                ErrorKind::KmsInternal,
                super::CANNOT_COMMUNICATE,
            ));
        }
        // R4: making the key material needs kmsuser's session, as crypto
        // does; CreateKey's modelled errors have no KMSInvalidStateException
        // (docs/fidelity.md I54).
        if super::kmsuser_locked(cluster) {
            return Err(Error::new(
                ErrorKind::CustomKeyStoreInvalidState,
                super::KMSUSER_LOCKED_OUT,
            ));
        }
        let key_id = st.ids.uuid();
        let key = self.install_key(
            &mut st,
            store_id,
            key_id,
            req.description.clone().unwrap_or_default(),
            KeyStatus::Enabled,
        )?;
        let key = keep_tags_and_policy(&mut st, key, tags, policy);
        let meta = self.key_metadata(&st, &key);
        Ok((KeyMetadataResponse { key_metadata: meta }, key))
    }

    /// Makes the key material in the store's cluster (owned by `kmsuser`,
    /// labelled with the key ARN) and the KMS key that uses it. World files
    /// use this too.
    pub(crate) fn install_key(
        &self,
        st: &mut State,
        store_id: &str,
        key_id: String,
        description: String,
        status: KeyStatus,
    ) -> Result<Key> {
        let cluster_id = find_store(st, store_id)?.cluster_id.clone();
        let material = KeyMaterial::generate()?;
        let backing_key_id = st.ids.backing_key_id();
        let arn = self.key_arn(&key_id);
        let cluster = st
            .clusters
            .get_mut(&cluster_id)
            .ok_or_else(|| Error::new(ErrorKind::KmsInternal, super::CANNOT_COMMUNICATE))?;
        let key_handle =
            cluster
                .keys
                .create(backing_key_id.clone(), arn.clone(), KMSUSER, material);
        let key = Key {
            id: Arc::from(key_id.as_str()),
            arn: Arc::from(arn),
            description,
            creation_date: self.clock.now(),
            status,
            origin: KeyOrigin::AwsCloudHsm(StoreBacking {
                store_id: Arc::from(store_id),
                backing_key_id: Arc::from(backing_key_id),
                key_handle,
                material_in_cluster: Material::Present,
            }),
            tags: BTreeMap::new(),
            policy: self.default_key_policy(),
            grants: BTreeMap::new(),
        };
        st.keys.insert(key_id, key.clone());
        Ok(key)
    }

    /// Makes an `AWS_KMS` key: its first material version, from the same
    /// random source as material in a cluster, under a seeded
    /// `KeyMaterialId`. World files use this too.
    pub(crate) fn install_kms_key(
        &self,
        st: &mut State,
        key_id: String,
        description: String,
        status: KeyStatus,
    ) -> Result<Key> {
        let now = self.clock.now();
        let version = MaterialVersion {
            id: Arc::from(st.ids.key_material_id()),
            material: KeyMaterial::generate()?,
            created: now,
            rotation: None,
        };
        let key = Key {
            id: Arc::from(key_id.as_str()),
            arn: Arc::from(self.key_arn(&key_id)),
            description,
            creation_date: now,
            status,
            origin: KeyOrigin::AwsKms(KmsMaterial {
                versions: vec![version],
                rotation: None,
            }),
            tags: BTreeMap::new(),
            policy: self.default_key_policy(),
            grants: BTreeMap::new(),
        };
        st.keys.insert(key_id, key.clone());
        Ok(key)
    }

    /// `KeyMetadata` as DescribeKey shows it, with the derived `KeyState`.
    pub(crate) fn key_metadata(&self, st: &State, key: &Key) -> KeyMetadata {
        let store = key.store_id().and_then(|id| st.stores.get(&**id));
        // An AWS_KMS key has no store to lose (docs/fidelity.md F14).
        let state = key.status.visible(self.key_available(st, key));
        let (deletion_date, window) = match key.status {
            KeyStatus::PendingDeletion {
                deletion_date,
                window_days,
            } => (Some(deletion_date.as_epoch_seconds()), Some(window_days)),
            KeyStatus::Enabled | KeyStatus::Disabled => (None, None),
        };
        KeyMetadata {
            aws_account_id: self.config.account.clone(),
            key_id: key.id.to_string(),
            arn: key.arn.to_string(),
            creation_date: key.creation_date.as_epoch_seconds(),
            enabled: state == super::key::KeyState::Enabled,
            description: key.description.clone(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_state: state.as_str().into(),
            deletion_date,
            origin: key.origin_name().into(),
            custom_key_store_id: key.store_id().map(|id| id.to_string()),
            cloud_hsm_cluster_id: store.map(|s| s.cluster_id.clone()),
            key_manager: "CUSTOMER".into(),
            customer_master_key_spec: "SYMMETRIC_DEFAULT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            encryption_algorithms: vec!["SYMMETRIC_DEFAULT".into()],
            multi_region: false,
            pending_deletion_window_in_days: window,
            current_key_material_id: match &key.origin {
                KeyOrigin::AwsKms(m) => m.current().map(|v| v.id.to_string()),
                KeyOrigin::AwsCloudHsm(_) => None,
            },
        }
    }

    /// DescribeKey: works in every key state (R1).
    pub fn describe_key(&self, req: &KeyIdRequest) -> Result<KeyMetadataResponse> {
        self.audited(
            "DescribeKey",
            json!({"keyId": req.key_id}),
            || {
                let key_id = required("KeyId", &req.key_id, 1, 2048)?;
                manage::grants::check_grant_tokens(req.grant_tokens.as_deref())?;
                let st = self.state.read();
                let key = self.resolve_key(&st, key_id)?;
                Ok(KeyMetadataResponse {
                    key_metadata: self.key_metadata(&st, key),
                })
            },
            |r| (Value::Null, Value::Null, vec![r.key_metadata.arn.clone()]),
        )
    }

    /// ListKeys, in key id order.
    pub fn list_keys(&self, req: &ListRequest) -> Result<ListKeysResponse> {
        self.audited(
            "ListKeys",
            json!({}),
            || {
                let st = self.state.read();
                let entries: Vec<(String, KeyListEntry)> = st
                    .keys
                    .values()
                    .map(|k| {
                        (
                            k.id.to_string(),
                            KeyListEntry {
                                key_id: k.id.to_string(),
                                key_arn: k.arn.to_string(),
                            },
                        )
                    })
                    .collect();
                let (keys, next) = page(&entries, req.limit, req.marker.as_deref(), 100)?;
                Ok(ListKeysResponse {
                    keys,
                    truncated: next.is_some(),
                    next_marker: next,
                })
            },
            nothing_recorded,
        )
    }

    /// CreateAlias.
    pub fn create_alias(&self, req: &AliasRequest) -> Result<Empty> {
        let params = json!({"aliasName": req.alias_name, "targetKeyId": req.target_key_id});
        self.audited(
            "CreateAlias",
            params,
            || {
                let name = required("AliasName", &req.alias_name, 1, 256)?;
                let target = required("TargetKeyId", &req.target_key_id, 1, 2048)?;
                check_alias_name(name)?;
                let mut st = self.state.write();
                let key = self.resolve_key(&st, target)?;
                if target.contains("alias/") {
                    return Err(Error::new(
                        ErrorKind::Validation,
                        "TargetKeyId must be a key ID or key ARN, not an alias.",
                    ));
                }
                // The "Key states" table: not on a key pending deletion
                // (docs/fidelity.md F15).
                let available = self.key_available(&st, key);
                key.status
                    .on_manage(Management::NotPendingDeletion, available, &key.arn)?;
                let key_id = key.id.clone();
                let arn = key.arn.to_string();
                if st.aliases.contains_key(name) {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "An alias with the name {} already exists",
                            self.alias_arn(name)
                        ),
                    ));
                }
                let now = self.clock.now();
                st.aliases.insert(
                    name.to_owned(),
                    Alias {
                        name: name.to_owned(),
                        target_key_id: key_id.to_string(),
                        creation_date: now,
                        last_updated_date: now,
                    },
                );
                Ok((Empty {}, arn))
            },
            |(_, arn)| (Value::Null, Value::Null, vec![arn.to_string()]),
        )
        .map(|(e, _)| e)
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, req: &AliasRequest) -> Result<Empty> {
        self.audited(
            "DeleteAlias",
            json!({"aliasName": req.alias_name}),
            || {
                let name = required("AliasName", &req.alias_name, 1, 256)?;
                check_alias_name(name)?;
                let mut st = self.state.write();
                st.aliases.remove(name).map(|_| Empty {}).ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("Alias {} is not found.", self.alias_arn(name)),
                    )
                })
            },
            nothing_recorded,
        )
    }

    /// ListAliases, by name; `KeyId` limits them to one key.
    pub fn list_aliases(&self, req: &ListRequest) -> Result<ListAliasesResponse> {
        self.audited(
            "ListAliases",
            json!({}),
            || {
                let st = self.state.read();
                let only = match &req.key_id {
                    Some(k) => Some(self.resolve_key(&st, k)?.id.clone()),
                    None => None,
                };
                let entries: Vec<(String, AliasListEntry)> = st
                    .aliases
                    .values()
                    .filter(|a| only.as_ref().is_none_or(|k| *a.target_key_id == **k))
                    .map(|a| {
                        (
                            a.name.clone(),
                            AliasListEntry {
                                alias_name: a.name.clone(),
                                alias_arn: self.alias_arn(&a.name),
                                target_key_id: a.target_key_id.clone(),
                                creation_date: a.creation_date.as_epoch_seconds(),
                                last_updated_date: a.last_updated_date.as_epoch_seconds(),
                            },
                        )
                    })
                    .collect();
                let (aliases, next) = page(&entries, req.limit, req.marker.as_deref(), 50)?;
                Ok(ListAliasesResponse {
                    aliases,
                    truncated: next.is_some(),
                    next_marker: next,
                })
            },
            nothing_recorded,
        )
    }

    /// EnableKey. R1: on an `Unavailable` key this succeeds and takes effect
    /// when the store reconnects.
    pub fn enable_key(&self, req: &KeyIdRequest) -> Result<Empty> {
        self.change_status("EnableKey", req, |s, arn| s.on_enable(arn), |_| Value::Null)
            .map(|_| Empty {})
    }

    /// DisableKey (deferred the same way as EnableKey).
    pub fn disable_key(&self, req: &KeyIdRequest) -> Result<Empty> {
        self.change_status(
            "DisableKey",
            req,
            |s, arn| s.on_disable(arn),
            |_| Value::Null,
        )
        .map(|_| Empty {})
    }

    /// One event on a key's stored status (`machines/key.rs`), audited as
    /// `name`; `response_elements` is what CloudTrail records of the answer.
    /// Returns the key's ARN.
    fn change_status(
        &self,
        name: &'static str,
        req: &KeyIdRequest,
        event: impl FnOnce(KeyStatus, &str) -> Result<Transition<KeyStatus>>,
        response_elements: impl FnOnce(&str) -> Value,
    ) -> Result<Arc<str>> {
        self.audited(
            name,
            json!({"keyId": req.key_id}),
            || {
                let key_id = required("KeyId", &req.key_id, 1, 2048)?;
                let mut st = self.state.write();
                let key = self.resolve_key(&st, key_id)?;
                let (id, arn) = (key.id.clone(), key.arn.clone());
                let next = event(key.status, &arn)?;
                if let Some(k) = st.keys.get_mut(&*id) {
                    next.apply(&mut k.status);
                }
                // A key leaving or entering PendingDeletion moves the clock's work.
                self.reschedule(&st);
                Ok(arn)
            },
            |arn| (response_elements(arn), Value::Null, vec![arn.to_string()]),
        )
    }

    /// ScheduleKeyDeletion: 7–30 days (default 30). Works on `Unavailable`
    /// keys, which then read `PendingDeletion` even while disconnected (R1).
    pub fn schedule_key_deletion(
        &self,
        req: &ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse> {
        let mut params = json!({"keyId": req.key_id});
        add_present(
            &mut params,
            "pendingWindowInDays",
            req.pending_window_in_days,
        );
        self.audited(
            "ScheduleKeyDeletion",
            params,
            || self.schedule_inner(req),
            |(r, key)| {
                // Only a key in a key store has backing keys to report.
                let additional = key.store().map_or(Value::Null, |b| {
                    let st = self.state.read();
                    let cluster = st.stores.get(&*b.store_id).map(|s| s.cluster_id.clone());
                    json!({
                        "customKeyStoreId": b.store_id,
                        "clusterId": cluster,
                        "backingKeys": backing_keys_json(b),
                    })
                });
                // As the guide's example prints it: `deletionDate` as a
                // date string, no `pendingWindowInDays` (docs/fidelity.md F26).
                let deletion_date =
                    Timestamp::from_millis((r.deletion_date * 1000.0).round() as i64);
                (
                    json!({
                        "keyId": r.key_id,
                        "keyState": r.key_state,
                        "deletionDate": trail::event_date(deletion_date),
                    }),
                    additional,
                    vec![key.arn.to_string()],
                )
            },
        )
        .map(|(r, _)| r)
    }

    fn schedule_inner(
        &self,
        req: &ScheduleKeyDeletionRequest,
    ) -> Result<(ScheduleKeyDeletionResponse, Key)> {
        let key_id = required("KeyId", &req.key_id, 1, 2048)?;
        let days = req.pending_window_in_days.unwrap_or(30);
        // The model allows 1–365; KMS enforces 7–30 (docs/fidelity.md F4).
        check_range("PendingWindowInDays", days, 7, 30)?;
        let days = u32::try_from(days).unwrap_or(30);
        let mut st = self.state.write();
        let key = self.resolve_key(&st, key_id)?;
        let deletion_date = self
            .clock
            .now()
            .plus(std::time::Duration::from_secs(u64::from(days) * 86_400));
        let id = key.id.clone();
        let transition = key
            .status
            .on_schedule_deletion(&key.arn, deletion_date, days)?;
        if let (Transition::To(s), Some(k)) = (transition, st.keys.get_mut(&*id)) {
            k.status = s;
        }
        self.reschedule(&st);
        let key = st
            .keys
            .get(&*id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::KmsInternal, "key vanished"))?;
        Ok((
            ScheduleKeyDeletionResponse {
                key_id: key.arn.to_string(),
                deletion_date: deletion_date.as_epoch_seconds(),
                key_state: KeyState::PendingDeletion.as_str().into(),
                pending_window_in_days: days,
            },
            key,
        ))
    }

    /// CancelKeyDeletion: back to `Disabled`; works without reconnecting
    /// (R1). While the store is disconnected the key then reads
    /// `Unavailable` (unconfirmed: docs/fidelity.md I5).
    pub fn cancel_key_deletion(&self, req: &KeyIdRequest) -> Result<KeyIdResponse> {
        self.change_status(
            "CancelKeyDeletion",
            req,
            |s, arn| s.on_cancel_deletion(arn),
            |arn| json!({ "keyId": arn }),
        )
        .map(|arn| KeyIdResponse {
            key_id: arn.to_string(),
        })
    }

    /// R6: at the end of the waiting period KMS deletes the key's metadata and
    /// makes a best-effort attempt to delete its material from the cluster,
    /// which fails when it cannot reach the cluster as `kmsuser`. The
    /// `DeleteKey` service event reports the attempt.
    pub(crate) fn delete_key_at_end_of_window(&self, st: &mut State, key_id: &str, at: Timestamp) {
        let Some(key) = st.keys.remove(key_id) else {
            return;
        };
        st.aliases.retain(|_, a| *a.target_key_id != *key.id);
        st.deleted_keys.insert(key.id.to_string(), ());
        // An AWS_KMS key's material goes with it; the service event
        // reports only a key store's best-effort attempt.
        let KeyOrigin::AwsCloudHsm(b) = &key.origin else {
            self.trail.record(
                at,
                "DeleteKey",
                EventType::ServiceEvent,
                EventDetail::Json(Box::new(JsonDetail {
                    request_parameters: Value::Null,
                    response_elements: json!({ "keyId": &*key.arn }),
                    additional_event_data: Value::Null,
                    resources: vec![key.arn.to_string()],
                })),
                None,
            );
            return;
        };
        let store = st.stores.get(&*b.store_id);
        let connected =
            store.is_some_and(|s| s.state == super::keystore::ConnectionState::Connected);
        let cluster_id = store.map(|s| s.cluster_id.clone());
        let session = SessionId::Kms(b.store_id.to_string());
        let deleted = connected
            && cluster_id
                .as_ref()
                .and_then(|c| st.clusters.get_mut(c))
                .filter(|c| c.exists())
                .is_some_and(|c| {
                    let reachable = c.security_group_ok
                        && c.link.cross()
                        && c.active_hsms().next().is_some()
                        && c.users.logged_in(&session).is_some()
                        && c.users.get(KMSUSER).is_some_and(|u| !u.lockout.is_locked());
                    let reference = c.keys.by_id(&b.backing_key_id).map(|k| k.reference);
                    match (reachable, reference) {
                        (true, Some(r)) => c.keys.remove(r).is_some(),
                        (true, None) | (false, Some(_)) | (false, None) => false,
                    }
                });
        let status = if deleted { "SUCCESS" } else { "FAILURE" };
        self.trail.record(
            at,
            "DeleteKey",
            EventType::ServiceEvent,
            EventDetail::Json(Box::new(JsonDetail {
                // The key ARN in `responseElements` (recorded since December
                // 2022) and backing keys named by id alone, as R6's page
                // prints the event (docs/fidelity.md F26).
                request_parameters: Value::Null,
                response_elements: json!({ "keyId": &*key.arn }),
                additional_event_data: json!({
                    "customKeyStoreId": b.store_id,
                    "clusterId": cluster_id,
                    "backingKeys": deleted_backing_keys_json(b, None),
                    "backingKeysDeletionStatus": deleted_backing_keys_json(b, Some(status)),
                }),
                resources: vec![key.arn.to_string()],
            })),
            None,
        );
    }
}

/// CreateKey's `Tags` and `Policy` (checked) on the key it just made.
fn keep_tags_and_policy(
    st: &mut State,
    key: Key,
    tags: BTreeMap<String, String>,
    policy: String,
) -> Key {
    match st.keys.get_mut(&*key.id) {
        Some(k) => {
            k.tags = tags;
            k.policy = policy;
            k.clone()
        }
        None => key,
    }
}

/// `[{"keyHandle":"…","backingKeyId":"…"}]` as the JSON string
/// ScheduleKeyDeletion's event shows (docs/fidelity.md F7).
fn backing_keys_json(key: &StoreBacking) -> String {
    json!([{
        "keyHandle": key.key_handle.to_string(),
        "backingKeyId": key.backing_key_id,
    }])
    .to_string()
}

/// `[{"backingKeyId":"…"(,"deletionStatus":"…")}]` as the JSON string the
/// `DeleteKey` service event shows: no `keyHandle` (docs/fidelity.md F26).
fn deleted_backing_keys_json(key: &StoreBacking, status: Option<&str>) -> String {
    let mut entry = json!({ "backingKeyId": key.backing_key_id });
    if let Some(s) = status {
        entry["deletionStatus"] = json!(s);
    }
    Value::Array(vec![entry]).to_string()
}

/// Alias names: `alias/` + 1–250 of `[a-zA-Z0-9/_-]`, not `alias/aws/…`.
pub(super) fn check_alias_name(name: &str) -> Result<()> {
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(Error::new(
            ErrorKind::InvalidAliasName,
            format!("Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html (got {name})"),
        ));
    };
    if rest.starts_with("aws/") {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("Cannot create or delete AWS managed alias {name}"),
        ));
    }
    if rest.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
    {
        return Err(Error::validation(
            "AliasName",
            name,
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ));
    }
    Ok(())
}

/// `keyMetadata` as CloudTrail records it in CreateKey's response elements:
/// members in camel case but `AWSAccountId`, dates as date strings
/// (`"creationDate": "Aug 10, 2022, 10:38:27 PM"`, docs/fidelity.md F26).
fn key_metadata_json(metadata: Value) -> Value {
    let mut m = camel_case(metadata);
    for member in ["creationDate", "deletionDate", "validTo"] {
        if let Some(seconds) = m[member].as_f64() {
            let at = Timestamp::from_millis((seconds * 1000.0).round() as i64);
            m[member] = json!(trail::metadata_date(at));
        }
    }
    m
}

/// CloudTrail writes response elements in camel case, but for
/// `AWSAccountId`, which the guide's CreateKey example prints as is.
fn camel_case(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = if k == "AWSAccountId" {
                        k
                    } else {
                        let mut c = k.chars();
                        c.next()
                            .map(|f| f.to_lowercase().chain(c).collect())
                            .unwrap_or_default()
                    };
                    (k, camel_case(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_case).collect()),
        other => other,
    }
}
