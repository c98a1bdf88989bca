//! What the SDK tests drive: a [`Drill`] is a running server with a client
//! of each SDK (CloudHSM v2 twice: over AWS JSON 1.1 and over RPC v2 CBOR,
//! each with a [`Wire`] recording what it sent), the control API for what
//! AWS has no API for, and the calls the tests repeat, each asserting what
//! an operator would check.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_cloudhsmv2 as cloudhsm;
use aws_sdk_cloudtrail as cloudtrail;
use aws_sdk_kms as kms;

use cloudhsm::types::{ClusterState, HsmState};
use kms::operation::encrypt::EncryptError;
use kms::primitives::Blob;
use kms::types::{ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoresListEntry};

use hsmdrill::remote::http::Endpoint;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::{Server, ADMIN_LOGIN};

/// What went over the wire for one client: for each request, its path,
/// `X-Amz-Target`, `smithy-protocol` and `Content-Type`, and the answer's
/// `Content-Type` (to show which protocol each client really spoke).
#[derive(Clone, Debug, Default)]
pub(super) struct Wire(Arc<Mutex<Vec<Exchange>>>);

#[derive(Clone, Debug, Default)]
pub(super) struct Exchange {
    pub(super) path: String,
    pub(super) target: Option<String>,
    pub(super) smithy_protocol: Option<String>,
    content_type: Option<String>,
    response_content_type: Option<String>,
}

