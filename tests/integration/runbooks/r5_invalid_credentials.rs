//! R5. Invalid `kmsuser` credentials: a password changed behind KMS's back
//! gives `INVALID_CREDENTIALS`, five wrong passwords lock `kmsuser`
//! (`USER_LOCKED_OUT`), and the documented repair brings the store back
//! with every old ciphertext still readable.

use serde_json::json;

use super::*;

#[test]
fn full_repair_of_a_locked_out_kmsuser() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "made before the incident");

    // The incident: disconnected, then five wrong logins lock kmsuser.
    disconnect(&e, STORE);
    for _ in 0..5 {
        let out = cli(&e, CLUSTER, "operator", &kmsuser_login("wrongPass1"));
        assert_eq!(out["error_code"], json!(1), "{out}");
    }
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "true");
    let users = cli_ok(&e, CLUSTER, "operator", "user list");
    assert_eq!(
        users["users"][0],
        json!({"username": "admin", "role": "admin", "locked": "false", "mfa": [], "cluster-coverage": "full"})
    );
    assert_eq!(connect_and_settle(&e, STORE), failed("USER_LOCKED_OUT"));

    // The repair, step by step: disconnect; as admin, change kmsuser's
    // password (which unlocks it) and log out; tell the store; connect.
    disconnect(&e, STORE);
    set_kmsuser_password(&e, CLUSTER, "newPass123");
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "false");
    tell_store_password(&e, STORE, "newPass123");
    reconnect(&e, STORE);
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    assert_eq!(decrypt(&e, &blob), "made before the incident");
}

#[test]
fn password_changed_while_disconnected_without_updating_the_store_is_invalid_credentials() {
    let e = fails_to_connect(
        |e| set_kmsuser_password(e, CLUSTER, "changedPass1"),
        "INVALID_CREDENTIALS",
    );
    // Every connect ends the same way until the store is told.
    disconnect(&e, STORE);
    assert_eq!(connect_and_settle(&e, STORE), failed("INVALID_CREDENTIALS"));

    disconnect(&e, STORE);
    tell_store_password(&e, STORE, "changedPass1");
    reconnect(&e, STORE);
}

#[test]
fn five_failed_kms_logins_lock_kmsuser() {
    // A connect that ends INVALID_CREDENTIALS is a failed login for the HSM.
    let e = disconnected();
    tell_store_password(&e, STORE, "wrongPass99");
    for _ in 0..5 {
        assert_eq!(connect_and_settle(&e, STORE), failed("INVALID_CREDENTIALS"));
        disconnect(&e, STORE);
    }
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "true");
    assert_eq!(connect_and_settle(&e, STORE), failed("USER_LOCKED_OUT"));
}

#[test]
fn only_a_password_change_unlocks_kmsuser() {
    let e = disconnected();
    set_kmsuser_password(&e, CLUSTER, "rightPass123");
    lock_kmsuser(&e, CLUSTER);
    // The right password no longer helps.
    let message = kmsuser_login_refused(&e, "rightPass123");
    assert!(message.contains("locked"), "{message}");
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "true");

    set_kmsuser_password(&e, CLUSTER, "rightPass123");
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "false");
    log_in_as_kmsuser(&e, CLUSTER, "kms-shell", "rightPass123");
}

#[test]
fn update_custom_key_store_password_changes_nothing_in_the_cluster() {
    let e = disconnected();
    tell_store_password(&e, STORE, "storeOnly123");
    let message = kmsuser_login_refused(&e, "storeOnly123");
    assert!(message.contains("Invalid"), "{message}");
}

#[test]
fn update_custom_key_store_password_requires_a_disconnected_store() {
    let update_password = |e: &Engine| {
        exception(
            e,
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "newPass123"}),
        )
    };
    let invalid_state = "CustomKeyStoreInvalidStateException";
    assert_eq!(update_password(&example()), invalid_state);
    // A FAILED store must be disconnected first too.
    let e = fails_to_connect(|e| lock_kmsuser(e, CLUSTER), "USER_LOCKED_OUT");
    assert_eq!(update_password(&e), invalid_state);

    // The name may change while connected.
    let e = example();
    call(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "NewCustomKeyStoreName": "RenamedStore"}),
    );
    assert_eq!(
        store_entry(&e, STORE)["CustomKeyStoreName"],
        json!("RenamedStore")
    );
}

#[test]
fn cli_rejects_passwords_that_are_not_7_to_32_alphanumeric_characters() {
    let e = disconnected();
    log_in_as_admin(&e, CLUSTER, "admin-shell");
    let change = |password: &str| {
        cli(
            &e,
            CLUSTER,
            "admin-shell",
            &format!(
                "user change-password --username kmsuser --role crypto-user --password '{password}'"
            ),
        )
    };
    let too_long = "a".repeat(33);
    for bad in [
        "abc123",
        "newPass!23",
        "new-pass1",
        "pass word1",
        too_long.as_str(),
    ] {
        let out = change(bad);
        assert_eq!(out["error_code"], json!(1), "{bad}: {out}");
        let message = out["data"].as_str().unwrap();
        assert!(message.contains("7 to 32"), "{bad}: {message}");
    }
    let longest = "A1".repeat(16);
    for good in ["abc1234", "CaseSensitive7", longest.as_str()] {
        let out = change(good);
        assert_eq!(out["error_code"], json!(0), "{good}: {out}");
    }
}

#[test]
fn key_store_password_shorter_than_7_is_a_validation_error() {
    let e = disconnected();
    let update = json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "abc123"});
    assert_eq!(
        exception(&e, "UpdateCustomKeyStore", update),
        "ValidationException"
    );
}
