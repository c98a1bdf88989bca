//! R4. Failed cryptographic operations: `KMSInvalidStateException` with the
//! network message (retry first; then check egress rules) or the
//! locked-out `kmsuser` message (disconnect, reset, update, reconnect).

use hsmdrill::engine::{kms, NetworkCondition};

use super::*;

#[test]
fn the_messages_are_the_engine_constants() {
    assert_eq!(kms::CANNOT_COMMUNICATE, CANNOT_COMMUNICATE);
    assert_eq!(kms::KMSUSER_LOCKED_OUT, KMSUSER_LOCKED_OUT);
}

#[test]
fn blocked_network_fails_crypto_with_the_cannot_communicate_message() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    e.set_network(CLUSTER, NetworkCondition::Blocked).unwrap();

    assert_crypto_fails(&e, &blob, cannot_communicate());
    // It persists: retrying does not help while egress is blocked.
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        cannot_communicate()
    );
    // The store and the key look fine.
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
    assert_eq!(key_state(&e, KEY_ID), "Enabled");

    e.set_network(CLUSTER, NetworkCondition::Ok).unwrap();
    assert_eq!(decrypt(&e, &blob), "before");
}

#[test]
fn flaky_network_fails_twice_then_succeeds_on_retry() {
    let e = example();
    e.set_network(CLUSTER, NetworkCondition::Flaky(2)).unwrap();
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        cannot_communicate()
    );
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        cannot_communicate()
    );
    let blob = encrypt(&e, ALIAS, "third time lucky");
    assert_eq!(decrypt(&e, &blob), "third time lucky");
    assert_eq!(e.network(CLUSTER).unwrap(), NetworkCondition::Ok);
}

#[test]
fn broken_security_group_while_connected_fails_crypto_with_the_cannot_communicate_message() {
    let e = example();
    e.set_security_group_ok(CLUSTER, false).unwrap();
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        cannot_communicate()
    );
    e.set_security_group_ok(CLUSTER, true).unwrap();
    encrypt(&e, ALIAS, "fixed");
}

#[test]
fn locked_kmsuser_fails_crypto_with_the_locked_out_message() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    // Five wrong passwords while KMS holds the login: the password is
    // checked first, so each counts.
    lock_kmsuser(&e, CLUSTER);
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "true");

    let locked_out = error("KMSInvalidStateException", KMSUSER_LOCKED_OUT);
    assert_crypto_fails(&e, &blob, locked_out);

    // The repair the message names: disconnect, reset the password, update
    // the store, reconnect.
    disconnect(&e, STORE);
    reset_kmsuser_password(&e, "resetPass123");
    assert_eq!(user_locked(&e, CLUSTER, "kmsuser"), "false");
    reconnect(&e, STORE);
    assert_eq!(decrypt(&e, &blob), "before");
}

#[test]
fn locked_kmsuser_refuses_create_key_and_generate_random_in_the_store() {
    let e = example();
    lock_kmsuser(&e, CLUSTER);
    // Neither operation lists KMSInvalidStateException (docs/fidelity.md I54).
    let locked_out = error("CustomKeyStoreInvalidStateException", KMSUSER_LOCKED_OUT);
    let create = json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE});
    assert_eq!(fail(&e, "CreateKey", create.clone()), locked_out);
    assert_eq!(
        fail(&e, "GenerateRandom", random_input(16, STORE)),
        locked_out
    );
    // Random bytes from KMS itself need no kmsuser.
    call(&e, "GenerateRandom", json!({"NumberOfBytes": 16}));

    disconnect(&e, STORE);
    reset_kmsuser_password(&e, "resetPass123");
    reconnect(&e, STORE);
    call(&e, "CreateKey", create);
    call(&e, "GenerateRandom", random_input(16, STORE));
}
