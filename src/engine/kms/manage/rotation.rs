//! Key rotation of `AWS_KMS` keys: EnableKeyRotation, DisableKeyRotation,
//! GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations, and the
//! automatic rotation the clock does (`schedule.rs`, `Work::KeyRotation`)
//! (docs/fidelity.md F19).
//!
//! A rotation adds a material version and makes it the one that
//! encrypts; earlier versions stay, so earlier ciphertexts, which name
//! their version, still decrypt. Keys in a custom key store cannot be
//! rotated by KMS: every rotation operation on one is
//! `UnsupportedOperationException`, as AWS answers.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::shapes::{
    EnableKeyRotationRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotationsListEntry,
};
use crate::engine::clock::Timestamp;
use crate::engine::cloudhsm::keys::KeyMaterial;
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::api::{Empty, KeyIdRequest, KeyIdResponse};
use crate::engine::kms::key::{
    AutoRotation, Key, KeyOrigin, KmsMaterial, MaterialVersion, RotationType,
};
use crate::engine::kms::{check_enum, check_range, page};
use crate::engine::machines::key::Management;
use crate::engine::state::State;
use crate::engine::Engine;

/// The default rotation period (docs/fidelity.md F19).
const DEFAULT_PERIOD_DAYS: u32 = 365;
/// On-demand rotations a key may have (docs/fidelity.md F19).
const MAX_ON_DEMAND: usize = 10;

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// The material of a key KMS can rotate, or AWS's answer for a key in a
/// custom key store.
fn rotatable(key: &mut Key) -> Result<&mut KmsMaterial> {
    let arn = key.arn.clone();
    match &mut key.origin {
        KeyOrigin::AwsKms(m) => Ok(m),
        KeyOrigin::AwsCloudHsm(_) => Err(not_rotatable(&arn, "AWS_CLOUDHSM")),
    }
}

/// "… origin is EXTERNAL which is not valid for this operation" is what
/// KMS answers for imported material; keys in a CloudHSM key store get
/// the same sentence with their origin (docs/fidelity.md F19, I41).
fn not_rotatable(arn: &str, origin: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedOperation,
        format!("{arn} origin is {origin} which is not valid for this operation."),
    )
}

impl Engine {
    /// Adds a material version to an `AWS_KMS` key at `at`.
    fn rotate(
        &self,
        ids: &mut crate::engine::ids::IdGen,
        m: &mut KmsMaterial,
        at: Timestamp,
        kind: RotationType,
    ) -> Result<()> {
        m.versions.push(MaterialVersion {
            id: Arc::from(ids.key_material_id()),
            material: KeyMaterial::generate()?,
            created: at,
            rotation: Some(kind),
        });
        Ok(())
    }

    /// The clock's automatic rotation of `key_id`, due at `at`: a new
    /// version, and the next rotation one period later.
    pub(crate) fn rotate_on_schedule(&self, st: &mut State, key_id: &str, at: Timestamp) {
        let State { ids, keys, .. } = st;
        let Some(KeyOrigin::AwsKms(m)) = keys.get_mut(key_id).map(|k| &mut k.origin) else {
            return;
        };
        let Some(r) = m.rotation else { return };
        // A failed random source leaves the old material in use; the next
        // attempt is a period later either way, so the clock moves on.
        let _ = self.rotate(ids, m, at, RotationType::Automatic);
        m.rotation = Some(AutoRotation {
            period_days: r.period_days,
            next: at.plus(days(r.period_days)),
        });
    }

    /// EnableKeyRotation: 90–2560 days, default 365. The next rotation is
    /// one period after the last one (or the key's creation), and never
    /// in the past.
    pub fn enable_key_rotation(&self, req: &EnableKeyRotationRequest) -> Result<Empty> {
        self.on_key(
            "EnableKeyRotation",
            json!({"keyId": req.key_id, "rotationPeriodInDays": req.rotation_period_in_days}),
            &req.key_id,
            |key_id| {
                let period = req
                    .rotation_period_in_days
                    .unwrap_or(i64::from(DEFAULT_PERIOD_DAYS));
                check_range("RotationPeriodInDays", period, 90, 2560)?;
                let period = u32::try_from(period).unwrap_or(DEFAULT_PERIOD_DAYS);
                let now = self.clock.now();
                let mut st = self.state.write();
                self.refuse_store_key(&st, key_id)?;
                self.managed(&mut st, key_id, Management::NotDisabled, |key| {
                    let m = rotatable(key)?;
                    let last = m.current().map(|v| v.created).unwrap_or(now);
                    let next = last.plus(days(period));
                    let next = if next <= now {
                        now.plus(days(period))
                    } else {
                        next
                    };
                    m.rotation = Some(AutoRotation {
                        period_days: period,
                        next,
                    });
                    Ok(())
                })?;
                self.reschedule(&st);
                Ok(Empty {})
            },
        )
    }

