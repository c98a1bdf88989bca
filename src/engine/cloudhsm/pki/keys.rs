//! Seeded P-256 keys that `rcgen` signs with.
//!
//! A key is the SHA-256 of the world's seed and a label naming its owner
//! (`hsm cluster-…`, `drill-ca cluster-…`, `aws-root`), read as a P-256
//! scalar: the same world makes the same keys. Signing is ECDSA with
//! RFC 6979 nonces (the `p256` crate's), so a signature, and with it every
//! CSR and certificate, is byte-identical run to run; `ring`'s ECDSA, which
//! `rcgen`'s own `KeyPair` uses, draws a random nonce and would not be.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey as EcdsaKey};
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey, PKCS_ECDSA_P256_SHA256};
use ring::digest::{Context, SHA256};

/// A P-256 key derived from the seed and a label.
pub(super) struct SeededKey {
    key: EcdsaKey,
    /// The uncompressed SEC1 point, as SubjectPublicKeyInfo holds it.
    public: Box<[u8]>,
}

impl SeededKey {
    /// The key of `label` in the world seeded with `seed`.
    pub(super) fn derive(seed: u64, label: &str) -> SeededKey {
        // A digest that is zero or not below the group order is not a
        // scalar (odds about 2^-32); the next counter value is.
        let mut counter: u32 = 0;
        loop {
            let mut ctx = Context::new(&SHA256);
            ctx.update(b"hsmdrill pki key\0");
            ctx.update(&seed.to_be_bytes());
            ctx.update(label.as_bytes());
            ctx.update(&counter.to_be_bytes());
            if let Ok(key) = EcdsaKey::from_slice(ctx.finish().as_ref()) {
                let public = key.verifying_key().to_sec1_bytes();
                return SeededKey { key, public };
            }
            counter = counter.wrapping_add(1);
        }
    }
}

impl PublicKeyData for SeededKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for SeededKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: Signature = self.key.sign(msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// A serial number for the certificate of `label`: 16 bytes of a digest,
/// positive (high bit clear) and never zero.
pub(super) fn serial(seed: u64, label: &str) -> rcgen::SerialNumber {
    let mut ctx = Context::new(&SHA256);
    ctx.update(b"hsmdrill pki serial\0");
    ctx.update(&seed.to_be_bytes());
    ctx.update(label.as_bytes());
    let digest = ctx.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    rcgen::SerialNumber::from_slice(&bytes)
}
