//! `hsmdrill serve` on an ephemeral loopback port, driven with the official
//! AWS SDKs for Rust (`aws-sdk-kms`, `aws-sdk-cloudhsmv2`,
//! `aws-sdk-cloudtrail`) exactly as an operator's tooling would drive AWS:
//! the whole cluster lifecycle up to a key store that backs a key, R5
//! (INVALID_CREDENTIALS, then USER_LOCKED_OUT, then the repair) and R7
//! (deleted key material recovered from a backup), with the exceptions
//! asserted as the SDK reports them.
//!
//! KMS and CloudTrail speak AWS JSON 1.1 (what their SDKs use). CloudHSM v2
//! is driven over AWS JSON 1.1 (the SDK's default) and, through a second
//! client configured with `RpcV2CborProtocol`, over Smithy RPC v2 CBOR; the
//! two must decode to the same outputs and the same modeled errors.
//!
//! What AWS has no API for (the CloudHSM CLI, a backup on demand, skipping
//! waiting time) goes through the server's control API under `/_hsmdrill/`
//! (`docs/server.md`).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudhsmv2 as cloudhsm;
use aws_sdk_cloudtrail as cloudtrail;
use aws_sdk_kms as kms;

use cloudhsm::operation::initialize_cluster::InitializeClusterError;
use cloudhsm::types::{BackupState, ClusterState, HsmState};
use kms::operation::connect_custom_key_store::ConnectCustomKeyStoreError;
use kms::operation::create_custom_key_store::CreateCustomKeyStoreError;
use kms::operation::create_key::CreateKeyError;
use kms::operation::decrypt::DecryptError;
use kms::operation::encrypt::EncryptError;
use kms::operation::generate_data_key::GenerateDataKeyError;
use kms::operation::update_custom_key_store::UpdateCustomKeyStoreError;
use kms::primitives::Blob;
use kms::types::{
    ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoreType, CustomKeyStoresListEntry,
    DataKeySpec, KeyManagerType, KeySpec, KeyState, OriginType,
};

use hsmdrill::remote::http::Endpoint;
use hsmdrill::server::Credentials;
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::support::serve::{example_state, InProcessServer};

/// The example world's store, cluster and key (`scenarios/worlds/example.yaml`).
const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const WORLD_BACKUP: &str = "backup-9g87f6edcba";

const SIGNED_CERT: &str =
    "-----BEGIN CERTIFICATE-----\nc2lnbmVkIGNsdXN0ZXIgY2VydA==\n-----END CERTIFICATE-----\n";
const TRUST_ANCHOR: &str =
    "-----BEGIN CERTIFICATE-----\nY3VzdG9tZXJDQSBmb3IgYSBkcmlsbA==\n-----END CERTIFICATE-----\n";

// --- The server -------------------------------------------------------------

/// `hsmdrill serve` on the example world, in this process.
struct Server(InProcessServer);

impl Server {
    fn start() -> Server {
        Server::start_with(None)
    }

    /// With `--auth`: only requests signed with `credentials` are served.
    fn start_with(credentials: Option<Credentials>) -> Server {
        Server(InProcessServer::start(example_state(credentials)))
    }
}

// --- The SDK clients --------------------------------------------------------