    /// DisableKeyRotation.
    pub fn disable_key_rotation(&self, req: &KeyIdRequest) -> Result<Empty> {
        self.on_key(
            "DisableKeyRotation",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                let mut st = self.state.write();
                self.refuse_store_key(&st, key_id)?;
                self.managed(&mut st, key_id, Management::NotDisabled, |key| {
                    rotatable(key)?.rotation = None;
                    Ok(())
                })?;
                self.reschedule(&st);
                Ok(Empty {})
            },
        )
    }

    /// GetKeyRotationStatus, in every key state.
    pub fn get_key_rotation_status(
        &self,
        req: &KeyIdRequest,
    ) -> Result<GetKeyRotationStatusResponse> {
        self.on_key(
            "GetKeyRotationStatus",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                self.read_key(key_id, |_, key| {
                    let KeyOrigin::AwsKms(m) = &key.origin else {
                        return Err(not_rotatable(&key.arn, key.origin_name()));
                    };
                    Ok(GetKeyRotationStatusResponse {
                        key_rotation_enabled: m.rotation.is_some(),
                        key_id: key.arn.to_string(),
                        rotation_period_in_days: m.rotation.map(|r| r.period_days),
                        next_rotation_date: m.rotation.map(|r| r.next.as_epoch_seconds()),
                        on_demand_rotation_start_date: None,
                    })
                })
            },
        )
    }

    /// RotateKeyOnDemand: a new version at once, at most 10 per key; the
    /// automatic schedule is unchanged.
    pub fn rotate_key_on_demand(&self, req: &KeyIdRequest) -> Result<KeyIdResponse> {
        self.on_key(
            "RotateKeyOnDemand",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                let now = self.clock.now();
                let mut st = self.state.write();
                self.refuse_store_key(&st, key_id)?;
                let mut ids = st.ids.clone();
                let out = self.managed(&mut st, key_id, Management::NotDisabled, |key| {
                    let id = key.id.to_string();
                    let m = rotatable(key)?;
                    let on_demand = m
                        .versions
                        .iter()
                        .filter(|v| v.rotation == Some(RotationType::OnDemand))
                        .count();
                    if on_demand >= MAX_ON_DEMAND {
                        return Err(Error::new(
                            ErrorKind::LimitExceeded,
                            format!("The on-demand rotations quota of {MAX_ON_DEMAND} for this KMS key has been reached."),
                        ));
                    }
                    self.rotate(&mut ids, m, now, RotationType::OnDemand)?;
                    Ok(KeyIdResponse { key_id: id })
                })?;
                st.ids = ids;
                Ok(out)
            },
        )
    }

    /// ListKeyRotations, oldest first; with `ALL_KEY_MATERIAL` the first
    /// material too. `Limit` 1–1000, default 100.
    pub fn list_key_rotations(
        &self,
        req: &ListKeyRotationsRequest,
    ) -> Result<ListKeyRotationsResponse> {
        self.on_key(
            "ListKeyRotations",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                let include = req
                    .include_key_material
                    .as_deref()
                    .unwrap_or("ROTATIONS_ONLY");
                check_enum(
                    "IncludeKeyMaterial",
                    include,
                    &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"],
                )?;
                self.read_key(key_id, |_, key| {
                    let KeyOrigin::AwsKms(m) = &key.origin else {
                        return Err(not_rotatable(&key.arn, key.origin_name()));
                    };
                    let entries: Vec<(String, RotationsListEntry)> = m
                        .versions
                        .iter()
                        .filter(|v| include == "ALL_KEY_MATERIAL" || v.rotation.is_some())
                        .map(|v| {
                            (
                                v.id.to_string(),
                                RotationsListEntry {
                                    key_id: key.id.to_string(),
                                    key_material_id: v.id.to_string(),
                                    rotation_date: v.rotation.map(|_| v.created.as_epoch_seconds()),
                                    rotation_type: v.rotation.map(|r| r.as_str().to_owned()),
                                },
                            )
                        })
                        .collect();
                    let (rotations, next) = page(&entries, req.limit, req.marker.as_deref(), 100)?;
                    Ok(ListKeyRotationsResponse {
                        rotations,
                        truncated: next.is_some(),
                        next_marker: next,
                    })
                })
            },
        )
    }

    /// A key in a custom key store is refused before its state is asked.
    fn refuse_store_key(&self, st: &State, key_id: &str) -> Result<()> {
        let key = self.resolve_key(st, key_id)?;
        match &key.origin {
            KeyOrigin::AwsKms(_) => Ok(()),
            KeyOrigin::AwsCloudHsm(_) => Err(not_rotatable(&key.arn, key.origin_name())),
        }
    }
}
