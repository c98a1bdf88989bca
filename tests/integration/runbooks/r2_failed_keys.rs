//! R2. Failed KMS keys: with the store disconnected nothing cryptographic
//! works and no key can be created; with the store connected, crypto can
//! still fail when the cluster has no HSM, is gone, or has no free PKCS #11
//! session.

use serde_json::json;

use super::*;

#[test]
fn create_key_in_a_disconnected_store_is_custom_key_store_invalid_state() {
    let e = disconnected();
    let (name, message) = fail(
        &e,
        "CreateKey",
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
    assert!(message.contains(STORE), "{message}");
    assert!(message.contains("DISCONNECTED"), "{message}");
}

#[test]
fn every_crypto_operation_on_a_disconnected_store_is_kms_invalid_state() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    disconnect(&e, STORE);

    let calls = [
        ("Encrypt", encrypt_input(ALIAS)),
        ("Decrypt", decrypt_input(&blob)),
        (
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "DestinationKeyId": ALIAS}),
        ),
        (
            "GenerateDataKey",
            json!({"KeyId": ALIAS, "KeySpec": "AES_256"}),
        ),
        (
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": ALIAS, "NumberOfBytes": 32}),
        ),
    ];
    for (op, input) in &calls {
        assert_eq!(fail(&e, op, input.clone()), unavailable(KEY_ARN), "{op}");
    }

    // The fix: reconnect.
    reconnect(&e, STORE);
    for (op, input) in calls {
        call(&e, op, input);
    }
    assert_eq!(decrypt(&e, &blob), "before");
}

#[test]
fn crypto_fails_while_connected_when_every_hsm_is_deleted_until_one_is_added() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    assert_eq!(hsm_ids(&e, CLUSTER).len(), 2);

    delete_all_hsms(&e, CLUSTER);
    assert_eq!(describe_cluster(&e, CLUSTER)["Hsms"], json!([]));
    // The store stays CONNECTED and the key Enabled; crypto fails with R4's
    // network message (docs/fidelity.md I13).
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    assert_crypto_fails(&e, &blob, cannot_communicate());

    // CreateHsm adds one; it serves once it is ACTIVE.
    create_hsm(&e, CLUSTER, "us-west-2a");
    assert_eq!(
        describe_cluster(&e, CLUSTER)["Hsms"][0]["State"],
        json!("CREATE_IN_PROGRESS")
    );
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        cannot_communicate()
    );
    e.settle();
    assert_eq!(
        describe_cluster(&e, CLUSTER)["Hsms"][0]["State"],
        json!("ACTIVE")
    );
    assert_eq!(decrypt(&e, &blob), "before");
    encrypt(&e, ALIAS, "after");
}

#[test]
fn crypto_fails_while_connected_when_the_cluster_is_deleted() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    e.destroy_cluster(CLUSTER).unwrap();
    assert_eq!(cluster_state(&e, CLUSTER), "DELETED");
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    // R4's network message (docs/fidelity.md I13).
    assert_crypto_fails(&e, &blob, cannot_communicate());
}

#[test]
fn exhausted_pkcs11_sessions_raise_kms_internal_until_released() {
    let e = example();
    let held = e.exhaust_sessions(CLUSTER).unwrap();
    assert!(held > 0);

    let (name, message) = fail(&e, "Encrypt", encrypt_input(ALIAS));
    assert_eq!(name, "KMSInternalException");
    assert!(message.contains("PKCS #11"), "{message}");
    let (name, message) = fail(
        &e,
        "GenerateDataKey",
        json!({"KeyId": ALIAS, "KeySpec": "AES_256"}),
    );
    assert_eq!(name, "KMSInternalException");
    assert!(message.contains("PKCS #11"), "{message}");
    // The store and key are fine; only the burst is in the way.
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    assert_eq!(key_state(&e, KEY_ID), "Enabled");

    e.release_sessions(CLUSTER).unwrap();
    let blob = encrypt(&e, ALIAS, "after the burst");
    assert_eq!(decrypt(&e, &blob), "after the burst");
}

#[test]
fn create_key_needs_two_active_hsms_while_crypto_needs_one() {
    let e = example();
    let hsms = hsm_ids(&e, CLUSTER);
    delete_hsm(&e, CLUSTER, &hsms[1]);
    let input = json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE});
    assert_eq!(
        exception(&e, "CreateKey", input),
        "CloudHsmClusterInvalidConfigurationException"
    );
    let blob = encrypt(&e, ALIAS, "one HSM is enough");
    assert_eq!(decrypt(&e, &blob), "one HSM is enough");
}

#[test]
fn generate_random_from_the_store_needs_it_connected() {
    assert_random_needs_a_connected_store(&example(), 16);
}
