//! The runbooks an operator follows through the SDKs: R5 (a kmsuser
//! password changed behind KMS's back, then kmsuser locked out, then the
//! repair) and R7 (key material deleted from the cluster, recovered by
//! moving the store to a cluster made from a backup).

use aws_sdk_cloudhsmv2 as cloudhsm;
use aws_sdk_kms as kms;

use cloudhsm::types::{BackupState, ClusterState};
use kms::operation::connect_custom_key_store::ConnectCustomKeyStoreError;
use kms::operation::decrypt::DecryptError;
use kms::operation::generate_data_key::GenerateDataKeyError;
use kms::operation::update_custom_key_store::UpdateCustomKeyStoreError;
use kms::types::{ConnectionErrorCodeType, ConnectionStateType, DataKeySpec};
use serde_json::json;

use super::drill::{all_hsms_active, Drill};
use super::{CLUSTER, KEY_ARN, STORE, WORLD_BACKUP};

/// A password changed behind KMS's back gives INVALID_CREDENTIALS; five
/// wrong passwords lock kmsuser (USER_LOCKED_OUT); the repair (disconnect,
/// reset the password as admin, UpdateCustomKeyStore, reconnect) brings the
/// store and the old ciphertext back.
#[tokio::test]
async fn r5_invalid_credentials_then_user_locked_out_then_repaired() {
    let d = Drill::start();
    assert_eq!(
        d.connection_state(STORE).await,
        ConnectionStateType::Connected
    );
    let before = d.encrypt("alias/app", "made before the incident").await;

    // INVALID_CREDENTIALS: the password changed while disconnected.
    d.disconnect(STORE).await;
    d.reset_kmsuser_password(CLUSTER, "changedPass1");
    assert_eq!(
        d.connect_failure(STORE).await,
        ConnectionErrorCodeType::InvalidCredentials
    );
    // A FAILED store cannot be connected: disconnect first.
    assert_refused!(
        d.kms
            .connect_custom_key_store()
            .custom_key_store_id(STORE)
            .send(),
        ConnectCustomKeyStoreError::CustomKeyStoreInvalidStateException(_)
    );
    d.disconnect(STORE).await;
    d.update_password(STORE, "changedPass1").await;
    assert_eq!(
        d.connect_and_settle(STORE).await,
        ConnectionStateType::Connected
    );

    // USER_LOCKED_OUT: five wrong passwords in the CloudHSM CLI.
    d.disconnect(STORE).await;
    for _ in 0..5 {
        d.cli_err(
            CLUSTER,
            "intruder",
            "login --username kmsuser --role crypto-user --password wrongPass1",
        );
    }
    let users = d.cli_ok(CLUSTER, "intruder", "user list");
    assert_eq!(users["users"][1]["username"], json!("kmsuser"));
    assert_eq!(users["users"][1]["locked"], json!("true"));
    assert_eq!(
        d.connect_failure(STORE).await,
        ConnectionErrorCodeType::UserLockedOut
    );
    d.assert_unavailable("alias/app").await;

    // The repair.
    d.disconnect(STORE).await;
    let entry = d.store(STORE).await;
    assert_eq!(
        entry.connection_state(),
        Some(&ConnectionStateType::Disconnected)
    );
    assert_eq!(entry.connection_error_code(), None);
    d.reset_kmsuser_password(CLUSTER, "newPass123");
    d.update_password(STORE, "newPass123").await;
    d.connect(STORE).await;
    assert_eq!(
        d.connection_state(STORE).await,
        ConnectionStateType::Connecting
    );
    assert_eq!(
        d.settle_connect(STORE).await,
        ConnectionStateType::Connected
    );
    assert_eq!(d.decrypt(&before).await, "made before the incident");
}

