//! The control API under `/_hsmdrill/`: what AWS has no API for, JSON in and
//! out (documented in `docs/server.md`).
//!
//! - `POST /_hsmdrill/clock/advance {"seconds": N}`: skip virtual time
//!   (deletion waiting periods, daily backups, pending connects);
//! - `POST /_hsmdrill/clusters/<ClusterId>/backup` → `{"BackupId": …}`;
//! - `POST /_hsmdrill/clusters/<ClusterId>/sign-csr` → `{"SignedCert": …,
//!   "TrustAnchor": …}`: the cluster's CSR signed by its drill CA;
//! - `POST /_hsmdrill/faults {"ClusterId": …, "Network": "blocked" | "ok" |
//!   {"Flaky": N}, "SecurityGroup": "broken" | "ok", "ExhaustSessions":
//!   true | false, "FailNextConnects": N, "DegradeHsm": HsmId | "all",
//!   "RepairHsm": HsmId | "all"}`;
//! - `POST /_hsmdrill/cloudhsm-cli {"ClusterId", "Session", "Command"}` →
//!   the CloudHSM CLI's JSON envelope;
//! - `POST /_hsmdrill/fault` (one `engine::faults::Fault` as JSON),
//!   `POST /_hsmdrill/clock/settle`, `POST /_hsmdrill/burst`: what
//!   `hsmdrill run --endpoint` needs to run runbooks remotely;
//! - `POST /_hsmdrill/world[?clock=virtual]` (a YAML world as the body):
//!   reset;
//! - `GET /_hsmdrill/health`.
//!
//! Every route but health and world takes the query parameters `region=`
//! and `account=` naming the partition it acts on (`partition.rs`), the
//! world's own Region and account by default; `clock/advance` and
//! `clock/settle` move the one clock of every partition whatever they name.
//!
//! Errors are JSON `{"__type": …, "message": …}` with status 400 (404 for an
//! unknown cluster).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::protocol::{Protocol, WireError};
use super::{on_engine, partition, read_body, ServerState};
use crate::engine::faults::Fault;
use crate::engine::{world, Clock, Engine, ErrorKind, NetworkCondition, EPOCH};

type Part = Query<PartitionQuery>;

pub(super) fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/_hsmdrill/health", get(health))
        .route("/_hsmdrill/clock/advance", post(advance))
        .route("/_hsmdrill/clusters/{cluster}/backup", post(backup))
        .route("/_hsmdrill/clusters/{cluster}/sign-csr", post(sign_csr))
        .route("/_hsmdrill/faults", post(faults))
        .route("/_hsmdrill/fault", post(fault))
        .route("/_hsmdrill/clock/settle", post(settle))
        .route("/_hsmdrill/burst", post(burst))
        .route("/_hsmdrill/cloudhsm-cli", post(cli))
        .route("/_hsmdrill/world", post(reset_world))
}

/// `?region=…&account=…`: the partition a control call acts on.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct PartitionQuery {
    region: Option<String>,
    account: Option<String>,
}

impl PartitionQuery {
    pub(super) fn route(&self, state: &ServerState) -> Result<partition::Routed, WireError> {
        partition::of_query(state, self.region.as_deref(), self.account.as_deref())
    }
}

/// `POST /_hsmdrill/world?clock=virtual`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct WorldQuery {
    clock: Option<String>,
}

fn reply(r: Result<Value, WireError>) -> Response {
    match r {
        Ok(v) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response_in(Protocol::Json),
    }
}

fn body_json(body: &[u8]) -> Result<Value, WireError> {
    serde_json::from_slice(body).map_err(|e| {
        WireError::client(
            "SerializationException",
            format!("Malformed JSON body: {e}"),
        )
    })
}

