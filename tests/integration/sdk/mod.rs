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
//!
//! - `drill`: the server, the SDK clients and what the tests ask of them;
//! - `lifecycle`: CreateCluster to a key in a new key store;
//! - `runbooks`: R5 and R7 through the SDKs;
//! - `cloudtrail`: LookupEvents finds the key store operations;
//! - `sigv4`: `serve --auth` against signed, forged and skewed requests.

use hsmdrill::server::Credentials;

use crate::support::serve::{example_state, InProcessServer};

/// The example world's store, cluster and key (`scenarios/worlds/example.yaml`).
const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const WORLD_BACKUP: &str = "backup-9g87f6edcba";

/// The CloudHSM CLI login of the clusters' admin.
const ADMIN_LOGIN: &str = "login --username admin --role admin --password adminPassword1";

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
                    .operation_timeout(std::time::Duration::from_secs(30))
                    .build(),
            )
    };
}

/// Awaits `call` (a sent SDK request), which must fail with a service error
/// matching `pattern` (and whose message holds `message`, if given); the
/// error, for more checks.
macro_rules! assert_refused {
    ($call:expr, $pattern:pat) => {{
        let err = $call.await.unwrap_err().into_service_error();
        assert!(matches!(&err, $pattern), "{err:?}");
        err
    }};
    ($call:expr, $pattern:pat, $message:expr) => {{
        let err = assert_refused!($call, $pattern);
        let message = aws_sdk_kms::error::ProvideErrorMetadata::message(&err);
        assert!(message.unwrap().contains($message), "{err:?}");
        err
    }};
}

mod cloudtrail;
mod drill;
mod lifecycle;
mod runbooks;
mod sigv4;
