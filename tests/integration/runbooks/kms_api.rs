//! The KMS operations around the runbooks that are not an incident of their
//! own: aliases, key listing, data keys, re-encryption, encryption context,
//! dry runs, random bytes from a key store, and the two quotas (the CloudHSM
//! key store request quota and the number of custom key stores).

use serde_json::json;

use super::*;

#[test]
fn aliases_are_created_listed_resolved_and_deleted() {
    let e = example();
    call(
        &e,
        "CreateAlias",
        json!({"AliasName": "alias/second", "TargetKeyId": KEY_ID}),
    );
    let listed = call(&e, "ListAliases", json!({"KeyId": KEY_ID}));
    let names = strings_of(&listed["Aliases"], "AliasName");
    assert_eq!(names, ["alias/app", "alias/second"]);
    assert_eq!(
        listed["Aliases"][1]["AliasArn"],
        json!("arn:aws:kms:us-west-2:111122223333:alias/second")
    );
    assert_eq!(listed["Aliases"][1]["TargetKeyId"], json!(KEY_ID));
    // Every way of naming a key reaches the same one.
    for name in [
        "alias/second",
        "arn:aws:kms:us-west-2:111122223333:alias/second",
        KEY_ID,
        KEY_ARN,
    ] {
        assert_eq!(describe_key(&e, name)["KeyId"], json!(KEY_ID), "{name}");
    }
    assert_eq!(
        fail(
            &e,
            "CreateAlias",
            json!({"AliasName": "alias/second", "TargetKeyId": KEY_ID})
        )
        .0,
        "AlreadyExistsException"
    );
    call(&e, "DeleteAlias", json!({"AliasName": "alias/second"}));
    assert_eq!(
        fail(&e, "DescribeKey", json!({"KeyId": "alias/second"})),
        error(
            "NotFoundException",
            "Alias arn:aws:kms:us-west-2:111122223333:alias/second is not found."
        )
    );
    assert_eq!(
        fail(&e, "DeleteAlias", json!({"AliasName": "alias/second"})).0,
        "NotFoundException"
    );
}

#[test]
fn bad_alias_names_are_refused() {
    let e = example();
    for (alias, target, expected) in [
        ("noprefix", KEY_ID, "InvalidAliasNameException"),
        ("alias/aws/kms", KEY_ID, "NotFoundException"),
        (
            "alias/x",
            "1234abcd-0000-0000-0000-000000000000",
            "NotFoundException",
        ),
    ] {
        let input = json!({"AliasName": alias, "TargetKeyId": target});
        assert_eq!(exception(&e, "CreateAlias", input), expected, "{alias}");
    }
}

#[test]
fn list_keys_pages_with_markers() {
    let e = example();
    let second = create_key(&e, STORE);
    // Two pages of one, the invalid marker refused.
    let keys = json!(one_per_page(&e, "ListKeys", "Keys"));
    let mut ids = strings_of(&keys, "KeyId");
    ids.sort();
    let mut expected = vec![KEY_ID.to_owned(), second];
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn data_keys_have_the_asked_length_and_decrypt_to_their_plaintext() {
    let e = example();
    for (input, len) in [
        (json!({"KeyId": ALIAS, "KeySpec": "AES_256"}), 32),
        (json!({"KeyId": ALIAS, "KeySpec": "AES_128"}), 16),
        (json!({"KeyId": ALIAS, "NumberOfBytes": 64}), 64),
    ] {
        let out = call(&e, "GenerateDataKey", input);
        assert_eq!(base64_bytes(&out["Plaintext"]).len(), len);
        let back = call(
            &e,
            "Decrypt",
            json!({"CiphertextBlob": out["CiphertextBlob"]}),
        );
        assert_eq!(back["Plaintext"], out["Plaintext"]);
        assert_eq!(out["KeyId"], json!(KEY_ARN));
    }
    let without = call(
        &e,
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": ALIAS, "KeySpec": "AES_256"}),
    );
    assert!(without.get("Plaintext").is_none(), "{without}");
    let back = call(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": without["CiphertextBlob"]}),
    );
    assert_eq!(base64_bytes(&back["Plaintext"]).len(), 32);
    for input in [
        json!({"KeyId": ALIAS}),
        json!({"KeyId": ALIAS, "KeySpec": "AES_256", "NumberOfBytes": 32}),
    ] {
        assert_eq!(fail(&e, "GenerateDataKey", input).0, "ValidationException");
    }
}

#[test]
fn encryption_context_must_match_and_decrypt_key_id_must_name_the_key() {
    let e = example();
    let other = create_key(&e, STORE);
    let out = call(
        &e,
        "Encrypt",
        json!({"KeyId": ALIAS, "Plaintext": STANDARD.encode("ctx"),
               "EncryptionContext": {"purpose": "drill"}}),
    );
    let blob = out["CiphertextBlob"].clone();
    assert_eq!(
        fail(&e, "Decrypt", json!({"CiphertextBlob": blob})).0,
        "InvalidCiphertextException"
    );
    assert_eq!(
        fail(
            &e,
            "Decrypt",
            json!({"CiphertextBlob": blob, "EncryptionContext": {"purpose": "other"}})
        )
        .0,
        "InvalidCiphertextException"
    );
    assert_eq!(
        fail(
            &e,
            "Decrypt",
            json!({"CiphertextBlob": blob, "EncryptionContext": {"purpose": "drill"}, "KeyId": other})
        )
        .0,
        "IncorrectKeyException"
    );
    let ok = call(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": blob, "EncryptionContext": {"purpose": "drill"}, "KeyId": ALIAS}),
    );
    assert_eq!(ok["Plaintext"], json!(STANDARD.encode("ctx")));
}

#[test]
fn re_encrypt_moves_a_ciphertext_to_another_key() {
    let e = example();
    let other = create_key(&e, STORE);
    let blob = encrypt(&e, ALIAS, "moving");
    let out = call(
        &e,
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "DestinationKeyId": other,
               "DestinationEncryptionContext": {"k": "v"}}),
    );
    assert_eq!(out["SourceKeyId"], json!(KEY_ARN));
    assert_eq!(out["KeyId"], json!(e.key_arn(&other)));
    let back = call(
        &e,
        "Decrypt",
        json!({"CiphertextBlob": out["CiphertextBlob"], "EncryptionContext": {"k": "v"}}),
    );
    assert_eq!(back["KeyId"], json!(e.key_arn(&other)));
    assert_eq!(back["Plaintext"], json!(STANDARD.encode("moving")));
}

