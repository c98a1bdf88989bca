//! R7. Recovering deleted key material: deleted material (or a deleted
//! cluster) makes the key unusable; a cluster created from a backup taken
//! while the key existed, pointed at by UpdateCustomKeyStore, brings every
//! old ciphertext back. Only related clusters are accepted, and only the
//! owning crypto user can delete a key.

use serde_json::json;

use super::*;

/// R6/R7: as `kmsuser`, deletes the example key's material from the
/// cluster, then reconnects the store.
fn delete_key_material(e: &Engine) {
    disconnect(e, STORE);
    take_over_kmsuser(e, "tempPass123");
    let deleted = cli_ok(e, CLUSTER, "kms-shell", &delete_the_key());
    assert_eq!(deleted, json!({"message": "Key deleted successfully"}));
    hand_kmsuser_back(e, "tempPass123");
}

/// The example world after R7's incident: a ciphertext made under the key,
/// then the key's material deleted from the cluster; returns the engine and
/// the ciphertext.
fn material_deleted() -> (Engine, String) {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    delete_key_material(&e);
    (e, blob)
}

/// The CLI line that deletes the example key's material.
fn delete_the_key() -> String {
    format!("key delete --filter attr.label={KEY_ARN}")
}

/// Two subnets for the new clusters.
const SUBNETS: [&str; 2] = ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"];

/// The backups DescribeBackups lists for the cluster, oldest first.
fn backups_of(e: &Engine, cluster: &str) -> Vec<serde_json::Value> {
    let out = call(
        e,
        "DescribeBackups",
        json!({"Filters": {"clusterIds": [cluster]}, "SortAscending": true}),
    );
    out["Backups"].as_array().expect("Backups").clone()
}

/// CreateCluster from `backup` in [`SUBNETS`], then two HSMs in two
/// Availability Zones; returns the new cluster id.
fn restore_cluster(e: &Engine, backup: &str) -> String {
    let cluster = create_cluster(e, SUBNETS, Some(backup));
    e.settle();
    // A cluster from a backup is already initialized and activated.
    assert_eq!(cluster_state(e, &cluster), "ACTIVE");
    assert_eq!(describe_cluster(e, &cluster)["Hsms"], json!([]));
    create_hsm(e, &cluster, "us-west-2a");
    create_hsm(e, &cluster, "us-west-2b");
    e.settle();
    let hsms = describe_cluster(e, &cluster)["Hsms"].clone();
    assert_eq!(hsms.as_array().unwrap().len(), 2);
    for h in hsms.as_array().unwrap() {
        assert_eq!(h["State"], json!("ACTIVE"));
    }
    cluster
}

/// Points the store at `cluster`: the backup holds the `kmsuser` password
/// KMS had rotated to, so an admin sets a known one in the new cluster and
/// the store is told it along with the cluster id.
fn move_store_to(e: &Engine, cluster: &str) {
    disconnect(e, STORE);
    set_kmsuser_password(e, cluster, "recoverPass1");
    let out = call(
        e,
        "UpdateCustomKeyStore",
        json!({
            "CustomKeyStoreId": STORE,
            "CloudHsmClusterId": cluster,
            "KeyStorePassword": "recoverPass1",
        }),
    );
    assert_eq!(out, json!({}));
    assert_eq!(store_entry(e, STORE)["CloudHsmClusterId"], json!(cluster));
    reconnect(e, STORE);
    assert_eq!(describe_key(e, KEY_ID)["CloudHsmClusterId"], json!(cluster));
}

#[test]
fn deleted_key_material_makes_crypto_fail_with_kms_invalid_state() {
    let (e, blob) = material_deleted();
    assert_crypto_fails(&e, &blob, unavailable(KEY_ARN));
    // The reported state does not change at once (docs/fidelity.md F25,
    // I53: "eventually"), and the store is connected.
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
}

