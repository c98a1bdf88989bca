//! `hsmdrill serve`: the embedded engine behind the AWS wire protocols, so
//! the AWS SDKs, the `aws` CLI and scripts rehearse the same incidents as
//! runbooks do.
//!
//! The server is a thin adapter: it reads a request in the protocol it came
//! in, hands the operation name and JSON input to [`Engine::call_api`], and
//! writes the answer or the AWS error back in the same protocol. It has no
//! behaviour of its own.
//!
//! Routes:
//! - `POST /` with `X-Amz-Target: TrentService.<Op>` (KMS),
//!   `BaldrApiService.<Op>` (CloudHSM v2) or
//!   `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`
//!   (CloudTrail), AWS JSON 1.1;
//! - `POST /service/BaldrApiService/operation/<Op>` with
//!   `smithy-protocol: rpc-v2-cbor` (CloudHSM v2 in CBOR, which current SDKs
//!   pick);
//! - `/_hsmdrill/…`: the control API for what AWS has no API for
//!   (`control.rs`, documented in `docs/server.md`);
//! - `GET /` and `/_hsmdrill/console/…`: the live game-day console
//!   (`console/`).
//!
//! Regions and accounts (`partition.rs`, docs/server.md): the server holds
//! a [`Cloud`], one engine per account and Region. A request goes to the
//! partition of the Region in its SigV4 credential scope and the account
//! its access key maps to (the world's `accounts`), the world's own Region
//! and account when it names neither.
//!
//! Concurrency: the engine is `Send + Sync` and every method takes `&self`,
//! so handlers share one `Arc<Cloud>` and the partitions' `Arc<Engine>`s.
//! Engine calls run on tokio's blocking pool, because an emulated HSM
//! latency sleeps. A world reset swaps the cloud behind a lock that requests
//! hold only long enough to clone the `Arc`. Shutdown: [`run`] stops accepting when `shutdown` completes and
//! lets in-flight requests finish.
//!
//! Durability (`--state FILE`, [`ServerState::persist_to`], `durable.rs`,
//! `store.rs`): FILE is an SQLite database. Every request that may change
//! the state (every operation but the Describe/List and cryptographic ones,
//! and every control API call but health) writes what it changed (the
//! entities, not the world) with its trail events in one transaction after
//! the engine call and before the answer; a read writes its trail events,
//! and writes changes only if scheduled work fell due during it, a link is
//! flaky, or a change it may have seen is not on disk yet (it then answers
//! once it is). Writers queue on a mutex and a write covers every call
//! finished before it was taken (group commit), so the file always holds
//! every change and event acknowledged so far. A failed write is answered
//! 500 `InternalFailure`: the change is not acknowledged.
//!
//! Every byte of a request is the client's to choose, so this module never
//! slices a string by byte offsets or indexes past a check
//! (`clippy::string_slice` and `clippy::indexing_slicing` are denied here):
//! a request that would panic a handler drops the connection without an
//! answer.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

pub mod auth;
mod cbor;
mod console;
#[allow(
    clippy::indexing_slicing,
    reason = "indexes serde_json values only, which answer Null for a missing member"
)]
mod control;
mod durable;
mod partition;
mod protocol;
mod serve;
mod store;
#[allow(
    clippy::indexing_slicing,
    reason = "indexes serde_json values only, which answer Null for a missing member"
)]
mod trail;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parking_lot::RwLock;
use serde_json::Value;

use crate::engine::cloud::{Cloud, Partition};
use crate::engine::dispatch::Api;
use crate::engine::Engine;
use crate::scenario::target::BurstWindow;
use protocol::{Protocol, WireError};

pub use auth::Credentials;
pub use protocol::{CBOR, JSON_1_1};
pub use serve::{check_bind, engine_for, serve, start_engine, ServeOptions};

/// Largest request body accepted (1 MiB).
pub const MAX_BODY: usize = 1 << 20;