/// Reads a JSON body and answers with what `handle` makes of it.
async fn json_call<F, Fut>(body: Body, handle: F) -> Response
where
    F: FnOnce(Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, WireError>>,
{
    let r = async {
        let body = read_body(body).await?;
        handle(body_json(&body)?).await
    }
    .await;
    reply(r)
}

fn engine_error(e: crate::engine::Error) -> WireError {
    let not_found = e.kind() == ErrorKind::CloudHsmResourceNotFound;
    let w = WireError::from(e);
    if not_found {
        w.with_status(StatusCode::NOT_FOUND)
    } else {
        w
    }
}

async fn health(State(state): State<Arc<ServerState>>) -> Response {
    let now = state.engine().now();
    reply(Ok(json!({"status": "ok", "Now": now.as_epoch_seconds()})))
}

async fn advance(State(state): State<Arc<ServerState>>, body: Body) -> Response {
    json_call(body, |v| async move {
        let seconds = v["seconds"]
            .as_f64()
            .filter(|s| *s >= 0.0 && s.is_finite())
            .ok_or_else(|| {
                WireError::client(
                    "ValidationException",
                    "Expected {\"seconds\": N} with N ≥ 0.",
                )
            })?;
        let d = Duration::from_secs_f64(seconds.min(1e12));
        let cloud = state.cloud();
        on_engine(&state, cloud.default_engine().clone(), move |_| {
            cloud.advance(d);
            json!({"Now": cloud.now().as_epoch_seconds()})
        })
        .await
    })
    .await
}

async fn backup(state: State<Arc<ServerState>>, part: Part, cluster: Path<String>) -> Response {
    on_cluster(state, part, cluster, |e, c| {
        e.take_backup(c).map(|id| json!({"BackupId": id}))
    })
    .await
}

/// The cluster's CSR signed by its drill CA, for InitializeCluster.
async fn sign_csr(state: State<Arc<ServerState>>, part: Part, cluster: Path<String>) -> Response {
    on_cluster(state, part, cluster, |e, c| {
        e.sign_cluster_csr(c)
            .map(|s| json!({"SignedCert": s.signed_cert, "TrustAnchor": s.trust_anchor}))
    })
    .await
}

/// A call on the cluster the path names, in the engine of the partition
/// the query names, answered as JSON.
async fn on_cluster(
    State(state): State<Arc<ServerState>>,
    Query(part): Part,
    Path(cluster): Path<String>,
    f: impl FnOnce(&Engine, &str) -> crate::engine::Result<Value> + Send + 'static,
) -> Response {
    let r = async {
        let engine = part.route(&state)?.engine;
        on_engine(&state, engine, move |e| f(e, &cluster))
            .await
            .and_then(|r| r.map_err(engine_error))
    }
    .await;
    reply(r)
}

async fn faults(State(state): State<Arc<ServerState>>, Query(part): Part, body: Body) -> Response {
    json_call(body, |v| async move {
        let engine = part.route(&state)?.engine;
        let cluster = v["ClusterId"]
            .as_str()
            .ok_or_else(|| WireError::client("ValidationException", "ClusterId is required."))?
            .to_owned();
        let network = match &v["Network"] {
            Value::Null => None,
            Value::String(s) if s == "blocked" => Some(NetworkCondition::Blocked),
            Value::String(s) if s == "ok" => Some(NetworkCondition::Ok),
            other => match other["Flaky"].as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Some(NetworkCondition::Flaky(n)),
                None => {
                    return Err(WireError::client(
                        "ValidationException",
                        "Network must be \"blocked\", \"ok\" or {\"Flaky\": N}.",
                    ))
                }
            },
        };
        let security_group = match &v["SecurityGroup"] {
            Value::Null => None,
            Value::String(s) if s == "broken" => Some(false),
            Value::String(s) if s == "ok" => Some(true),
            _ => {
                return Err(WireError::client(
                    "ValidationException",
                    "SecurityGroup must be \"broken\" or \"ok\".",
                ))
            }
        };
        let exhaust = v["ExhaustSessions"].as_bool();
        // An HSM id, or "all" for every HSM of the cluster (I56).
        let hsm = |member: &str| -> Result<Option<Option<String>>, WireError> {
            match &v[member] {
                Value::Null => Ok(None),
                Value::String(s) if s == "all" => Ok(Some(None)),
                Value::String(s) => Ok(Some(Some(s.clone()))),
                _ => Err(WireError::client(
                    "ValidationException",
                    format!("{member} must be an HSM id or \"all\"."),
                )),
            }
        };
        let degrade = hsm("DegradeHsm")?;
        let repair = hsm("RepairHsm")?;
        let fail_connects = v["FailNextConnects"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok());
        on_engine(
            &state,
            engine,
            move |e| -> Result<Value, crate::engine::Error> {
                if let Some(n) = network {
                    e.set_network(&cluster, n)?;
                }
                if let Some(ok) = security_group {
                    e.set_security_group_ok(&cluster, ok)?;
                }
                match exhaust {
                    Some(true) => {
                        e.exhaust_sessions(&cluster)?;
                    }
                    Some(false) => e.release_sessions(&cluster)?,
                    None => {}
                }
                if let Some(n) = fail_connects {
                    e.inject_internal_errors(&cluster, n)?;
                }
                if let Some(h) = &degrade {
                    e.set_hsm_degraded(&cluster, h.as_deref(), true)?;
                }
                if let Some(h) = &repair {
                    e.set_hsm_degraded(&cluster, h.as_deref(), false)?;
                }
                let network = match e.network(&cluster)? {
                    NetworkCondition::Ok => json!("ok"),
                    NetworkCondition::Blocked => json!("blocked"),
                    NetworkCondition::Flaky(n) => json!({"Flaky": n}),
                };
                Ok(json!({"ClusterId": cluster, "Network": network}))
            },
        )
        .await?
        .map_err(engine_error)
    })
    .await
}