#[test]
fn deleted_key_material_makes_the_key_unavailable_after_the_worlds_delay() {
    let (e, blob) = material_deleted();
    // timing.key_material_unavailable_seconds: 300 by default (I53), from
    // the deletion; the reconnect after it took 2 of them.
    e.advance(std::time::Duration::from_secs(290));
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    e.advance(std::time::Duration::from_secs(10));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    assert_eq!(describe_key(&e, KEY_ID)["Enabled"], json!(false));
    assert_crypto_fails(&e, &blob, unavailable(KEY_ARN));
    // Managing the key follows the Unavailable column (F3): DisableKey
    // succeeds without changing what it reads.
    call(&e, "DisableKey", json!({"KeyId": KEY_ID}));
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
}

#[test]
fn a_world_sets_the_delay_before_deleted_material_reads_unavailable() {
    let path = crate::support::example_world();
    let yaml = std::fs::read_to_string(path).unwrap()
        + "\ntiming:\n  key_material_unavailable_seconds: 0\n";
    let e = world_from(&yaml);
    delete_key_material(&e);
    assert_eq!(key_state(&e, KEY_ID), "Unavailable");
}

#[test]
fn describe_backups_finds_the_backup_of_the_cluster() {
    let e = example();
    let backups = backups_of(&e, CLUSTER);
    let ids: Vec<&str> = backups
        .iter()
        .map(|b| b["BackupId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&BACKUP), "{ids:?}");
    let b = backups
        .iter()
        .find(|b| b["BackupId"] == json!(BACKUP))
        .unwrap();
    assert_eq!(b["BackupState"], json!("READY"));
    assert_eq!(b["ClusterId"], json!(CLUSTER));

    let none = call(
        &e,
        "DescribeBackups",
        json!({"Filters": {"clusterIds": ["cluster-234567abcde"]}}),
    );
    assert_eq!(none["Backups"], json!([]));
}

#[test]
fn a_cluster_from_a_backup_recovers_deleted_key_material() {
    let (e, blob) = material_deleted();
    assert_eq!(
        fail(&e, "Decrypt", decrypt_input(&blob)),
        unavailable(KEY_ARN)
    );

    assert!(backups_of(&e, CLUSTER)
        .iter()
        .any(|b| b["BackupId"] == json!(BACKUP)));
    let restored = restore_cluster(&e, BACKUP);
    assert_ne!(restored, CLUSTER);
    move_store_to(&e, &restored);

    assert_eq!(decrypt(&e, &blob), "before");
    let fresh = encrypt(&e, ALIAS, "after");
    assert_eq!(decrypt(&e, &fresh), "after");
}

#[test]
fn a_cluster_from_a_backup_recovers_after_the_original_cluster_is_destroyed() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    // A backup taken now, on demand.
    let backup = e.take_backup(CLUSTER).unwrap();
    e.settle();
    let listed = backups_of(&e, CLUSTER);
    let entry = listed
        .iter()
        .find(|b| b["BackupId"] == json!(backup))
        .unwrap();
    assert_eq!(entry["BackupState"], json!("READY"));

    e.destroy_cluster(CLUSTER).unwrap();
    assert_eq!(cluster_state(&e, CLUSTER), "DELETED");
    assert_eq!(
        exception(&e, "Decrypt", decrypt_input(&blob)),
        "KMSInvalidStateException"
    );
    // Backups outlive their cluster.
    assert!(backups_of(&e, CLUSTER)
        .iter()
        .any(|b| b["BackupId"] == json!(backup)));

    let restored = restore_cluster(&e, &backup);
    move_store_to(&e, &restored);
    assert_eq!(decrypt(&e, &blob), "before");
}

#[test]
fn update_to_an_unrelated_cluster_is_cloud_hsm_cluster_not_related() {
    let e = example();
    // A brand-new cluster: created, HSMs, initialized, activated.
    let (other, _) = new_active_cluster(&e, ["subnet-0123abcd01", "subnet-0123abcd02"]);
    disconnect(&e, STORE);
    let update = json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": other});
    assert_eq!(
        exception(&e, "UpdateCustomKeyStore", update),
        "CloudHsmClusterNotRelatedException"
    );
    assert_eq!(store_entry(&e, STORE)["CloudHsmClusterId"], json!(CLUSTER));
}

#[test]
fn update_of_the_cluster_requires_a_disconnected_store() {
    let e = example();
    let restored = restore_cluster(&e, BACKUP);
    let update = json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": restored});
    assert_eq!(
        exception(&e, "UpdateCustomKeyStore", update),
        "CustomKeyStoreInvalidStateException"
    );
}

#[test]
fn only_the_owning_crypto_user_can_delete_a_key() {
    let e = disconnected();
    let create_alice = "user create --username alice --role crypto-user --password alicePass1";
    let created = admin_ok(&e, CLUSTER, create_alice);
    assert_eq!(created, json!({"username": "alice", "role": "crypto-user"}));
    // An admin cannot delete keys either.
    admin_err(&e, CLUSTER, &delete_the_key());

    let alice = "login --username alice --role crypto-user --password alicePass1";
    cli_ok(&e, CLUSTER, "alice-shell", alice);
    cli_err(&e, CLUSTER, "alice-shell", &delete_the_key());
    log_out(&e, CLUSTER, "alice-shell");

    // kmsuser still owns it, and the key still works.
    take_over_kmsuser(&e, "ownerPass123");
    let found = key_list(&e, CLUSTER, "kms-shell", &format!("attr.label={KEY_ARN}"));
    assert_eq!(found.len(), 1);
    hand_kmsuser_back(&e, "ownerPass123");
    encrypt(&e, ALIAS, "still here");
}

#[test]
fn a_backup_taken_after_the_deletion_cannot_recover_the_material() {
    let (e, blob) = material_deleted();
    let late = e.take_backup(CLUSTER).unwrap();
    e.settle();
    let restored = restore_cluster(&e, &late);
    move_store_to(&e, &restored);
    assert_eq!(
        fail(&e, "Decrypt", decrypt_input(&blob)),
        unavailable(KEY_ARN)
    );
}

#[test]
fn a_cluster_sharing_backup_history_with_a_store_cluster_is_in_use() {
    let e = example();
    let restored = restore_cluster(&e, BACKUP);
    let anchor = store_entry(&e, STORE)["TrustAnchorCertificate"].clone();
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        json!({
            "CustomKeyStoreName": "SecondStore",
            "CloudHsmClusterId": restored,
            "TrustAnchorCertificate": anchor,
            "KeyStorePassword": "kmsPassword1",
        }),
    );
    assert_eq!(name, "CloudHsmClusterInUseException");
}

#[test]
fn the_new_cluster_must_exist_be_active_and_have_two_hsms() {
    let e = disconnected();
    let update = |cluster: &str| {
        fail(
            &e,
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": cluster}),
        )
        .0
    };
    assert_eq!(
        update("cluster-234567abcde"),
        "CloudHsmClusterNotFoundException"
    );

    let restored = create_cluster(&e, SUBNETS, Some(BACKUP));
    assert_eq!(update(&restored), "CloudHsmClusterNotActiveException");
    e.settle();
    assert_eq!(
        update(&restored),
        "CloudHsmClusterInvalidConfigurationException"
    );
    create_hsm(&e, &restored, "us-west-2a");
    e.settle();
    assert_eq!(
        update(&restored),
        "CloudHsmClusterInvalidConfigurationException"
    );
    create_hsm(&e, &restored, "us-west-2b");
    e.settle();
    call(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": restored}),
    );
    assert_eq!(store_entry(&e, STORE)["CloudHsmClusterId"], json!(restored));
    let events = e.trail_events(Some("UpdateCustomKeyStore"));
    let ok = events.last().unwrap();
    assert_eq!(
        ok["requestParameters"],
        json!({"customKeyStoreId": STORE, "clusterId": restored})
    );
}