/// A client of one SDK crate for the server: us-west-2, static test
/// credentials, plain HTTP, no retries (errors are asserted on the first
/// answer), a bound on every call so a stuck server fails the test.
macro_rules! sdk_config {
    ($sdk:ident, $endpoint:expr, $http:expr) => {
        $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-west-2"))
            .credentials_provider($sdk::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url($endpoint)
            .http_client($http)
            .retry_config($sdk::config::retry::RetryConfig::disabled())
            .timeout_config(
                $sdk::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
    };
}

/// What went over the wire for one client: for each request, its path,
/// `X-Amz-Target`, `smithy-protocol` and `Content-Type`, and the answer's
/// `Content-Type` (to show which protocol each client really spoke).
#[derive(Clone, Debug, Default)]
struct Wire(Arc<Mutex<Vec<Exchange>>>);

#[derive(Clone, Debug, Default)]
struct Exchange {
    path: String,
    target: Option<String>,
    smithy_protocol: Option<String>,
    content_type: Option<String>,
    response_content_type: Option<String>,
}

impl Wire {
    fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().clone()
    }
}

/// `Intercept` is the same trait (`aws-smithy-runtime-api`) in every SDK
/// crate.
impl kms::config::Intercept for Wire {
    fn name(&self) -> &'static str {
        "Wire"
    }

    fn read_before_transmit(
        &self,
        ctx: &kms::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &kms::config::RuntimeComponents,
        _: &mut kms::config::ConfigBag,
    ) -> Result<(), kms::error::BoxError> {
        let req = ctx.request();
        let header = |name: &str| req.headers().get(name).map(str::to_owned);
        let path = req.uri().splitn(4, '/').nth(3).unwrap_or_default();
        self.0.lock().push(Exchange {
            path: format!("/{path}"),
            target: header("x-amz-target"),
            smithy_protocol: header("smithy-protocol"),
            content_type: header("content-type"),
            response_content_type: None,
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        ctx: &kms::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &kms::config::RuntimeComponents,
        _: &mut kms::config::ConfigBag,
    ) -> Result<(), kms::error::BoxError> {
        let content_type = ctx
            .response()
            .headers()
            .get("content-type")
            .map(str::to_owned);
        if let Some(last) = self.0.lock().last_mut() {
            last.response_content_type = content_type;
        }
        Ok(())
    }
}

/// A running server and the clients that drive it.
struct Drill {
    kms: kms::Client,
    /// CloudHSM v2 over AWS JSON 1.1 (`X-Amz-Target: BaldrApiService.*`).
    hsm: cloudhsm::Client,
    /// CloudHSM v2 over Smithy RPC v2 CBOR
    /// (`POST /service/BaldrApiService/operation/*`).
    hsm_cbor: cloudhsm::Client,
    trail: cloudtrail::Client,
    /// What `hsm` sent and got.
    hsm_wire: Wire,
    /// What `hsm_cbor` sent and got.
    hsm_cbor_wire: Wire,
    control: Endpoint,
    _server: Server,
}

impl Drill {
    fn start() -> Drill {
        let server = Server::start();
        let endpoint = server.0.url();
        // Plain HTTP: no TLS stack to build. (`build_http` is public but
        // `#[doc(hidden)]` in aws-smithy-http-client 1.5; the alternative is
        // its `rustls-ring` feature and `build_https`.)
        let http = aws_smithy_http_client::Builder::new().build_http();
        let kms = kms::Client::from_conf(sdk_config!(kms, &endpoint, http.clone()).build());
        let (hsm_wire, hsm_cbor_wire) = (Wire::default(), Wire::default());
        let hsm = cloudhsm::Client::from_conf(
            sdk_config!(cloudhsm, &endpoint, http.clone())
                .interceptor(hsm_wire.clone())
                .build(),
        );
        let hsm_cbor = cloudhsm::Client::from_conf(
            sdk_config!(cloudhsm, &endpoint, http.clone())
                .protocol(aws_smithy_cbor::protocol::RpcV2CborProtocol::new())
                .interceptor(hsm_cbor_wire.clone())
                .build(),
        );
        let trail = cloudtrail::Client::from_conf(sdk_config!(cloudtrail, &endpoint, http).build());
        Drill {
            kms,
            hsm,
            hsm_cbor,
            trail,
            hsm_wire,
            hsm_cbor_wire,
            control: Endpoint::parse(&endpoint).unwrap(),
            _server: server,
        }
    }

    // --- Control API (what AWS has no API for) ---

    fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .control
            .send(
                "POST",
                path,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .unwrap();
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(r.status, 200, "{path}: {v}");
        v
    }

    /// Resets the server to the world `yaml`.
    fn reset_world(&self, yaml: &str) {
        let r = self
            .control
            .send(
                "POST",
                "/_hsmdrill/world",
                &[("Content-Type", "application/yaml")],
                yaml.as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }

    /// Moves the server's clock `seconds` forward.
    fn advance(&self, seconds: u64) {
        self.control("/_hsmdrill/clock/advance", json!({ "seconds": seconds }));
    }

    /// Takes a backup of `cluster` now; returns its id.
    fn backup(&self, cluster: &str) -> String {
        let v = self.control(&format!("/_hsmdrill/clusters/{cluster}/backup"), json!({}));
        v["BackupId"].as_str().unwrap().to_owned()
    }

    /// A CloudHSM CLI line in a named CLI session: the CLI's envelope.
    fn cli(&self, cluster: &str, session: &str, command: &str) -> Value {
        self.control(
            "/_hsmdrill/cloudhsm-cli",
            json!({"ClusterId": cluster, "Session": session, "Command": command}),
        )
    }

    /// A CLI line that must succeed; its `data`.
    fn cli_ok(&self, cluster: &str, session: &str, command: &str) -> Value {
        let v = self.cli(cluster, session, command);
        assert_eq!(v["error_code"], json!(0), "`{command}` failed: {v}");
        v["data"].clone()
    }

    /// A CLI line that must fail.
    fn cli_err(&self, cluster: &str, session: &str, command: &str) -> Value {
        let v = self.cli(cluster, session, command);
        assert_ne!(v["error_code"], json!(0), "`{command}` succeeded: {v}");
        v
    }

    /// `user change-password` for kmsuser, as the cluster's admin.
    fn reset_kmsuser_password(&self, cluster: &str, password: &str) {
        self.cli_ok(
            cluster,
            "admin",
            "login --username admin --role admin --password adminPassword1",
        );
        self.cli_ok(
            cluster,
            "admin",
            &format!(
                "user change-password --username kmsuser --role crypto-user --password {password}"
            ),
        );
        self.cli_ok(cluster, "admin", "logout");
    }

    // --- KMS ---

    async fn store(&self, id: &str) -> CustomKeyStoresListEntry {
        let out = self
            .kms
            .describe_custom_key_stores()
            .custom_key_store_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(out.custom_key_stores().len(), 1);
        out.custom_key_stores()[0].clone()
    }

    async fn connection_state(&self, id: &str) -> ConnectionStateType {
        self.store(id).await.connection_state().unwrap().clone()
    }

    /// Advances the clock a second at a time (a connect attempt takes 2 s)
    /// until the store leaves CONNECTING; its state then.
    async fn settle_connect(&self, id: &str) -> ConnectionStateType {
        for _ in 0..10 {
            let state = self.connection_state(id).await;
            if state != ConnectionStateType::Connecting {
                return state;
            }
            self.advance(1);
        }
        panic!("{id} still CONNECTING after 10 s");
    }

    async fn connect(&self, id: &str) {
        self.kms
            .connect_custom_key_store()
            .custom_key_store_id(id)
            .send()
            .await
            .unwrap();
    }

    async fn disconnect(&self, id: &str) {
        self.kms
            .disconnect_custom_key_store()
            .custom_key_store_id(id)
            .send()
            .await
            .unwrap();
    }

    async fn encrypt(&self, key: &str, plaintext: &str) -> Blob {
        self.kms
            .encrypt()
            .key_id(key)
            .plaintext(Blob::new(plaintext))
            .send()
            .await
            .unwrap()
            .ciphertext_blob()
            .unwrap()
            .clone()
    }

    async fn decrypt(&self, ciphertext: &Blob) -> String {
        let out = self
            .kms
            .decrypt()
            .ciphertext_blob(ciphertext.clone())
            .send()
            .await
            .unwrap();
        String::from_utf8(out.plaintext().unwrap().as_ref().to_vec()).unwrap()
    }

    // --- CloudHSM v2 ---

    /// The cluster as DescribeClusters reports it, over JSON; the CBOR client
    /// must decode the very same answer.
    async fn cluster(&self, id: &str) -> cloudhsm::types::Cluster {
        let json = self
            .hsm
            .describe_clusters()
            .filters("clusterIds", vec![id.to_owned()])
            .send()
            .await
            .unwrap();
        let cbor = self
            .hsm_cbor
            .describe_clusters()
            .filters("clusterIds", vec![id.to_owned()])
            .send()
            .await
            .unwrap();
        assert_eq!(
            clusters_at_ms(json.clusters()),
            clusters_at_ms(cbor.clusters()),
            "DescribeClusters: JSON and CBOR disagree"
        );
        assert_eq!(json.clusters().len(), 1, "{json:?}");
        json.clusters()[0].clone()
    }

    /// Advances the clock until `done` holds for the cluster (HSM and
    /// cluster creation, initialization: 60 s of virtual time).
    async fn wait_for_cluster(
        &self,
        id: &str,
        done: impl Fn(&cloudhsm::types::Cluster) -> bool,
    ) -> cloudhsm::types::Cluster {
        for _ in 0..10 {
            let c = self.cluster(id).await;
            if done(&c) {
                return c;
            }
            self.advance(30);
        }
        panic!("cluster {id} never got there: {:?}", self.cluster(id).await);
    }

    async fn create_hsm(&self, client: &cloudhsm::Client, cluster: &str, zone: &str) {
        let out = client
            .create_hsm()
            .cluster_id(cluster)
            .availability_zone(zone)
            .send()
            .await
            .unwrap();
        let hsm = out.hsm().unwrap();
        assert_eq!(hsm.state(), Some(&HsmState::CreateInProgress));
        assert_eq!(hsm.availability_zone(), Some(zone));
    }

    /// The CloudTrail event (newest first) of `name`, as parsed JSON.
    async fn trail_event(&self, name: &str) -> Value {
        let out = self
            .trail
            .lookup_events()
            .lookup_attributes(
                cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value(name)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let event = out.events().first().unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(event.event_name(), Some(name));
        serde_json::from_str(event.cloud_trail_event().unwrap()).unwrap()
    }
}

/// A timestamp cut to milliseconds. The SDK reads an epoch-seconds float
/// as is over AWS JSON (`1499288695.918` reads as `…55.917999`) but
/// truncates it to milliseconds over RPC v2 CBOR, as the Smithy spec says
/// (`…55.917`): JSON and CBOR answers agree once both are cut to the
/// millisecond.
fn at_ms(t: &mut Option<cloudhsm::primitives::DateTime>) {
    if let Some(d) = t {
        *d = cloudhsm::primitives::DateTime::from_millis(d.to_millis().unwrap());
    }
}

fn clusters_at_ms(clusters: &[cloudhsm::types::Cluster]) -> Vec<cloudhsm::types::Cluster> {
    let mut v = clusters.to_vec();
    for c in &mut v {
        at_ms(&mut c.create_timestamp);
        at_ms(&mut c.hsm_type_rollback_expiration);
    }
    v
}

fn backups_at_ms(backups: &[cloudhsm::types::Backup]) -> Vec<cloudhsm::types::Backup> {
    let mut v = backups.to_vec();
    for b in &mut v {
        at_ms(&mut b.create_timestamp);
        at_ms(&mut b.copy_timestamp);
        at_ms(&mut b.delete_timestamp);
    }
    v
}

fn all_hsms_active(c: &cloudhsm::types::Cluster, n: usize) -> bool {
    c.hsms().len() == n
        && c.hsms()
            .iter()
            .all(|h| h.state() == Some(&HsmState::Active))
}

// --- The cluster lifecycle --------------------------------------------------

/// CreateCluster → UNINITIALIZED; CreateHsm; InitializeCluster →
/// INITIALIZED; `cluster activate` → ACTIVE; a key store whose trust anchor
/// must be the one given at InitializeCluster; a key in it.
#[tokio::test]
async fn a_new_cluster_goes_from_create_cluster_to_active_and_backs_a_new_key_store() {
    let d = Drill::start();

    // CreateCluster over CBOR, the rest of the cluster's life over both.
    let out = d
        .hsm_cbor
        .create_cluster()
        .hsm_type("hsm2m.medium")
        .subnet_ids("subnet-0c1d2e3f4a")
        .subnet_ids("subnet-0c1d2e3f4b")
        .send()
        .await
        .unwrap();
    let created = out.cluster().unwrap();
    assert_eq!(created.state(), Some(&ClusterState::CreateInProgress));
    let c = created.cluster_id().unwrap().to_owned();
    assert!(c.starts_with("cluster-"), "{c}");
    assert_eq!(
        d.cluster(&c).await.state(),
        Some(&ClusterState::CreateInProgress)
    );

    let cluster = d
        .wait_for_cluster(&c, |c| c.state() == Some(&ClusterState::Uninitialized))
        .await;
    assert!(cluster
        .certificates()
        .and_then(|certs| certs.cluster_csr())
        .is_some());
    let subnets = cluster.subnet_mapping().unwrap();
    assert_eq!(subnets["us-west-2a"], "subnet-0c1d2e3f4a");
    assert_eq!(subnets["us-west-2b"], "subnet-0c1d2e3f4b");
    assert!(cluster.hsms().is_empty());

    // InitializeCluster needs an active HSM: the modeled error, on both
    // protocols.
    for client in [&d.hsm, &d.hsm_cbor] {
        let err = client
            .initialize_cluster()
            .cluster_id(&c)
            .signed_cert(SIGNED_CERT)
            .trust_anchor(TRUST_ANCHOR)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(
            matches!(
                err,
                InitializeClusterError::CloudHsmInvalidRequestException(_)
            ),
            "{err:?}"
        );
    }
    d.create_hsm(&d.hsm, &c, "us-west-2a").await;
    d.wait_for_cluster(&c, |c| all_hsms_active(c, 1)).await;

    let out = d
        .hsm
        .initialize_cluster()
        .cluster_id(&c)
        .signed_cert(SIGNED_CERT)
        .trust_anchor(TRUST_ANCHOR)
        .send()
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
    let err = create_store("NewStore", &c, TRUST_ANCHOR)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            CreateCustomKeyStoreError::CloudHsmClusterNotActiveException(_)
        ),
        "{err:?}"
    );

    // `cluster activate` gives the admin its password; before it, no login.
    d.cli_err(
        &c,
        "admin",
        "login --username admin --role admin --password adminPassword1",
    );
    d.cli_ok(&c, "admin", "cluster activate --password adminPassword1");
    assert_eq!(d.cluster(&c).await.state(), Some(&ClusterState::Active));
    d.cli_ok(
        &c,
        "admin",
        "login --username admin --role admin --password adminPassword1",
    );
    let user = d.cli_ok(
        &c,
        "admin",
        "user create --username kmsuser --role crypto-user --password kmsPassword1",
    );
    assert_eq!(user["username"], json!("kmsuser"));
    assert_eq!(user["role"], json!("crypto-user"));
    d.cli_ok(&c, "admin", "logout");

    // One HSM is not enough for a key store.
    let err = create_store("NewStore", &c, TRUST_ANCHOR)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            &err,
            CreateCustomKeyStoreError::CloudHsmClusterInvalidConfigurationException(_)
        ),
        "{err:?}"
    );
    assert!(
        kms::error::ProvideErrorMetadata::message(&err)
            .unwrap()
            .contains("two active HSMs"),
        "{err:?}"
    );
    d.create_hsm(&d.hsm_cbor, &c, "us-west-2b").await;
    d.wait_for_cluster(&c, |c| all_hsms_active(c, 2)).await;

    // The trust anchor must be the one given at InitializeCluster (the
    // cluster's customerCA.crt), not, say, the signed cluster certificate.
    let err = create_store("NewStore", &c, SIGNED_CERT)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            CreateCustomKeyStoreError::IncorrectTrustAnchorException(_)
        ),
        "{err:?}"
    );

    // Names are unique.
    let err = create_store("ExampleKeyStore", &c, TRUST_ANCHOR)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            CreateCustomKeyStoreError::CustomKeyStoreNameInUseException(_)
        ),
        "{err:?}"
    );

    // Success: a new store is DISCONNECTED.
    let store = create_store("NewStore", &c, TRUST_ANCHOR)
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
    assert_eq!(entry.trust_anchor_certificate(), Some(TRUST_ANCHOR));

    // A cluster backs one store: neither this one nor the example's is free.
    let err = create_store("SecondStore", &c, TRUST_ANCHOR)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            CreateCustomKeyStoreError::CloudHsmClusterInUseException(_)
        ),
        "{err:?}"
    );
    let example_anchor = d
        .store(STORE)
        .await
        .trust_anchor_certificate()
        .unwrap()
        .to_owned();
    let err = create_store("ThirdStore", CLUSTER, &example_anchor)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            CreateCustomKeyStoreError::CloudHsmClusterInUseException(_)
        ),
        "{err:?}"
    );

    // Keys are created only in a CONNECTED store.
    let create_key = || {
        d.kms
            .create_key()
            .custom_key_store_id(&store)
            .origin(OriginType::AwsCloudhsm)
            .send()
    };
    let err = create_key().await.unwrap_err().into_service_error();
    assert!(
        matches!(err, CreateKeyError::CustomKeyStoreInvalidStateException(_)),
        "{err:?}"
    );
    d.connect(&store).await;
    assert_eq!(
        d.settle_connect(&store).await,
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
    let json_wire = d.hsm_wire.exchanges();
    assert!(json_wire.len() > 10, "{json_wire:?}");
    for x in &json_wire {
        assert_eq!(x.path, "/", "{x:?}");
        assert!(
            x.target
                .as_deref()
                .is_some_and(|t| t.starts_with("BaldrApiService.")),
            "{x:?}"
        );
        assert_eq!(
            x.content_type.as_deref(),
            Some("application/x-amz-json-1.1"),
            "{x:?}"
        );
        assert_eq!(
            x.response_content_type.as_deref(),
            Some("application/x-amz-json-1.1"),
            "{x:?}"
        );
    }
    let cbor_wire = d.hsm_cbor_wire.exchanges();
    assert!(cbor_wire.len() > 10, "{cbor_wire:?}");
    for x in &cbor_wire {
        assert!(
            x.path.starts_with("/service/BaldrApiService/operation/"),
            "{x:?}"
        );
        assert_eq!(x.target, None, "{x:?}");
        assert_eq!(x.smithy_protocol.as_deref(), Some("rpc-v2-cbor"), "{x:?}");
        assert_eq!(x.content_type.as_deref(), Some("application/cbor"), "{x:?}");
        assert_eq!(
            x.response_content_type.as_deref(),
            Some("application/cbor"),
            "{x:?}"
        );
    }
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

// --- R5: invalid kmsuser credentials ----------------------------------------

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
    d.connect(STORE).await;
    assert_eq!(d.settle_connect(STORE).await, ConnectionStateType::Failed);
    assert_eq!(
        d.store(STORE).await.connection_error_code(),
        Some(&ConnectionErrorCodeType::InvalidCredentials)
    );
    // A FAILED store cannot be connected: disconnect first.
    let err = d
        .kms
        .connect_custom_key_store()
        .custom_key_store_id(STORE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            ConnectCustomKeyStoreError::CustomKeyStoreInvalidStateException(_)
        ),
        "{err:?}"
    );
    d.disconnect(STORE).await;
    d.kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .key_store_password("changedPass1")
        .send()
        .await
        .unwrap();
    d.connect(STORE).await;
    assert_eq!(
        d.settle_connect(STORE).await,
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
    d.connect(STORE).await;
    assert_eq!(d.settle_connect(STORE).await, ConnectionStateType::Failed);
    assert_eq!(
        d.store(STORE).await.connection_error_code(),
        Some(&ConnectionErrorCodeType::UserLockedOut)
    );
    let err = d
        .kms
        .encrypt()
        .key_id("alias/app")
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(&err, EncryptError::KmsInvalidStateException(_)),
        "{err:?}"
    );
    assert!(
        kms::error::ProvideErrorMetadata::message(&err)
            .unwrap()
            .contains("is unavailable."),
        "{err:?}"
    );

    // The repair.
    d.disconnect(STORE).await;
    let entry = d.store(STORE).await;
    assert_eq!(
        entry.connection_state(),
        Some(&ConnectionStateType::Disconnected)
    );
    assert_eq!(entry.connection_error_code(), None);
    d.reset_kmsuser_password(CLUSTER, "newPass123");
    d.kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .key_store_password("newPass123")
        .send()
        .await
        .unwrap();
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

