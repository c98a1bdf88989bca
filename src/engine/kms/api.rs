//! KMS requests and responses as typed structs with the AWS JSON member names
//! of `reference/aws-models/kms-service-2.json` (PascalCase; blobs are base64 strings,
//! timestamps epoch seconds). The engine's KMS operations take and return
//! these; `dispatch.rs` reads them from and writes them to JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Blobs travel as base64 strings.
pub mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64 blob: {e}")))
    }

    /// Optional blobs.
    pub mod option {
        use super::*;

        /// Serializes present bytes as base64.
        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, s),
                None => s.serialize_none(),
            }
        }

        /// Reads optional base64.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let s: Option<String> = Option::deserialize(d)?;
            s.map(|s| {
                STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| serde::de::Error::custom(format!("invalid base64 blob: {e}")))
            })
            .transpose()
        }
    }
}

/// An encryption context.
pub type EncryptionContext = BTreeMap<String, String>;

macro_rules! shapes {
    ($( $(#[$doc:meta])* $name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)? } )*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
            #[serde(rename_all = "PascalCase")]
            pub struct $name {
                $( $(#[$fdoc])* pub $field: $ty, )*
            }
        )*
    };
}

shapes! {
    /// `CreateCustomKeyStoreRequest`.
    CreateCustomKeyStoreRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_name: Option<String>,
        /// The cluster.
        #[serde(skip_serializing_if = "Option::is_none")]
        cloud_hsm_cluster_id: Option<String>,
        /// Contents of `customerCA.crt`.
        #[serde(skip_serializing_if = "Option::is_none")]
        trust_anchor_certificate: Option<String>,
        /// The `kmsuser` password.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_store_password: Option<String>,
        /// `AWS_CLOUDHSM` (default) or `EXTERNAL_KEY_STORE`.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_type: Option<String>,
    }
    /// `CreateCustomKeyStoreResponse`.
    CreateCustomKeyStoreResponse {
        /// The new store's id.
        custom_key_store_id: String,
    }
    /// The input of Connect-, Disconnect- and DeleteCustomKeyStore.
    CustomKeyStoreIdRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
    }
    /// `UpdateCustomKeyStoreRequest`.
    UpdateCustomKeyStoreRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
        /// A new name.
        #[serde(skip_serializing_if = "Option::is_none")]
        new_custom_key_store_name: Option<String>,
        /// The current `kmsuser` password.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_store_password: Option<String>,
        /// A related cluster.
        #[serde(skip_serializing_if = "Option::is_none")]
        cloud_hsm_cluster_id: Option<String>,
    }
    /// `DescribeCustomKeyStoresRequest`.
    DescribeCustomKeyStoresRequest {
        /// Filter by id.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
        /// Filter by name.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_name: Option<String>,
        /// 1–1000.
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        /// From a previous `NextMarker`.
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
    /// `DescribeCustomKeyStoresResponse`.
    DescribeCustomKeyStoresResponse {
        /// The stores.
        custom_key_stores: Vec<CustomKeyStoresListEntry>,
        /// Where the next page starts.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_marker: Option<String>,
        /// Whether there are more.
        truncated: bool,
    }
    /// `CustomKeyStoresListEntry`, members in model order.
    CustomKeyStoresListEntry {
        /// Id.
        custom_key_store_id: String,
        /// Name.
        custom_key_store_name: String,
        /// Cluster.
        cloud_hsm_cluster_id: String,
        /// Trust anchor.
        trust_anchor_certificate: String,
        /// `ConnectionStateType`.
        connection_state: String,
        /// Only when `FAILED`.
        #[serde(skip_serializing_if = "Option::is_none")]
        connection_error_code: Option<String>,
        /// Epoch seconds.
        creation_date: f64,
        /// `AWS_CLOUDHSM`.
        custom_key_store_type: String,
    }
    /// `CreateKeyRequest`.
    CreateKeyRequest {
        /// Ignored: hsmdrill has no IAM.
        #[serde(skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
        /// Description.
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Must be `ENCRYPT_DECRYPT`.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_usage: Option<String>,
        /// Deprecated alias of `KeySpec`.
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_master_key_spec: Option<String>,
        /// Must be `SYMMETRIC_DEFAULT`.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_spec: Option<String>,
        /// Must be `AWS_CLOUDHSM`.
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
        /// The store.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        bypass_policy_lockout_safety_check: Option<bool>,
        /// Ignored (kept for the trail).
        #[serde(skip_serializing_if = "Option::is_none")]
        tags: Option<Vec<serde_json::Value>>,
        /// Must not be true.
        #[serde(skip_serializing_if = "Option::is_none")]
        multi_region: Option<bool>,
    }
    /// Output holding `KeyMetadata`.
    KeyMetadataResponse {
        /// The key.
        key_metadata: KeyMetadata,
    }
    /// `KeyMetadata` for a key in a CloudHSM key store.
    KeyMetadata {
        /// `AWSAccountId`.
        #[serde(rename = "AWSAccountId")]
        aws_account_id: String,
        /// Key id.
        key_id: String,
        /// Key ARN.
        arn: String,
        /// Epoch seconds.
        creation_date: f64,
        /// True iff `KeyState` is `Enabled`.
        enabled: bool,
        /// Description.
        description: String,
        /// `ENCRYPT_DECRYPT`.
        key_usage: String,
        /// `KeyState`.
        key_state: String,
        /// Only when pending deletion.
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_date: Option<f64>,
        /// `AWS_CLOUDHSM`.
        origin: String,
        /// The store.
        custom_key_store_id: String,
        /// The store's cluster.
        cloud_hsm_cluster_id: String,
        /// `CUSTOMER`.
        key_manager: String,
        /// `SYMMETRIC_DEFAULT`.
        customer_master_key_spec: String,
        /// `SYMMETRIC_DEFAULT`.
        key_spec: String,
        /// `[SYMMETRIC_DEFAULT]`.
        encryption_algorithms: Vec<String>,
        /// False.
        multi_region: bool,
        /// Only when pending deletion.
        #[serde(skip_serializing_if = "Option::is_none")]
        pending_deletion_window_in_days: Option<u32>,
    }
    /// Input naming one key (DescribeKey, EnableKey, DisableKey, CancelKeyDeletion).
    KeyIdRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_tokens: Option<Vec<String>>,
    }
    /// Output naming one key (CancelKeyDeletion).
    KeyIdResponse {
        /// The key ARN.
        key_id: String,
    }
    /// `ListKeysRequest` and `ListAliasesRequest` paging.
    ListRequest {
        /// ListAliases: only aliases of this key.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// 1–1000 (default 100).
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        /// From a previous `NextMarker`.
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
    /// `ListKeysResponse`.
    ListKeysResponse {
        /// Keys.
        keys: Vec<KeyListEntry>,
        /// Next page.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_marker: Option<String>,
        /// More pages?
        truncated: bool,
    }
    /// `KeyListEntry`.
    KeyListEntry {
        /// Id.
        key_id: String,
        /// ARN.
        key_arn: String,
    }
    /// `CreateAliasRequest` (also `UpdateAlias`).
    AliasRequest {
        /// `alias/…`.
        #[serde(skip_serializing_if = "Option::is_none")]
        alias_name: Option<String>,
        /// The key (not for DeleteAlias).
        #[serde(skip_serializing_if = "Option::is_none")]
        target_key_id: Option<String>,
    }
    /// `ListAliasesResponse`.
    ListAliasesResponse {
        /// Aliases.
        aliases: Vec<AliasListEntry>,
        /// Next page.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_marker: Option<String>,
        /// More pages?
        truncated: bool,
    }
    /// `AliasListEntry`.
    AliasListEntry {
        /// Name.
        alias_name: String,
        /// ARN.
        alias_arn: String,
        /// Key id.
        target_key_id: String,
        /// Epoch seconds.
        creation_date: f64,
        /// Epoch seconds.
        last_updated_date: f64,
    }
    /// `ScheduleKeyDeletionRequest`.
    ScheduleKeyDeletionRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// 7–30, default 30.
        #[serde(skip_serializing_if = "Option::is_none")]
        pending_window_in_days: Option<i64>,
    }
    /// `ScheduleKeyDeletionResponse`.
    ScheduleKeyDeletionResponse {
        /// Key ARN.
        key_id: String,
        /// Epoch seconds.
        deletion_date: f64,
        /// `PendingDeletion`.
        key_state: String,
        /// The window.
        pending_window_in_days: u32,
    }
    /// `EncryptRequest`.
    EncryptRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Required, 1–4096 bytes.
        #[serde(with = "b64::option", skip_serializing_if = "Option::is_none", default)]
        plaintext: Option<Vec<u8>>,
        /// Authenticated, not encrypted.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_tokens: Option<Vec<String>>,
        /// `SYMMETRIC_DEFAULT` only.
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_algorithm: Option<String>,
        /// Check only.
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
    /// `EncryptResponse`.
    EncryptResponse {
        /// The blob.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// Key ARN.
        key_id: String,
        /// `SYMMETRIC_DEFAULT`.
        encryption_algorithm: String,
    }
    /// `DecryptRequest`.
    DecryptRequest {
        /// The blob.
        #[serde(with = "b64::option", skip_serializing_if = "Option::is_none", default)]
        ciphertext_blob: Option<Vec<u8>>,
        /// Must match the one used to encrypt.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_tokens: Option<Vec<String>>,
        /// Optional; must name the key that encrypted.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// `SYMMETRIC_DEFAULT` only.
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_algorithm: Option<String>,
        /// Check only.
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
    /// `DecryptResponse`.
    DecryptResponse {
        /// Key ARN.
        key_id: String,
        /// The plaintext.
        #[serde(with = "b64")]
        plaintext: Vec<u8>,
        /// `SYMMETRIC_DEFAULT`.
        encryption_algorithm: String,
    }
    /// `ReEncryptRequest`.
    ReEncryptRequest {
        /// The blob.
        #[serde(with = "b64::option", skip_serializing_if = "Option::is_none", default)]
        ciphertext_blob: Option<Vec<u8>>,
        /// Context of the source blob.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        source_encryption_context: EncryptionContext,
        /// Optional source key.
        #[serde(skip_serializing_if = "Option::is_none")]
        source_key_id: Option<String>,
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        destination_key_id: Option<String>,
        /// Context of the new blob.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        destination_encryption_context: EncryptionContext,
        /// `SYMMETRIC_DEFAULT` only.
        #[serde(skip_serializing_if = "Option::is_none")]
        source_encryption_algorithm: Option<String>,
        /// `SYMMETRIC_DEFAULT` only.
        #[serde(skip_serializing_if = "Option::is_none")]
        destination_encryption_algorithm: Option<String>,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_tokens: Option<Vec<String>>,
        /// Check only.
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
    /// `ReEncryptResponse`.
    ReEncryptResponse {
        /// The new blob.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// Source key ARN.
        source_key_id: String,
        /// Destination key ARN.
        key_id: String,
        /// `SYMMETRIC_DEFAULT`.
        source_encryption_algorithm: String,
        /// `SYMMETRIC_DEFAULT`.
        destination_encryption_algorithm: String,
    }
    /// `GenerateDataKeyRequest` (and `…WithoutPlaintext`).
    GenerateDataKeyRequest {
        /// Required.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Authenticated.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// 1–1024; or KeySpec.
        #[serde(skip_serializing_if = "Option::is_none")]
        number_of_bytes: Option<i64>,
        /// `AES_256` or `AES_128`.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_spec: Option<String>,
        /// Ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_tokens: Option<Vec<String>>,
        /// Check only.
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
    /// `GenerateDataKeyResponse`; `Plaintext` absent for `…WithoutPlaintext`.
    GenerateDataKeyResponse {
        /// The encrypted data key.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// The data key.
        #[serde(with = "b64::option", skip_serializing_if = "Option::is_none", default)]
        plaintext: Option<Vec<u8>>,
        /// Key ARN.
        key_id: String,
    }
    /// `GenerateRandomRequest`.
    GenerateRandomRequest {
        /// 1–1024.
        #[serde(skip_serializing_if = "Option::is_none")]
        number_of_bytes: Option<i64>,
        /// Generate in this store's cluster.
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
    }
    /// `GenerateRandomResponse`.
    GenerateRandomResponse {
        /// The bytes.
        #[serde(with = "b64")]
        plaintext: Vec<u8>,
    }
}

/// An operation with no output members (`{}` on the wire).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Empty {}
