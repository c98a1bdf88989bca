//! KMS requests and responses as typed structs with the AWS JSON member names
//! of `reference/aws-models/kms-service-2.json` (PascalCase; blobs are base64 strings,
//! timestamps epoch seconds). The engine's KMS operations take and return
//! these; `dispatch.rs` reads them from and writes them to JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::shapes::shapes;

/// Blobs travel as base64 strings. A blob is up to 6 KiB of base64 on the
/// data plane's every call, so it is coded with SIMD (`base64-simd`, which
/// decodes as strictly as the `base64` crate); a blob it refuses is decoded
/// again by `base64` only to say what is wrong with it, in the words
/// clients have always seen.
pub mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64_simd::STANDARD.encode_to_string(bytes))
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        decode(&s).map_err(serde::de::Error::custom)
    }

    /// The bytes `text` encodes, or what is wrong with it.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        base64_simd::STANDARD
            .decode_to_vec(text.as_bytes())
            .or_else(|_| STANDARD.decode(text.as_bytes()))
            .map_err(|e| format!("invalid base64 blob: {e}"))
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
            let s: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
            s.map(|s| decode(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn simd_decoding_accepts_and_refuses_what_the_base64_crate_does() {
            for text in [
                "", "QQ==", "QUI=", "QUJD", "QR==", "QQ", "QQ=", "Q===", "QUJD\n", " QUJD",
                "QU JD", "QUJD====", "QUJ-", "QUJ_", "QUJD+/+/", "////", "=QUJ", "QUJDRA==",
                "QUJDRB==",
            ] {
                let simd = decode(text);
                let plain = STANDARD.decode(text.as_bytes());
                assert_eq!(
                    simd.is_ok(),
                    plain.is_ok(),
                    "{text:?}: {simd:?} / {plain:?}"
                );
                match (simd, plain) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
                    (Err(message), Err(e)) => {
                        assert_eq!(message, format!("invalid base64 blob: {e}"))
                    }
                    _ => unreachable!(),
                }
            }
            let bytes: Vec<u8> = (0..=255).cycle().take(4096 + 7).collect();
            let text = base64_simd::STANDARD.encode_to_string(&bytes);
            assert_eq!(text, STANDARD.encode(&bytes));
            assert_eq!(decode(&text), Ok(bytes));
        }
    }
}

/// An encryption context.
pub type EncryptionContext = BTreeMap<String, String>;

