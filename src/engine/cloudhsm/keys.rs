//! Key material inside a cluster: AES keys owned by the crypto user who
//! made them, and shared with other crypto users.
//!
//! KMS creates one such key per KMS key in a CloudHSM key store; its label is
//! the KMS key ARN and its `id` attribute (hex) is the `backingKeyId` that
//! CloudTrail shows (R6). An operator makes others with the CloudHSM CLI's
//! `key generate-symmetric aes` ([`KeyOrigin::Cli`]), to rehearse who may
//! share and delete a key. The AES key is built once into a `ring`
//! [`LessSafeKey`] and shared by `Arc`, so the hot path never rebuilds it and a
//! backup or a restored cluster carries the very same material. The 32 raw
//! bytes are kept beside it, because `ring` cannot give them back and
//! `hsmdrill serve --state` writes them to its state file.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::aead::quic::{HeaderProtectionKey, AES_256};
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::tracked::{Change, Tracked};

/// A built AES-256-GCM key. Never printed; persisted (by `serde`) as the
/// base64 of its 32 raw bytes.
pub struct KeyMaterial {
    key: LessSafeKey,
    /// The raw key, for persistence only.
    raw: Box<[u8; 32]>,
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
        Self::build(bytes).map(Arc::new)
    }

    fn build(bytes: &[u8]) -> Result<KeyMaterial> {
        let wrong_size = || {
            Error::new(
                ErrorKind::KmsInternal,
                "AES-256 key material must be 32 bytes.",
            )
        };
        let raw: [u8; 32] = bytes.try_into().map_err(|_| wrong_size())?;
        let unbound = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| wrong_size())?;
        Ok(KeyMaterial {
            key: LessSafeKey::new(unbound),
            raw: Box::new(raw),
        })
    }

    /// The key check value the CLI prints as `check-value`: `0x` and the
    /// first three bytes of the key's AES encryption of a block of zeros
    /// (docs/fidelity.md F24). `None` only if `ring` refused the key, which
    /// it accepted once already.
    pub fn check_value(&self) -> Option<String> {
        // A QUIC header-protection mask is the AES-ECB encryption of its
        // sample, so a zero sample gives the classic KCV without a second AES
        // implementation.
        let mask = HeaderProtectionKey::new(&AES_256, &self.raw[..])
            .and_then(|k| k.new_mask(&[0u8; 16]))
            .ok()?;
        let kcv: String = mask.iter().take(3).map(|b| format!("{b:02x}")).collect();
        Some(format!("0x{kcv}"))
    }

    /// The built key.
    pub fn aead(&self) -> &LessSafeKey {
        &self.key
    }

    /// The 32 raw bytes, for leak tests only: `tests/integration/secrets.rs` scans
    /// everything a scenario suite produces for them. Nothing in the crate
    /// calls it, and its result must never reach a response, a message, a
    /// report or a log (persistence goes through `Serialize`).
    pub fn raw_bytes_for_leak_tests(&self) -> &[u8; 32] {
        &self.raw
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial(<redacted>)")
    }
}

impl Serialize for KeyMaterial {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.raw[..]))
    }
}

impl<'de> Deserialize<'de> for KeyMaterial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("key material is not base64"))?;
        Self::build(&bytes).map_err(|_| serde::de::Error::custom("key material is not 32 bytes"))
    }
}

/// One key object in the cluster.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    /// Who made the key, which decides the attributes it was made with.
    #[serde(default, skip_serializing_if = "KeyOrigin::is_kms")]
    pub origin: KeyOrigin,
}

/// Who made a key.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub enum KeyOrigin {
    /// KMS, for a KMS key in a CloudHSM key store (the default, so state
    /// files written before CLI keys existed still load).
    #[default]
    Kms,
    /// An operator's `key generate-symmetric aes`.
    Cli {
        /// `--key-length-bytes`: 16, 24 or 32. The material is always 32
        /// bytes (docs/fidelity.md I52); nothing the CLI emulates uses it.
        length_bytes: u32,
        /// The boolean attributes `--attributes` set, over the defaults.
        flags: BTreeMap<String, bool>,
    },
}

impl KeyOrigin {
    fn is_kms(&self) -> bool {
        matches!(self, KeyOrigin::Kms)
    }
}

/// The boolean attributes of a key `key generate-symmetric aes` makes
/// without `--attributes`, as its documented output shows them
/// (docs/fidelity.md F24).
pub const CLI_KEY_DEFAULT_FLAGS: &[(&str, bool)] = &[
    ("encrypt", false),
    ("decrypt", false),
    ("token", true),
    ("always-sensitive", true),
    ("derive", false),
    ("destroyable", true),
    ("extractable", true),
    ("local", true),
    ("modifiable", true),
    ("never-extractable", false),
    ("private", true),
    ("sensitive", true),
    ("sign", true),
    ("trusted", false),
    ("unwrap", false),
    ("verify", true),
    ("wrap", false),
    ("wrap-with-trusted", false),
];

impl HsmKey {
    /// `key-reference` as the CLI prints it: `0x` + 16 hex digits.
    pub fn reference_hex(&self) -> String {
        format!("0x{:016x}", self.reference)
    }