/// One fault as the engine names it (`hsmdrill::engine::faults::Fault` in
/// JSON, e.g. `{"DeleteSubnet": {"subnet": "subnet-…"}}`): what
/// `hsmdrill run --endpoint` sends for a runbook's fault statements.
async fn fault(State(state): State<Arc<ServerState>>, Query(part): Part, body: Body) -> Response {
    let r = async {
        let engine = part.route(&state)?.engine;
        let body = read_body(body).await?;
        let fault: Fault = serde_json::from_slice(&body).map_err(|e| {
            WireError::client("SerializationException", format!("Not a fault: {e}"))
        })?;
        on_engine(&state, engine, move |e| e.apply_fault(&fault))
            .await?
            .map_err(engine_error)
    }
    .await;
    reply(r)
}

/// Lets pending work (connect attempts, clusters, HSMs, backups) finish.
async fn settle(State(state): State<Arc<ServerState>>) -> Response {
    let cloud = state.cloud();
    let r = on_engine(&state, cloud.default_engine().clone(), move |_| {
        let moved = cloud.settle();
        json!({"Now": cloud.now().as_epoch_seconds(), "AdvancedSeconds": moved.as_secs_f64()})
    })
    .await;
    reply(r)
}

/// `{"Action": "begin"}`, `{"Action": "clock", "OffsetMillis": N}`,
/// `{"Action": "end"}`: a burst window, as the runner opens one for
/// `burst N { … }` (see `Engine::begin_simultaneous`).
async fn burst(State(state): State<Arc<ServerState>>, Query(part): Part, body: Body) -> Response {
    json_call(body, |v| async move {
        let engine = part.route(&state)?.engine;
        let action = v["Action"].as_str().unwrap_or("").to_owned();
        let offset = v["OffsetMillis"].as_u64().unwrap_or(0);
        if !matches!(action.as_str(), "begin" | "clock" | "end") {
            return Err(WireError::client(
                "ValidationException",
                format!("Action must be begin, clock or end, not {action:?}."),
            ));
        }
        // Through the durable path: moving the clock is a change a restart
        // must keep, like `clock/advance`.
        let server = state.clone();
        on_engine(&state, engine, move |engine| {
            match action.as_str() {
                "begin" => server.burst.begin(engine),
                "clock" => server.burst.clock(engine, Duration::from_millis(offset)),
                _ => server.burst.end(engine),
            }
            json!({"Now": engine.now().as_epoch_seconds()})
        })
        .await
    })
    .await
}

async fn cli(State(state): State<Arc<ServerState>>, Query(part): Part, body: Body) -> Response {
    json_call(body, |v| async move {
        let engine = part.route(&state)?.engine;
        let field = |name: &str| {
            v[name].as_str().map(str::to_owned).ok_or_else(|| {
                WireError::client("ValidationException", format!("{name} is required."))
            })
        };
        let (cluster, command) = (field("ClusterId")?, field("Command")?);
        let session = v["Session"].as_str().unwrap_or("default").to_owned();
        // `Answers`: what was typed at the line's password prompts.
        let answers = match &v["Answers"] {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| {
                    WireError::client("ValidationException", "Answers must be a list of strings.")
                })?,
            _ => {
                return Err(WireError::client(
                    "ValidationException",
                    "Answers must be a list of strings.",
                ))
            }
        };
        on_engine(&state, engine, move |e| {
            e.cloudhsm_cli_answered(&cluster, &session, &command, &answers)
        })
        .await
    })
    .await
}

async fn reset_world(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<WorldQuery>,
    body: Body,
) -> Response {
    let r = async {
        let body = read_body(body).await?;
        // `?clock=virtual`: the clock moves only when told to, as in an
        // embedded run, so a runbook gives the same bytes against a server.
        let virtual_clock = query.clock.as_deref() == Some("virtual");
        let yaml = std::str::from_utf8(&body)
            .map_err(|_| {
                WireError::client("SerializationException", "The world must be UTF-8 YAML.")
            })?
            .to_owned();
        let connect_seconds = state.connect_seconds;
        let engine = tokio::task::spawn_blocking(move || {
            let clock = if virtual_clock {
                Clock::virtual_at(EPOCH)
            } else {
                Clock::running_from(EPOCH)
            };
            world::load_cloud_str_with_clock(&yaml, "request body", clock)
                .map(|c| c.with_connect_seconds(connect_seconds))
        })
        .await
        .map_err(|e| WireError::client("InternalFailure", e.to_string()))?
        .map_err(|e| WireError::client("ValidationException", e.to_string()))?;
        // With `--state`, the new world is on disk before it is served.
        let server = state.clone();
        tokio::task::spawn_blocking(move || server.replace(engine))
            .await
            .map_err(|e| WireError::client("InternalFailure", e.to_string()))?
            .map_err(|e| super::durable::not_durable(&e))?;
        Ok(json!({"status": "reset"}))
    }
    .await;
    reply(r)
}