shapes! {
    /// `CreateCustomKeyStoreRequest`.
    CreateCustomKeyStoreRequest {
        /// Required.
        custom_key_store_name?: String,
        /// The cluster.
        cloud_hsm_cluster_id?: String,
        /// Contents of `customerCA.crt`.
        trust_anchor_certificate?: String,
        /// The `kmsuser` password.
        key_store_password?: String,
        /// `AWS_CLOUDHSM` (default) or `EXTERNAL_KEY_STORE`.
        custom_key_store_type?: String,
    }
    /// `CreateCustomKeyStoreResponse`.
    CreateCustomKeyStoreResponse {
        /// The new store's id.
        custom_key_store_id: String,
    }
    /// The input of Connect-, Disconnect- and DeleteCustomKeyStore.
    CustomKeyStoreIdRequest {
        /// Required.
        custom_key_store_id?: String,
    }
    /// `UpdateCustomKeyStoreRequest`.
    UpdateCustomKeyStoreRequest {
        /// Required.
        custom_key_store_id?: String,
        /// A new name.
        new_custom_key_store_name?: String,
        /// The current `kmsuser` password.
        key_store_password?: String,
        /// A related cluster.
        cloud_hsm_cluster_id?: String,
    }
    /// `DescribeCustomKeyStoresRequest`.
    DescribeCustomKeyStoresRequest {
        /// Filter by id.
        custom_key_store_id?: String,
        /// Filter by name.
        custom_key_store_name?: String,
        /// 1–1000.
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
    }
    /// `DescribeCustomKeyStoresResponse`.
    DescribeCustomKeyStoresResponse {
        /// The stores.
        custom_key_stores: Vec<CustomKeyStoresListEntry>,
        /// Where the next page starts.
        next_marker?: String,
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
        connection_error_code?: String,
        /// Epoch seconds.
        creation_date: f64,
        /// `AWS_CLOUDHSM`.
        custom_key_store_type: String,
    }
    /// `CreateKeyRequest`.
    CreateKeyRequest {
        /// Kept and returned by GetKeyPolicy; never evaluated.
        policy?: String,
        /// Description.
        description?: String,
        /// Must be `ENCRYPT_DECRYPT`.
        key_usage?: String,
        /// Deprecated alias of `KeySpec`.
        customer_master_key_spec?: String,
        /// Must be `SYMMETRIC_DEFAULT`.
        key_spec?: String,
        /// `AWS_KMS` (default) or `AWS_CLOUDHSM`.
        origin?: String,
        /// The store.
        custom_key_store_id?: String,
        /// Ignored.
        bypass_policy_lockout_safety_check?: bool,
        /// The key's first tags.
        tags?: Vec<Tag>,
        /// Must not be true.
        multi_region?: bool,
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
        deletion_date?: f64,
        /// `AWS_KMS` or `AWS_CLOUDHSM`.
        origin: String,
        /// The store (keys in a custom key store only).
        custom_key_store_id?: String,
        /// The store's cluster (keys in a custom key store only).
        cloud_hsm_cluster_id?: String,
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
        pending_deletion_window_in_days?: u32,
        /// The material that encrypts now (`AWS_KMS` keys).
        current_key_material_id?: String,
    }
    /// `Tag`.
    Tag {
        /// 1–128 characters.
        tag_key: String,
        /// 0–256 characters.
        tag_value: String,
    }
    /// Input naming one key (DescribeKey, EnableKey, DisableKey, CancelKeyDeletion).
    KeyIdRequest {
        /// Required.
        key_id?: String,
        /// Checked for form (docs/fidelity.md I40), never evaluated.
        grant_tokens?: Vec<String>,
    }
    /// Output naming one key (CancelKeyDeletion).
    KeyIdResponse {
        /// The key ARN.
        key_id: String,
    }
    /// `ListKeysRequest` and `ListAliasesRequest` paging.
    ListRequest {
        /// ListAliases: only aliases of this key.
        key_id?: String,
        /// 1–1000 (default 100).
        limit?: i64,
        /// From a previous `NextMarker`.
        marker?: String,
    }
    /// `ListKeysResponse`.
    ListKeysResponse {
        /// Keys.
        keys: Vec<KeyListEntry>,
        /// Next page.
        next_marker?: String,
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
        alias_name?: String,
        /// The key (not for DeleteAlias).
        target_key_id?: String,
    }
    /// `ListAliasesResponse`.
    ListAliasesResponse {
        /// Aliases.
        aliases: Vec<AliasListEntry>,
        /// Next page.
        next_marker?: String,
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
        key_id?: String,
        /// 7–30, default 30.
        pending_window_in_days?: i64,
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
        key_id?: String,
        /// Required, 1–4096 bytes.
        #[serde(with = "b64::option", default)]
        plaintext?: Vec<u8>,
        /// Authenticated, not encrypted.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// Checked for form (docs/fidelity.md I40), never evaluated.
        grant_tokens?: Vec<String>,
        /// `SYMMETRIC_DEFAULT` only.
        encryption_algorithm?: String,
        /// Check only.
        dry_run?: bool,
    }
    /// `EncryptResponse`.
    EncryptResponse {
        /// The blob.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// Key ARN.
        key_id: std::sync::Arc<str>,
        /// `SYMMETRIC_DEFAULT`.
        encryption_algorithm: std::borrow::Cow<'static, str>,
    }
    /// `DecryptRequest`.
    DecryptRequest {
        /// The blob.
        #[serde(with = "b64::option", default)]
        ciphertext_blob?: Vec<u8>,
        /// Must match the one used to encrypt.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// Checked for form (docs/fidelity.md I40), never evaluated.
        grant_tokens?: Vec<String>,
        /// Optional; must name the key that encrypted.
        key_id?: String,
        /// `SYMMETRIC_DEFAULT` only.
        encryption_algorithm?: String,
        /// Check only.
        dry_run?: bool,
    }
    /// `DecryptResponse`.
    DecryptResponse {
        /// Key ARN.
        key_id: std::sync::Arc<str>,
        /// The plaintext.
        #[serde(with = "b64")]
        plaintext: Vec<u8>,
        /// `SYMMETRIC_DEFAULT`.
        encryption_algorithm: std::borrow::Cow<'static, str>,
    }
    /// `ReEncryptRequest`.
    ReEncryptRequest {
        /// The blob.
        #[serde(with = "b64::option", default)]
        ciphertext_blob?: Vec<u8>,
        /// Context of the source blob.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        source_encryption_context: EncryptionContext,
        /// Optional source key.
        source_key_id?: String,
        /// Required.
        destination_key_id?: String,
        /// Context of the new blob.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        destination_encryption_context: EncryptionContext,
        /// `SYMMETRIC_DEFAULT` only.
        source_encryption_algorithm?: String,
        /// `SYMMETRIC_DEFAULT` only.
        destination_encryption_algorithm?: String,
        /// Checked for form (docs/fidelity.md I40), never evaluated.
        grant_tokens?: Vec<String>,
        /// Check only.
        dry_run?: bool,
    }
    /// `ReEncryptResponse`.
    ReEncryptResponse {
        /// The new blob.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// Source key ARN.
        source_key_id: std::sync::Arc<str>,
        /// Destination key ARN.
        key_id: std::sync::Arc<str>,
        /// `SYMMETRIC_DEFAULT`.
        source_encryption_algorithm: std::borrow::Cow<'static, str>,
        /// `SYMMETRIC_DEFAULT`.
        destination_encryption_algorithm: std::borrow::Cow<'static, str>,
    }
    /// `GenerateDataKeyRequest` (and `…WithoutPlaintext`).
    GenerateDataKeyRequest {
        /// Required.
        key_id?: String,
        /// Authenticated.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        encryption_context: EncryptionContext,
        /// 1–1024; or KeySpec.
        number_of_bytes?: i64,
        /// `AES_256` or `AES_128`.
        key_spec?: String,
        /// Checked for form (docs/fidelity.md I40), never evaluated.
        grant_tokens?: Vec<String>,
        /// Check only.
        dry_run?: bool,
    }
    /// `GenerateDataKeyResponse`; `Plaintext` absent for `…WithoutPlaintext`.
    GenerateDataKeyResponse {
        /// The encrypted data key.
        #[serde(with = "b64")]
        ciphertext_blob: Vec<u8>,
        /// The data key.
        #[serde(with = "b64::option", default)]
        plaintext?: Vec<u8>,
        /// Key ARN.
        key_id: std::sync::Arc<str>,
    }
    /// `GenerateRandomRequest`.
    GenerateRandomRequest {
        /// 1–1024.
        number_of_bytes?: i64,
        /// Generate in this store's cluster.
        custom_key_store_id?: String,
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
