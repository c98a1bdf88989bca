//! The ciphertext blob and AES-256-GCM through `ring`.
//!
//! A blob names the KMS key and the backing key that made it, so Decrypt
//! needs no `KeyId` (as with KMS):
//!
//! ```text
//! "HSD" 0x01 | key id: 16 bytes (the UUID) | backing key id: 1-byte length + ASCII hex
//!            | nonce: 12 bytes | AES-256-GCM ciphertext ‖ 16-byte tag
//! ```
//!
//! The authenticated data is the whole header plus the canonical encryption
//! context (sorted pairs), so a changed header or context fails to open.
//! Nonces and data keys are random, drawn from `ring::rand::SystemRandom`
//! in blocks of [`NONCE_BLOCK`] bytes per thread, so a message costs no
//! system call.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::engine::error::{Error, ErrorKind, Result};

const MAGIC: &[u8; 4] = b"HSD\x01";
const TAG_LEN: usize = 16;
/// Random bytes fetched per refill of a thread's nonce buffer.
pub const NONCE_BLOCK: usize = NONCE_LEN * 256;

/// The parsed header of a ciphertext blob.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct BlobHeader<'a> {
    /// The KMS key id (UUID string).
    pub key_id: String,
    /// The backing key id (hex).
    pub backing_key_id: &'a str,
    header_len: usize,
}

thread_local! {
    static NONCES: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// A fresh 96-bit nonce from this thread's block of system randomness.
fn next_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut n = [0u8; NONCE_LEN];
    fill_random(&mut n)?;
    Ok(n)
}

/// Fills `out` from the system's random source. Short requests (nonces,
/// data keys) are served from this thread's block of randomness, refilled
/// [`NONCE_BLOCK`] bytes at a time, so they cost no system call.
pub fn fill_random(out: &mut [u8]) -> Result<()> {
    let failed = |_| Error::new(ErrorKind::KmsInternal, "The random source failed.");
    if out.len() > NONCE_BLOCK / 4 {
        return SystemRandom::new().fill(out).map_err(failed);
    }
    NONCES.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (buf, pos) = &mut *guard;
        if *pos + out.len() > buf.len() {
            buf.resize(NONCE_BLOCK, 0);
            SystemRandom::new().fill(buf).map_err(failed)?;
            *pos = 0;
        }
        out.copy_from_slice(&buf[*pos..*pos + out.len()]);
        // Bytes handed out are never handed out again.
        buf[*pos..*pos + out.len()].fill(0);
        *pos += out.len();
        Ok(())
    })
}

fn uuid_to_bytes(id: &str) -> Option<[u8; 16]> {
    let b = id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut digits = b.iter().filter(|c| **c != b'-');
    let mut out = [0u8; 16];
    for byte in &mut out {
        let hi = hex_value(*digits.next()?)?;
        let lo = hex_value(*digits.next()?)?;
        *byte = hi << 4 | lo;
    }
    digits.next().is_none().then_some(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The 16 id bytes of a blob as a key id, without a `format!` per byte:
/// Decrypt does this on every call.
fn uuid_from_bytes(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().take(16).enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    out
}

/// The authenticated data: header bytes, then each context pair as
/// length-prefixed key and value, in key order. Without a context it is the
/// header itself, borrowed.
fn aad<'h>(header: &'h [u8], context: &BTreeMap<String, String>) -> Cow<'h, [u8]> {
    if context.is_empty() {
        return Cow::Borrowed(header);
    }
    let pairs: usize = context.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(header.len() + pairs);
    out.extend_from_slice(header);
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    Cow::Owned(out)
}

