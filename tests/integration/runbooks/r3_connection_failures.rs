//! R3. Connection failures: each `ConnectionErrorCode` from its cause (each
//! test disconnects, causes, connects, settles and reads
//! DescribeCustomKeyStores), the `FAILED` state's rules, and configuration
//! errors that fail ConnectCustomKeyStore at once.

use hsmdrill::engine::NetworkCondition;
use serde_json::json;

use super::*;

/// A world whose store is connected but holds no keys, so that `kmsuser`
/// owns nothing and an admin may delete it.
const EMPTY_STORE_WORLD: &str = r#"
seed: 3
clusters:
  - id: cluster-2b3c4d5e6f7
custom_key_stores:
  - {id: cks-0123456789abcdef0, name: EmptyStore, cluster: cluster-2b3c4d5e6f7, connected: true}
"#;

/// Connects the example store and requires `FAILED` with `code`.
fn assert_connect_fails(e: &Engine, code: &str) {
    assert_eq!(connect_and_settle(e, STORE), failed(code));
}

#[test]
fn cluster_not_found_when_the_cluster_was_deleted() {
    let e = example();
    disconnect(&e, STORE);
    e.destroy_cluster(CLUSTER).unwrap();
    assert_connect_fails(&e, "CLUSTER_NOT_FOUND");
}

#[test]
fn insufficient_cloudhsm_hsms_when_every_hsm_was_deleted() {
    let e = example();
    disconnect(&e, STORE);
    delete_all_hsms(&e, CLUSTER);
    assert_connect_fails(&e, "INSUFFICIENT_CLOUDHSM_HSMS");

    // Fix: add an HSM, disconnect, connect.
    create_hsm(&e, CLUSTER, "us-west-2a");
    e.settle();
    disconnect(&e, STORE);
    reconnect(&e, STORE);
}

#[test]
fn insufficient_free_addresses_in_subnet_when_a_subnet_is_full() {
    let e = example();
    disconnect(&e, STORE);
    let subnets = subnets(&e, CLUSTER);
    assert_eq!(subnets.len(), 2);
    e.set_free_addresses(&subnets[0], 0).unwrap();
    assert_connect_fails(&e, "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET");

    e.set_free_addresses(&subnets[0], 2).unwrap();
    disconnect(&e, STORE);
    reconnect(&e, STORE);
}

#[test]
fn internal_error_when_kms_fails_internally() {
    let e = example();
    disconnect(&e, STORE);
    e.inject_internal_errors(CLUSTER, 1).unwrap();
    assert_connect_fails(&e, "INTERNAL_ERROR");

    // Transient: disconnect and connect again.
    disconnect(&e, STORE);
    reconnect(&e, STORE);
}

#[test]
fn invalid_credentials_when_the_store_password_is_wrong() {
    let e = example();
    disconnect(&e, STORE);
    tell_store_password(&e, STORE, "notThePassword1");
    assert_connect_fails(&e, "INVALID_CREDENTIALS");
}

#[test]
fn network_errors_when_the_network_path_is_blocked() {
    let e = example();
    disconnect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
    assert_connect_fails(&e, "NETWORK_ERRORS");

    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    disconnect(&e, STORE);
    reconnect(&e, STORE);
}

#[test]
fn subnet_not_found_when_a_cluster_subnet_was_deleted() {
    let e = example();
    disconnect(&e, STORE);
    let subnets = subnets(&e, CLUSTER);
    e.delete_subnet(&subnets[1]).unwrap();
    assert_connect_fails(&e, "SUBNET_NOT_FOUND");
}

#[test]
fn user_locked_out_when_kmsuser_is_locked() {
    let e = example();
    disconnect(&e, STORE);
    lock_kmsuser(&e, CLUSTER);
    assert_connect_fails(&e, "USER_LOCKED_OUT");
}

#[test]
fn user_logged_in_when_a_cli_session_is_logged_in_as_kmsuser() {
    let e = example();
    disconnect(&e, STORE);
    set_kmsuser_password(&e, CLUSTER, "knownPass123");
    cli_ok(
        &e,
        CLUSTER,
        "ops",
        "login --username kmsuser --role crypto-user --password knownPass123",
    );
    tell_store_password(&e, STORE, "knownPass123");
    assert_connect_fails(&e, "USER_LOGGED_IN");
}

#[test]
fn user_not_found_when_an_admin_deleted_kmsuser() {
    let e = world_from(EMPTY_STORE_WORLD);
    let (store, cluster) = ("cks-0123456789abcdef0", "cluster-2b3c4d5e6f7");
    assert_eq!(store_state(&e, store), state("CONNECTED"));
    disconnect(&e, store);
    cli_ok(
        &e,
        cluster,
        "admin-shell",
        &format!("login --username admin --role admin --password {ADMIN_PASSWORD}"),
    );
    let data = cli_ok(
        &e,
        cluster,
        "admin-shell",
        "user delete --username kmsuser --role crypto-user",
    );
    assert_eq!(data, json!({"username": "kmsuser", "role": "crypto-user"}));
    cli_ok(&e, cluster, "admin-shell", "logout");
    assert_eq!(connect_and_settle(&e, store), failed("USER_NOT_FOUND"));
}

