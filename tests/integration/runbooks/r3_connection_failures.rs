//! R3. Connection failures: each `ConnectionErrorCode` from its cause (each
//! test disconnects, causes, connects, settles and reads
//! DescribeCustomKeyStores), the `FAILED` state's rules, and configuration
//! errors that fail ConnectCustomKeyStore at once.

use hsmdrill::engine::NetworkCondition;
use serde_json::json;

use super::*;

/// The CLI line that deletes the `kmsuser` account.
const DELETE_KMSUSER: &str = "user delete --username kmsuser --role crypto-user";

/// R3's cause of `NETWORK_ERRORS`: the cluster's network path is blocked.
fn block_network(e: &Engine) {
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();
}

/// A world whose store is connected but holds no keys, so that `kmsuser`
/// owns nothing and an admin may delete it.
const EMPTY_STORE_WORLD: &str = r#"
seed: 3
clusters:
  - id: cluster-2b3c4d5e6f7
custom_key_stores:
  - {id: cks-0123456789abcdef0, name: EmptyStore, cluster: cluster-2b3c4d5e6f7, connected: true}
"#;

#[test]
fn cluster_not_found_when_the_cluster_was_deleted() {
    fails_to_connect(|e| e.destroy_cluster(CLUSTER).unwrap(), "CLUSTER_NOT_FOUND");
}

#[test]
fn insufficient_cloudhsm_hsms_when_every_hsm_was_deleted() {
    let e = fails_to_connect(
        |e| delete_all_hsms(e, CLUSTER),
        "INSUFFICIENT_CLOUDHSM_HSMS",
    );
    // Fix: add an HSM, disconnect, connect.
    repair(&e, |e| {
        create_hsm(e, CLUSTER, "us-west-2a");
        e.settle();
    });
}

#[test]
fn insufficient_free_addresses_in_subnet_when_a_subnet_is_full() {
    let full = |e: &Engine, free| {
        let subnets = subnets(e, CLUSTER);
        assert_eq!(subnets.len(), 2);
        e.set_free_addresses(&subnets[0], free).unwrap();
    };
    let e = fails_to_connect(|e| full(e, 0), "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET");
    repair(&e, |e| full(e, 2));
}

#[test]
fn internal_error_when_kms_fails_internally() {
    let e = fails_to_connect(
        |e| e.inject_internal_errors(CLUSTER, 1).unwrap(),
        "INTERNAL_ERROR",
    );
    // Transient: disconnect and connect again.
    repair(&e, |_| {});
}

#[test]
fn invalid_credentials_when_the_store_password_is_wrong() {
    fails_to_connect(
        |e| tell_store_password(e, STORE, "notThePassword1"),
        "INVALID_CREDENTIALS",
    );
}

#[test]
fn network_errors_when_the_network_path_is_blocked() {
    let e = fails_to_connect(block_network, "NETWORK_ERRORS");
    repair(&e, |e| {
        e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    });
}

#[test]
fn subnet_not_found_when_a_cluster_subnet_was_deleted() {
    fails_to_connect(
        |e| e.delete_subnet(&subnets(e, CLUSTER)[1]).unwrap(),
        "SUBNET_NOT_FOUND",
    );
}

#[test]
fn user_locked_out_when_kmsuser_is_locked() {
    fails_to_connect(|e| lock_kmsuser(e, CLUSTER), "USER_LOCKED_OUT");
}

#[test]
fn user_logged_in_when_a_cli_session_is_logged_in_as_kmsuser() {
    let cause = |e: &Engine| {
        take_over_kmsuser(e, "knownPass123");
        tell_store_password(e, STORE, "knownPass123");
    };
    fails_to_connect(cause, "USER_LOGGED_IN");
}

#[test]
fn user_not_found_when_an_admin_deleted_kmsuser() {
    let e = world_from(EMPTY_STORE_WORLD);
    let (store, cluster) = ("cks-0123456789abcdef0", "cluster-2b3c4d5e6f7");
    assert_eq!(store_state(&e, store), state("CONNECTED"));
    disconnect(&e, store);
    let data = admin_ok(&e, cluster, DELETE_KMSUSER);
    assert_eq!(data, json!({"username": "kmsuser", "role": "crypto-user"}));
    assert_eq!(connect_and_settle(&e, store), failed("USER_NOT_FOUND"));
}

#[test]
fn kmsuser_owning_keys_cannot_be_deleted() {
    let e = disconnected();
    admin_err(&e, CLUSTER, DELETE_KMSUSER);
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
    block_network(&e);
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
    let e = fails_to_connect(block_network, "NETWORK_ERRORS");

    // Even with the cause gone, a FAILED store must be disconnected first.
    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    let (name, message) = fail(&e, "ConnectCustomKeyStore", key_store_input(STORE));
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
    assert!(message.contains("FAILED"), "{message}");
    e.settle();
    assert_eq!(store_state(&e, STORE), failed("NETWORK_ERRORS"));
    // Keys of a FAILED store are Unavailable.
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
}

#[test]
fn disconnecting_a_failed_store_makes_it_disconnected() {
    let e = fails_to_connect(
        |e| e.inject_internal_errors(CLUSTER, 1).unwrap(),
        "INTERNAL_ERROR",
    );
    disconnect(&e, STORE);
    assert_eq!(store_state(&e, STORE), state("DISCONNECTED"));
}

#[test]
fn disconnecting_a_disconnected_store_is_invalid_state() {
    let e = disconnected();
    assert_eq!(
        exception(&e, "DisconnectCustomKeyStore", key_store_input(STORE)),
        "CustomKeyStoreInvalidStateException"
    );
}

#[test]
fn connecting_is_visible_before_the_attempt_completes() {
    let e = disconnected();
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
    let e = disconnected();
    e.set_security_group_ok(CLUSTER, false).unwrap();
    let (name, message) = fail(&e, "ConnectCustomKeyStore", key_store_input(STORE));
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
    let e = disconnected();
    for s in subnets(&e, CLUSTER) {
        e.set_free_addresses(&s, 1).unwrap();
    }
    reconnect(&e, STORE);
}

#[test]
fn disconnecting_a_connecting_store_abandons_the_attempt() {
    let e = disconnected();
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
    call(&e, "DisconnectCustomKeyStore", key_store_input(STORE));
    assert_eq!(store_state(&e, STORE), state("DISCONNECTING"));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    for (op, input) in [
        ("ConnectCustomKeyStore", key_store_input(STORE)),
        ("DisconnectCustomKeyStore", key_store_input(STORE)),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "newPass123"}),
        ),
        ("DeleteCustomKeyStore", key_store_input(STORE)),
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
    let e = disconnected();
    connect(&e, STORE);
    block_network(&e);
    e.settle();
    assert_eq!(store_state(&e, STORE), failed("NETWORK_ERRORS"));

    // ... and one fixed while CONNECTING does not.
    let e = disconnected();
    block_network(&e);
    connect(&e, STORE);
    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    e.settle();
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
}
