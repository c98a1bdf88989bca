//! The CloudHSM cluster lifecycle the runbooks lean on (CreateCluster →
//! `UNINITIALIZED` → CreateHsm → InitializeCluster → `INITIALIZED` →
//! `cluster activate` → `ACTIVE`), CreateCustomKeyStore's checks against
//! it, and the key store operations around them: deletion, paging, unknown
//! ids.

use std::time::Duration;

use serde_json::json;

use super::*;

const TRUST_ANCHOR: &str =
    "-----BEGIN CERTIFICATE-----\nY3VzdG9tZXJDQSBmb3IgYSBkcmlsbA==\n-----END CERTIFICATE-----\n";
const SIGNED_CERT: &str =
    "-----BEGIN CERTIFICATE-----\nc2lnbmVkIGNsdXN0ZXIgY2VydA==\n-----END CERTIFICATE-----\n";

/// CreateCustomKeyStore's input for the new cluster.
fn store_input(name: &str, cluster: &str, anchor: &str) -> serde_json::Value {
    json!({
        "CustomKeyStoreName": name,
        "CloudHsmClusterId": cluster,
        "TrustAnchorCertificate": anchor,
        "KeyStorePassword": "kmsPassword1",
    })
}

#[test]
fn a_new_cluster_goes_from_create_to_active_and_backs_a_new_key_store() {
    let e = example();

    // CreateCluster.
    let out = call(
        &e,
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0c1d2e3f4a", "subnet-0c1d2e3f4b"]}),
    );
    let cluster = out["Cluster"]["ClusterId"].as_str().unwrap().to_owned();
    assert!(cluster.starts_with("cluster-"), "{cluster}");
    assert_eq!(out["Cluster"]["State"], json!("CREATE_IN_PROGRESS"));
    assert_eq!(cluster_state(&e, &cluster), "CREATE_IN_PROGRESS");
    e.settle();
    let described = describe_cluster(&e, &cluster);
    assert_eq!(described["State"], json!("UNINITIALIZED"));
    assert!(
        described["Certificates"]["ClusterCsr"].is_string(),
        "{described}"
    );
    assert_eq!(
        described["SubnetMapping"],
        json!({"us-west-2a": "subnet-0c1d2e3f4a", "us-west-2b": "subnet-0c1d2e3f4b"})
    );

    // InitializeCluster needs an active HSM.
    let init =
        json!({"ClusterId": cluster, "SignedCert": SIGNED_CERT, "TrustAnchor": TRUST_ANCHOR});
    let (name, _) = fail(&e, "InitializeCluster", init.clone());
    assert_eq!(name, "CloudHsmInvalidRequestException");
    create_hsm(&e, &cluster, "us-west-2a");
    e.settle();
    let out = call(&e, "InitializeCluster", init);
    assert_eq!(out["State"], json!("INITIALIZE_IN_PROGRESS"));
    e.settle();
    assert_eq!(cluster_state(&e, &cluster), "INITIALIZED");

    // Not usable for a key store until activated.
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, TRUST_ANCHOR),
    );
    assert_eq!(name, "CloudHsmClusterNotActiveException");

    // `cluster activate` gives the admin its password.
    cli_err(
        &e,
        &cluster,
        "admin-shell",
        "login --username admin --role admin --password adminPassword1",
    );
    cli_ok(
        &e,
        &cluster,
        "admin-shell",
        "cluster activate --password adminPassword1",
    );
    assert_eq!(cluster_state(&e, &cluster), "ACTIVE");
    cli_ok(
        &e,
        &cluster,
        "admin-shell",
        "login --username admin --role admin --password adminPassword1",
    );
    cli_ok(
        &e,
        &cluster,
        "admin-shell",
        "user create --username kmsuser --role crypto-user --password kmsPassword1",
    );
    cli_ok(&e, &cluster, "admin-shell", "logout");

    // One HSM is not enough for a key store.
    let (name, message) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, TRUST_ANCHOR),
    );
    assert_eq!(name, "CloudHsmClusterInvalidConfigurationException");
    assert!(message.contains("two active HSMs"), "{message}");
    create_hsm(&e, &cluster, "us-west-2b");
    e.settle();

    // The trust anchor must be the cluster's customerCA.crt.
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, SIGNED_CERT),
    );
    assert_eq!(name, "IncorrectTrustAnchorException");

    // Names are unique.
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input(STORE_NAME, &cluster, TRUST_ANCHOR),
    );
    assert_eq!(name, "CustomKeyStoreNameInUseException");

    // Success: a DISCONNECTED store.
    let out = call(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, TRUST_ANCHOR),
    );
    let store = out["CustomKeyStoreId"].as_str().unwrap().to_owned();
    assert!(store.starts_with("cks-"), "{store}");
    let created = e.trail_events(Some("CreateCustomKeyStore"));
    let created = created.last().unwrap();
    assert_eq!(
        created["requestParameters"],
        json!({"customKeyStoreName": "NewStore", "clusterId": cluster})
    );
    assert_eq!(
        created["responseElements"],
        json!({"customKeyStoreId": store})
    );
    assert!(!created.to_string().contains("kmsPassword1"), "{created}");
    let entry = store_entry(&e, &store);
    assert_eq!(entry["CustomKeyStoreName"], json!("NewStore"));
    assert_eq!(entry["CloudHsmClusterId"], json!(cluster));
    assert_eq!(entry["TrustAnchorCertificate"], json!(TRUST_ANCHOR));
    assert_eq!(entry["ConnectionState"], json!("DISCONNECTED"));
    assert_eq!(entry["CustomKeyStoreType"], json!("AWS_CLOUDHSM"));
    assert!(entry.get("ConnectionErrorCode").is_none(), "{entry}");

    // A cluster backs one store.
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("SecondStore", &cluster, TRUST_ANCHOR),
    );
    assert_eq!(name, "CloudHsmClusterInUseException");
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("ThirdStore", CLUSTER, TRUST_ANCHOR),
    );
    assert_eq!(name, "CloudHsmClusterInUseException");

    // Connect it and use it.
    let (name, _) = fail(
        &e,
        "CreateKey",
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");
    reconnect(&e, &store);
    let key = create_key(&e, &store);
    let meta = describe_key(&e, &key);
    assert_eq!(meta["KeyState"], json!("Enabled"));
    assert_eq!(meta["CustomKeyStoreId"], json!(store));
    assert_eq!(meta["CloudHsmClusterId"], json!(cluster));
    assert_eq!(meta["KeyManager"], json!("CUSTOMER"));
    assert_eq!(meta["KeySpec"], json!("SYMMETRIC_DEFAULT"));
    let blob = encrypt(&e, &key, "in the new store");
    assert_eq!(decrypt(&e, &blob), "in the new store");
}

