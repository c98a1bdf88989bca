//! R8. Logging in as `kmsuser`: while the store is connected KMS holds the
//! login, so nobody else can log in as `kmsuser` or change its password;
//! after disconnecting, the documented sequence works.

use serde_json::json;

use super::*;

#[test]
fn kmsuser_cannot_log_in_while_the_store_is_connected_even_with_the_right_password() {
    let e = example();
    // The right password is the one KMS rotated to and holds.
    let secret = store_password(&e, STORE);
    let message = kmsuser_login_refused(&e, &secret);
    assert!(message.contains("logged in"), "{message}");
    // A refused login with the right password is not a failed login.
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "false");
    // KMS still works.
    encrypt(&e, ALIAS, "unaffected");

    // Once disconnected, the same password logs in.
    disconnect(&e, STORE);
    log_in_as_kmsuser(&e, CLUSTER, "kms-shell", &secret);
}

#[test]
fn admin_cannot_change_the_kmsuser_password_while_the_store_is_connected() {
    let e = example();
    let change = "user change-password --username kmsuser --role crypto-user --password newPass123";
    let message = admin_err(&e, CLUSTER, change);
    assert!(message.contains("logged in"), "{message}");
    // Nothing changed: KMS keeps working.
    encrypt(&e, ALIAS, "unaffected");

    disconnect(&e, STORE);
    admin_ok(&e, CLUSTER, change);
}

#[test]
fn documented_login_sequence_after_disconnecting() {
    let e = disconnected();
    log_in_as_admin(&e, CLUSTER, "shell");
    cli_ok(
        &e,
        CLUSTER,
        "shell",
        "user change-password --username kmsuser --role crypto-user --password knownPass1",
    );
    log_out(&e, CLUSTER, "shell");
    log_in_as_kmsuser(&e, CLUSTER, "shell", "knownPass1");
    // KMS labels the HSM key with the KMS key ARN.
    let matched = key_list(&e, CLUSTER, "shell", &format!("attr.label=\"{KEY_ARN}\""));
    assert_eq!(matched.len(), 1, "{matched:?}");
    assert_eq!(matched[0]["attributes"]["label"], json!(KEY_ARN));
    assert!(matched[0]["key-reference"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
}

#[test]
fn cli_login_needs_a_password_and_the_exact_role() {
    let e = disconnected();
    // Usernames are case-insensitive, roles are not.
    cli_ok(
        &e,
        CLUSTER,
        "shell",
        "login --username ADMIN --role admin --password adminPassword1",
    );
    cli_ok(&e, CLUSTER, "shell", "logout");
    cli_err(
        &e,
        CLUSTER,
        "shell",
        "login --username admin --role Admin --password adminPassword1",
    );
    cli_err(&e, CLUSTER, "shell", "login --username admin --role admin");
}
