//! R9. Logging out and reconnecting: a `kmsuser` left logged in fails the
//! reconnect with `USER_LOGGED_IN`; ConnectCustomKeyStore answers `{}` at
//! once and the store is `CONNECTING` until the attempt completes; during it
//! KMS rotates the `kmsuser` password.

use std::time::Duration;

use super::*;

#[test]
fn a_forgotten_logout_fails_the_reconnect_with_user_logged_in() {
    let cause = |e: &Engine| {
        take_over_kmsuser(e, "newPass123");
        cli_ok(e, CLUSTER, "kms-shell", "key list");
        // ... and the operator forgets `logout`.
        tell_store_password(e, STORE, "newPass123");
    };
    let e = fails_to_connect(cause, "USER_LOGGED_IN");

    // Log out, disconnect the FAILED store, connect again.
    repair(&e, |e| log_out(e, CLUSTER, "kms-shell"));
    encrypt(&e, ALIAS, "back");
}

#[test]
fn connect_answers_at_once_and_completes_two_seconds_later() {
    let e = example();
    assert_eq!(e.config().timing.connect_seconds, 2);
    disconnect(&e, STORE);
    let before = e.now();
    connect(&e, STORE);
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
    let e = disconnected();
    connect(&e, STORE);
    assert_eq!(e.settle(), Duration::from_secs(2));
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    assert_eq!(e.settle(), Duration::ZERO);
}

#[test]
fn connect_rotates_the_kmsuser_password() {
    let e = disconnected();
    reset_kmsuser_password(&e, "newPass123");
    reconnect(&e, STORE);

    let rotated = store_password(&e, STORE);
    assert_ne!(rotated, "newPass123");
    assert_eq!(rotated.len(), 32);
    assert!(rotated.bytes().all(|b| b.is_ascii_alphanumeric()));

    // The password the operator set no longer works.
    disconnect(&e, STORE);
    let message = kmsuser_login_refused(&e, "newPass123");
    assert!(message.contains("Invalid"), "{message}");
    // Only KMS's secret does.
    log_in_as_kmsuser(&e, CLUSTER, "kms-shell", &rotated);
}

#[test]
fn a_failed_connect_does_not_rotate_the_password() {
    let cause = |e: &Engine| {
        set_kmsuser_password(e, CLUSTER, "newPass123");
        tell_store_password(e, STORE, "notThePassword1");
    };
    let e = fails_to_connect(cause, "INVALID_CREDENTIALS");
    assert_eq!(store_password(&e, STORE), "notThePassword1");
    log_in_as_kmsuser(&e, CLUSTER, "kms-shell", "newPass123");
}
