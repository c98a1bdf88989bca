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
    let line = format!("login --username kmsuser --role crypto-user --password {secret}");
    let message = cli_err(&e, CLUSTER, "kms-shell", &line);
    assert!(message.contains("logged in"), "{message}");
    // A refused login with the right password is not a failed login.
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "false");
    // KMS still works.
    encrypt(&e, ALIAS, "unaffected");

    // Once disconnected, the same password logs in.
    disconnect(&e, STORE);
    assert_eq!(
        cli_ok(&e, CLUSTER, "kms-shell", &line),
        json!({"username": "kmsuser", "role": "crypto-user"})
    );
}

#[test]
fn admin_cannot_change_the_kmsuser_password_while_the_store_is_connected() {
    let e = example();
    cli_ok(
        &e,
        CLUSTER,
        "admin-shell",
        "login --username admin --role admin --password adminPassword1",
    );
    let change = "user change-password --username kmsuser --role crypto-user --password newPass123";
    let message = cli_err(&e, CLUSTER, "admin-shell", change);
    assert!(message.contains("logged in"), "{message}");
    // Nothing changed: KMS keeps working.
    encrypt(&e, ALIAS, "unaffected");

    disconnect(&e, STORE);
    cli_ok(&e, CLUSTER, "admin-shell", change);
}

#[test]
fn documented_login_sequence_after_disconnecting() {
    let e = example();
    disconnect(&e, STORE);
    assert_eq!(
        cli_ok(
            &e,
            CLUSTER,
            "shell",
            "login --username admin --role admin --password adminPassword1"
        ),
        json!({"username": "admin", "role": "admin"})
    );
    cli_ok(
        &e,
        CLUSTER,
        "shell",
        "user change-password --username kmsuser --role crypto-user --password knownPass1",
    );
    assert_eq!(
        cli_ok(&e, CLUSTER, "shell", "logout"),
        json!("Logout successful")
    );
    assert_eq!(
        cli_ok(
            &e,
            CLUSTER,
            "shell",
            "login --username kmsuser --role crypto-user --password knownPass1"
        ),
        json!({"username": "kmsuser", "role": "crypto-user"})
    );
    // KMS labels the HSM key with the KMS key ARN.
    let found = cli_ok(
        &e,
        CLUSTER,
        "shell",
        &format!("key list --filter attr.label=\"{KEY_ARN}\""),
    );
    let matched = found["matched_keys"].as_array().unwrap();
    assert_eq!(matched.len(), 1, "{found}");
    assert_eq!(matched[0]["attributes"]["label"], json!(KEY_ARN));
    assert!(matched[0]["key-reference"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
}

#[test]
fn cli_login_needs_a_password_and_the_exact_role() {
    let e = example();
    disconnect(&e, STORE);
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