// --- R7: recovering deleted key material ------------------------------------

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
    d.kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .key_store_password("tempPass123")
        .send()
        .await
        .unwrap();
    d.connect(STORE).await;
    assert_eq!(
        d.settle_connect(STORE).await,
        ConnectionStateType::Connected
    );

    // The store is connected, yet the key cannot be used.
    let err = d
        .kms
        .encrypt()
        .key_id("alias/app")
        .plaintext(Blob::new("after"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(&err, EncryptError::KmsInvalidStateException(_)),
        "{err:?}"
    );
    assert!(
        kms::error::ProvideErrorMetadata::message(&err)
            .unwrap()
            .contains("is unavailable."),
        "{err:?}"
    );
    let err = d
        .kms
        .decrypt()
        .ciphertext_blob(before.clone())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, DecryptError::KmsInvalidStateException(_)),
        "{err:?}"
    );
    let err = d
        .kms
        .generate_data_key()
        .key_id("alias/app")
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GenerateDataKeyError::KmsInvalidStateException(_)),
        "{err:?}"
    );

    // Recovery. The cluster's backups, newest first, on both protocols.
    let backups = |client: &cloudhsm::Client| {
        client
            .describe_backups()
            .filters("clusterIds", vec![CLUSTER.to_owned()])
            .send()
    };
    let out = backups(&d.hsm).await.unwrap();
    assert_eq!(
        backups_at_ms(out.backups()),
        backups_at_ms(backups(&d.hsm_cbor).await.unwrap().backups()),
        "DescribeBackups: JSON and CBOR disagree"
    );
    let listed = out.backups();
    assert_eq!(listed[0].backup_id(), b);
    assert_eq!(listed[0].backup_state(), Some(&BackupState::Ready));
    assert_eq!(listed[0].cluster_id(), Some(CLUSTER));
    assert_eq!(listed[1].backup_id(), WORLD_BACKUP);

    // A cluster from the backup, in the same subnets (over CBOR).
    let old = d.cluster(CLUSTER).await;
    let subnets = old.subnet_mapping().unwrap();
    let out = d
        .hsm_cbor
        .create_cluster()
        .hsm_type("hsm2m.medium")
        .subnet_ids(&subnets["us-west-2a"])
        .subnet_ids(&subnets["us-west-2b"])
        .source_backup_id(&b)
        .send()
        .await
        .unwrap();
    let created = out.cluster().unwrap();
    assert_eq!(created.state(), Some(&ClusterState::CreateInProgress));
    assert_eq!(created.source_backup_id(), Some(b.as_str()));
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
    let err = d
        .kms
        .update_custom_key_store()
        .custom_key_store_id(STORE)
        .cloud_hsm_cluster_id(&new_cluster)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            err,
            UpdateCustomKeyStoreError::CustomKeyStoreInvalidStateException(_)
        ),
        "{err:?}"
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
    d.connect(STORE).await;
    assert_eq!(
        d.settle_connect(STORE).await,
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

// --- CloudTrail -------------------------------------------------------------

/// The example's store and cluster, and a second ACTIVE cluster with two
/// HSMs and a known customerCA.crt, free for a new key store.
const TWO_CLUSTERS: &str = r#"
seed: 1
account: "111122223333"
region: us-west-2
clusters:
  - id: cluster-1a23b4cdefg
    hsms: [us-west-2a, us-west-2b]
  - id: cluster-2b34c5defgh
    hsms: [us-west-2a, us-west-2b]
    trust_anchor: "-----BEGIN CERTIFICATE-----\nY3VzdG9tZXJDQSBmb3IgYSBkcmlsbA==\n-----END CERTIFICATE-----\n"
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
        .trust_anchor_certificate(TRUST_ANCHOR)
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

// --- Signature Version 4 (`serve --auth`) ----------------------------------

/// Changes a signed request just before it is sent, as an attacker on the
/// path (or a broken proxy) would.
#[derive(Debug)]
enum Tamper {
    /// One byte of the plaintext in the body (same length, so
    /// Content-Length still holds).
    Body,
    /// No `Authorization` header.
    Unsigned,
}

impl kms::config::Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut kms::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &kms::config::RuntimeComponents,
        _: &mut kms::config::ConfigBag,
    ) -> Result<(), kms::error::BoxError> {
        let req = ctx.request_mut();
        match self {
            Tamper::Body => {
                let mut body = req.body().bytes().expect("a buffered body").to_vec();
                // `QUFBQS…` is the base64 of the plaintext `AAAA …`.
                let at = body
                    .iter()
                    .position(|b| *b == b'Q')
                    .expect("a 'Q' to change");
                body[at] = b'R';
                *req.body_mut() = body.into();
            }
            Tamper::Unsigned => {
                req.headers_mut().remove("authorization");
            }
        }
        Ok(())
    }
}