impl Wire {
    /// Every exchange so far (more than ten of them: a client that did
    /// little proves little), each sent and answered as `content_type` and
    /// passing `spoke` (path and protocol headers); the exchanges.
    pub(super) fn assert_every_exchange(
        &self,
        content_type: &str,
        spoke: impl Fn(&Exchange) -> bool,
    ) -> Vec<Exchange> {
        let wire = self.0.lock().clone();
        assert!(wire.len() > 10, "{wire:?}");
        for x in &wire {
            assert!(spoke(x), "{x:?}");
            assert_eq!(x.content_type.as_deref(), Some(content_type), "{x:?}");
            assert_eq!(
                x.response_content_type.as_deref(),
                Some(content_type),
                "{x:?}"
            );
        }
        wire
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
pub(super) struct Drill {
    pub(super) kms: kms::Client,
    /// CloudHSM v2 over AWS JSON 1.1 (`X-Amz-Target: BaldrApiService.*`).
    pub(super) hsm: cloudhsm::Client,
    /// CloudHSM v2 over Smithy RPC v2 CBOR
    /// (`POST /service/BaldrApiService/operation/*`).
    pub(super) hsm_cbor: cloudhsm::Client,
    trail: cloudtrail::Client,
    /// What `hsm` sent and got.
    pub(super) hsm_wire: Wire,
    /// What `hsm_cbor` sent and got.
    pub(super) hsm_cbor_wire: Wire,
    control: Endpoint,
    _server: Server,
}

impl Drill {
    pub(super) fn start() -> Drill {
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

    /// A control API call that must answer 200 with `content_type`; its
    /// body.
    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let r = self
            .control
            .send("POST", path, &[("Content-Type", content_type)], body)
            .unwrap();
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.body
    }

    fn control(&self, path: &str, body: Value) -> Value {
        let answer = self.post(path, "application/json", body.to_string().as_bytes());
        serde_json::from_slice(&answer).unwrap()
    }

    /// Resets the server to the world `yaml`.
    pub(super) fn reset_world(&self, yaml: &str) {
        self.post("/_hsmdrill/world", "application/yaml", yaml.as_bytes());
    }

    /// Moves the server's clock `seconds` forward.
    pub(super) fn advance(&self, seconds: u64) {
        self.control("/_hsmdrill/clock/advance", json!({ "seconds": seconds }));
    }

    /// Takes a backup of `cluster` now; returns its id.
    pub(super) fn backup(&self, cluster: &str) -> String {
        let v = self.control(&format!("/_hsmdrill/clusters/{cluster}/backup"), json!({}));
        v["BackupId"].as_str().unwrap().to_owned()
    }

    /// The `UNINITIALIZED` cluster's CSR signed by its drill CA:
    /// (`SignedCert`, `TrustAnchor`).
    pub(super) fn sign_csr(&self, cluster: &str) -> (String, String) {
        let v = self.control(
            &format!("/_hsmdrill/clusters/{cluster}/sign-csr"),
            json!({}),
        );
        let text = |m: &str| v[m].as_str().unwrap().to_owned();
        (text("SignedCert"), text("TrustAnchor"))
    }

    /// A CLI line in a named CLI session: the CLI's envelope.
    fn cli(&self, cluster: &str, session: &str, command: &str) -> Value {
        self.control(
            "/_hsmdrill/cloudhsm-cli",
            json!({"ClusterId": cluster, "Session": session, "Command": command}),
        )
    }

    /// A CLI line that must succeed; its `data`.
    pub(super) fn cli_ok(&self, cluster: &str, session: &str, command: &str) -> Value {
        let v = self.cli(cluster, session, command);
        assert_eq!(v["error_code"], json!(0), "`{command}` failed: {v}");
        v["data"].clone()
    }

    /// A CLI line that must fail.
    pub(super) fn cli_err(&self, cluster: &str, session: &str, command: &str) -> Value {
        let v = self.cli(cluster, session, command);
        assert_ne!(v["error_code"], json!(0), "`{command}` succeeded: {v}");
        v
    }

    /// `user change-password` for kmsuser, as the cluster's admin.
    pub(super) fn reset_kmsuser_password(&self, cluster: &str, password: &str) {
        self.cli_ok(cluster, "admin", ADMIN_LOGIN);
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

    pub(super) async fn store(&self, id: &str) -> CustomKeyStoresListEntry {
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

    pub(super) async fn connection_state(&self, id: &str) -> ConnectionStateType {
        self.store(id).await.connection_state().unwrap().clone()
    }

    /// Advances the clock a second at a time (a connect attempt takes 2 s)
    /// until the store leaves CONNECTING; its state then.
    pub(super) async fn settle_connect(&self, id: &str) -> ConnectionStateType {
        for _ in 0..10 {
            let state = self.connection_state(id).await;
            if state != ConnectionStateType::Connecting {
                return state;
            }
            self.advance(1);
        }
        panic!("{id} still CONNECTING after 10 s");
    }

    pub(super) async fn connect(&self, id: &str) {
        self.kms
            .connect_custom_key_store()
            .custom_key_store_id(id)
            .send()
            .await
            .unwrap();
    }

    /// ConnectCustomKeyStore, then the state the attempt ends in.
    pub(super) async fn connect_and_settle(&self, id: &str) -> ConnectionStateType {
        self.connect(id).await;
        self.settle_connect(id).await
    }

    /// ConnectCustomKeyStore, whose attempt must end FAILED; the
    /// ConnectionErrorCode DescribeCustomKeyStores then shows.
    pub(super) async fn connect_failure(&self, id: &str) -> ConnectionErrorCodeType {
        assert_eq!(
            self.connect_and_settle(id).await,
            ConnectionStateType::Failed
        );
        self.store(id)
            .await
            .connection_error_code()
            .unwrap()
            .clone()
    }

    pub(super) async fn disconnect(&self, id: &str) {
        self.kms
            .disconnect_custom_key_store()
            .custom_key_store_id(id)
            .send()
            .await
            .unwrap();
    }

    /// UpdateCustomKeyStore of the store's kmsuser password.
    pub(super) async fn update_password(&self, id: &str, password: &str) {
        self.kms
            .update_custom_key_store()
            .custom_key_store_id(id)
            .key_store_password(password)
            .send()
            .await
            .unwrap();
    }

    pub(super) async fn encrypt(&self, key: &str, plaintext: &str) -> Blob {
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

    /// Encrypt under `key` is refused as AWS refuses a key whose store
    /// cannot use it: `KMSInvalidStateException`, "… is unavailable.".
    pub(super) async fn assert_unavailable(&self, key: &str) {
        assert_refused!(
            self.kms
                .encrypt()
                .key_id(key)
                .plaintext(Blob::new("x"))
                .send(),
            EncryptError::KmsInvalidStateException(_),
            "is unavailable."
        );
    }

    pub(super) async fn decrypt(&self, ciphertext: &Blob) -> String {
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

    /// Sends `request` through both CloudHSM clients: the answers, seen
    /// through `compared`, must agree. The JSON client's answer.
    pub(super) async fn on_both_protocols<O, E, F, C>(
        &self,
        what: &str,
        request: impl Fn(&cloudhsm::Client) -> F,
        compared: impl Fn(&O) -> C,
    ) -> O
    where
        F: Future<Output = Result<O, E>>,
        E: Debug,
        C: PartialEq + Debug,
    {
        let json = request(&self.hsm).await.unwrap();
        let cbor = request(&self.hsm_cbor).await.unwrap();
        assert_eq!(
            compared(&json),
            compared(&cbor),
            "{what}: JSON and CBOR disagree"
        );
        json
    }

    /// The cluster as DescribeClusters reports it, over JSON; the CBOR client
    /// must decode the very same answer.
    pub(super) async fn cluster(&self, id: &str) -> cloudhsm::types::Cluster {
        let json = self
            .on_both_protocols(
                "DescribeClusters",
                |client| {
                    client
                        .describe_clusters()
                        .filters("clusterIds", vec![id.to_owned()])
                        .send()
                },
                |out| clusters_at_ms(out.clusters()),
            )
            .await;
        assert_eq!(json.clusters().len(), 1, "{json:?}");
        json.clusters()[0].clone()
    }

    /// The backups of `cluster` as DescribeBackups lists them (newest
    /// first), over JSON; the CBOR client must decode the very same answer.
    pub(super) async fn backups(&self, cluster: &str) -> Vec<cloudhsm::types::Backup> {
        let json = self
            .on_both_protocols(
                "DescribeBackups",
                |client| {
                    client
                        .describe_backups()
                        .filters("clusterIds", vec![cluster.to_owned()])
                        .send()
                },
                |out| backups_at_ms(out.backups()),
            )
            .await;
        json.backups().to_vec()
    }

    /// CreateCluster over CBOR in `subnets` (from `backup`, if any): the
    /// cluster as created, CREATE_IN_PROGRESS.
    pub(super) async fn create_cluster(
        &self,
        subnets: [&str; 2],
        backup: Option<&str>,
    ) -> cloudhsm::types::Cluster {
        let out = self
            .hsm_cbor
            .create_cluster()
            .hsm_type("hsm2m.medium")
            .subnet_ids(subnets[0])
            .subnet_ids(subnets[1])
            .set_source_backup_id(backup.map(str::to_owned))
            .send()
            .await
            .unwrap();
        let created = out.cluster().unwrap().clone();
        assert_eq!(created.state(), Some(&ClusterState::CreateInProgress));
        assert_eq!(created.source_backup_id(), backup);
        created
    }

    /// Advances the clock until `done` holds for the cluster (HSM and
    /// cluster creation, initialization: 60 s of virtual time).
    pub(super) async fn wait_for_cluster(
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

    pub(super) async fn create_hsm(&self, client: &cloudhsm::Client, cluster: &str, zone: &str) {
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
    pub(super) async fn trail_event(&self, name: &str) -> Value {
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

pub(super) fn all_hsms_active(c: &cloudhsm::types::Cluster, n: usize) -> bool {
    c.hsms().len() == n
        && c.hsms()
            .iter()
            .all(|h| h.state() == Some(&HsmState::Active))
}
