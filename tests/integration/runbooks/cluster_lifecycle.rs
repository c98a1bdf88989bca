//! The CloudHSM cluster lifecycle the runbooks lean on (CreateCluster →
//! `UNINITIALIZED` → CreateHsm → InitializeCluster → `INITIALIZED` →
//! `cluster activate` → `ACTIVE`), CreateCustomKeyStore's checks against
//! it, and the key store operations around them: deletion, paging, unknown
//! ids.

use std::time::Duration;

use serde_json::json;

use super::*;

/// The subnets of the new clusters.
const SUBNETS: [&str; 2] = ["subnet-0c1d2e3f4a", "subnet-0c1d2e3f4b"];

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
    let cluster = create_cluster(&e, SUBNETS, None);
    assert!(cluster.starts_with("cluster-"), "{cluster}");
    assert_eq!(cluster_state(&e, &cluster), "CREATE_IN_PROGRESS");
    e.settle();
    let described = describe_cluster(&e, &cluster);
    assert_eq!(described["State"], json!("UNINITIALIZED"));
    // The CSR comes from the cluster's first HSM: none yet.
    assert_eq!(described["Certificates"], json!({}), "{described}");
    assert_eq!(
        described["SubnetMapping"],
        json!({"us-west-2a": "subnet-0c1d2e3f4a", "us-west-2b": "subnet-0c1d2e3f4b"})
    );

    // InitializeCluster needs an active HSM.
    let garbage = json!({"ClusterId": cluster, "SignedCert": "x", "TrustAnchor": "y"});
    let (name, message) = fail(&e, "InitializeCluster", garbage.clone());
    assert_eq!(name, "CloudHsmInvalidRequestException");
    assert!(message.contains("no active HSM"), "{message}");
    create_hsm(&e, &cluster, "us-west-2a");
    e.settle();
    let certificates = describe_cluster(&e, &cluster)["Certificates"].clone();
    for member in [
        "ClusterCsr",
        "HsmCertificate",
        "AwsHardwareCertificate",
        "ManufacturerHardwareCertificate",
    ] {
        assert!(certificates[member].is_string(), "{member}: {certificates}");
    }
    // Refused certificates leave the cluster as it was.
    let (name, _) = fail(&e, "InitializeCluster", garbage);
    assert_eq!(name, "CloudHsmInvalidRequestException");
    assert_eq!(cluster_state(&e, &cluster), "UNINITIALIZED");
    let (signed_cert, trust_anchor) = sign_csr(&e, &cluster);
    let init =
        json!({"ClusterId": cluster, "SignedCert": signed_cert, "TrustAnchor": trust_anchor});
    let out = call(&e, "InitializeCluster", init);
    assert_eq!(out["State"], json!("INITIALIZE_IN_PROGRESS"));
    e.settle();
    assert_eq!(cluster_state(&e, &cluster), "INITIALIZED");
    let certificates = describe_cluster(&e, &cluster)["Certificates"].clone();
    assert_eq!(certificates["ClusterCertificate"], json!(signed_cert));
    assert!(certificates.get("ClusterCsr").is_none(), "{certificates}");

    // Not usable for a key store until activated.
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, &trust_anchor),
    );
    assert_eq!(name, "CloudHsmClusterNotActiveException");

    // `cluster activate` gives the admin its password.
    let admin_login = format!("login --username admin --role admin --password {ADMIN_PASSWORD}");
    cli_err(&e, &cluster, "admin-shell", &admin_login);
    let activate = format!("cluster activate --password {ADMIN_PASSWORD}");
    cli_ok(&e, &cluster, "admin-shell", &activate);
    assert_eq!(cluster_state(&e, &cluster), "ACTIVE");
    let create_kmsuser =
        "user create --username kmsuser --role crypto-user --password kmsPassword1";
    admin_ok(&e, &cluster, create_kmsuser);

    // One HSM is not enough for a key store.
    let (name, message) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, &trust_anchor),
    );
    assert_eq!(name, "CloudHsmClusterInvalidConfigurationException");
    assert!(message.contains("two active HSMs"), "{message}");
    create_hsm(&e, &cluster, "us-west-2b");
    e.settle();

    // The trust anchor must be the cluster's customerCA.crt, and names are
    // unique.
    for (name, anchor, expected) in [
        ("NewStore", &signed_cert, "IncorrectTrustAnchorException"),
        (
            STORE_NAME,
            &trust_anchor,
            "CustomKeyStoreNameInUseException",
        ),
    ] {
        let input = store_input(name, &cluster, anchor);
        assert_eq!(
            exception(&e, "CreateCustomKeyStore", input),
            expected,
            "{name}"
        );
    }

    // Success: a DISCONNECTED store.
    let out = call(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, &trust_anchor),
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
    assert_members(
        &entry,
        json!({
            "CustomKeyStoreName": "NewStore",
            "CloudHsmClusterId": cluster,
            "TrustAnchorCertificate": &trust_anchor,
            "ConnectionState": "DISCONNECTED",
            "CustomKeyStoreType": "AWS_CLOUDHSM",
        }),
    );
    assert!(entry.get("ConnectionErrorCode").is_none(), "{entry}");

    // A cluster backs one store.
    for (name, backing) in [("SecondStore", cluster.as_str()), ("ThirdStore", CLUSTER)] {
        let input = store_input(name, backing, &trust_anchor);
        let refused = exception(&e, "CreateCustomKeyStore", input);
        assert_eq!(refused, "CloudHsmClusterInUseException", "{name}");
    }

    // Connect it and use it.
    let input = json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store});
    assert_eq!(
        exception(&e, "CreateKey", input),
        "CustomKeyStoreInvalidStateException"
    );
    reconnect(&e, &store);
    let key = create_key(&e, &store);
    assert_members(
        &describe_key(&e, &key),
        json!({
            "KeyState": "Enabled",
            "CustomKeyStoreId": store,
            "CloudHsmClusterId": cluster,
            "KeyManager": "CUSTOMER",
            "KeySpec": "SYMMETRIC_DEFAULT",
        }),
    );
    let blob = encrypt(&e, &key, "in the new store");
    assert_eq!(decrypt(&e, &blob), "in the new store");
}