#[test]
fn create_custom_key_store_with_the_same_properties_as_a_disconnected_one_returns_it() {
    let e = example();
    let out = call(
        &e,
        "CreateCluster",
        json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0c1d2e3f4a", "subnet-0c1d2e3f4b"]}),
    );
    let cluster = out["Cluster"]["ClusterId"].as_str().unwrap().to_owned();
    e.settle();
    create_hsm(&e, &cluster, "us-west-2a");
    create_hsm(&e, &cluster, "us-west-2b");
    e.settle();
    call(
        &e,
        "InitializeCluster",
        json!({"ClusterId": cluster, "SignedCert": SIGNED_CERT, "TrustAnchor": TRUST_ANCHOR}),
    );
    e.settle();
    cli_ok(
        &e,
        &cluster,
        "admin-shell",
        "cluster activate --password adminPassword1",
    );
    let input = store_input("NewStore", &cluster, TRUST_ANCHOR);
    let first = call(&e, "CreateCustomKeyStore", input.clone());
    let again = call(&e, "CreateCustomKeyStore", input);
    assert_eq!(first, again);
}

#[test]
fn delete_custom_key_store_with_keys_is_custom_key_store_has_cmks() {
    let e = example();
    let (name, _) = fail(
        &e,
        "DeleteCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreInvalidStateException");

    disconnect(&e, STORE);
    let (name, _) = fail(
        &e,
        "DeleteCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreHasCMKsException");

    // A key pending deletion still counts.
    call(
        &e,
        "ScheduleKeyDeletion",
        json!({"KeyId": KEY_ID, "PendingWindowInDays": 7}),
    );
    let (name, _) = fail(
        &e,
        "DeleteCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreHasCMKsException");

    // Once it is deleted, so can the store be.
    e.advance(Duration::from_secs(8 * 86_400));
    assert_eq!(
        call(
            &e,
            "DeleteCustomKeyStore",
            json!({"CustomKeyStoreId": STORE})
        ),
        json!({})
    );
    let (name, _) = fail(
        &e,
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreId": STORE}),
    );
    assert_eq!(name, "CustomKeyStoreNotFoundException");
    // The cluster is untouched.
    assert_eq!(cluster_state(&e, CLUSTER), "ACTIVE");
}

/// Three stores on three clusters.
const THREE_STORES: &str = r#"
seed: 11
clusters:
  - id: cluster-aaaaaaaaaaa
  - id: cluster-bbbbbbbbbbb
  - id: cluster-ccccccccccc
