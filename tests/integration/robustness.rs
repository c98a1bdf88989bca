//! Bad input never panics: property tests that throw random ciphertexts,
//! mangled ciphertexts, CloudHSM CLI token soup, random JSON for every
//! operation and mangled world files at the engine, plus the deterministic
//! edge cases of the model's constraints.
//!
//! Property tests run through a plain `TestRunner` with failure persistence
//! off (no regression files are written); a panic inside the engine is caught
//! by proptest and reported, shrunk, as a failing case.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;

use serde_json::{json, Map, Value};

use hsmdrill::engine::dispatch::Operation;
use hsmdrill::engine::kms::{CANNOT_COMMUNICATE, NO_PKCS11_SESSIONS};
use hsmdrill::engine::{world, Engine, Error, ErrorKind};

use crate::support::{check, EXAMPLE_WORLD};

const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ALIAS: &str = "alias/app";

fn example_text() -> String {
    std::fs::read_to_string(EXAMPLE_WORLD)
        .unwrap_or_else(|e| panic!("cannot read {EXAMPLE_WORLD}: {e}"))
}

fn example() -> Engine {
    world::load_file(Path::new(EXAMPLE_WORLD))
        .unwrap_or_else(|e| panic!("the example world does not load: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn call(e: &Engine, op: &str, input: Value) -> Result<Value, Error> {
    e.call(op, input)
}

fn expect_err(e: &Engine, op: &str, input: Value) -> Error {
    match e.call(op, input.clone()) {
        Ok(v) => panic!("{op} {input} succeeded with {v}; expected an error"),
        Err(err) => err,
    }
}

/// A valid ciphertext of `plaintext` under the example key, with a context.
fn encrypt(e: &Engine, plaintext: &[u8]) -> Vec<u8> {
    let out = call(
        e,
        "Encrypt",
        json!({"KeyId": ALIAS, "Plaintext": b64(plaintext), "EncryptionContext": {"purpose": "fuzz"}}),
    )
    .unwrap_or_else(|e| panic!("Encrypt failed: {e}"));
    B64.decode(out["CiphertextBlob"].as_str().unwrap()).unwrap()
}

// ---------------------------------------------------------------------------
// Ciphertexts

/// Random bytes, bytes behind our magic, and bytes behind a real header
/// (magic, key id, backing key id): none is a ciphertext of ours.
fn garbage_blobs(real_header: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let random = prop::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        random.clone(),
        random.clone().prop_map(|tail| {
            let mut b = b"HSD\x01".to_vec();
            b.extend(tail);
            b
        }),
        random.prop_map(move |tail| {
            let mut b = real_header.clone();
            b.extend(tail);
            b
        }),
    ]
}

#[test]
fn decrypting_random_bytes_is_invalid_ciphertext_or_validation() {
    let e = example();
    let blob = encrypt(&e, b"header donor");
    // Magic (4) + key id (16) + length byte + backing key id.
    let header_len = 21 + usize::from(blob[20]);
    let header = blob[..header_len].to_vec();
    check(512, garbage_blobs(header), |bytes| {
        let input =
            json!({"CiphertextBlob": b64(&bytes), "EncryptionContext": {"purpose": "fuzz"}});
        match e.call("Decrypt", input) {
            Ok(v) => Err(TestCaseError::fail(format!(
                "random bytes decrypted to {v}"
            ))),
            Err(err) => {
                prop_assert!(
                    matches!(
                        err.kind(),
                        ErrorKind::InvalidCiphertext | ErrorKind::Validation
                    ),
                    "unexpected {err}"
                );
                prop_assert!(!err.message().is_empty());
                if bytes.is_empty() || bytes.len() > 6144 {
                    prop_assert_eq!(err.kind(), ErrorKind::Validation);
                }
                Ok(())
            }
        }
    });
}

/// A well-formed blob whose key id names no KMS key: garbage as far as this
/// account is concerned, as a blob from another Region or account is to AWS.
/// (A blob of a key deleted after its waiting period gets NotFoundException;
/// see runbooks::r6_orphaned_key_material.)
#[test]
fn a_blob_naming_an_unknown_key_is_invalid_ciphertext() {
    let e = example();
    let mut blob = encrypt(&e, b"who owns me");
    blob[4] ^= 0xff;
    let err = expect_err(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": b64(&blob), "EncryptionContext": {"purpose": "fuzz"}}),
    );
    assert_eq!(err.kind(), ErrorKind::InvalidCiphertext, "{err}");
}

#[derive(Clone, Debug)]
enum Mangle {
    /// Flip bit `i % 8` of byte `i / 8`.
    Flip(Index),
    /// Keep only the first `n` bytes.
    Truncate(Index),
}

#[test]
fn flipped_or_truncated_ciphertexts_never_decrypt() {
    let e = example();
    let plaintext = b"the quick brown fox jumps over the lazy dog".to_vec();
    let blob = encrypt(&e, &plaintext);
    let strategy = prop_oneof![
        any::<Index>().prop_map(Mangle::Flip),
        any::<Index>().prop_map(Mangle::Truncate),
    ];
    check(512, strategy, |m| {
        let mut b = blob.clone();
        let flipped_byte = match &m {
            Mangle::Flip(i) => {
                let bit = i.index(b.len() * 8);
                b[bit / 8] ^= 1 << (bit % 8);
                Some(bit / 8)
            }
            Mangle::Truncate(i) => {
                b.truncate(i.index(b.len()));
                None
            }
        };
        let input = json!({"CiphertextBlob": b64(&b), "EncryptionContext": {"purpose": "fuzz"}});
        match e.call("Decrypt", input) {
            Ok(v) => Err(TestCaseError::fail(format!(
                "{m:?} still decrypted (to {}; original {})",
                v["Plaintext"],
                b64(&plaintext)
            ))),
            Err(err) => {
                let kind = err.kind();
                let allowed = match flipped_byte {
                    Some(_) => kind == ErrorKind::InvalidCiphertext,
                    None if b.is_empty() => kind == ErrorKind::Validation,
                    None => kind == ErrorKind::InvalidCiphertext,
                };
                prop_assert!(allowed, "{m:?}: unexpected {err}");
                prop_assert!(!err.message().is_empty());
                Ok(())
            }
        }
    });
    // The untouched blob still opens.
    let out = call(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": b64(&blob), "EncryptionContext": {"purpose": "fuzz"}}),
    )
    .unwrap();
    assert_eq!(out["Plaintext"], json!(b64(&plaintext)));
}

#[test]
fn a_different_encryption_context_is_invalid_ciphertext() {
    let e = example();
    let blob = encrypt(&e, b"context bound");
    for ctx in [
        json!({}),
        json!({"purpose": "other"}),
        json!({"purpose": "fuzz", "extra": "x"}),
        json!({"Purpose": "fuzz"}),
    ] {
        let err = expect_err(
            &e,
            "Decrypt",
            json!({"CiphertextBlob": b64(&blob), "EncryptionContext": ctx}),
        );
        assert_eq!(err.kind(), ErrorKind::InvalidCiphertext, "{ctx}: {err}");
    }
}

// ---------------------------------------------------------------------------
// The CloudHSM CLI

const SESSIONS: &[&str] = &["ops", "kms", "s\u{e9}ssion", ""];

const CLI_WORDS: &[&str] = &[
    "login",
    "logout",
    "user",
    "list",
    "create",
    "delete",
    "change-password",
    "unlock",
    "key",
    "generate-symmetric",
    "aes",
    "share",
    "unshare",
    "cluster",
    "activate",
    "help",
    "quorum",
    "--username",
    "--role",
    "--password",
    "--filter",
    "--max-items",
    "--starting-token",
    "--verbose",
    "--cluster-id",
    "--label",
    "--key-length-bytes",
    "admin",
    "crypto-user",
    "kmsuser",
    "adminPassword1",
    "kmsPassword1",
    "attr.id=0x",
    "attr.id=0x0000000000100001",
    "attr.label=",
    "key-reference=0x0000000000100001",
    "attr.class=secret-key",
    "\"",
    "'",
    "\\",
    "\\\"",
    "''",
    "\"\"",
    "=",
    "0x",
    "-1",
    "0",
    "18446744073709551616",
    "--",
    "-",
    "\t",
    "\n",
    "ü",
    "密钥",
    "🔑",
    "\u{0}",
    "\u{202e}",
    "$HOME",
    "`id`",
    "*",
];

/// Commands the CLI accepts (given the right login), for the generator to
/// start from and then garble.
const CLI_COMMANDS: &[&str] = &[
    "user list",
    "key list",
    "key list --verbose",
    "key list --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "key list --max-items 1",
    "login --username admin --role admin --password adminPassword1",
    "login --username kmsuser --role crypto-user --password kmsPassword1",
    "login --username kmsuser --role crypto-user --password wrongPassword1",
    "logout",
    "user create --username fuzzer --role crypto-user --password fuzzPassword1",
    "user delete --username fuzzer --role crypto-user",
    "user change-password --username kmsuser --role crypto-user --password newPassword1",
    "key delete --filter attr.id=0x0000000000100001",
    "key delete --filter key-reference=0x0000000000100001",
    "cluster activate --password adminPassword1",
    "help",
];

fn cli_line() -> impl Strategy<Value = String> {
    let garbled = (
        select(CLI_COMMANDS),
        prop::collection::vec((any::<Index>(), any::<bool>(), select(CLI_WORDS)), 0..3),
    )
        .prop_map(|(cmd, edits)| {
            let mut words: Vec<&str> = cmd.split(' ').collect();
            for (i, replace, w) in edits {
                let at = i.index(words.len());
                if replace {
                    words[at] = w;
                } else {
                    words.insert(at, w);
                }
            }
            words.join(" ")
        });
    let word = prop_oneof![
        4 => select(CLI_WORDS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
        1 => ".{0,6}",
    ];
    let soup = prop::collection::vec(word, 0..10).prop_map(|w| w.join(" "));
    // Words glued without spaces, as in `attr.id="0x…`.
    let glued = prop::collection::vec(select(CLI_WORDS), 1..6).prop_map(|w| w.concat());
    prop_oneof![
        6 => garbled,
        6 => soup,
        1 => glued,
        1 => "\\PC{0,80}",
        1 => any::<String>(),
    ]
}

fn check_cli_envelope(line: &str, out: &Value) -> Result<(), TestCaseError> {
    let obj = out
        .as_object()
        .ok_or_else(|| TestCaseError::fail(format!("{line:?} → not an object: {out}")))?;
    prop_assert!(
        obj.get("error_code")
            .is_some_and(|c| c.is_i64() || c.is_u64()),
        "{:?} → error_code is not an integer: {}",
        line,
        out
    );
    prop_assert!(obj.contains_key("data"), "{:?} → no data: {}", line, out);
    if obj["error_code"] != json!(0) {
        prop_assert!(
            obj["data"].as_str().is_some_and(|s| !s.is_empty()),
            "{:?} → a failure without a message: {}",
            line,
            out
        );
    }
    Ok(())
}

#[test]
fn cli_token_soup_always_answers_with_an_envelope() {
    let sessions = select(SESSIONS);
    let script = prop::collection::vec((sessions, cli_line()), 1..6);
    let succeeded = AtomicUsize::new(0);
    check(384, script, |lines| {
        let e = example();
        // Start logged in half the time, so commands reach deeper checks.
        e.cloudhsm_cli(
            CLUSTER,
            "ops",
            "login --username admin --role admin --password adminPassword1",
        );
        for (session, line) in &lines {
            let out = e.cloudhsm_cli(CLUSTER, session, line);
            check_cli_envelope(line, &out)?;
            if out["error_code"] == json!(0) {
                succeeded.fetch_add(1, Ordering::Relaxed);
            }
        }
        // The engine is still whole afterwards.
        let described = call(&e, "DescribeCustomKeyStores", json!({}));
        prop_assert!(described.is_ok(), "{:?}", described);
        Ok(())
    });
    assert!(
        succeeded.into_inner() > 0,
        "no soup line was a valid command"
    );
}

#[test]
fn cli_against_an_unknown_cluster_is_a_failure_envelope() {
    let e = example();
    let out = e.cloudhsm_cli("cluster-doesnotexist1", "s", "user list");
    assert_eq!(out["error_code"], json!(1), "{out}");
    assert!(out["data"].as_str().is_some_and(|s| !s.is_empty()));
}

// ---------------------------------------------------------------------------
// Random JSON to every operation

const MEMBERS: &[&str] = &[
    "KeyId",
    "Plaintext",
    "CiphertextBlob",
    "EncryptionContext",
    "SourceEncryptionContext",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "SourceKeyId",
    "EncryptionAlgorithm",
    "GrantTokens",
    "DryRun",
    "NumberOfBytes",
    "KeySpec",
    "KeyUsage",
    "Origin",
    "Description",
    "Tags",
    "MultiRegion",
    "Limit",
    "Marker",
    "CustomKeyStoreId",
    "CustomKeyStoreName",
    "NewCustomKeyStoreName",
    "CloudHsmClusterId",
    "TrustAnchorCertificate",
    "KeyStorePassword",
    "CustomKeyStoreType",
    "AliasName",
    "TargetKeyId",
    "PendingWindowInDays",
    "ClusterId",
    "HsmId",
    "EniId",
    "EniIp",
    "BackupId",
    "HsmType",
    "SubnetIds",
    "SourceBackupId",
    "Filters",
    "NextToken",
    "MaxResults",
    "SignedCert",
    "TrustAnchor",
    "AvailabilityZone",
    "BackupRetentionPolicy",
    "Mode",
];

const STRINGS: &[&str] = &[
    "",
    ALIAS,
    KEY_ID,
    STORE,
    CLUSTER,
    "ExampleKeyStore",
    "backup-9g87f6edcba",
    "us-west-2a",
    "hsm2m.medium",
    "AWS_CLOUDHSM",
    "SYMMETRIC_DEFAULT",
    "AES_256",
    "ENCRYPT_DECRYPT",
    "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-west-2:111122223333:alias/app",
    "alias/aws/",
    "aGVsbG8=",
    "!!not base64",
    "kmsPassword1",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-2i64..2000).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        select(STRINGS).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(MEMBERS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly objects of known members with values of any type (the common
/// case of a wrong type), sometimes any JSON at all.
fn request() -> impl Strategy<Value = Value> {
    // Values of the types members usually have, so calls get past reading
    // their input and into the operations.
    let plausible = prop_oneof![
        4 => select(STRINGS).prop_map(Value::from),
        2 => (1i64..40).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => prop::collection::btree_map("[a-z]{1,4}", "[a-z]{0,4}", 0..3)
            .prop_map(|m| json!(m)),
        1 => prop::collection::vec(select(STRINGS), 0..3).prop_map(|v| json!(v)),
    ];
    let member = prop_oneof![3 => plausible, 2 => any_json()];
    prop_oneof![
        5 => prop::collection::vec((key(), member), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        1 => any_json(),
    ]
}

fn check_error(op: &str, input: &Value, err: &Error) -> Result<(), TestCaseError> {
    prop_assert!(
        !err.message().is_empty(),
        "{} {} → {:?} with an empty message",
        op,
        input,
        err.kind()
    );
    prop_assert_eq!(ErrorKind::from_aws_name(err.aws_name()), Some(err.kind()));
    if !input.is_object() && !input.is_null() {
        prop_assert_eq!(
            err.kind(),
            ErrorKind::Serialization,
            "{} {} → {}",
            op,
            input,
            err
        );
    }
    // Bad input is the caller's fault; the only server faults a call may
    // see are the documented ones about reaching the cluster.
    if err.kind().is_server_fault() {
        prop_assert!(
            err.message() == CANNOT_COMMUNICATE || err.message() == NO_PKCS11_SESSIONS,
            "{} {} → server fault {}",
            op,
            input,
            err
        );
    }
    Ok(())
}

#[test]
fn random_json_to_every_operation_never_panics() {
    let script = prop::collection::vec((select(Operation::ALL), request()), 1..5);
    let successes = AtomicUsize::new(0);
    let kinds = Mutex::new(BTreeSet::new());
    check(512, script, |calls| {
        let e = example();
        for (op, input) in &calls {
            match e.call(op.name(), input.clone()) {
                Ok(_) => {
                    successes.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => {
                    kinds.lock().unwrap().insert(err.aws_name());
                    check_error(op.name(), input, &err)?;
                }
            }
        }
        e.settle();
        Ok(())
    });
    // The generator reaches past the front door.
    let kinds = kinds.into_inner().unwrap();
    assert!(successes.into_inner() > 0, "no random call succeeded");
    for k in ["SerializationException", "ValidationException"] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
    assert!(kinds.len() >= 6, "only {kinds:?}");
    eprintln!("random JSON errors seen: {kinds:?}");
}

#[test]
fn every_operation_rejects_non_objects_and_wrong_types() {
    let e = example();
    for op in Operation::ALL {
        for input in [json!([]), json!("x"), json!(1), json!(true), json!([{}])] {
            let err = expect_err(&e, op.name(), input.clone());
            assert_eq!(
                err.kind(),
                ErrorKind::Serialization,
                "{op:?} {input}: {err}"
            );
            assert!(!err.message().is_empty());
        }
    }
    for (op, input) in [
        ("DescribeKey", json!({"KeyId": 5})),
        ("Encrypt", json!({"KeyId": ALIAS, "Plaintext": 5})),
        (
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": "aGVsbG8=", "EncryptionContext": []}),
        ),
        (
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": "aGVsbG8=", "EncryptionContext": {"a": 1}}),
        ),
        ("Decrypt", json!({"CiphertextBlob": "!!not base64"})),
        ("DescribeCustomKeyStores", json!({"Limit": "10"})),
        ("DescribeCustomKeyStores", json!({"Limit": 1.5})),
        ("ListKeys", json!({"Limit": {}})),
        (
            "ScheduleKeyDeletion",
            json!({"KeyId": ALIAS, "PendingWindowInDays": "7"}),
        ),
        (
            "DescribeClusters",
            json!({"Filters": {"clusterIds": CLUSTER}}),
        ),
        (
            "CreateCluster",
            json!({"HsmType": "hsm2m.medium", "SubnetIds": "subnet-1"}),
        ),
    ] {
        let err = expect_err(&e, op, input.clone());
        assert_eq!(err.kind(), ErrorKind::Serialization, "{op} {input}: {err}");
        assert!(!err.message().is_empty());
    }
    // `null` counts as `{}`.
    assert!(call(&e, "DescribeCustomKeyStores", Value::Null).is_ok());
}

// ---------------------------------------------------------------------------
// Deterministic edge cases

#[test]
fn encrypt_takes_1_to_4096_bytes() {
    let e = example();
    let enc = |n: usize| {
        call(
            &e,
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": b64(&vec![7u8; n])}),
        )
    };
    let zero = enc(0).unwrap_err();
    assert_eq!(zero.kind(), ErrorKind::Validation, "{zero}");
    assert!(
        zero.message().starts_with("1 validation error detected: "),
        "{zero}"
    );
    assert!(enc(1).is_ok());
    let blob = enc(4096).unwrap()["CiphertextBlob"].clone();
    let out = call(&e, "Decrypt", json!({"CiphertextBlob": blob})).unwrap();
    assert_eq!(out["Plaintext"], json!(b64(&[7u8; 4096])));
    let big = enc(4097).unwrap_err();
    assert_eq!(big.kind(), ErrorKind::Validation, "{big}");
    assert!(
        big.message().contains("less than or equal to 4096"),
        "{big}"
    );
}

#[test]
fn describe_custom_key_stores_limit_is_1_to_1000() {
    let e = example();
    for limit in [0, -1, 1001, i64::MAX, i64::MIN] {
        let err = expect_err(&e, "DescribeCustomKeyStores", json!({"Limit": limit}));
        assert_eq!(err.kind(), ErrorKind::Validation, "Limit {limit}: {err}");
        assert!(err.message().contains("'limit'"), "{err}");
    }
    for limit in [1, 1000] {
        assert!(call(&e, "DescribeCustomKeyStores", json!({"Limit": limit})).is_ok());
    }
}

#[test]
fn pending_window_is_7_to_30_days() {
    let e = example();
    for days in [6, 31, 0, -7, i64::MAX] {
        let err = expect_err(
            &e,
            "ScheduleKeyDeletion",
            json!({"KeyId": ALIAS, "PendingWindowInDays": days}),
        );
        assert_eq!(err.kind(), ErrorKind::Validation, "{days}: {err}");
        assert!(err.message().contains("'pendingWindowInDays'"), "{err}");
    }
    // The key is untouched by the refusals.
    let out = call(&e, "DescribeKey", json!({"KeyId": ALIAS})).unwrap();
    assert_eq!(out["KeyMetadata"]["KeyState"], json!("Enabled"));
}

#[test]
fn an_unknown_operation_is_unknown_operation_exception() {
    let e = example();
    for name in [
        "Bogus",
        "",
        "encrypt",
        "Encrypt ",
        "TrentService.Encrypt",
        "CreateGrants",
    ] {
        let err = expect_err(&e, name, json!({}));
        assert_eq!(err.kind(), ErrorKind::UnknownOperation, "{name:?}: {err}");
        assert!(!err.message().is_empty());
    }
}

#[test]
fn a_non_object_body_is_serialization_exception() {
    let e = example();
    let err = expect_err(&e, "Encrypt", json!(["KeyId", ALIAS]));
    assert_eq!(err.kind(), ErrorKind::Serialization);
    assert_eq!(err.aws_name(), "SerializationException");
}

#[test]
fn a_missing_required_member_is_the_aws_validation_message() {
    let e = example();
    let err = expect_err(&e, "DescribeKey", json!({}));
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(
        err.message(),
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    let err = expect_err(&e, "Encrypt", json!({"Plaintext": "aGVsbG8="}));
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.message().contains("at 'keyId'"), "{err}");
    let err = expect_err(&e, "Decrypt", json!({}));
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.message().contains("at 'ciphertextBlob'"), "{err}");
}

// ---------------------------------------------------------------------------
// World files

const YAML_TOKENS: &[&str] = &[
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!custom ",
    "~",
    "\t",
    "null",
    "true",
    "-1",
    "0",
    "1e400",
    ".nan",
    "99999999999999999999999",
    "18446744073709551615",
    "\"",
    "'",
    "#",
    "\n",
    "  ",
    "? ",
    "|\n",
    ">-\n",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "é",
    "\u{0}",
    "\u{feff}",
    "seed: ",
    "account: ",
    "region: ",
    "pkcs11: {sessions_per_hsm: 0}\n",
    "pkcs11: {sessions_per_hsm: 18446744073709551615}\n",
    "timing: {connect_seconds: 18446744073709551615, backup_interval_seconds: 18446744073709551615}\n",
    "trail_capacity: 0\n",
    "max_custom_key_stores: 0\n",
    "key_store_request_quota: 0\n",
    "clusters:",
    "custom_key_stores:",
    "keys:",
    "subnets:",
    "  - {id: cluster-1a23b4cdefg}\n",
    "  - {name: Another, cluster: cluster-1a23b4cdefg, connected: true}\n",
    "  - {store: ExampleKeyStore, aliases: [alias/app]}\n",
    "  - {id: subnet-12345678, availability_zone: us-west-2a, free_addresses: 0}\n",
    "aliases: [",
    "connected: true",
    "backups: [backup-9g87f6edcba]",
    "state: UNINITIALIZED",
    "state: INITIALIZED",
    "hsms: []",
    "hsms: [us-west-2z]",
    "users: []",
    "users: [{username: kmsuser, role: crypto-user, locked: true, password: kmsPassword1}]",
    "availability_zones: []",
    "trust_anchor: ''",
];

#[derive(Clone, Debug)]
enum Edit {
    Delete(Index, usize),
    Insert(Index, String),
    ReplaceLine(Index, String),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragment = prop_oneof![
        4 => select(YAML_TOKENS).prop_map(str::to_owned),
        1 => "\\PC{0,10}",
    ];
    prop_oneof![
        (any::<Index>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), fragment.clone()).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<Index>(), fragment).prop_map(|(i, s)| Edit::ReplaceLine(i, s)),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        match e {
            Edit::Delete(i, n) if !chars.is_empty() => {
                let at = i.index(chars.len());
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Insert(i, s) => {
                let at = i.index(chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
            Edit::Truncate(i) => {
                let at = i.index(chars.len() + 1);
                chars.truncate(at);
            }
            Edit::ReplaceLine(..) | Edit::DuplicateLine(_) | Edit::SwapLines(..) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<String> = s.split('\n').map(str::to_owned).collect();
                let n = lines.len();
                match e {
                    Edit::ReplaceLine(i, s) => lines[i.index(n)] = s.clone(),
                    Edit::DuplicateLine(i) => {
                        let l = lines[i.index(n)].clone();
                        lines.insert(i.index(n), l);
                    }
                    Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
                    Edit::Delete(..) | Edit::Insert(..) | Edit::Truncate(_) => {}
                }
                chars = lines.join("\n").chars().collect();
            }
            Edit::Delete(..) => {}
        }
    }
    chars.into_iter().collect()
}

fn check_world(text: &str, loaded: &AtomicUsize) -> Result<(), TestCaseError> {
    match world::load_str(text, "fuzz.yaml") {
        Ok(e) => {
            loaded.fetch_add(1, Ordering::Relaxed);
            // A world that loads is a working engine.
            prop_assert!(
                call(&e, "DescribeCustomKeyStores", json!({})).is_ok(),
                "DescribeCustomKeyStores failed on a loaded world"
            );
            let clusters = call(&e, "DescribeClusters", json!({}));
            prop_assert!(clusters.is_ok(), "{:?}", clusters);
            let keys = call(&e, "ListKeys", json!({}));
            prop_assert!(keys.is_ok(), "{:?}", keys);
            Ok(())
        }
        Err(err) => {
            let shown = err.to_string();
            prop_assert!(!shown.is_empty(), "an error that displays as nothing");
            prop_assert!(!err.message().is_empty(), "an empty message: {}", shown);
            prop_assert_eq!(err.file(), "fuzz.yaml");
            Ok(())
        }
    }
}

#[test]
fn mutated_world_files_never_panic() {
    let base = example_text();
    let richer = format!(
        "{base}\nsubnets:\n  - {{id: subnet-0123456789abcdef0, availability_zone: us-west-2c}}\n"
    );
    let bases = vec![base, richer];
    let strategy = (select(bases), prop::collection::vec(edit(), 1..6));
    let loaded = AtomicUsize::new(0);
    let tried = AtomicUsize::new(0);
    check(384, strategy, |(text, edits)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let mutated = apply(&text, &edits);
        check_world(&mutated, &loaded)
    });
    // Some mutations keep the world valid, most do not.
    let (loaded, tried) = (loaded.into_inner(), tried.into_inner());
    assert!(
        loaded > 0 && loaded < tried,
        "{loaded} of {tried} mutated worlds loaded"
    );
}

#[test]
fn random_text_as_a_world_file_never_panics() {
    let strategy = prop_oneof![
        any::<String>(),
        "\\PC{0,200}",
        prop::collection::vec(select(YAML_TOKENS), 0..30).prop_map(|t| t.concat()),
    ];
    let loaded = AtomicUsize::new(0);
    check(384, strategy, |text| check_world(&text, &loaded));
}

#[test]
fn hostile_world_files_are_errors_not_panics_or_hangs() {
    let deep_seq = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_map = "a: {".repeat(5_000);
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='k' {
        laughs.push_str(&format!(
            "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = c;
    }
    for (what, text) in [
        ("empty", String::new()),
        ("only a comment", "# nothing\n".to_owned()),
        ("a scalar", "42".to_owned()),
        ("a list", "- 1\n- 2\n".to_owned()),
        ("deep sequence", deep_seq),
        ("deep mapping", deep_map),
        ("billion laughs", laughs),
        ("two documents", "seed: 1\n---\nseed: 2\n".to_owned()),
        ("NUL bytes", "seed: \u{0}\n".to_owned()),
        ("huge seed", "seed: 99999999999999999999999\n".to_owned()),
        ("negative seed", "seed: -1\n".to_owned()),
        ("zero sessions", "pkcs11: {sessions_per_hsm: 0}\n".to_owned()),
        (
            "extreme timings",
            "timing: {connect_seconds: 18446744073709551615, backup_interval_seconds: 18446744073709551615, disconnect_seconds: 18446744073709551615}\nclusters: [{}]\ncustom_key_stores: [{name: S, connected: true}]\nkeys: [{store: S}]\n".to_owned(),
        ),
        (
            "no addresses",
            "subnets: [{id: subnet-12345678, availability_zone: us-west-2a, free_addresses: 0}]\nclusters: [{subnets: {us-west-2a: subnet-12345678}}]\n".to_owned(),
        ),
        ("unknown key", "sead: 1\n".to_owned()),
    ] {
        let started = std::time::Instant::now();
        let r = world::load_str(&text, "hostile.yaml");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what}: took {:?}",
            started.elapsed()
        );
        match r {
            Ok(e) => {
                assert!(call(&e, "DescribeCustomKeyStores", json!({})).is_ok(), "{what}");
                e.settle();
            }
            Err(err) => {
                assert!(!err.to_string().is_empty(), "{what}");
                assert!(!err.message().is_empty(), "{what}: {err}");
            }
        }
    }
}
