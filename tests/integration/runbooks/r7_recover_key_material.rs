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
    set_kmsuser_password(e, CLUSTER, "tempPass123");
    cli_ok(
        e,
        CLUSTER,
        "kms-shell",
        "login --username kmsuser --role crypto-user --password tempPass123",
    );
    let deleted = cli_ok(
        e,
        CLUSTER,
        "kms-shell",
        &format!("key delete --filter attr.label={KEY_ARN}"),
    );
    assert_eq!(deleted, json!({"message": "Key deleted successfully"}));
    cli_ok(e, CLUSTER, "kms-shell", "logout");
    tell_store_password(e, STORE, "tempPass123");
    reconnect(e, STORE);
}

/// The backups DescribeBackups lists for the cluster, oldest first.
fn backups_of(e: &Engine, cluster: &str) -> Vec<serde_json::Value> {
    let out = call(
        e,
        "DescribeBackups",
        json!({"Filters": {"clusterIds": [cluster]}, "SortAscending": true}),
    );
    out["Backups"].as_array().expect("Backups").clone()
}

/// CreateCluster from `backup` in two new subnets, then two HSMs in two
/// Availability Zones; returns the new cluster id.
fn restore_cluster(e: &Engine, backup: &str, subnets: [&str; 2]) -> String {
    let out = call(
        e,
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": subnets, "SourceBackupId": backup}),
    );
    let cluster = out["Cluster"]["ClusterId"].as_str().unwrap().to_owned();
    assert_eq!(out["Cluster"]["State"], json!("CREATE_IN_PROGRESS"));
    assert_eq!(out["Cluster"]["SourceBackupId"], json!(backup));
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
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    delete_key_material(&e);

    assert_eq!(
        fail(&e, "Encrypt", encrypt_input(ALIAS)),
        unavailable(KEY_ARN)
    );
    assert_eq!(
        fail(&e, "Decrypt", json!({"CiphertextBlob": blob})),
        unavailable(KEY_ARN)
    );
    // The reported state does not change (docs/fidelity.md F3: AWS's pages
    // conflict; docs/fidelity.md I4), and the store is connected.
    assert_eq!(key_state(&e, KEY_ID), "Enabled");
    assert_eq!(store_state(&e, STORE), state("CONNECTED"));
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
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    delete_key_material(&e);
    assert_eq!(
        fail(&e, "Decrypt", json!({"CiphertextBlob": blob})),
        unavailable(KEY_ARN)
    );

    assert!(backups_of(&e, CLUSTER)
        .iter()
        .any(|b| b["BackupId"] == json!(BACKUP)));
    let restored = restore_cluster(&e, BACKUP, ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"]);
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
    let (name, _) = fail(&e, "Decrypt", json!({"CiphertextBlob": blob}));
    assert_eq!(name, "KMSInvalidStateException");
    // Backups outlive their cluster.
    assert!(backups_of(&e, CLUSTER)
        .iter()
        .any(|b| b["BackupId"] == json!(backup)));

    let restored = restore_cluster(&e, &backup, ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"]);
    move_store_to(&e, &restored);
    assert_eq!(decrypt(&e, &blob), "before");
}

#[test]
fn update_to_an_unrelated_cluster_is_cloud_hsm_cluster_not_related() {
    let e = example();
    // A brand-new cluster: created, HSMs, initialized, activated.
    let out = call(
        &e,
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0123abcd01", "subnet-0123abcd02"]}),
    );
    let other = out["Cluster"]["ClusterId"].as_str().unwrap().to_owned();
    e.settle();
    assert_eq!(cluster_state(&e, &other), "UNINITIALIZED");
    create_hsm(&e, &other, "us-west-2a");
    create_hsm(&e, &other, "us-west-2b");
    e.settle();
    call(
        &e,
        "InitializeCluster",
        json!({
            "ClusterId": other,
            "SignedCert": "-----BEGIN CERTIFICATE-----\nb3RoZXI=\n-----END CERTIFICATE-----\n",
            "TrustAnchor": "-----BEGIN CERTIFICATE-----\nYW5jaG9y\n-----END CERTIFICATE-----\n",
        }),
    );
    e.settle();
    assert_eq!(cluster_state(&e, &other), "INITIALIZED");
    cli_ok(
        &e,
        &other,
        "admin-shell",
        "cluster activate --password adminPassword1",
    );
    assert_eq!(cluster_state(&e, &other), "ACTIVE");

    disconnect(&e, STORE);
    let (name, _) = fail(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": other}),
    );
    assert_eq!(name, "CloudHsmClusterNotRelatedException");
    assert_eq!(store_entry(&e, STORE)["CloudHsmClusterId"], json!(CLUSTER));
}

#[test]
fn update_of_the_cluster_requires_a_disconnected_store() {
    let e = example();
    let restored = restore_cluster(&e, BACKUP, ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"]);
    let (name, _) = fail(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "CloudHsmClusterId": restored}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
}

#[test]
fn only_the_owning_crypto_user_can_delete_a_key() {
    let e = example();
    disconnect(&e, STORE);
    cli_ok(
        &e,
        CLUSTER,
        "admin-shell",
        "login --username admin --role admin --password adminPassword1",
    );
    let created = cli_ok(
        &e,
        CLUSTER,
        "admin-shell",
        "user create --username alice --role crypto-user --password alicePass1",
    );
    assert_eq!(created, json!({"username": "alice", "role": "crypto-user"}));
    // An admin cannot delete keys either.
    cli_err(
        &e,
        CLUSTER,
        "admin-shell",
        &format!("key delete --filter attr.label={KEY_ARN}"),
    );
    cli_ok(&e, CLUSTER, "admin-shell", "logout");

    cli_ok(
        &e,
        CLUSTER,
        "alice-shell",
        "login --username alice --role crypto-user --password alicePass1",
    );
    cli_err(
        &e,
        CLUSTER,
        "alice-shell",
        &format!("key delete --filter attr.label={KEY_ARN}"),
    );
    cli_ok(&e, CLUSTER, "alice-shell", "logout");

    // kmsuser still owns it, and the key still works.
    set_kmsuser_password(&e, CLUSTER, "ownerPass123");
    cli_ok(
        &e,
        CLUSTER,
        "kms-shell",
        "login --username kmsuser --role crypto-user --password ownerPass123",
    );
    let found = cli_ok(
        &e,
        CLUSTER,
        "kms-shell",
        &format!("key list --filter attr.label={KEY_ARN}"),
    );
    assert_eq!(found["matched_keys"].as_array().unwrap().len(), 1);
    cli_ok(&e, CLUSTER, "kms-shell", "logout");
    tell_store_password(&e, STORE, "ownerPass123");
    reconnect(&e, STORE);
    encrypt(&e, ALIAS, "still here");
}

#[test]
fn a_backup_taken_after_the_deletion_cannot_recover_the_material() {
    let e = example();
    let blob = encrypt(&e, ALIAS, "before");
    delete_key_material(&e);
    let late = e.take_backup(CLUSTER).unwrap();
    e.settle();
    let restored = restore_cluster(&e, &late, ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"]);
    move_store_to(&e, &restored);
    assert_eq!(
        fail(&e, "Decrypt", json!({"CiphertextBlob": blob})),
        unavailable(KEY_ARN)
    );
}

#[test]
fn a_cluster_sharing_backup_history_with_a_store_cluster_is_in_use() {
    let e = example();
    let restored = restore_cluster(&e, BACKUP, ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"]);
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
    let e = example();
    disconnect(&e, STORE);
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

    let out = call(
        &e,
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0a1b2c3d4e", "subnet-0f9e8d7c6b"], "SourceBackupId": BACKUP}),
    );
    let restored = out["Cluster"]["ClusterId"].as_str().unwrap().to_owned();
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