#[test]
fn kmsuser_owning_keys_cannot_be_deleted() {
    let e = example();
    disconnect(&e, STORE);
    cli_ok(
        &e,
        CLUSTER,
        "admin-shell",
        &format!("login --username admin --role admin --password {ADMIN_PASSWORD}"),
    );
    cli_err(
        &e,
        CLUSTER,
        "admin-shell",
        "user delete --username kmsuser --role crypto-user",
    );
}

#[test]
fn connection_error_code_is_present_only_when_failed() {
    let e = example();
    let no_code = |e: &Engine| {
        let entry = store_entry(e, STORE);
        assert!(entry.get("ConnectionErrorCode").is_none(), "{entry}");
    };
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    no_code(&e);
    disconnect(&e, STORE);
    no_code(&e);
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
    connect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    no_code(&e);
    e.settle();
    assert_eq!(
        store_entry(&e, STORE)["ConnectionErrorCode"],
        json!("NETWORK_ERRORS")
    );
    disconnect(&e, STORE);
    no_code(&e);
}

#[test]
fn connecting_a_failed_store_is_invalid_state_and_it_stays_failed() {
    let e = example();
    disconnect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
    assert_connect_fails(&e, "NETWORK_ERRORS");

    // Even with the cause gone, a FAILED store must be disconnected first.
    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    let (name, message) = fail(
        &e,
        "ConnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
    assert!(message.contains("FAILED"), "{message}");
    e.settle();
    assert_eq!(store_state(&e, STORE), failed("NETWORK_ERRORS"));
    // Keys of a FAILED store are Unavailable.
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
}

#[test]
fn disconnecting_a_failed_store_makes_it_disconnected() {
    let e = example();
    disconnect(&e, STORE);
    e.inject_internal_errors(CLUSTER, 1).unwrap();
    assert_connect_fails(&e, "INTERNAL_ERROR");
    disconnect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));
}

#[test]
fn disconnecting_a_disconnected_store_is_invalid_state() {
    let e = example();
    disconnect(&e, STORE);
    let (name, _) = fail(
        &e,
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
}

#[test]
fn connecting_is_visible_before_the_attempt_completes() {
    let e = example();
    disconnect(&e, STORE);
    connect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    // Keys are not usable yet.
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    // Connect on a CONNECTING store is valid and changes nothing.
    connect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    e.settle();
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    // And on a CONNECTED store.
    connect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
}

#[test]
fn broken_security_group_fails_connect_at_once_and_leaves_the_store_disconnected() {
    let e = example();
    disconnect(&e, STORE);
    e.set_security_group_ok(CLUSTER, false).unwrap();
    let (name, message) = fail(
        &e,
        "ConnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CloudHsmClusterInvalidConfigurationException");
    assert!(message.contains("2223-2225"), "{message}");
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));
    e.settle();
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));

    // Fix the rule and connect.
    e.set_security_group_ok(CLUSTER, true).unwrap();
    reconnect(&e, STORE);
}

#[test]
fn one_free_address_in_each_subnet_is_enough() {
    let e = example();
    disconnect(&e, STORE);
    for s in subnets(&e, CLUSTER) {
        e.set_free_addresses(&s, 1).unwrap();
    }
    reconnect(&e, STORE);
}

#[test]
fn disconnecting_a_connecting_store_abandons_the_attempt() {
    let e = example();
    disconnect(&e, STORE);
    connect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("CONNECTING"));
    disconnect(&e, STORE);
    e.settle();
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
}

/// The example world with a disconnect that takes five seconds.
const SLOW_DISCONNECT: &str = r#"
seed: 5
timing: {disconnect_seconds: 5}
clusters:
  - id: cluster-1a23b4cdefg
custom_key_stores:
  - {id: cks-1234567890abcdef0, name: ExampleKeyStore, connected: true}
keys:
  - {id: 1234abcd-12ab-34cd-56ef-1234567890ab}
"#;

#[test]
fn a_disconnecting_store_can_be_neither_connected_nor_disconnected_nor_updated() {
    let e = world_from(SLOW_DISCONNECT);
    call(
        &e,
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(store_state(&e, STORE), state("DISCONNECTING"));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    for (op, input) in [
        ("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE})),
        (
            "DisconnectCustomKeyStore",
            json!({"CustomKeyStoreId": STORE}),
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "newPass123"}),
        ),
        ("DeleteCustomKeyStore", json!({"CustomKeyStoreId": STORE})),
    ] {
        let (name, message) = fail(&e, op, input);
        assert_eq!(name, "CustomKeyStoreInvalidStateException", "{op}");
        assert!(message.contains("DISCONNECTING"), "{op}: {message}");
    }
    assert_eq!(e.settle(), std::time::Duration::from_secs(5));
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));
    reconnect(&e, STORE);
}

#[test]
fn the_attempt_is_judged_against_the_world_when_it_completes() {
    // A cause that appears while CONNECTING fails the attempt ...
    let e = example();
    disconnect(&e, STORE);
    connect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
    e.settle();
    assert_eq!(store_state(&e, STORE), failed("NETWORK_ERRORS"));

    // ... and one fixed while CONNECTING does not.
    let e = example();
    disconnect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
    connect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    e.settle();
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
}