    /// The value of attribute `name` as the CLI prints it, if the key has it.
    pub fn attribute(&self, name: &str) -> Option<String> {
        Some(match name {
            // A key made by the CLI without `id` shows `"id": ""`, as in
            // the documented output of `key generate-symmetric aes`.
            "id" if self.id.is_empty() => String::new(),
            "id" => format!("0x{}", self.id),
            "label" => self.label.clone(),
            "key-type" => "aes".into(),
            "class" => "secret-key".into(),
            "check-value" => self.material.check_value()?,
            "key-length-bytes" => match &self.origin {
                KeyOrigin::Kms => "32".into(),
                KeyOrigin::Cli { length_bytes, .. } => length_bytes.to_string(),
            },
            flag => return self.flag(flag).map(|b| b.to_string()),
        })
    }

    /// A boolean attribute.
    fn flag(&self, name: &str) -> Option<bool> {
        match &self.origin {
            KeyOrigin::Kms => match name {
                "token" | "encrypt" | "decrypt" | "wrap" | "unwrap" | "sensitive" | "local"
                | "never-extractable" | "modifiable" | "destroyable" => Some(true),
                "extractable" | "private" | "trusted" | "wrap-with-trusted" | "sign" | "verify"
                | "derive" | "always-sensitive" => Some(false),
                _ => None,
            },
            KeyOrigin::Cli { flags, .. } => flags.get(name).copied().or_else(|| {
                CLI_KEY_DEFAULT_FLAGS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
            }),
        }
    }

    /// Whether the key is shared with `username` (names compare
    /// case-insensitively).
    pub fn is_shared_with(&self, username: &str) -> bool {
        self.shared_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(username))
    }
}

/// The key objects of a cluster, by `key-reference`, with an index by the
/// `id` attribute: every cryptographic operation looks its material up by
/// backing key id, so that lookup must not scan the cluster's keys.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(from = "StoredKeys", into = "StoredKeys")]
pub struct KeyStoreOfCluster {
    /// By reference; tracked, because a cluster's material is persisted
    /// apart from the cluster, one entry per key (`engine::persist`).
    keys: Tracked<u64, HsmKey>,
    next_reference: u64,
    /// Lower-case `id` attribute → key reference.
    by_id: BTreeMap<String, u64>,
    /// When an `id` last left the index, or the index was made (a
    /// [`stamp`]; see [`KeyStoreOfCluster::stamps`]).
    removed_at: u64,
    /// When an `id` last entered it.
    added_at: u64,
}

/// Numbers the changes of every cluster's index of ids, in every engine,
/// so that two different indexes never carry the same pair of stamps
/// (a copy carries its original's, with the same contents).
static STAMPS: AtomicU64 = AtomicU64::new(1);

fn stamp() -> u64 {
    STAMPS.fetch_add(1, Ordering::Relaxed)
}

/// What a state file holds of a cluster's keys (the index is rebuilt).
#[derive(Clone, Deserialize, Serialize)]
struct StoredKeys {
    keys: BTreeMap<u64, HsmKey>,
    next_reference: u64,
}

impl From<StoredKeys> for KeyStoreOfCluster {
    fn from(s: StoredKeys) -> Self {
        let by_id = s
            .keys
            .values()
            .filter(|k| !k.id.is_empty())
            .map(|k| (k.id.to_ascii_lowercase(), k.reference))
            .collect();
        let made = stamp();
        KeyStoreOfCluster {
            keys: Tracked::unchanged(s.keys),
            next_reference: s.next_reference,
            by_id,
            removed_at: made,
            added_at: made,
        }
    }
}

impl From<KeyStoreOfCluster> for StoredKeys {
    fn from(k: KeyStoreOfCluster) -> Self {
        StoredKeys {
            keys: k.keys.into_map(),
            next_reference: k.next_reference,
        }
    }
}

impl KeyStoreOfCluster {
    /// Adds a key KMS made as `owner`; returns its reference.
    pub fn create(
        &mut self,
        id: String,
        label: String,
        owner: &str,
        material: Arc<KeyMaterial>,
    ) -> u64 {
        self.insert(id, label, owner, Vec::new(), material, KeyOrigin::Kms)
    }

    /// Adds a key `owner` made with the CLI, shared with `shared_users`;
    /// returns its reference. It has no `id` attribute.
    pub fn create_by_cli(
        &mut self,
        label: String,
        owner: &str,
        shared_users: Vec<String>,
        material: Arc<KeyMaterial>,
        origin: KeyOrigin,
    ) -> u64 {
        self.insert(String::new(), label, owner, shared_users, material, origin)
    }

    fn insert(
        &mut self,
        id: String,
        label: String,
        owner: &str,
        shared_users: Vec<String>,
        material: Arc<KeyMaterial>,
        origin: KeyOrigin,
    ) -> u64 {
        // Real key references look like 0x00000000001c0686; start high enough
        // to look like one and count up.
        self.next_reference = self.next_reference.max(0x0000_0000_0010_0000) + 1;
        let reference = self.next_reference;
        if !id.is_empty() {
            self.by_id.insert(id.to_ascii_lowercase(), reference);
            self.added_at = stamp();
        }
        self.keys.insert(
            reference,
            HsmKey {
                reference,
                id,
                label,
                owner: owner.to_ascii_lowercase(),
                shared_users: shared_users
                    .iter()
                    .map(|u| u.to_ascii_lowercase())
                    .collect(),
                material,
                origin,
            },
        );
        reference
    }

