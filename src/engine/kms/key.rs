//! KMS keys: in a CloudHSM key store (`AWS_CLOUDHSM`) or with material KMS
//! holds itself (`AWS_KMS`). Their `KeyState` machine is
//! [`crate::engine::machines::key`], re-exported here; their management
//! data (tags, policy, grants, rotation) is kept beside them and run by
//! `kms/manage/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::clock::Timestamp;
use crate::engine::cloudhsm::keys::KeyMaterial;
pub use crate::engine::machines::key::{KeyState, KeyStatus, Material};

/// A KMS key.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Key {
    /// The key id (a UUID). The ids are shared (`Arc<str>`) because every
    /// cryptographic call hands them to its CloudTrail event.
    pub id: Arc<str>,
    /// `arn:aws:kms:<region>:<account>:key/<id>`.
    pub arn: Arc<str>,
    /// Description.
    pub description: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// What its owner asked for.
    pub status: KeyStatus,
    /// Where its key material lives (`Origin`).
    pub origin: KeyOrigin,
    /// Tags, by tag key.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The key policy (the one policy, named `default`), as given.
    #[serde(default)]
    pub policy: String,
    /// Grants, by grant id.
    #[serde(default)]
    pub grants: BTreeMap<String, Grant>,
}

/// The key's origin and what it needs to reach its material.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub enum KeyOrigin {
    /// `AWS_CLOUDHSM`: material in the cluster of a custom key store.
    AwsCloudHsm(StoreBacking),
    /// `AWS_KMS`: material KMS keeps, every version of it (rotation adds
    /// one), oldest first, and its automatic rotation schedule.
    AwsKms(KmsMaterial),
}

/// Where a key in a CloudHSM key store finds its material.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct StoreBacking {
    /// Its custom key store.
    pub store_id: Arc<str>,
    /// The CloudHSM key's `id` attribute (hex).
    pub backing_key_id: Arc<str>,
    /// The CloudHSM key's handle when KMS created it.
    pub key_handle: u64,
    /// Whether the material is still in the store's cluster, as KMS sees
    /// it (R7). Not named `material`: a state file's `material` members are
    /// key material.
    #[serde(default)]
    pub material_in_cluster: Material,
}

/// The material of an `AWS_KMS` key.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct KmsMaterial {
    /// Every version, oldest first; the last one encrypts. A ciphertext
    /// names its version's id in the blob's backing key id field, so old
    /// ciphertexts still decrypt after a rotation.
    pub versions: Vec<MaterialVersion>,
    /// Automatic rotation, when enabled.
    pub rotation: Option<AutoRotation>,
}

/// One version of an `AWS_KMS` key's material.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MaterialVersion {
    /// `KeyMaterialId` (64 hex digits).
    pub id: Arc<str>,
    /// The AES-256 key.
    pub material: Arc<KeyMaterial>,
    /// When it was made.
    pub created: Timestamp,
    /// `AUTOMATIC` or `ON_DEMAND` for a version made by rotation.
    pub rotation: Option<RotationType>,
}

/// `RotationType` in reference/aws-models/kms-service-2.json.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum RotationType {
    /// By the rotation schedule.
    #[serde(rename = "AUTOMATIC")]
    Automatic,
    /// By RotateKeyOnDemand.
    #[serde(rename = "ON_DEMAND")]
    OnDemand,
}

impl RotationType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationType::Automatic => "AUTOMATIC",
            RotationType::OnDemand => "ON_DEMAND",
        }
    }
}

/// Automatic rotation of an `AWS_KMS` key.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct AutoRotation {
    /// 90–2560 days.
    pub period_days: u32,
    /// When the next rotation falls due.
    pub next: Timestamp,
}

/// A grant on a key.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Grant {
    /// The grant id.
    pub id: String,
    /// Its name, if given.
    pub name: Option<String>,
    /// When it was created.
    pub creation_date: Timestamp,
    /// Who may use it.
    pub grantee_principal: Option<String>,
    /// Who may retire it.
    pub retiring_principal: Option<String>,
    /// The operations it allows, as given.
    pub operations: Vec<String>,
    /// Its `Constraints`, as given (not evaluated).
    pub constraints: Option<serde_json::Value>,
}

impl Key {
    /// The store and backing key of a key in a CloudHSM key store.
    pub fn store(&self) -> Option<&StoreBacking> {
        match &self.origin {
            KeyOrigin::AwsCloudHsm(b) => Some(b),
            KeyOrigin::AwsKms(_) => None,
        }
    }

    /// The id of the custom key store the key is in.
    pub fn store_id(&self) -> Option<&Arc<str>> {
        self.store().map(|b| &b.store_id)
    }

    /// The `Origin` wire name.
    pub fn origin_name(&self) -> &'static str {
        match &self.origin {
            KeyOrigin::AwsCloudHsm(_) => "AWS_CLOUDHSM",
            KeyOrigin::AwsKms(_) => "AWS_KMS",
        }
    }
}

impl KmsMaterial {
    /// The version that encrypts now.
    pub fn current(&self) -> Option<&MaterialVersion> {
        self.versions.last()
    }
}
