//! R1. Unavailable KMS keys: while the key store is disconnected its keys
//! read `Unavailable`, management calls still work, and reconnecting
//! restores what the owner asked for.

use serde_json::json;

use super::*;

#[test]
fn keys_of_a_connected_store_are_enabled() {
    let e = example();
    let meta = describe_key(&e, KEY_ID);
    assert_members(
        &meta,
        json!({
            "KeyState": "Enabled",
            "Enabled": true,
            "Origin": "AWS_CLOUDHSM",
            "CustomKeyStoreId": STORE,
            "CloudHsmClusterId": CLUSTER,
            "Arn": KEY_ARN,
            "KeyManager": "CUSTOMER",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegion": false,
        }),
    );
    assert!(meta.get("DeletionDate").is_none(), "{meta}");
    // Encrypt answers with the key ARN, whatever id it was given.
    let out = call(&e, "Encrypt", encrypt_input(ALIAS));
    assert_eq!(out["KeyId"], json!(KEY_ARN));
}

#[test]
fn disconnecting_makes_keys_unavailable_and_not_enabled() {
    let e = disconnected();
    for key in [KEY_ID, KEY_ARN, ALIAS] {
        let meta = describe_key(&e, key);
        assert_eq!(meta["KeyState"], json!("Unavailable"), "{key}");
        assert_eq!(meta["Enabled"], json!(false), "{key}");
    }
}

#[test]
fn describe_key_and_list_keys_still_work_while_disconnected() {
    let e = disconnected();
    assert_eq!(describe_key(&e, ALIAS)["KeyId"], json!(KEY_ID));
    let keys = call(&e, "ListKeys", json!({}));
    assert_eq!(keys["Keys"], json!([{"KeyId": KEY_ID, "KeyArn": KEY_ARN}]));
    assert_eq!(keys["Truncated"], json!(false));
}

#[test]
fn crypto_on_an_unavailable_key_is_kms_invalid_state_unavailable() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    disconnect(&e, STORE);
    assert_crypto_fails(&e, &blob, unavailable(KEY_ARN));
}

#[test]
fn key_scheduled_for_deletion_while_disconnected_stays_pending_deletion() {
    let e = disconnected();
    let out = schedule_deletion(&e, ALIAS, 7);
    assert_eq!(out["KeyId"], json!(KEY_ARN));
    assert_eq!(out["KeyState"], json!("PendingDeletion"));
    assert_eq!(out["PendingWindowInDays"], json!(7));
    let meta = describe_key(&e, KEY_ID);
    assert_eq!(meta["KeyState"], json!("PendingDeletion"));
    assert_eq!(meta["Enabled"], json!(false));
    assert_eq!(meta["DeletionDate"], out["DeletionDate"]);
    assert_eq!(meta["PendingDeletionWindowInDays"], json!(7));

    // Still pending deletion while disconnected, and after reconnecting.
    e.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(key_state(&e, KEY_ID), "PendingDeletion");
    reconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "PendingDeletion");
}

#[test]
fn cancel_key_deletion_works_without_reconnecting() {
    let e = example();
    schedule_deletion(&e, KEY_ID, 30);
    disconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "PendingDeletion");

    let out = call(&e, "CancelKeyDeletion", json!({"KeyId": KEY_ID}));
    assert_eq!(out, json!({"KeyId": KEY_ARN}));
    // Cancelled: no longer pending, no deletion date. While disconnected it
    // reads Unavailable (docs/fidelity.md I5), and Disabled once reconnected.
    let meta = describe_key(&e, KEY_ID);
    assert_eq!(meta["KeyState"], json!("Unavailable"));
    assert!(meta.get("DeletionDate").is_none(), "{meta}");
    reconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "Disabled");
}

#[test]
fn cancel_key_deletion_on_a_key_not_pending_deletion_is_kms_invalid_state() {
    let e = disconnected();
    assert_eq!(
        fail(&e, "CancelKeyDeletion", json!({"KeyId": KEY_ID})),
        error(
            "KMSInvalidStateException",
            &format!("{KEY_ARN} is not pending deletion.")
        )
    );
}

#[test]
fn reconnecting_restores_enabled_and_disabled() {
    let e = example();
    let disabled = create_key(&e, STORE);
    call(&e, "DisableKey", json!({"KeyId": disabled}));
    assert_eq!(key_state(&e, &disabled), "Disabled");

    disconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    assert_eq!(key_state(&e, &disabled), "Unavailable");

    reconnect(&e, STORE);
    let enabled = describe_key(&e, KEY_ID);
    assert_eq!(enabled["KeyState"], json!("Enabled"));
    assert_eq!(enabled["Enabled"], json!(true));
    let meta = describe_key(&e, &disabled);
    assert_eq!(meta["KeyState"], json!("Disabled"));
    assert_eq!(meta["Enabled"], json!(false));
}

#[test]
fn disable_key_on_an_unavailable_key_is_deferred_until_reconnect() {
    let e = disconnected();
    assert_eq!(call(&e, "DisableKey", json!({"KeyId": KEY_ID})), json!({}));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    reconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "Disabled");
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(KEY_ID)),
        error("DisabledException", &format!("{KEY_ARN} is disabled."))
    );
}

#[test]
fn enable_key_on_an_unavailable_key_is_deferred_until_reconnect() {
    let e = example();
    call(&e, "DisableKey", json!({"KeyId": KEY_ID}));
    disconnect(&e, STORE);
    assert_eq!(call(&e, "EnableKey", json!({"KeyId": KEY_ID})), json!({}));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    reconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    let blob = encrypt(&e, KEY_ID, "usable again");
    assert_eq!(decrypt(&e, &blob), "usable again");
}

#[test]
fn schedule_key_deletion_defaults_to_30_days() {
    let e = example();
    let now = e.now().as_epoch_seconds();
    let out = call(&e, "ScheduleKeyDeletion", json!({"KeyId": KEY_ID}));
    assert_eq!(out["PendingWindowInDays"], json!(30));
    assert_eq!(out["DeletionDate"], json!(now + 30.0 * 86_400.0));
}

#[test]
fn pending_window_outside_7_to_30_days_is_a_validation_error() {
    let e = example();
    for days in [6, 31] {
        let (name, _) = fail(
            &e,
            "ScheduleKeyDeletion",
            json!({"KeyId": KEY_ID, "PendingWindowInDays": days}),
        );
        assert_eq!(name, "ValidationException", "{days}");
    }
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
}

#[test]
fn a_key_pending_deletion_refuses_state_changes_and_crypto() {
    let e = example();
    schedule_deletion(&e, KEY_ID, 7);
    let pending = error(
        "KMSInvalidStateException",
        &format!("{KEY_ARN} is pending deletion."),
    );
    for op in ["EnableKey", "DisableKey", "ScheduleKeyDeletion"] {
        assert_eq!(fail(&e, op, json!({"KeyId": KEY_ID})), pending, "{op}");
    }
    // docs/fidelity.md I2: the engine chose KMSInvalidStateException.
    assert_eq!(fail(&e, "Encrypt", encrypt_input(KEY_ID)), pending);
    // The same while disconnected.
    disconnect(&e, STORE);
    assert_eq!(fail(&e, "DisableKey", json!({"KeyId": KEY_ID})), pending);
}