    /// When an id last left the index of ids (or the index was made) and
    /// when one last entered it: the same pair means the same ids, so R7's
    /// look for material that vanished or came back can be skipped
    /// (`engine::schedule`).
    pub fn stamps(&self) -> (u64, u64) {
        (self.removed_at, self.added_at)
    }

    /// The key with this reference.
    pub fn get(&self, reference: u64) -> Option<&HsmKey> {
        self.keys.get(&reference)
    }

    /// Shares the key with `username` (`key share`); false if there is no
    /// such key.
    pub fn share(&mut self, reference: u64, username: &str) -> bool {
        let Some(key) = self.keys.get_mut(&reference) else {
            return false;
        };
        if !key.is_shared_with(username) {
            key.shared_users.push(username.to_ascii_lowercase());
        }
        true
    }

    /// Stops sharing the key with `username` (`key unshare`); false if
    /// there is no such key.
    pub fn unshare(&mut self, reference: u64, username: &str) -> bool {
        let Some(key) = self.keys.get_mut(&reference) else {
            return false;
        };
        key.shared_users
            .retain(|u| !u.eq_ignore_ascii_case(username));
        true
    }

    /// Every key, by reference.
    pub fn iter(&self) -> impl Iterator<Item = &HsmKey> {
        self.keys.values()
    }

    /// The key whose `id` attribute is `id` (hex, no `0x`).
    pub fn by_id(&self, id: &str) -> Option<&HsmKey> {
        // Ids are made lower case; only a hand-typed id pays for lowering.
        let reference = match self.by_id.get(id) {
            Some(r) => r,
            None => self.by_id.get(&id.to_ascii_lowercase())?,
        };
        self.keys.get(reference)
    }

    /// Removes the key with this reference.
    pub fn remove(&mut self, reference: u64) -> Option<HsmKey> {
        let key = self.keys.remove(&reference)?;
        if !key.id.is_empty() {
            self.by_id.remove(&key.id.to_ascii_lowercase());
            self.removed_at = stamp();
        }
        Some(key)
    }

    /// Whether `username` owns any key (an owner cannot be deleted).
    pub fn owned_by(&self, username: &str) -> bool {
        let u = username.to_ascii_lowercase();
        self.keys.values().any(|k| k.owner == u)
    }

    /// The next reference handed out, for persisting the store apart from
    /// its keys.
    pub fn next_reference(&self) -> u64 {
        self.next_reference
    }

    /// A store from persisted parts: its keys (already on disk, so
    /// unchanged) and its next reference.
    pub fn from_parts(keys: BTreeMap<u64, HsmKey>, next_reference: u64) -> Self {
        StoredKeys {
            keys,
            next_reference,
        }
        .into()
    }

    /// The references of the keys added, changed or removed since the last
    /// call, and forgets them (see [`Tracked::take_changes`]).
    pub fn take_changes(&mut self) -> BTreeMap<u64, Change> {
        self.keys.take_changes()
    }

    /// Whether the record of changed keys overflowed since the last
    /// [`KeyStoreOfCluster::take_changes`] (see [`Tracked::overflowed`]).
    pub fn overflowed(&self) -> bool {
        self.keys.overflowed()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_round_trips_through_serde_and_still_opens_its_ciphertext() {
        use ring::aead::{Aad, Nonce};
        let m = KeyMaterial::generate().unwrap();
        let mut data = b"hello".to_vec();
        let nonce = [7u8; 12];
        m.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .unwrap();
        let text = serde_json::to_string(&*m).unwrap();
        let back: KeyMaterial = serde_json::from_str(&text).unwrap();
        let plain = back
            .aead()
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .unwrap();
        assert_eq!(plain, b"hello");
        assert_eq!(format!("{back:?}"), "KeyMaterial(<redacted>)");
        assert!(serde_json::from_str::<KeyMaterial>("\"AAAA\"").is_err());
    }

    #[test]
    fn check_value_is_the_aes_encryption_of_a_zero_block() {
        // FIPS 197, appendix C.3: the mask is AES-256 encryption (key
        // 00 01 … 1f, block 00 11 … ff gives 8e a2 b7 ca 51 …).
        let key: Vec<u8> = (0u8..32).collect();
        let hp = HeaderProtectionKey::new(&AES_256, &key).unwrap();
        let sample: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
        assert_eq!(
            hp.new_mask(&sample).unwrap(),
            [0x8e, 0xa2, 0xb7, 0xca, 0x51]
        );
        // AES-256 of the zero block under the zero key is dc95c078….
        let zero = KeyMaterial::from_bytes(&[0u8; 32]).unwrap();
        assert_eq!(zero.check_value().unwrap(), "0xdc95c0");
    }
}