/// The key material is deleted from the cluster; a cluster restored from a
/// backup taken while the key existed brings it back, and what was encrypted
/// before decrypts again.
#[tokio::test]
async fn r7_deleted_key_material_is_recovered_from_a_backup_into_a_new_cluster() {
    let d = Drill::start();

    // A backup on demand, while the key exists (an hour after the world's,
    // so DescribeBackups lists it first).
    d.advance(3600);
    let b = d.backup(CLUSTER);
    d.advance(60);
    let before = d.encrypt("alias/app", "before").await;

    // The incident: someone deletes the key material as kmsuser.
    d.disconnect(STORE).await;
    d.reset_kmsuser_password(CLUSTER, "tempPass123");
    d.cli_ok(
        CLUSTER,
        "kms",
        "login --username kmsuser --role crypto-user --password tempPass123",
    );
    let deleted = d.cli_ok(
        CLUSTER,
        "kms",
        &format!("key delete --filter attr.label={KEY_ARN}"),
    );
    assert_eq!(deleted["message"], json!("Key deleted successfully"));
    d.cli_ok(CLUSTER, "kms", "logout");
    d.update_password(STORE, "tempPass123").await;
    assert_eq!(
        d.connect_and_settle(STORE).await,
        ConnectionStateType::Connected
    );

    // The store is connected, yet the key cannot be used.
    d.assert_unavailable("alias/app").await;
    assert_refused!(
        d.kms.decrypt().ciphertext_blob(before.clone()).send(),
        DecryptError::KmsInvalidStateException(_)
    );
    assert_refused!(
        d.kms
            .generate_data_key()
            .key_id("alias/app")
            .key_spec(DataKeySpec::Aes256)
            .send(),
        GenerateDataKeyError::KmsInvalidStateException(_)
    );

    // Recovery. The cluster's backups, newest first, on both protocols.
    let listed = d.backups(CLUSTER).await;
    assert_eq!(listed[0].backup_id(), b);
    assert_eq!(listed[0].backup_state(), Some(&BackupState::Ready));
    assert_eq!(listed[0].cluster_id(), Some(CLUSTER));
    assert_eq!(listed[1].backup_id(), WORLD_BACKUP);

    // A cluster from the backup, in the same subnets (over CBOR).
    let old = d.cluster(CLUSTER).await;
    let subnets = old.subnet_mapping().unwrap();
    let created = d
        .create_cluster([&subnets["us-west-2a"], &subnets["us-west-2b"]], Some(&b))
        .await;
    let new_cluster = created.cluster_id().unwrap().to_owned();
    // A cluster from a backup is already initialized and activated, with no
    // HSM.
    let restored = d
        .wait_for_cluster(&new_cluster, |c| {
            c.state() != Some(&ClusterState::CreateInProgress)
        })
        .await;
    assert_eq!(restored.state(), Some(&ClusterState::Active));
    assert!(restored.hsms().is_empty());
    d.create_hsm(&d.hsm, &new_cluster, "us-west-2a").await;
    d.create_hsm(&d.hsm_cbor, &new_cluster, "us-west-2b").await;
    d.wait_for_cluster(&new_cluster, |c| all_hsms_active(c, 2))
        .await;

    // The cluster can only be changed while the store is disconnected.
    assert_refused!(
        d.kms
            .update_custom_key_store()
            .custom_key_store_id(STORE)
            .cloud_hsm_cluster_id(&new_cluster)
            .send(),
        UpdateCustomKeyStoreError::CustomKeyStoreInvalidStateException(_)
    );
    d.disconnect(STORE).await;

    // The backup holds the kmsuser password KMS had rotated to: set a known
    // one in the new cluster and tell KMS along with the cluster id.
    d.reset_kmsuser_password(&new_cluster, "recoverPass1");
    d.kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .cloud_hsm_cluster_id(&new_cluster)
        .key_store_password("recoverPass1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.store(STORE).await.cloud_hsm_cluster_id(),
        Some(new_cluster.as_str())
    );
    assert_eq!(
        d.connect_and_settle(STORE).await,
        ConnectionStateType::Connected
    );
    let described = d
        .kms
        .describe_key()
        .key_id("alias/app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.key_metadata().unwrap().cloud_hsm_cluster_id(),
        Some(new_cluster.as_str())
    );

    // What was encrypted before the deletion decrypts again; new work goes on.
    assert_eq!(d.decrypt(&before).await, "before");
    let after = d.encrypt("alias/app", "after").await;
    assert_eq!(d.decrypt(&after).await, "after");
}