custom_key_stores:
  - {name: StoreA, cluster: cluster-aaaaaaaaaaa}
  - {name: StoreB, cluster: cluster-bbbbbbbbbbb, connected: true}
  - {name: StoreC, cluster: cluster-ccccccccccc}
"#;

#[test]
fn describe_custom_key_stores_pages_with_limit_and_marker() {
    let e = world_from(THREE_STORES);
    let all = call(&e, "DescribeCustomKeyStores", json!({}));
    assert_eq!(all["Truncated"], json!(false));
    assert!(all.get("NextMarker").is_none(), "{all}");
    let all: Vec<serde_json::Value> = all["CustomKeyStores"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    for page in 0..3 {
        let mut input = json!({"Limit": 1});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let out = call(&e, "DescribeCustomKeyStores", input);
        let stores = out["CustomKeyStores"].as_array().unwrap();
        assert_eq!(stores.len(), 1, "page {page}: {out}");
        seen.push(stores[0].clone());
        if page < 2 {
            assert_eq!(out["Truncated"], json!(true), "page {page}");
            marker = Some(out["NextMarker"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(out["Truncated"], json!(false));
            assert!(out.get("NextMarker").is_none(), "{out}");
        }
    }
    assert_eq!(seen, all);

    let (name, _) = fail(
        &e,
        "DescribeCustomKeyStores",
        json!({"Limit": 1, "Marker": "not-a-marker"}),
    );
    assert_eq!(name, "InvalidMarkerException");

    // By name.
    let by_name = call(
        &e,
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreName": "StoreB"}),
    );
    assert_eq!(
        by_name["CustomKeyStores"][0]["ConnectionState"],
        json!("CONNECTED")
    );
}

#[test]
fn an_unknown_custom_key_store_is_custom_key_store_not_found() {
    let e = example();
    let unknown = "cks-00000000000000000";
    for (op, input) in [
        (
            "DescribeCustomKeyStores",
            json!({"CustomKeyStoreId": unknown}),
        ),
        (
            "DescribeCustomKeyStores",
            json!({"CustomKeyStoreName": "NoSuchStore"}),
        ),
        (
            "ConnectCustomKeyStore",
            json!({"CustomKeyStoreId": unknown}),
        ),
        (
            "DisconnectCustomKeyStore",
            json!({"CustomKeyStoreId": unknown}),
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": unknown, "NewCustomKeyStoreName": "x"}),
        ),
        ("DeleteCustomKeyStore", json!({"CustomKeyStoreId": unknown})),
        (
            "CreateKey",
            json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": unknown}),
        ),
    ] {
        let (name, _) = fail(&e, op, input);
        assert_eq!(name, "CustomKeyStoreNotFoundException", "{op}");
    }
}

#[test]
fn the_example_store_is_the_page_example() {
    let e = example();
    let entry = store_entry(&e, STORE);
    assert_eq!(entry["CustomKeyStoreName"], json!(STORE_NAME));
    assert_eq!(entry["CloudHsmClusterId"], json!(CLUSTER));
    assert_eq!(entry["ConnectionState"], json!("CONNECTED"));
    assert_eq!(entry["CreationDate"], json!(1.499288695918e9));
    assert_eq!(cluster_state(&e, CLUSTER), "ACTIVE");
    let hsms = describe_cluster(&e, CLUSTER)["Hsms"].clone();
    let zones: Vec<&str> = hsms
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["AvailabilityZone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["us-west-2a", "us-west-2b"]);
}

#[test]
fn store_names_are_unique_on_rename_too() {
    let e = world_from(THREE_STORES);
    let stores = call(&e, "DescribeCustomKeyStores", json!({}));
    let a = stores["CustomKeyStores"][0]["CustomKeyStoreId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (name, _) = fail(
        &e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": a, "NewCustomKeyStoreName": "StoreB"}),
    );
    assert_eq!(name, "CustomKeyStoreNameInUseException");
    let (name, _) = fail(
        &e,
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreId": a, "CustomKeyStoreName": "StoreA"}),
    );
    assert_eq!(name, "ValidationException");
}

#[test]
fn the_custom_key_store_quota_is_enforced() {
    let e = world_from(
        r#"
seed: 13
max_custom_key_stores: 1
clusters:
  - id: cluster-aaaaaaaaaaa
  - id: cluster-bbbbbbbbbbb
custom_key_stores:
  - {name: StoreA, cluster: cluster-aaaaaaaaaaa}
"#,
    );
    let anchor = describe_cluster(&e, "cluster-bbbbbbbbbbb");
    assert_eq!(anchor["State"], json!("ACTIVE"));
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("StoreB", "cluster-bbbbbbbbbbb", TRUST_ANCHOR),
    );
    assert_eq!(name, "LimitExceededException");
}
