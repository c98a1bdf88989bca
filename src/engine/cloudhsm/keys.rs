//! Key material inside a cluster: AES-256 keys owned by the crypto user who
//! made them.
//!
//! KMS creates one such key per KMS key in a CloudHSM key store; its label is
//! the KMS key ARN and its `id` attribute (hex) is the `backingKeyId` that
//! CloudTrail shows (R6). The AES key is built once into a `ring`
//! [`LessSafeKey`] and shared by `Arc`, so the hot path never rebuilds it and a
//! backup or a restored cluster carries the very same material.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};

use crate::engine::error::{Error, ErrorKind, Result};

/// A built AES-256-GCM key. Never printed.
pub struct KeyMaterial {
    key: LessSafeKey,
}

impl KeyMaterial {
    /// Fresh key material from the system's random source.
    pub fn generate() -> Result<Arc<KeyMaterial>> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::new(ErrorKind::KmsInternal, "The random source failed."))?;
        Self::from_bytes(&bytes)
    }

    /// Key material from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Arc<KeyMaterial>> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| {
            Error::new(
                ErrorKind::KmsInternal,
                "AES-256 key material must be 32 bytes.",
            )
        })?;
        Ok(Arc::new(KeyMaterial {
            key: LessSafeKey::new(unbound),
        }))
    }

    /// The built key.
    pub fn aead(&self) -> &LessSafeKey {
        &self.key
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial(<redacted>)")
    }
}

/// One key object in the cluster.
#[derive(Clone, Debug)]
pub struct HsmKey {
    /// The `key-reference` (the handle SDK 3 called the key handle).
    pub reference: u64,
    /// The `id` attribute, lower-case hex without `0x`.
    pub id: String,
    /// The `label` attribute (KMS writes the KMS key ARN here).
    pub label: String,
    /// The crypto user who owns the key.
    pub owner: String,
    /// Users the key is shared with.
    pub shared_users: Vec<String>,
    /// The material.
    pub material: Arc<KeyMaterial>,
}

impl HsmKey {
    /// `key-reference` as the CLI prints it: `0x` + 16 hex digits.
    pub fn reference_hex(&self) -> String {
        format!("0x{:016x}", self.reference)
    }

    /// The value of attribute `name` as the CLI prints it, if the key has it.
    pub fn attribute(&self, name: &str) -> Option<String> {
        Some(match name {
            "id" => format!("0x{}", self.id),
            "label" => self.label.clone(),
            "key-type" => "aes".into(),
            "class" => "secret-key".into(),
            "token" | "encrypt" | "decrypt" | "wrap" | "unwrap" | "sensitive" | "local"
            | "never-extractable" | "modifiable" | "copyable" | "destroyable" => "true".into(),
            "extractable" | "private" | "trusted" | "wrap-with-trusted" | "sign" | "verify"
            | "derive" | "always-sensitive" => "false".into(),
            "size" => "32".into(),
            _ => return None,
        })
    }
}

/// The key objects of a cluster, by `key-reference`.
#[derive(Clone, Debug, Default)]
pub struct KeyStoreOfCluster {
    keys: BTreeMap<u64, HsmKey>,
    next_reference: u64,
}

impl KeyStoreOfCluster {
    /// Adds a key made by `owner`; returns its reference.
    pub fn create(
        &mut self,
        id: String,
        label: String,
        owner: &str,
        material: Arc<KeyMaterial>,
    ) -> u64 {
        // Real key references look like 0x00000000001c0686; start high enough
        // to look like one and count up.
        self.next_reference = self.next_reference.max(0x0000_0000_0010_0000) + 1;
        let reference = self.next_reference;
        self.keys.insert(
            reference,
            HsmKey {
                reference,
                id,
                label,
                owner: owner.to_ascii_lowercase(),
                shared_users: Vec::new(),
                material,
            },
        );
        reference
    }

    /// Every key, by reference.
    pub fn iter(&self) -> impl Iterator<Item = &HsmKey> {
        self.keys.values()
    }

    /// The key whose `id` attribute is `id` (hex, no `0x`).
    pub fn by_id(&self, id: &str) -> Option<&HsmKey> {
        self.keys.values().find(|k| k.id.eq_ignore_ascii_case(id))
    }

    /// Removes the key with this reference.
    pub fn remove(&mut self, reference: u64) -> Option<HsmKey> {
        self.keys.remove(&reference)
    }

    /// Whether `username` owns any key (an owner cannot be deleted).
    pub fn owned_by(&self, username: &str) -> bool {
        let u = username.to_ascii_lowercase();
        self.keys.values().any(|k| k.owner == u)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
