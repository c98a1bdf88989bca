//! The embedded cloud: partitions apart, and the one operation between
//! them.

use std::path::Path;

use hsmdrill::engine::cloud::{Cloud, Partition};
use hsmdrill::engine::world;
use serde_json::{json, Value};

const US: (&str, &str) = ("111122223333", "us-west-2");
const EU: (&str, &str) = ("111122223333", "eu-west-1");
const OTHER: (&str, &str) = ("444455556666", "us-west-2");
const BACKUP: &str = "backup-9g87f6edcba";

fn cloud() -> Cloud {
    world::load_cloud_file(Path::new(super::WORLD)).unwrap()
}

fn call(c: &Cloud, at: (&str, &str), op: &str, input: Value) -> Value {
    c.call(&Partition::new(at.0, at.1), op, input)
        .unwrap_or_else(|e| panic!("{op} in {at:?}: {e}"))
}

/// `(exception, message)` of a call that must fail.
fn refusal(c: &Cloud, at: (&str, &str), op: &str, input: Value) -> (String, String) {
    let e = c
        .call(&Partition::new(at.0, at.1), op, input)
        .expect_err(op);
    (e.aws_name().to_owned(), e.message().to_owned())
}

#[test]
fn each_partition_sees_only_its_own_state_and_arns() {
    let c = cloud();
    let count = |at, op, member: &str| {
        call(&c, at, op, json!({}))[member]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(US, "ListKeys", "Keys"), 1);
    assert_eq!(count(EU, "ListKeys", "Keys"), 0);
    assert_eq!(count(EU, "DescribeCustomKeyStores", "CustomKeyStores"), 0);
    assert_eq!(count(EU, "DescribeClusters", "Clusters"), 0);
    assert_eq!(count(EU, "DescribeBackups", "Backups"), 0);
    assert_eq!(count(OTHER, "DescribeClusters", "Clusters"), 1);
    let arn = |at, alias: &str| {
        call(&c, at, "DescribeKey", json!({"KeyId": alias}))["KeyMetadata"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(arn(US, "alias/app").starts_with("arn:aws:kms:us-west-2:111122223333:key/"));
    assert!(arn(OTHER, "alias/other").starts_with("arn:aws:kms:us-west-2:444455556666:key/"));
    assert_eq!(
        refusal(&c, OTHER, "DescribeKey", json!({"KeyId": "alias/app"})).0,
        "NotFoundException"
    );
    // A partition no world declared comes into being empty when named.
    assert_eq!(count(("111122223333", "ap-south-1"), "ListKeys", "Keys"), 0);
}

#[test]
fn a_ciphertext_does_not_decrypt_in_another_region() {
    let c = cloud();
    let out = call(
        &c,
        US,
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
    );
    let blob = out["CiphertextBlob"].clone();
    let key_arn = out["KeyId"].clone();
    assert_eq!(
        call(&c, US, "Decrypt", json!({"CiphertextBlob": blob}))["Plaintext"],
        "aGk="
    );
    assert_eq!(
        refusal(&c, EU, "Decrypt", json!({"CiphertextBlob": blob})),
        (
            "InvalidCiphertextException".into(),
            "The ciphertext refers to a KMS key that does not exist in this account and Region."
                .into()
        )
    );
    assert_eq!(
        refusal(
            &c,
            EU,
            "Decrypt",
            json!({"CiphertextBlob": blob, "KeyId": key_arn})
        ),
        (
            "NotFoundException".into(),
            format!("Invalid arn {}", key_arn.as_str().unwrap())
        )
    );
    // Nor in another account of the same Region.
    assert_eq!(
        refusal(&c, OTHER, "Decrypt", json!({"CiphertextBlob": blob})).0,
        "InvalidCiphertextException"
    );
}

#[test]
fn a_backup_copied_to_another_region_restores_a_cluster_with_its_lineage() {
    let c = cloud();
    let dest = call(
        &c,
        US,
        "CopyBackupToRegion",
        json!({"BackupId": BACKUP, "DestinationRegion": "eu-west-1"}),
    );
    let source = call(&c, US, "DescribeBackups", json!({}))["Backups"][0].clone();
    assert_eq!(
        dest["DestinationBackup"],
        json!({
            "CreateTimestamp": source["CreateTimestamp"],
            "SourceRegion": "us-west-2",
            "SourceBackup": BACKUP,
            "SourceCluster": "cluster-1a23b4cdefg",
        })
    );
    let copy = &call(&c, EU, "DescribeBackups", json!({}))["Backups"][0];
    assert_eq!(copy["BackupState"], "CREATE_IN_PROGRESS");
    assert_eq!(copy["SourceRegion"], "us-west-2");
    assert_eq!(copy["SourceBackup"], BACKUP);
    assert_eq!(copy["SourceCluster"], "cluster-1a23b4cdefg");
    assert!(copy["BackupArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:cloudhsm:eu-west-1:111122223333:backup/"));
    let copy_id = copy["BackupId"].as_str().unwrap().to_owned();
    assert_ne!(copy_id, BACKUP);
    // Not READY yet: nothing can be made of it.
    let subnets = json!(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]);
    let create =
        json!({"HsmType": "hsm2m.medium", "SourceBackupId": copy_id, "SubnetIds": subnets});
    assert_eq!(
        refusal(&c, EU, "CreateCluster", create.clone()).0,
        "CloudHsmInvalidRequestException"
    );
    c.settle();
    assert_eq!(
        call(&c, EU, "DescribeBackups", json!({}))["Backups"][0]["BackupState"],
        "READY"
    );
    let cluster = call(&c, EU, "CreateCluster", create)["Cluster"].clone();
    assert_eq!(cluster["SourceBackupId"], copy_id.as_str());
    c.settle();
    let restored = &call(&c, EU, "DescribeClusters", json!({}))["Clusters"][0];
    let original = &call(&c, US, "DescribeClusters", json!({}))["Clusters"][0];
    assert_eq!(restored["State"], "ACTIVE");
    // The same cluster certificates: the lineage that makes the restored
    // cluster related to the original (UpdateCustomKeyStore's check).
    assert_eq!(restored["Certificates"], original["Certificates"]);
}

#[test]
fn copy_backup_to_region_refuses_what_aws_refuses() {
    let c = cloud();
    let copy = |backup: &str, region: &str| {
        refusal(
            &c,
            US,
            "CopyBackupToRegion",
            json!({"BackupId": backup, "DestinationRegion": region}),
        )
    };
    assert_eq!(
        copy(BACKUP, "us-west-2").0,
        "CloudHsmInvalidRequestException"
    );
    assert_eq!(
        copy(BACKUP, "xx-nowhere-1").0,
        "CloudHsmInvalidRequestException"
    );
    assert_eq!(
        copy("backup-aaaaaaaaaaa", "eu-west-1"),
        (
            "CloudHsmResourceNotFoundException".into(),
            "Backup backup-aaaaaaaaaaa not found.".into()
        )
    );
    assert_eq!(
        refusal(&c, US, "CopyBackupToRegion", json!({"BackupId": BACKUP})).0,
        "ValidationException"
    );
    // The copy's own Region has no such backup to copy back.
    call(
        &c,
        US,
        "CopyBackupToRegion",
        json!({"BackupId": BACKUP, "DestinationRegion": "eu-west-1"}),
    );
    assert_eq!(
        refusal(
            &c,
            EU,
            "CopyBackupToRegion",
            json!({"BackupId": BACKUP, "DestinationRegion": "us-east-1"})
        )
        .0,
        "CloudHsmResourceNotFoundException"
    );
}

#[test]
fn the_default_partition_of_a_multi_region_world_is_the_single_region_world() {
    // regions.yaml's top level is example.yaml's items under the same seed:
    // the same ids and the same answers.
    let single = world::load_file(&crate::support::example_world()).unwrap();
    let c = cloud();
    for op in ["DescribeCustomKeyStores", "DescribeClusters", "ListAliases"] {
        assert_eq!(
            single.call(op, json!({})).unwrap(),
            call(&c, US, op, json!({})),
            "{op}"
        );
    }
}
