//! CloudTrail through its SDK: LookupEvents finds the key store operations
//! made through the KMS SDK, with the request parameters and response
//! elements AWS records.

use serde_json::json;

use hsmdrill::engine::cloudhsm::pki;

use super::drill::Drill;
use super::{CLUSTER, STORE};

/// The example's store and cluster, and a second ACTIVE cluster with two
/// HSMs, free for a new key store; its customerCA.crt is the world's drill
/// CA for it.
const TWO_CLUSTERS: &str = r#"
seed: 1
account: "111122223333"
region: us-west-2
clusters:
  - id: cluster-1a23b4cdefg
    hsms: [us-west-2a, us-west-2b]
  - id: cluster-2b34c5defgh
    hsms: [us-west-2a, us-west-2b]
custom_key_stores:
  - id: cks-1234567890abcdef0
    name: ExampleKeyStore
    cluster: cluster-1a23b4cdefg
    connected: true
"#;

/// LookupEvents through the CloudTrail SDK finds the key store operations
/// made through the KMS SDK, with the request parameters and response
/// elements AWS records (the runbooks' `expect trail` lines).
#[tokio::test]
async fn cloudtrail_lookup_events_finds_the_key_store_operations() {
    let d = Drill::start();
    d.reset_world(TWO_CLUSTERS);

    let store = d
        .kms
        .create_custom_key_store()
        .custom_key_store_name("NewStore")
        .cloud_hsm_cluster_id("cluster-2b34c5defgh")
        .trust_anchor_certificate(pki::drill_ca_certificate(1, "cluster-2b34c5defgh").unwrap())
        .key_store_password("kmsPassword1")
        .send()
        .await
        .unwrap()
        .custom_key_store_id()
        .unwrap()
        .to_owned();
    let event = d.trail_event("CreateCustomKeyStore").await;
    assert_eq!(event["eventName"], json!("CreateCustomKeyStore"));
    assert_eq!(
        event["requestParameters"]["customKeyStoreName"],
        json!("NewStore")
    );
    assert_eq!(
        event["requestParameters"]["clusterId"],
        json!("cluster-2b34c5defgh")
    );
    assert_eq!(event["responseElements"]["customKeyStoreId"], json!(store));

    d.disconnect(STORE).await;
    d.kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .new_custom_key_store_name("RenamedStore")
        .cloud_hsm_cluster_id(CLUSTER)
        .send()
        .await
        .unwrap();
    let event = d.trail_event("UpdateCustomKeyStore").await;
    assert_eq!(event["requestParameters"]["customKeyStoreId"], json!(STORE));
    assert_eq!(event["requestParameters"]["clusterId"], json!(CLUSTER));
    assert_eq!(
        event["requestParameters"]["newCustomKeyStoreName"],
        json!("RenamedStore")
    );
    let event = d.trail_event("DisconnectCustomKeyStore").await;
    assert_eq!(event["requestParameters"]["customKeyStoreId"], json!(STORE));
}
