//! The whole cluster lifecycle through the SDKs: CreateCluster over CBOR,
//! CreateHsm and InitializeCluster over both protocols, `cluster activate`
//! in the CloudHSM CLI, then a key store on the new cluster (and every
//! refusal on the way there) and a key in it; both CloudHSM clients must
//! have spoken their own protocol all along.

use aws_sdk_cloudhsmv2 as cloudhsm;
use aws_sdk_kms as kms;

use cloudhsm::operation::initialize_cluster::InitializeClusterError;
use cloudhsm::types::ClusterState;
use kms::operation::create_custom_key_store::CreateCustomKeyStoreError;
use kms::operation::create_key::CreateKeyError;
use kms::types::{
    ConnectionStateType, CustomKeyStoreType, KeyManagerType, KeySpec, KeyState, OriginType,
};
use serde_json::json;

use super::drill::{all_hsms_active, Drill};
use super::{ADMIN_LOGIN, CLUSTER, STORE};

/// CreateCluster → UNINITIALIZED; CreateHsm; InitializeCluster →
/// INITIALIZED; `cluster activate` → ACTIVE; a key store whose trust anchor
/// must be the one given at InitializeCluster; a key in it.
#[tokio::test]
async fn a_new_cluster_goes_from_create_cluster_to_active_and_backs_a_new_key_store() {
    let d = Drill::start();

    // CreateCluster over CBOR, the rest of the cluster's life over both.
    let created = d
        .create_cluster(["subnet-0c1d2e3f4a", "subnet-0c1d2e3f4b"], None)
        .await;
    let c = created.cluster_id().unwrap().to_owned();
    assert!(c.starts_with("cluster-"), "{c}");
    assert_eq!(
        d.cluster(&c).await.state(),
        Some(&ClusterState::CreateInProgress)
    );

    let cluster = d
        .wait_for_cluster(&c, |c| c.state() == Some(&ClusterState::Uninitialized))
        .await;
    // The CSR comes from the cluster's first HSM: none yet.
    assert!(cluster
        .certificates()
        .and_then(|certs| certs.cluster_csr())
        .is_none());
    let subnets = cluster.subnet_mapping().unwrap();
    assert_eq!(subnets["us-west-2a"], "subnet-0c1d2e3f4a");
    assert_eq!(subnets["us-west-2b"], "subnet-0c1d2e3f4b");
    assert!(cluster.hsms().is_empty());

    // InitializeCluster needs an active HSM: the modeled error, on both
    // protocols.
    let initialize = |client: &cloudhsm::Client, signed: &str, anchor: &str| {
        client
            .initialize_cluster()
            .cluster_id(&c)
            .signed_cert(signed)
            .trust_anchor(anchor)
            .send()
    };
    for client in [&d.hsm, &d.hsm_cbor] {
        assert_refused!(
            initialize(client, "x", "y"),
            InitializeClusterError::CloudHsmInvalidRequestException(_),
            "no active HSM"
        );
    }
    d.create_hsm(&d.hsm, &c, "us-west-2a").await;
    let cluster = d.wait_for_cluster(&c, |c| all_hsms_active(c, 1)).await;
    assert!(cluster
        .certificates()
        .and_then(|certs| certs.cluster_csr())
        .is_some_and(|csr| csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----")));

    // Certificates are checked, on both protocols; the drill CA signs.
    for client in [&d.hsm, &d.hsm_cbor] {
        assert_refused!(
            initialize(client, "not a certificate", "y"),
            InitializeClusterError::CloudHsmInvalidRequestException(_),
            "SignedCert is not a PEM-encoded X.509 certificate."
        );
    }
    let (signed_cert, trust_anchor) = d.sign_csr(&c);
    let out = initialize(&d.hsm, &signed_cert, &trust_anchor)
        .await
        .unwrap();
    assert_eq!(out.state(), Some(&ClusterState::InitializeInProgress));
    d.wait_for_cluster(&c, |c| c.state() == Some(&ClusterState::Initialized))
        .await;

    let create_store = |name: &str, cluster: &str, anchor: &str| {
        d.kms
            .create_custom_key_store()
            .custom_key_store_name(name)
            .cloud_hsm_cluster_id(cluster)
            .trust_anchor_certificate(anchor)
            .key_store_password("kmsPassword1")
            .send()
    };

    // Not usable for a key store until activated.
    assert_refused!(
        create_store("NewStore", &c, &trust_anchor),
        CreateCustomKeyStoreError::CloudHsmClusterNotActiveException(_)
    );

    // `cluster activate` gives the admin its password; before it, no login.
    d.cli_err(&c, "admin", ADMIN_LOGIN);
    d.cli_ok(&c, "admin", "cluster activate --password adminPassword1");
    assert_eq!(d.cluster(&c).await.state(), Some(&ClusterState::Active));
    d.cli_ok(&c, "admin", ADMIN_LOGIN);
    let user = d.cli_ok(
        &c,
        "admin",
        "user create --username kmsuser --role crypto-user --password kmsPassword1",
    );
    assert_eq!(user["username"], json!("kmsuser"));
    assert_eq!(user["role"], json!("crypto-user"));
    d.cli_ok(&c, "admin", "logout");

    // One HSM is not enough for a key store.
    assert_refused!(
        create_store("NewStore", &c, &trust_anchor),
        CreateCustomKeyStoreError::CloudHsmClusterInvalidConfigurationException(_),
        "two active HSMs"
    );
    d.create_hsm(&d.hsm_cbor, &c, "us-west-2b").await;
    d.wait_for_cluster(&c, |c| all_hsms_active(c, 2)).await;

    // The trust anchor must be the one given at InitializeCluster (the
    // cluster's customerCA.crt), not, say, the signed cluster certificate.
    assert_refused!(
        create_store("NewStore", &c, &signed_cert),
        CreateCustomKeyStoreError::IncorrectTrustAnchorException(_)
    );

    // Names are unique.
    assert_refused!(
        create_store("ExampleKeyStore", &c, &trust_anchor),
        CreateCustomKeyStoreError::CustomKeyStoreNameInUseException(_)
    );

    // Success: a new store is DISCONNECTED.
    let store = create_store("NewStore", &c, &trust_anchor)
        .await
        .unwrap()
        .custom_key_store_id()
        .unwrap()
        .to_owned();
    assert!(store.starts_with("cks-"), "{store}");
    let entry = d.store(&store).await;
    assert_eq!(entry.custom_key_store_name(), Some("NewStore"));
    assert_eq!(entry.cloud_hsm_cluster_id(), Some(c.as_str()));
    assert_eq!(
        entry.connection_state(),
        Some(&ConnectionStateType::Disconnected)
    );
    assert_eq!(entry.connection_error_code(), None);
    assert_eq!(
        entry.custom_key_store_type(),
        Some(&CustomKeyStoreType::AwsCloudhsm)
    );
    assert_eq!(
        entry.trust_anchor_certificate(),
        Some(trust_anchor.as_str())
    );

    // A cluster backs one store: neither this one nor the example's is free.
    assert_refused!(
        create_store("SecondStore", &c, &trust_anchor),
        CreateCustomKeyStoreError::CloudHsmClusterInUseException(_)
    );
    let example_anchor = d
        .store(STORE)
        .await
        .trust_anchor_certificate()
        .unwrap()
        .to_owned();
    assert_refused!(
        create_store("ThirdStore", CLUSTER, &example_anchor),
        CreateCustomKeyStoreError::CloudHsmClusterInUseException(_)
    );

    // Keys are created only in a CONNECTED store.
    let create_key = || {
        d.kms
            .create_key()
            .custom_key_store_id(&store)
            .origin(OriginType::AwsCloudhsm)
            .send()
    };
    assert_refused!(
        create_key(),
        CreateKeyError::CustomKeyStoreInvalidStateException(_)
    );
    assert_eq!(
        d.connect_and_settle(&store).await,
        ConnectionStateType::Connected
    );
    let out = create_key().await.unwrap();
    let meta = out.key_metadata().unwrap();
    assert_eq!(meta.origin(), Some(&OriginType::AwsCloudhsm));
    let k = meta.key_id().to_owned();
    let described = d.kms.describe_key().key_id(&k).send().await.unwrap();
    let meta = described.key_metadata().unwrap();
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert_eq!(meta.custom_key_store_id(), Some(store.as_str()));
    assert_eq!(meta.cloud_hsm_cluster_id(), Some(c.as_str()));
    assert_eq!(meta.key_manager(), Some(&KeyManagerType::Customer));
    assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));

    let ct = d.encrypt(&k, "in the new store").await;
    assert_eq!(d.decrypt(&ct).await, "in the new store");

    // Each CloudHSM client spoke its protocol, answers and errors alike.
    d.hsm_wire
        .assert_every_exchange("application/x-amz-json-1.1", |x| {
            x.path == "/"
                && x.target
                    .as_deref()
                    .is_some_and(|t| t.starts_with("BaldrApiService."))
        });
    let cbor_wire = d
        .hsm_cbor_wire
        .assert_every_exchange("application/cbor", |x| {
            x.path.starts_with("/service/BaldrApiService/operation/")
                && x.target.is_none()
                && x.smithy_protocol.as_deref() == Some("rpc-v2-cbor")
        });
    for op in [
        "CreateCluster",
        "DescribeClusters",
        "InitializeCluster",
        "CreateHsm",
    ] {
        assert!(
            cbor_wire
                .iter()
                .any(|x| x.path.ends_with(&format!("/{op}"))),
            "{op} never went over CBOR"
        );
    }
}