#[test]
fn dry_run_checks_everything_and_does_nothing() {
    let e = example();
    let before = e.trail_events(Some("Encrypt")).len();
    assert_eq!(
        fail(
            &e,
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": STANDARD.encode("x"), "DryRun": true})
        ),
        error(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun option is set."
        )
    );
    disconnect(&e, STORE);
    // A dry run that would fail reports the real failure.
    assert_eq!(
        fail(
            &e,
            "Encrypt",
            json!({"KeyId": ALIAS, "Plaintext": STANDARD.encode("x"), "DryRun": true})
        ),
        unavailable(KEY_ARN)
    );
    assert_eq!(e.trail_events(Some("Encrypt")).len(), before + 2);
}

#[test]
fn generate_random_with_a_key_store_needs_it_connected() {
    let e = example();
    assert_random_needs_a_connected_store(&e, 48);
    // Without a key store it does not depend on the cluster.
    call(&e, "GenerateRandom", json!({"NumberOfBytes": 8}));
    assert_eq!(
        fail(&e, "GenerateRandom", json!({"NumberOfBytes": 1025})).0,
        "ValidationException"
    );
}

#[test]
fn the_key_store_request_quota_throttles_within_one_second() {
    let yaml = std::fs::read_to_string(crate::support::example_world())
        .unwrap()
        .replace("seed: 1 ", "seed: 1\nkey_store_request_quota: 3\n");
    let e = world_from(&yaml);
    for _ in 0..3 {
        encrypt(&e, ALIAS, "within quota");
    }
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        error(
            "ThrottlingException",
            "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
        )
    );
    // The quota is per second of the engine's clock.
    e.advance(std::time::Duration::from_secs(1));
    encrypt(&e, ALIAS, "next second");
}

#[test]
fn the_number_of_custom_key_stores_is_limited() {
    let e = world_from(
        r#"
seed: 3
max_custom_key_stores: 1
clusters:
  - id: cluster-aaaaaaaaaaa
  - id: cluster-bbbbbbbbbbb
custom_key_stores:
  - name: First
    cluster: cluster-aaaaaaaaaaa
"#,
    );
    let anchor = e.with_state(|st| {
        st.clusters["cluster-bbbbbbbbbbb"]
            .trust_anchor
            .clone()
            .unwrap()
    });
    let (name, message) = fail(
        &e,
        "CreateCustomKeyStore",
        json!({"CustomKeyStoreName": "Second", "CloudHsmClusterId": "cluster-bbbbbbbbbbb",
               "TrustAnchorCertificate": anchor, "KeyStorePassword": "kmsPassword1"}),
    );
    assert_eq!(name, "LimitExceededException");
    assert!(
        message.contains("quota of 1 custom key stores"),
        "{message}"
    );
}

#[test]
fn keys_of_other_origins_are_not_emulated() {
    let e = example();
    for input in [
        json!({"Origin": "EXTERNAL"}),
        json!({"Origin": "EXTERNAL_KEY_STORE"}),
        json!({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}),
        json!({"MultiRegion": true}),
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "KeySpec": "RSA_2048"}),
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "MultiRegion": true}),
    ] {
        assert_eq!(
            fail(&e, "CreateKey", input).0,
            "UnsupportedOperationException"
        );
    }
    assert_eq!(
        fail(&e, "CreateKey", json!({"Origin": "AWS_CLOUDHSM"})).0,
        "ValidationException"
    );
    assert_eq!(
        fail(
            &e,
            "CreateKey",
            json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "KeySpec": "NOPE"})
        )
        .0,
        "ValidationException"
    );
}
