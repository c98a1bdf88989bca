//! R6. Orphaned key material: when KMS deletes a key at the end of its
//! waiting period while it cannot reach the cluster, the `DeleteKey` trail
//! event says `FAILURE` and names the backing key, which an operator then
//! deletes as `kmsuser` with `key delete --filter attr.id=0x…`.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;

const DAY: Duration = Duration::from_secs(86_400);

/// Parses one of CloudTrail's JSON-in-a-string members.
fn json_string(v: &Value) -> Value {
    serde_json::from_str(v.as_str().unwrap_or_else(|| panic!("a JSON string: {v}")))
        .unwrap_or_else(|err| panic!("{v} is not JSON: {err}"))
}

/// The only `DeleteKey` event.
fn delete_key_event(e: &Engine) -> Value {
    let events = e.trail_events(Some("DeleteKey"));
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].clone()
}

/// Schedules the example key's deletion with a 7-day waiting period, lets
/// `meanwhile` happen, then lets 8 days pass, so that KMS deletes the key;
/// returns the `DeleteKey` trail event.
fn wait_out_the_deletion(e: &Engine, meanwhile: impl FnOnce(&Engine)) -> Value {
    schedule_deletion(e, KEY_ID, 7);
    meanwhile(e);
    e.advance(8 * DAY);
    delete_key_event(e)
}

/// A `DeleteKey` event's `backingKeysDeletionStatus`, parsed.
fn deletion_status(event: &Value) -> Value {
    json_string(&event["additionalEventData"]["backingKeysDeletionStatus"])
}

/// The example key's backing key id and handle as CreateKey-time data shows
/// them (DescribeKey does not).
fn backing_key(e: &Engine) -> (String, u64) {
    e.with_state(|st| {
        let k = st
            .keys
            .get(KEY_ID)
            .and_then(|k| k.store())
            .expect("store key");
        (k.backing_key_id.to_string(), k.key_handle)
    })
}

#[test]
fn deletion_while_disconnected_orphans_the_material_and_the_repair_deletes_it() {
    let e = example();
    let (expected_backing, _) = backing_key(&e);
    let blob = encrypt(&e, ALIAS, "doomed");
    let event = wait_out_the_deletion(&e, |e| disconnect(e, STORE));

    // The key is gone from KMS.
    assert_eq!(
        fail(&e, "DescribeKey", json!({"KeyId": KEY_ID})),
        error(
            "NotFoundException",
            &format!("Key '{KEY_ARN}' does not exist")
        )
    );
    assert_eq!(
        exception(&e, "Decrypt", decrypt_input(&blob)),
        "NotFoundException"
    );

    // The trail reports the failed best-effort deletion.
    assert_eq!(event["eventType"], json!("AwsServiceEvent"));
    assert_eq!(event["userIdentity"]["invokedBy"], json!("AWS Internal"));
    assert_eq!(event["requestParameters"], Value::Null);
    let data = &event["additionalEventData"];
    assert_eq!(data["customKeyStoreId"], json!(STORE));
    assert_eq!(data["clusterId"], json!(CLUSTER));
    // R6's page prints the entries with the backing key id alone.
    assert_eq!(
        json_string(&data["backingKeys"]),
        json!([{"backingKeyId": expected_backing}])
    );
    let status = deletion_status(&event);
    assert_eq!(
        status,
        json!([{
            "backingKeyId": expected_backing,
            "deletionStatus": "FAILURE",
        }])
    );
    assert_eq!(event["sourceIPAddress"], json!("AWS Internal"));
    assert_eq!(event["userAgent"], json!("AWS Internal"));
    assert_eq!(event["responseElements"], json!({"keyId": KEY_ARN}));
    let backing = status[0]["backingKeyId"].as_str().unwrap().to_owned();

    // The repair: log in as kmsuser (R8), find the material, delete it.
    take_over_kmsuser(&e, "orphanPass1");
    let filter = format!("attr.id=0x{backing}");
    let matched = key_list(&e, CLUSTER, "kms-shell", &format!("{filter} --verbose"));
    assert_eq!(matched.len(), 1, "{matched:?}");
    assert_eq!(matched[0]["attributes"]["label"], json!(KEY_ARN));
    assert_eq!(
        matched[0]["attributes"]["id"],
        json!(format!("0x{backing}"))
    );
    assert_eq!(
        matched[0]["key-info"]["key-owners"][0]["username"],
        json!("kmsuser")
    );

    let deleted = cli(
        &e,
        CLUSTER,
        "kms-shell",
        &format!("key delete --filter attr.id=\"0x{backing}\""),
    );
    assert_eq!(
        deleted,
        json!({"error_code": 0, "data": {"message": "Key deleted successfully"}})
    );
    assert_eq!(
        deleted.to_string(),
        r#"{"error_code":0,"data":{"message":"Key deleted successfully"}}"#
    );
    let after = key_list(&e, CLUSTER, "kms-shell", &filter);
    assert!(after.is_empty(), "{after:?}");

    // Log out, tell KMS the password, reconnect (R9).
    hand_kmsuser_back(&e, "orphanPass1");
}

