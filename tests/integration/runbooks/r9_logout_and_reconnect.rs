//! R9. Logging out and reconnecting: a `kmsuser` left logged in fails the
//! reconnect with `USER_LOGGED_IN`; ConnectCustomKeyStore answers `{}` at
//! once and the store is `CONNECTING` until the attempt completes; during it
//! KMS rotates the `kmsuser` password.

use std::time::Duration;

use serde_json::json;

use super::*;

#[test]
fn a_forgotten_logout_fails_the_reconnect_with_user_logged_in() {
    let e = example();
    disconnect(&e, STORE);
    set_kmsuser_password(&e, CLUSTER, "newPass123");
    cli_ok(
        &e,
        CLUSTER,
        "kms-shell",
        "login --username kmsuser --role crypto-user --password newPass123",
    );
    cli_ok(&e, CLUSTER, "kms-shell", "key list");
    // ... and the operator forgets `logout`.
    tell_store_password(&e, STORE, "newPass123");
    assert_eq!(connect_and_settle(&e, STORE), failed("USER_LOGGED_IN"));

    // Log out, disconnect the FAILED store, connect again.
    assert_eq!(
        cli_ok(&e, CLUSTER, "kms-shell", "logout"),
        json!("Logout successful")
    );
    disconnect(&e, STORE);
    reconnect(&e, STORE);
    encrypt(&e, ALIAS, "back");
}

#[test]
fn connect_answers_at_once_and_completes_two_seconds_later() {
    let e = example();
    assert_eq!(e.config().timing.connect_seconds, 2);
    disconnect(&e, STORE);
    let before = e.now();
    assert_eq!(
        call(
            &e,
            "ConnectCustomKeyStore",
            json!({"CustomKeyStoreId": STORE})
        ),
        json!({})
    );
    assert_eq!(e.now(), before, "Connect does not move the clock");
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        unavailable(KEY_ARN)
    );
    e.advance(Duration::from_millis(1_999));
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    e.advance(Duration::from_millis(1));
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    encrypt(&e, ALIAS, "connected");
}

#[test]
fn settle_runs_the_connect_attempt_to_its_end() {
    let e = example();
    disconnect(&e, STORE);
    connect(&e, STORE);
    assert_eq!(e.settle(), Duration::from_secs(2));
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    assert_eq!(e.settle(), Duration::ZERO);
}

#[test]
fn connect_rotates_the_kmsuser_password() {
    let e = example();
    disconnect(&e, STORE);
    set_kmsuser_password(&e, CLUSTER, "newPass123");
    tell_store_password(&e, STORE, "newPass123");
    reconnect(&e, STORE);

    let rotated = store_password(&e, STORE);
    assert_ne!(rotated, "newPass123");
    assert_eq!(rotated.len(), 32);
    assert!(rotated.bytes().all(|b| b.is_ascii_alphanumeric()));

    // The password the operator set no longer works.
    disconnect(&e, STORE);
    let message = cli_err(
        &e,
        CLUSTER,
        "kms-shell",
        "login --username kmsuser --role crypto-user --password newPass123",
    );
    assert!(message.contains("Invalid"), "{message}");
    // Only KMS's secret does.
    cli_ok(
        &e,
        CLUSTER,
        "kms-shell",
        &format!("login --username kmsuser --role crypto-user --password {rotated}"),
    );
}

#[test]
fn a_failed_connect_does_not_rotate_the_password() {
    let e = example();
    disconnect(&e, STORE);
    set_kmsuser_password(&e, CLUSTER, "newPass123");
    tell_store_password(&e, STORE, "notThePassword1");
    assert_eq!(connect_and_settle(&e, STORE), failed("INVALID_CREDENTIALS"));
    assert_eq!(store_password(&e, STORE), "notThePassword1");
    cli_ok(
        &e,
        CLUSTER,
        "kms-shell",
        "login --username kmsuser --role crypto-user --password newPass123",
    );
}