/// A KMS client of a server with `--auth AKIDDRILL:drillSecret`, signing
/// with `secret`, its clock `skew` away from the real one, and `tamper`.
fn signed_kms(
    server: &Server,
    secret: &str,
    skew: Option<(bool, Duration)>,
    tamper: Option<Tamper>,
) -> kms::Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let mut config = sdk_config!(kms, server.0.url(), http).credentials_provider(
        kms::config::Credentials::new("AKIDDRILL", secret, None, None, "test"),
    );
    if let Some((ahead, by)) = skew {
        let now = std::time::SystemTime::now();
        let then = if ahead { now + by } else { now - by };
        config = config.time_source(aws_smithy_async::time::StaticTimeSource::new(then));
    }
    if let Some(t) = tamper {
        config = config.interceptor(t);
    }
    kms::Client::from_conf(config.build())
}

#[tokio::test]
async fn sigv4_a_signed_sdk_request_passes_and_every_forgery_is_refused_as_aws_does() {
    let server = Server::start_with(Some(Credentials {
        access_key: "AKIDDRILL".into(),
        secret: "drillSecret".into(),
    }));
    let encrypt = |client: kms::Client| async move {
        client
            .encrypt()
            .key_id(KEY_ARN)
            .plaintext(Blob::new(b"AAAA signed drill".to_vec()))
            .send()
            .await
    };
    let refused = |r: Result<_, kms::error::SdkError<EncryptError, _>>| {
        let e = r.expect_err("refused");
        let meta = e
            .as_service_error()
            .map(|s| s.meta().clone())
            .unwrap_or_else(|| panic!("a service error expected, got {e:?}"));
        (
            meta.code().unwrap_or_default().to_owned(),
            meta.message().unwrap_or_default().to_owned(),
        )
    };

    // Signed right: served, and the ciphertext decrypts.
    let good = signed_kms(&server, "drillSecret", None, None);
    let out = encrypt(good.clone()).await.expect("a signed Encrypt");
    let back = good
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .send()
        .await
        .expect("a signed Decrypt");
    assert_eq!(back.plaintext.unwrap().as_ref(), b"AAAA signed drill");

    // A wrong secret.
    let (code, message) = refused(encrypt(signed_kms(&server, "wrongSecret", None, None)).await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );

    // A body changed after signing.
    let (code, _) =
        refused(encrypt(signed_kms(&server, "drillSecret", None, Some(Tamper::Body))).await);
    assert_eq!(code, "InvalidSignatureException");

    // No signature at all.
    let (code, message) = refused(
        encrypt(signed_kms(
            &server,
            "drillSecret",
            None,
            Some(Tamper::Unsigned),
        ))
        .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "MissingAuthenticationTokenException",
            "Missing Authentication Token"
        )
    );

    // Signed by a clock 16 minutes behind, then 16 minutes ahead.
    let sixteen = Duration::from_secs(16 * 60);
    let (code, message) = refused(
        encrypt(signed_kms(
            &server,
            "drillSecret",
            Some((false, sixteen)),
            None,
        ))
        .await,
    );
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 15 min.)"), "{message}");
    let (code, message) = refused(
        encrypt(signed_kms(
            &server,
            "drillSecret",
            Some((true, sixteen)),
            None,
        ))
        .await,
    );
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );

    // Fourteen minutes off is within AWS's tolerance.
    let fourteen = Duration::from_secs(14 * 60);
    encrypt(signed_kms(
        &server,
        "drillSecret",
        Some((false, fourteen)),
        None,
    ))
    .await
    .expect("14 minutes of skew is tolerated");
}