#[test]
fn create_custom_key_store_with_the_same_properties_as_a_disconnected_one_returns_it() {
    let e = example();
    let (cluster, anchor) = new_active_cluster(&e, SUBNETS);
    let input = store_input("NewStore", &cluster, &anchor);
    let first = call(&e, "CreateCustomKeyStore", input.clone());
    let again = call(&e, "CreateCustomKeyStore", input);
    assert_eq!(first, again);
}

/// CreateCustomKeyStore compares the trust anchor as a certificate: the
/// same certificate with Windows line ends is accepted; a PEM block that
/// is no certificate, or another cluster's customerCA.crt, is not
/// (docs/fidelity.md F13).
#[test]
fn the_trust_anchor_is_compared_as_a_certificate() {
    let e = example();
    let (cluster, anchor) = new_active_cluster(&e, SUBNETS);
    let example_anchor = e
        .with_state(|st| st.clusters[CLUSTER].trust_anchor.clone())
        .unwrap();
    for wrong in [
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        example_anchor.as_str(),
    ] {
        let (name, message) = fail(
            &e,
            "CreateCustomKeyStore",
            store_input("NewStore", &cluster, wrong),
        );
        assert_eq!(name, "IncorrectTrustAnchorException", "{message}");
    }
    let crlf = anchor.replace('\n', "\r\n");
    let out = call(
        &e,
        "CreateCustomKeyStore",
        store_input("NewStore", &cluster, &crlf),
    );
    assert!(out["CustomKeyStoreId"].is_string(), "{out}");
}

#[test]
fn delete_custom_key_store_with_keys_is_custom_key_store_has_cmks() {
    let e = example();
    let delete = |e: &Engine| exception(e, "DeleteCustomKeyStore", key_store_input(STORE));
    assert_eq!(delete(&e), "CustomKeyStoreInvalidStateException");

    disconnect(&e, STORE);
    assert_eq!(delete(&e), "CustomKeyStoreHasCMKsException");

    // A key pending deletion still counts.
    schedule_deletion(&e, KEY_ID, 7);
    assert_eq!(delete(&e), "CustomKeyStoreHasCMKsException");

    // Once it is deleted, so can the store be.
    e.advance(Duration::from_secs(8 * 86_400));
    let deleted = call(&e, "DeleteCustomKeyStore", key_store_input(STORE));
    assert_eq!(deleted, json!({}));
    assert_eq!(
        exception(&e, "DescribeCustomKeyStores", key_store_input(STORE)),
        "CustomKeyStoreNotFoundException"
    );
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
    // Three pages of one, the invalid marker refused.
    assert_eq!(
        one_per_page(&e, "DescribeCustomKeyStores", "CustomKeyStores"),
        all
    );

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
    let unknown = UNKNOWN_STORE;
    for (op, input) in [
        ("DescribeCustomKeyStores", key_store_input(unknown)),
        (
            "DescribeCustomKeyStores",
            json!({"CustomKeyStoreName": "NoSuchStore"}),
        ),
        ("ConnectCustomKeyStore", key_store_input(unknown)),
        ("DisconnectCustomKeyStore", key_store_input(unknown)),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": unknown, "NewCustomKeyStoreName": "x"}),
        ),
        ("DeleteCustomKeyStore", key_store_input(unknown)),
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
    assert_members(
        &store_entry(&e, STORE),
        json!({
            "CustomKeyStoreName": STORE_NAME,
            "CloudHsmClusterId": CLUSTER,
            "ConnectionState": "CONNECTED",
            "CreationDate": 1.499288695918e9,
        }),
    );
    assert_eq!(cluster_state(&e, CLUSTER), "ACTIVE");
    let hsms = &describe_cluster(&e, CLUSTER)["Hsms"];
    let zones = strings_of(hsms, "AvailabilityZone");
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
    assert_eq!(cluster_state(&e, "cluster-bbbbbbbbbbb"), "ACTIVE");
    let anchor = e.with_state(|st| st.clusters["cluster-bbbbbbbbbbb"].trust_anchor.clone());
    let (name, _) = fail(
        &e,
        "CreateCustomKeyStore",
        store_input("StoreB", "cluster-bbbbbbbbbbb", &anchor.unwrap()),
    );
    assert_eq!(name, "LimitExceededException");
}