/// What every handler shares.
#[derive(Debug)]
pub struct ServerState {
    cloud: RwLock<Arc<Cloud>>,
    /// With `--auth`: the only key whose SigV4 signatures are accepted.
    auth: Option<auth::Credentials>,
    /// Seconds a connect attempt takes, applied to worlds loaded later.
    connect_seconds: Option<u64>,
    /// The open burst window (control API).
    burst: BurstWindow,
    /// With `--state FILE`: where changes are made durable (`durable.rs`).
    persist: OnceLock<durable::Persister>,
    /// Set when the server shuts down: the console's event streams, which
    /// never end by themselves, end then, so a graceful shutdown that
    /// waits for open requests does not wait for them forever.
    closing: tokio::sync::watch::Sender<bool>,
    /// The console's timeline of the last minutes (`console/history.rs`).
    console_history: console::history::History,
}

impl ServerState {
    /// Serves `cloud` (an engine is a cloud of one partition).
    pub fn new(cloud: impl Into<Cloud>, connect_seconds: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            cloud: RwLock::new(Arc::new(cloud.into())),
            auth: None,
            connect_seconds,
            burst: BurstWindow::default(),
            persist: OnceLock::new(),
            closing: tokio::sync::watch::Sender::new(false),
            console_history: console::history::History::default(),
        })
    }

    /// Serves `cloud`, accepting only requests signed with `credentials`.
    pub fn with_auth(
        cloud: impl Into<Cloud>,
        connect_seconds: Option<u64>,
        credentials: Credentials,
    ) -> Arc<Self> {
        Arc::new(Self {
            cloud: RwLock::new(Arc::new(cloud.into())),
            auth: Some(credentials),
            connect_seconds,
            burst: BurstWindow::default(),
            persist: OnceLock::new(),
            closing: tokio::sync::watch::Sender::new(false),
            console_history: console::history::History::default(),
        })
    }

    /// With `--auth`, checks the request's signature.
    fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), WireError> {
        let Some(creds) = &self.auth else {
            return Ok(());
        };
        auth::verify(
            creds,
            &auth::SignedRequest {
                method: method.as_str(),
                path: uri.path().as_bytes(),
                query: uri.query().unwrap_or("").as_bytes(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_bytes()))
                    .collect(),
                body,
                now: std::time::SystemTime::now(),
            },
        )
    }

    /// The default partition's engine now (a world reset replaces it).
    pub fn engine(&self) -> Arc<Engine> {
        self.cloud.read().default_engine().clone()
    }

    /// Every partition now (a world reset replaces them).
    pub fn cloud(&self) -> Arc<Cloud> {
        self.cloud.read().clone()
    }
}

/// The server's routes.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        // GET is the console (`console/`), POST the AWS JSON protocol.
        .route("/", post(json_rpc).get(console::page))
        .route("/service/{service}/operation/{operation}", post(cbor_rpc))
        .merge(control::routes())
        .merge(console::routes())
        .fallback(not_found)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = state.clone();
    tokio::spawn(console::history::sample_until_closed(state.clone()));
    let shutdown = async move {
        shutdown.await;
        server.closing.send_replace(true);
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Runs a call on `engine` that may change the state (on the blocking pool
/// if it may block; with `--state`, the change is on disk when this
/// returns).
async fn on_engine<T: Send + 'static>(
    state: &Arc<ServerState>,
    engine: Arc<Engine>,
    f: impl FnOnce(&Engine) -> T + Send + 'static,
) -> Result<T, WireError> {
    durable::on_engine_as(state, engine, durable::Effect::Changes, f).await
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads a body of at most [`MAX_BODY`] bytes; a larger one is an AWS-style
/// 413, not a dropped connection.
pub(crate) async fn read_body(body: Body) -> Result<Bytes, WireError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        WireError::client(
            "RequestEntityTooLargeException",
            format!("The request body is larger than {MAX_BODY} bytes."),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    })
}

/// `POST /`: AWS JSON 1.1, dispatched on `X-Amz-Target`.
async fn json_rpc(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response_in(Protocol::Json),
    };
    if let Err(e) = state.authenticate(&method, &uri, &headers, &body) {
        return e.into_response_in(Protocol::Json);
    }
    let partition = match partition::of_request(&state, &headers) {
        Ok(p) => p,
        Err(e) => return e.into_response_in(Protocol::Json),
    };
    match json_rpc_inner(&state, partition, &headers, &body).await {
        Ok(v) => protocol::json_ok(&v),
        Err(e) => e.into_response_in(Protocol::Json),
    }
}