#[test]
fn backing_key_id_without_the_0x_prefix_matches_nothing() {
    let e = example();
    let (backing, _) = backing_key(&e);
    disconnect(&e, STORE);
    take_over_kmsuser(&e, "orphanPass1");
    let bare = key_list(&e, CLUSTER, "kms-shell", &format!("attr.id={backing}"));
    assert!(bare.is_empty(), "{bare:?}");
    let prefixed = key_list(&e, CLUSTER, "kms-shell", &format!("attr.id=0x{backing}"));
    assert_eq!(prefixed.len(), 1);
}

#[test]
fn deletion_while_connected_deletes_the_material_and_the_trail_says_success() {
    let e = example();
    let (backing, _) = backing_key(&e);
    schedule_deletion(&e, KEY_ID, 7);
    e.advance(6 * DAY);
    assert_eq!(key_state(&e, KEY_ID), "PendingDeletion");
    assert!(e.trail_events(Some("DeleteKey")).is_empty());
    e.advance(2 * DAY);
    // The alias went with the key.
    for key in [KEY_ID, ALIAS] {
        let name = exception(&e, "DescribeKey", json!({"KeyId": key}));
        assert_eq!(name, "NotFoundException", "{key}");
    }

    let data = delete_key_event(&e)["additionalEventData"].clone();
    assert_eq!(data["customKeyStoreId"], json!(STORE));
    assert_eq!(data["clusterId"], json!(CLUSTER));
    assert_eq!(
        json_string(&data["backingKeysDeletionStatus"]),
        json!([{
            "backingKeyId": backing,
            "deletionStatus": "SUCCESS",
        }])
    );

    // Nothing is left in the cluster (an admin sees every key).
    disconnect(&e, STORE);
    log_in_as_admin(&e, CLUSTER, "admin-shell");
    let left = key_list(&e, CLUSTER, "admin-shell", &format!("attr.id=0x{backing}"));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn crypto_trail_events_carry_the_custom_key_store_and_backing_key() {
    let e = example();
    let (backing, handle) = backing_key(&e);
    let blob = encrypt(&e, ALIAS, "audited");
    decrypt(&e, &blob);
    call(
        &e,
        "GenerateDataKey",
        json!({"KeyId": KEY_ID, "KeySpec": "AES_256"}),
    );
    for op in ["Encrypt", "Decrypt", "GenerateDataKey"] {
        let events = e.trail_events(Some(op));
        assert_eq!(events.len(), 1, "{op}: {events:?}");
        let data = &events[0]["additionalEventData"];
        assert_eq!(data["customKeyStoreId"], json!(STORE), "{op}");
        assert_eq!(
            json_string(&data["backingKey"]),
            json!({"keyHandle": handle.to_string(), "backingKeyId": backing}),
            "{op}"
        );
        assert_eq!(events[0]["resources"][0]["ARN"], json!(KEY_ARN), "{op}");
    }
}

#[test]
fn create_key_trail_event_has_the_backing_key() {
    let e = example();
    let key = create_key(&e, STORE);
    let events = e.trail_events(Some("CreateKey"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["requestParameters"]["origin"], json!("AWS_CLOUDHSM"));
    assert_eq!(event["requestParameters"]["customKeyStoreId"], json!(STORE));
    let meta = &event["responseElements"]["keyMetadata"];
    assert_eq!(meta["keyId"], json!(key));
    assert_eq!(meta["customKeyStoreId"], json!(STORE));
    assert_eq!(meta["cloudHsmClusterId"], json!(CLUSTER));
    assert_eq!(meta["origin"], json!("AWS_CLOUDHSM"));
    let backing = json_string(&event["additionalEventData"]["backingKey"]);
    let id = backing["backingKeyId"].as_str().unwrap();
    assert!(backing["keyHandle"].is_string(), "{backing}");

    // The backing key is the new key's material in the cluster.
    disconnect(&e, STORE);
    take_over_kmsuser(&e, "findPass123");
    let found = key_list(&e, CLUSTER, "kms-shell", &format!("attr.id=0x{id}"));
    assert_eq!(
        found[0]["attributes"]["label"],
        json!(format!("arn:aws:kms:us-west-2:111122223333:key/{key}"))
    );
}

#[test]
fn schedule_key_deletion_trail_event_names_the_backing_keys() {
    let e = example();
    let (backing, handle) = backing_key(&e);
    schedule_deletion(&e, KEY_ID, 7);
    let events = e.trail_events(Some("ScheduleKeyDeletion"));
    assert_eq!(events.len(), 1);
    let data = &events[0]["additionalEventData"];
    assert_eq!(data["customKeyStoreId"], json!(STORE));
    assert_eq!(data["clusterId"], json!(CLUSTER));
    assert_eq!(
        json_string(&data["backingKeys"]),
        json!([{"keyHandle": handle.to_string(), "backingKeyId": backing}])
    );
}

#[test]
fn deletion_while_connected_but_unreachable_fails_too() {
    let e = example();
    let blocked = |e: &Engine| {
        e.set_network(CLUSTER, hsmdrill::engine::NetworkCondition::Blocked)
            .unwrap();
    };
    let event = wait_out_the_deletion(&e, blocked);
    assert_eq!(
        deletion_status(&event)[0]["deletionStatus"],
        json!("FAILURE")
    );
}

#[test]
fn backups_keep_the_material_of_a_deleted_key() {
    let e = example();
    let (backing, _) = backing_key(&e);
    let event = wait_out_the_deletion(&e, |_| {});
    assert_eq!(
        deletion_status(&event)[0]["deletionStatus"],
        json!("SUCCESS")
    );

    // The backup taken before still holds it.
    let subnets = ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"];
    let restored = create_cluster(&e, subnets, Some(BACKUP));
    e.settle();
    create_hsm(&e, &restored, "us-west-2a");
    e.settle();
    set_kmsuser_password(&e, &restored, "backupPass1");
    log_in_as_kmsuser(&e, &restored, "kms-shell", "backupPass1");
    let found = key_list(&e, &restored, "kms-shell", &format!("attr.id=0x{backing}"));
    assert_eq!(found[0]["attributes"]["label"], json!(KEY_ARN));
}

#[test]
fn failed_crypto_calls_are_in_the_trail_with_the_custom_key_store_and_backing_key() {
    let e = example();
    let (backing, handle) = backing_key(&e);
    disconnect(&e, STORE);
    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        unavailable(KEY_ARN)
    );
    let events = e.trail_events(Some("Encrypt"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["errorCode"], json!("KMSInvalidStateException"));
    assert_eq!(
        event["errorMessage"],
        json!(format!("{KEY_ARN} is unavailable."))
    );
    assert_eq!(
        event["additionalEventData"]["customKeyStoreId"],
        json!(STORE)
    );
    assert_eq!(
        json_string(&event["additionalEventData"]["backingKey"]),
        json!({"keyHandle": handle.to_string(), "backingKeyId": backing})
    );
}

#[test]
fn re_encrypt_and_data_key_events_carry_the_custom_key_store_and_backing_key() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "audited");
    call(
        &e,
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "DestinationKeyId": KEY_ID}),
    );
    call(
        &e,
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": KEY_ID, "NumberOfBytes": 32}),
    );
    for op in ["ReEncrypt", "GenerateDataKeyWithoutPlaintext"] {
        let events = e.trail_events(Some(op));
        assert_eq!(events.len(), 1, "{op}");
        let data = &events[0]["additionalEventData"];
        assert_eq!(data["customKeyStoreId"], json!(STORE), "{op}");
        assert!(data["backingKey"].is_string(), "{op}: {data}");
    }
}

#[test]
fn key_store_events_name_the_store_and_cluster() {
    let e = disconnected();
    tell_store_password(&e, STORE, "kmsPassword9");
    connect(&e, STORE);
    for op in [
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
        "ConnectCustomKeyStore",
    ] {
        let events = e.trail_events(Some(op));
        assert_eq!(events.len(), 1, "{op}");
        let event = &events[0];
        assert_eq!(
            event["requestParameters"],
            json!({"customKeyStoreId": STORE}),
            "{op}"
        );
        assert_eq!(
            event["additionalEventData"],
            json!({"customKeyStoreName": STORE_NAME, "clusterId": CLUSTER}),
            "{op}"
        );
        // The password never appears.
        assert!(!event.to_string().contains("kmsPassword9"), "{op}: {event}");
    }
}
