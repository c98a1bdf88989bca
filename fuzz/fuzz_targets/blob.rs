//! `blob`: ciphertext blobs through Decrypt and ReEncrypt (the blob parser
//! and `open` in `engine/kms/crypto.rs`), on the example world.
//!
//! Input: a flags byte, then
//! - flags bit 0 clear: the blob itself, arbitrary bytes;
//! - flags bit 0 set: a length byte and that much plaintext, encrypted now
//!   with the example key, then up to 16 mutations of the real ciphertext,
//!   3 bytes each (`op`, position u16 BE): flip bits, truncate, insert,
//!   remove.
//!
//! Bit 1: encrypt under a context; bit 2: decrypt under it; bits 3-4: the
//! ReEncrypt destination; bit 5: name a KeyId on Decrypt, bit 6: the wrong
//! one. A fresh ciphertext must decrypt (to its plaintext) exactly when it
//! is unchanged and the context and key are right; every answer is an AWS
//! error or a success.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hsmdrill::engine::Engine;
use hsmdrill_fuzz::{example_engine, KEY_ID};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

const MAX_MUTATIONS: usize = 16;

fn engine() -> &'static Engine {
    // Decrypt and ReEncrypt change nothing but the trail (bounded), so one
    // engine serves every input.
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(example_engine)
}

fn context(on: bool) -> Value {
    if on {
        json!({"purpose": "fuzz", "tenant": "a"})
    } else {
        json!({})
    }
}

fn mutate(blob: &mut Vec<u8>, ops: &[u8]) {
    for op in ops.chunks_exact(3).take(MAX_MUTATIONS) {
        let k = op[0];
        let pos = usize::from(u16::from_be_bytes([op[1], op[2]])) % (blob.len() + 1);
        match k % 4 {
            0 => {
                if let Some(b) = blob.get_mut(pos) {
                    *b ^= k | 1;
                }
            }
            1 => blob.truncate(pos),
            2 => blob.insert(pos, k),
            _ => {
                if pos < blob.len() {
                    blob.remove(pos);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let e = engine();
    let decrypt_ctx = context(flags & 4 != 0);
    let destination = match (flags >> 3) & 3 {
        0 => "alias/app".to_owned(),
        1 => KEY_ID.to_owned(),
        2 => e.key_arn(KEY_ID),
        _ => "alias/nosuchalias".to_owned(),
    };
    let key_id = match (flags & 0x20 != 0, flags & 0x40 != 0) {
        (false, _) => None,
        (true, false) => Some(KEY_ID),
        (true, true) => Some("0000abcd-12ab-34cd-56ef-1234567890ab"),
    };

    // The blob and, for a real one, what it must decrypt to.
    let (blob, expect) = if flags & 1 == 0 {
        (rest.to_vec(), None)
    } else {
        let Some((&n, rest)) = rest.split_first() else {
            return;
        };
        let n = usize::from(n).min(rest.len());
        let (plaintext, ops) = rest.split_at(n);
        if plaintext.is_empty() {
            return;
        }
        let encrypt_ctx = context(flags & 2 != 0);
        let out = e.call(
            "Encrypt",
            json!({
                "KeyId": "alias/app",
                "Plaintext": STANDARD.encode(plaintext),
                "EncryptionContext": encrypt_ctx,
            }),
        );
        let ct = match out {
            Ok(out) => out["CiphertextBlob"].as_str().map(|s| STANDARD.decode(s)),
            Err(err) => panic!("Encrypt with the example key fails: {err:?}"),
        };
        let Some(Ok(original)) = ct else {
            panic!("Encrypt answers no base64 CiphertextBlob");
        };
        let mut blob = original.clone();
        mutate(&mut blob, ops);
        let intact = blob == original && encrypt_ctx == decrypt_ctx;
        (blob, Some((plaintext.to_vec(), intact)))
    };

    let b64 = STANDARD.encode(&blob);
    let mut input = Map::new();
    input.insert("CiphertextBlob".into(), json!(b64));
    input.insert("EncryptionContext".into(), decrypt_ctx.clone());
    if let Some(id) = key_id {
        input.insert("KeyId".into(), json!(id));
    }
    let decrypted = e.call("Decrypt", Value::Object(input));
    let right_key = key_id.is_none_or(|id| id == KEY_ID);
    match (&decrypted, &expect) {
        (Ok(out), Some((plaintext, true))) if right_key => {
            assert_eq!(out["Plaintext"], json!(STANDARD.encode(plaintext)));
            assert_eq!(out["KeyId"], json!(e.key_arn(KEY_ID)));
        }
        (Err(err), Some((_, true))) if right_key => {
            panic!("an intact ciphertext does not decrypt: {err:?}")
        }
        (Ok(out), Some((_, _))) => {
            panic!("an altered ciphertext (or wrong context or key) decrypts: {out}")
        }
        // Seed blobs are real ciphertexts under the fixture's key.
        (Ok(_), None) => {}
        (Err(err), _) => assert!(!err.aws_name().is_empty()),
    }

    let re = e.call(
        "ReEncrypt",
        json!({
            "CiphertextBlob": b64,
            "SourceEncryptionContext": decrypt_ctx,
            "DestinationKeyId": destination,
            "DestinationEncryptionContext": {"moved": "yes"},
        }),
    );
    match (re, &expect) {
        (Ok(out), Some((plaintext, true))) => {
            let back = e.call(
                "Decrypt",
                json!({"CiphertextBlob": out["CiphertextBlob"], "EncryptionContext": {"moved": "yes"}}),
            );
            match back {
                Ok(back) => assert_eq!(back["Plaintext"], json!(STANDARD.encode(plaintext))),
                Err(err) => panic!("a re-encrypted ciphertext does not decrypt: {err:?}"),
            }
        }
        (Ok(out), Some(_)) => panic!("an altered ciphertext re-encrypts: {out}"),
        (Ok(_), None) => {}
        (Err(err), Some((_, true))) if destination != "alias/nosuchalias" => {
            panic!("an intact ciphertext does not re-encrypt to {destination}: {err:?}")
        }
        (Err(_), _) => {}
    }
});