/// The start of every blob a key makes with one material: the magic, the
/// key id and the backing key id. The same for every call, so a resolved
/// key makes it once.
#[derive(Clone, Debug)]
pub struct Names(std::result::Result<Vec<u8>, &'static str>);

impl Names {
    /// The names of blobs of `key_id` made with `backing_key_id` (what is
    /// wrong with them, if they cannot name it, is said by [`seal`]).
    pub fn new(key_id: &str, backing_key_id: &str) -> Self {
        let Some(id) = uuid_to_bytes(key_id) else {
            return Self(Err("Malformed key id."));
        };
        let Ok(backing) = u8::try_from(backing_key_id.len()) else {
            return Self(Err("Backing key id too long."));
        };
        let mut names = Vec::with_capacity(MAGIC.len() + 17 + backing_key_id.len());
        names.extend_from_slice(MAGIC);
        names.extend_from_slice(&id);
        names.push(backing);
        names.extend_from_slice(backing_key_id.as_bytes());
        Self(Ok(names))
    }
}

/// Encrypts `plaintext` under `key` into a blob that `names` its key and
/// backing key.
pub fn seal(
    key: &LessSafeKey,
    names: &Names,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let names = names
        .0
        .as_deref()
        .map_err(|e| Error::new(ErrorKind::KmsInternal, *e))?;
    let nonce = next_nonce()?;
    let mut blob = Vec::with_capacity(names.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    blob.extend_from_slice(names);
    blob.extend_from_slice(&nonce);
    let header_len = blob.len();
    blob.extend_from_slice(plaintext);
    let tag = {
        let (header, body) = blob.split_at_mut(header_len);
        let aad = aad(&header[..names.len()], context);
        key.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            body,
        )
        .map_err(|_| Error::new(ErrorKind::KmsInternal, "Encryption failed."))?
    };
    blob.extend_from_slice(tag.as_ref());
    Ok(blob)
}

/// Reads the header of a blob; `InvalidCiphertextException` if it is not one
/// of ours.
pub fn parse(blob: &[u8]) -> Result<BlobHeader<'_>> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidCiphertext,
            "The ciphertext is not a valid KMS ciphertext blob.",
        )
    };
    if blob.len() < MAGIC.len() + 17 || &blob[..4] != MAGIC {
        return Err(bad());
    }
    let id = uuid_from_bytes(&blob[4..20]);
    let blen = usize::from(blob[20]);
    let rest = &blob[21..];
    if rest.len() < blen + NONCE_LEN + TAG_LEN {
        return Err(bad());
    }
    let backing = std::str::from_utf8(&rest[..blen]).map_err(|_| bad())?;
    if !backing.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(BlobHeader {
        key_id: id,
        backing_key_id: backing,
        header_len: 21 + blen + NONCE_LEN,
    })
}

/// Decrypts a blob whose header was read by [`parse`].
pub fn open(
    key: &LessSafeKey,
    header: &BlobHeader<'_>,
    blob: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let invalid = || {
        Error::new(
            ErrorKind::InvalidCiphertext,
            "The ciphertext could not be decrypted: it was altered, or the encryption context does not match the one used to encrypt it.",
        )
    };
    let h = header.header_len;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&blob[h - NONCE_LEN..h]);
    let aad = aad(&blob[..h - NONCE_LEN], context);
    let mut body = blob[h..].to_vec();
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            &mut body,
        )
        .map_err(|_| invalid())?;
    let n = plain.len();
    body.truncate(n);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cloudhsm::keys::KeyMaterial;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn round_trip_with_context() {
        let m = KeyMaterial::generate().unwrap();
        let mut ctx = BTreeMap::new();
        ctx.insert("purpose".to_string(), "test".to_string());
        let blob = seal(m.aead(), &Names::new(ID, "abcdef01"), &ctx, b"hello").unwrap();
        let h = parse(&blob).unwrap();
        assert_eq!(h.key_id, ID);
        assert_eq!(h.backing_key_id, "abcdef01");
        assert_eq!(open(m.aead(), &h, &blob, &ctx).unwrap(), b"hello");
        let e = open(m.aead(), &h, &blob, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.aws_name(), "InvalidCiphertextException");
    }

    #[test]
    fn a_flipped_bit_fails_to_open() {
        let m = KeyMaterial::generate().unwrap();
        let ctx = BTreeMap::new();
        let mut blob = seal(m.aead(), &Names::new(ID, "00"), &ctx, b"hello").unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let h = parse(&blob).unwrap();
        assert!(open(m.aead(), &h, &blob, &ctx).is_err());
    }

    #[test]
    fn names_a_blob_cannot_carry_fail_the_seal_not_the_resolution() {
        let m = KeyMaterial::generate().unwrap();
        let ctx = BTreeMap::new();
        let long = "0".repeat(256);
        for (names, message) in [
            (Names::new("not-a-uuid", "00"), "Malformed key id."),
            (Names::new(ID, &long), "Backing key id too long."),
        ] {
            let e = seal(m.aead(), &names, &ctx, b"hello").unwrap_err();
            assert_eq!(e.aws_name(), "KMSInternalException");
            assert_eq!(e.message_cow(), message);
        }
        let names = Names::new(ID, &long[..255]);
        let blob = seal(m.aead(), &names, &ctx, b"hello").unwrap();
        assert_eq!(parse(&blob).unwrap().backing_key_id, &long[..255]);
    }

    #[test]
    fn key_ids_survive_the_blob() {
        let bytes = uuid_to_bytes(ID).unwrap();
        assert_eq!(uuid_from_bytes(&bytes), ID);
    }

    #[test]
    fn nonces_differ() {
        let a = next_nonce().unwrap();
        let b = next_nonce().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_is_invalid_ciphertext_not_a_panic() {
        for len in 0..80 {
            let blob: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = parse(&blob);
        }
        let mut almost = MAGIC.to_vec();
        almost.extend_from_slice(&[0u8; 16]);
        almost.push(200);
        assert!(parse(&almost).is_err());
    }
}
