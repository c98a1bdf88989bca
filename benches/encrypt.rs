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

use common::Ratio;
use criterion::{Criterion, Throughput};
use hsmdrill::engine::kms::api::{DecryptRequest, EncryptRequest, GenerateDataKeyRequest};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// Plaintext sizes: a data key's order, a small record, KMS's maximum.
const SIZES: [usize; 3] = [64, 1024, 4096];

fn main() {
    let mut c = common::criterion();
    encrypt(&mut c);
    decrypt(&mut c);
    generate_data_key(&mut c);
    c.final_summary();
    report();
}

/// The physical baseline's key: AES-256-GCM built once.
fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).expect("a 32-byte key"))
}

/// Raw seal into a fresh buffer (as any API returning a new ciphertext
/// does), with a given nonce and no additional data.
fn raw_seal(key: &LessSafeKey, plaintext: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
    buf.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([7; NONCE_LEN]),
        Aad::empty(),
        &mut buf,
    )
    .expect("seal");
    buf
}

/// Raw open into a fresh buffer (as Decrypt returns one).
fn raw_open(key: &LessSafeKey, sealed: &[u8]) -> Vec<u8> {
    let mut buf = sealed.to_vec();
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key([7; NONCE_LEN]),
            Aad::empty(),
            &mut buf,
        )
        .expect("open")
        .len();
    buf.truncate(len);
    buf
}

/// The default pool (2 HSMs × 1024 sessions, no latency): never contended
/// by one thread.
fn engine() -> hsmdrill::engine::Engine {
    common::engine(2, 1024, 0, 0)
}

fn encrypt(c: &mut Criterion) {
    let engine = engine();
    let key = raw_key();
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        let req = EncryptRequest {
            key_id: Some(common::KEY_ID.into()),
            plaintext: Some(plaintext.clone()),
            ..Default::default()
        };
        let group_name = format!("encrypt/size={size}");
        let mut g = c.benchmark_group(&group_name);
        g.throughput(Throughput::Bytes(size as u64));
        let id = format!("{group_name}/raw_seal");
        g.bench_function("raw_seal", |b| {
            b.iter_custom(|n| common::timed(&id, n, || raw_seal(&key, black_box(&plaintext))))
        });
        let id = format!("{group_name}/engine");
        let base = format!("{group_name}/raw_seal");
        g.bench_function("engine", |b| {
            b.iter_custom(|n| {
                common::paired(
                    &id,
                    n,
                    || engine.encrypt(black_box(&req)).expect("Encrypt"),
                    &base,
                    || raw_seal(&key, black_box(&plaintext)),
                )
            })
        });
        g.finish();
    }
}

fn decrypt(c: &mut Criterion) {
    let engine = engine();
    let key = raw_key();
    for size in SIZES {
        let plaintext = vec![0x5a; size];
        let sealed = raw_seal(&key, &plaintext);
        let blob = engine
            .encrypt(&EncryptRequest {
                key_id: Some(common::KEY_ID.into()),
                plaintext: Some(plaintext.clone()),
                ..Default::default()
            })
            .expect("Encrypt")
            .ciphertext_blob;
        let req = DecryptRequest {
            ciphertext_blob: Some(blob),
            ..Default::default()
        };
        assert_eq!(engine.decrypt(&req).expect("Decrypt").plaintext, plaintext);
        let group_name = format!("decrypt/size={size}");
        let mut g = c.benchmark_group(&group_name);
        g.throughput(Throughput::Bytes(size as u64));
        let id = format!("{group_name}/raw_open");
        g.bench_function("raw_open", |b| {
            b.iter_custom(|n| common::timed(&id, n, || raw_open(&key, black_box(&sealed))))
        });
        let base = id.clone();
        let id = format!("{group_name}/engine");
        g.bench_function("engine", |b| {
            b.iter_custom(|n| {
                common::paired(
                    &id,
                    n,
                    || engine.decrypt(black_box(&req)).expect("Decrypt"),
                    &base,
                    || raw_open(&key, black_box(&sealed)),
                )
            })
        });
        g.finish();
    }
}

fn generate_data_key(c: &mut Criterion) {
    let engine = engine();
    let key = raw_key();
    let data_key = [0x33u8; 32];
    let req = GenerateDataKeyRequest {
        key_id: Some(common::KEY_ID.into()),
        number_of_bytes: Some(32),
        ..Default::default()
    };
    let group_name = "generate_data_key/bytes=32";
    let mut g = c.benchmark_group(group_name);
    let id = format!("{group_name}/raw_seal");
    g.bench_function("raw_seal", |b| {
        b.iter_custom(|n| common::timed(&id, n, || raw_seal(&key, black_box(&data_key))))
    });
    let base = id.clone();
    let id = format!("{group_name}/engine");
    g.bench_function("engine", |b| {
        b.iter_custom(|n| {
            common::paired(
                &id,
                n,
                || {
                    engine
                        .generate_data_key(black_box(&req))
                        .expect("GenerateDataKey")
                },
                &base,
                || raw_seal(&key, black_box(&data_key)),
            )
        })
    });
    g.finish();
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
