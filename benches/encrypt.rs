//! Engine Encrypt, Decrypt and GenerateDataKey, single-threaded, each beside
//! the physical baseline measured in the same group: raw `ring`
//! AES-256-GCM seal and open with the key built once and the nonce given.
//!
//! `cargo bench --bench encrypt`; the ratios are printed at the end and
//! written to `target/hsmdrill-bench/encrypt.md` (see BENCHMARKS.md).

// A bench aborts on a broken setup; there is no caller to hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;

use common::{raw_key, raw_open, raw_seal, Ratio};
use criterion::{Criterion, Throughput};
use hsmdrill::engine::kms::api::{DecryptRequest, EncryptRequest, GenerateDataKeyRequest};
use hsmdrill::engine::Engine;
use ring::aead::LessSafeKey;

/// Plaintext sizes: a data key's order, a small record, KMS's maximum.
const SIZES: [usize; 3] = [64, 1024, 4096];

fn main() {
    let mut c = common::criterion();
    // Each group on a fresh engine.
    encrypt(&mut c, &engine(), &raw_key());
    decrypt(&mut c, &engine(), &raw_key());
    generate_data_key(&mut c, &engine(), &raw_key());
    c.final_summary();
    report();
}

/// The default pool (2 HSMs × 1024 sessions, no latency): never contended
/// by one thread.
fn engine() -> Engine {
    common::engine(2, 1024, 0, 0)
}

/// One group, `{group_name}`: the raw baseline alone as `{group_name}/{base}`,
/// then `{group_name}/engine`, each of its runs paired with a run of the
/// baseline just before it (the ratio `report` prints).
fn engine_against_raw<T, U>(
    c: &mut Criterion,
    group_name: &str,
    bytes: Option<usize>,
    base: &str,
    mut engine_op: impl FnMut() -> T,
    mut raw_op: impl FnMut() -> U,
) {
    let mut g = c.benchmark_group(group_name);
    if let Some(bytes) = bytes {
        g.throughput(Throughput::Bytes(bytes as u64));
    }
    let base_id = format!("{group_name}/{base}");
    g.bench_function(base, |b| {
        b.iter_custom(|n| common::timed(&base_id, n, &mut raw_op))
    });
    let id = format!("{group_name}/engine");
    g.bench_function("engine", |b| {
        b.iter_custom(|n| common::paired(&id, n, &mut engine_op, &base_id, &mut raw_op))
    });
    g.finish();
}

/// Encrypt `plaintext` under the example world's key.
fn encrypt_request(plaintext: &[u8]) -> EncryptRequest {
    EncryptRequest {
        key_id: Some(common::KEY_ID.into()),
        plaintext: Some(plaintext.to_vec()),
        ..Default::default()
    }
}

fn encrypt(c: &mut Criterion, engine: &Engine, key: &LessSafeKey) {
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        let req = encrypt_request(&plaintext);
        engine_against_raw(
            c,
            &format!("encrypt/size={size}"),
            Some(size),
            "raw_seal",
            || engine.encrypt(black_box(&req)).expect("Encrypt"),
            || raw_seal(key, black_box(&plaintext)),
        );
    }
}

fn decrypt(c: &mut Criterion, engine: &Engine, key: &LessSafeKey) {
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        let sealed = raw_seal(key, &plaintext);
        let blob = engine
            .encrypt(&encrypt_request(&plaintext))
            .expect("Encrypt")
            .ciphertext_blob;
        let req = DecryptRequest {
            ciphertext_blob: Some(blob),
            ..Default::default()
        };
        assert_eq!(engine.decrypt(&req).expect("Decrypt").plaintext, plaintext);
        engine_against_raw(
            c,
            &format!("decrypt/size={size}"),
            Some(size),
            "raw_open",
            || engine.decrypt(black_box(&req)).expect("Decrypt"),
            || raw_open(key, black_box(&sealed)),
        );
    }
}

fn generate_data_key(c: &mut Criterion, engine: &Engine, key: &LessSafeKey) {
    let data_key = [0x33u8; 32];
    let req = GenerateDataKeyRequest {
        key_id: Some(common::KEY_ID.into()),
        number_of_bytes: Some(32),
        ..Default::default()
    };
    engine_against_raw(
        c,
        "generate_data_key/bytes=32",
        None,
        "raw_seal",
        || {
            engine
                .generate_data_key(black_box(&req))
                .expect("GenerateDataKey")
        },
        || raw_seal(key, black_box(&data_key)),
    );
}

fn report() {
    let pair = |label, group: String, base: &str, target| Ratio {
        label,
        id: format!("{group}/engine"),
        baseline: format!("{group}/{base}"),
        target,
    };
    common::ratio_report(
        "encrypt.md",
        "Single-threaded data plane against raw ring AES-256-GCM",
        &[
            pair(
                "Encrypt 64 B",
                "encrypt/size=64".into(),
                "raw_seal",
                Some(3.0),
            ),
            pair(
                "Encrypt 1 KiB",
                "encrypt/size=1024".into(),
                "raw_seal",
                None,
            ),
            pair(
                "Encrypt 4 KiB",
                "encrypt/size=4096".into(),
                "raw_seal",
                Some(1.5),
            ),
            pair("Decrypt 64 B", "decrypt/size=64".into(), "raw_open", None),
            pair(
                "Decrypt 1 KiB",
                "decrypt/size=1024".into(),
                "raw_open",
                None,
            ),
            pair(
                "Decrypt 4 KiB",
                "decrypt/size=4096".into(),
                "raw_open",
                Some(1.5),
            ),
            pair(
                "GenerateDataKey 32 B",
                "generate_data_key/bytes=32".into(),
                "raw_seal",
                None,
            ),
        ],
    );
}