async fn json_rpc_inner(
    state: &Arc<ServerState>,
    partition: partition::Routed,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, WireError> {
    let target = header(headers, "x-amz-target").ok_or_else(|| {
        WireError::client(
            "UnknownOperationException",
            "Missing X-Amz-Target header: expected TrentService.<Operation>, BaldrApiService.<Operation> or a CloudTrail target.",
        )
    })?;
    let content_type = header(headers, "content-type").unwrap_or("");
    if !content_type.starts_with("application/x-amz-json-1.") {
        return Err(WireError::client(
            "SerializationException",
            format!("Unsupported Content-Type {content_type:?}: expected {JSON_1_1}."),
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            WireError::client(
                "SerializationException",
                format!("Malformed JSON body: {e}"),
            )
        })?
    };
    if let Some(op) = trail::operation(target) {
        let op = op.to_owned();
        let server = state.clone();
        let engine = partition.engine.clone();
        return durable::on_engine_as(state, partition.engine, durable::Effect::Reads, move |_| {
            trail::call(&op, &input, |query, skip, take| {
                server.trail_page(&engine, query, skip, take)
            })
        })
        .await?;
    }
    let (api, op) = match target.split_once('.') {
        Some(("TrentService", op)) => (Api::Kms, op),
        Some(("BaldrApiService", op)) => (Api::CloudHsmV2, op),
        Some(_) | None => {
            return Err(WireError::client(
                "UnknownOperationException",
                format!("Unknown target {target}."),
            ))
        }
    };
    let op = op.to_owned();
    let (cloud, engine) = (partition.cloud, partition.engine);
    durable::on_engine_as(state, engine, durable::effect_of(&op), move |e| {
        cloud.call_api(&Partition::of(e), api, &op, input)
    })
    .await?
    .map_err(WireError::from)
}

/// `POST /service/<Service>/operation/<Op>`: Smithy RPC v2 CBOR.
async fn cbor_rpc(
    State(state): State<Arc<ServerState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        // A service or operation that percent-decodes to bytes that are not
        // UTF-8 names nothing: answer as AWS does for an unknown operation,
        // in CBOR, not with axum's plain-text rejection (found by the
        // `cbor_request` fuzz target).
        let body = read_body(body).await?;
        state.authenticate(&method, &uri, &headers, &body)?;
        let partition = partition::of_request(&state, &headers)?;
        let Path((service, operation)) = path.map_err(|_| {
            WireError::client(
                "UnknownOperationException",
                format!("Unknown operation in {}.", uri.path()),
            )
        })?;
        if service != "BaldrApiService" {
            return Err(WireError::client(
                "UnknownOperationException",
                format!("Unknown service {service}: only BaldrApiService speaks rpc-v2-cbor."),
            ));
        }
        if header(&headers, "smithy-protocol") != Some("rpc-v2-cbor") {
            return Err(WireError::client(
                "SerializationException",
                "Missing header smithy-protocol: rpc-v2-cbor.",
            ));
        }
        let input =
            cbor::decode(&body).map_err(|e| WireError::client("SerializationException", e))?;
        let (cloud, engine) = (partition.cloud, partition.engine);
        durable::on_engine_as(&state, engine, durable::effect_of(&operation), move |e| {
            cloud.call_api(&Partition::of(e), Api::CloudHsmV2, &operation, input)
        })
        .await?
        .map_err(WireError::from)
    }
    .await;
    match result {
        Ok(v) => match cbor::encode(&v) {
            Ok(bytes) => (
                StatusCode::OK,
                [
                    (axum::http::header::CONTENT_TYPE, CBOR),
                    (
                        axum::http::HeaderName::from_static("smithy-protocol"),
                        "rpc-v2-cbor",
                    ),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => WireError::client("SerializationException", e)
                .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response_in(Protocol::Cbor),
        },
        Err(e) => e.into_response_in(Protocol::Cbor),
    }
}

async fn not_found() -> Response {
    WireError::client("UnknownOperationException", "No such route.")
        .with_status(StatusCode::NOT_FOUND)
        .into_response_in(Protocol::Json)
}
