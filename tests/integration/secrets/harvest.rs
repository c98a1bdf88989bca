//! The secrets: every key's raw bytes and every password an engine holds
//! (or a state file holds), each with where it was first seen, and every
//! encoding in which a key must not appear.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hsmdrill::engine::cloudhsm::keys::KeyStoreOfCluster;
use hsmdrill::engine::cloudhsm::users::Users;
use hsmdrill::engine::kms::key::KeyOrigin;
use hsmdrill::engine::Engine;
use serde_json::Value;

/// Secrets and where each was first seen.
#[derive(Clone, Debug, Default)]
pub(super) struct Secrets {
    /// Raw AES keys.
    pub(super) materials: BTreeMap<[u8; 32], String>,
    /// Passwords (users' and key stores').
    pub(super) passwords: BTreeMap<String, String>,
}

impl Secrets {
    /// Every secret the engine holds right now.
    pub(super) fn of(engine: &Engine) -> Secrets {
        let mut s = Secrets::default();
        engine.with_state(|st| {
            for c in st.clusters.values() {
                s.add_keys(&c.keys, &c.id);
                s.add_users(&c.users, &c.id);
            }
            for b in st.backups.values() {
                s.add_keys(&b.contents.keys, &b.id);
                s.add_users(&b.contents.users, &b.id);
            }
            for k in st.stores.values() {
                s.add_password(&k.password, || format!("KeyStorePassword of {}", k.id));
            }
            // The material KMS keeps for AWS_KMS keys, every version.
            for k in st.keys.values() {
                if let KeyOrigin::AwsKms(m) = &k.origin {
                    for v in &m.versions {
                        s.materials
                            .entry(*v.material.raw_bytes_for_leak_tests())
                            .or_insert_with(|| {
                                format!("material {} of AWS_KMS key {}", v.id, k.id)
                            });
                    }
                }
            }
        });
        s
    }

    pub(super) fn add_keys(&mut self, keys: &KeyStoreOfCluster, whose: &str) {
        for k in keys.iter() {
            self.materials
                .entry(*k.material.raw_bytes_for_leak_tests())
                .or_insert_with(|| format!("material of key {} in {whose}", k.reference_hex()));
        }
    }

    pub(super) fn add_users(&mut self, users: &Users, whose: &str) {
        for u in users.iter() {
            if let Some(p) = &u.password {
                self.add_password(p, || format!("password of {} in {whose}", u.username));
            }
        }
    }

    pub(super) fn add_password(&mut self, p: &str, origin: impl FnOnce() -> String) {
        if !p.is_empty() {
            self.passwords.entry(p.to_owned()).or_insert_with(origin);
        }
    }

    /// The passwords alone (what may not show where a key may).
    pub(super) fn passwords_only(&self) -> Secrets {
        Secrets {
            materials: BTreeMap::new(),
            passwords: self.passwords.clone(),
        }
    }

    pub(super) fn merge(&mut self, other: Secrets) {
        for (k, v) in other.materials {
            self.materials.entry(k).or_insert(v);
        }
        for (k, v) in other.passwords {
            self.passwords.entry(k).or_insert(v);
        }
    }

    /// The secrets of a state file: every `material` member (base64 of 32
    /// bytes) and every `password` member, wherever they are.
    pub(super) fn of_state_file(v: &Value, path: &str, into: &mut Secrets) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let here = format!("{path}.{k}");
                    match (k.as_str(), x) {
                        ("material", Value::String(b64)) => {
                            let raw: [u8; 32] = STANDARD
                                .decode(b64)
                                .expect("material is base64")
                                .try_into()
                                .expect("material is 32 bytes");
                            into.materials.entry(raw).or_insert(here);
                        }
                        ("password", Value::String(p)) => into.add_password(p, || here),
                        _ => Secrets::of_state_file(x, &here, into),
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    Secrets::of_state_file(x, &format!("{path}[{i}]"), into);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
}

/// Every form of a key that must not appear, with its name.
pub(super) fn material_encodings(raw: &[u8; 32]) -> Vec<(String, Vec<u8>)> {
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![
        ("raw bytes".to_owned(), raw.to_vec()),
        ("lowercase hex".to_owned(), hex.clone().into_bytes()),
        ("uppercase hex".to_owned(), hex.to_uppercase().into_bytes()),
        ("base64".to_owned(), STANDARD.encode(raw).into_bytes()),
        (
            "base64 without padding".to_owned(),
            STANDARD_NO_PAD.encode(raw).into_bytes(),
        ),
        (
            "URL-safe base64".to_owned(),
            URL_SAFE.encode(raw).into_bytes(),
        ),
        (
            "URL-safe base64 without padding".to_owned(),
            URL_SAFE_NO_PAD.encode(raw).into_bytes(),
        ),
        (
            "decimal byte list".to_owned(),
            format!("{raw:?}").into_bytes(),
        ),
        (
            "JSON byte array".to_owned(),
            serde_json::to_string(&raw.to_vec()).unwrap().into_bytes(),
        ),
    ];
    // Inside a longer base64 text the key's encoding depends on where it
    // starts (mod 3). Each group of four characters encodes three bytes:
    // keep the groups made of the key's bytes alone (30 or more of its 32).
    for shift in 0..=2 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(raw);
        let first = if shift == 0 { 0 } else { 4 };
        let whole_groups = shifted.len() / 3 * 4;
        for (name, engine) in [
            ("base64", STANDARD_NO_PAD),
            ("URL-safe base64", URL_SAFE_NO_PAD),
        ] {
            let text = engine.encode(&shifted);
            out.push((
                format!("{name} at byte offset {shift} (mod 3) of a longer blob"),
                text.as_bytes()[first..whole_groups].to_vec(),
            ));
        }
    }
    out
}

/// Whether a password looks like one Connect made (32 letters or digits,
/// `IdGen::secret_password`); callers leave out those a person wrote.
pub(super) fn is_engine_made(p: &str) -> bool {
    p.len() == 32 && p.bytes().all(|b| b.is_ascii_alphanumeric())
}
