//! The live game-day console: `GET /` in a browser shows the world as it
//! is now, per account and Region, and follows every change whoever made
//! it (the AWS API, the CloudHSM CLI, the control API, the clock); its
//! buttons call the control API. Documented in `docs/server.md`.
//!
//! - `GET /`: the page (`console.html`, its script and style inline);
//! - `GET /_hsmdrill/console/state`: the view as JSON, one object per
//!   partition ([`view::PartitionView`]), each with the timeline of its
//!   last minutes, which the server keeps ([`history`]);
//! - `GET /_hsmdrill/console/events`: the same view as server-sent events,
//!   one at once and one each time it changes;
//! - `POST /_hsmdrill/console/kms {"Operation": "ConnectCustomKeyStore" |
//!   "DisconnectCustomKeyStore", "CustomKeyStoreId": …}` (with `region=`
//!   and `account=` as the control API takes them): the page's
//!   connect and disconnect buttons, which call KMS in the engine as a
//!   client would (so the trail records them) but unsigned, like the rest
//!   of the control API.
//!
//! Why the events are found by comparing views rather than by a signal
//! from the engine: much of what the console shows changes with no call at
//! all (a connect attempt finishes, a waiting period ends, as the clock
//! runs), so each stream renders the view every [`POLL`] and sends it when
//! it differs from the last one sent. Rendering reads the engine's state
//! directly (no CloudTrail event, nothing a client can observe) through
//! the same durable read path as a Describe call, so work that falls due
//! while reading is persisted with `--state` as it would be then.
//!
//! Security: the console is part of the server, so it is only reachable
//! where the server is (loopback unless `--allow-remote`, see
//! [`super::check_bind`]); the view holds no key material and no password
//! (`view.rs`).

pub mod history;
pub mod view;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::Stream;
use serde_json::{json, Value};

use super::control::PartitionQuery;
use super::durable::{on_engine_as, Effect};
use super::protocol::WireError;
use super::{read_body, ServerState};
use crate::engine::cloud::Partition;
use crate::engine::dispatch::Api;
use history::Observed;
use view::PartitionView;

/// How often an event stream looks for a change.
pub const POLL: Duration = Duration::from_millis(200);

/// The page: one file, nothing loaded from elsewhere.
const PAGE: &str = include_str!("console.html");

pub(super) fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/_hsmdrill/console/state", get(state_json))
        .route("/_hsmdrill/console/events", get(events))
        .route("/_hsmdrill/console/kms", post(kms))
}

/// `GET /`.
pub(super) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page runs its own inline script and talks to this server
            // only.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
            ),
        ],
        PAGE,
    )
        .into_response()
}

/// Every partition now, the world's own first, each with its timeline
/// (which this look extends).
async fn world_view(state: &Arc<ServerState>) -> Result<Vec<PartitionView>, WireError> {
    let mut out = Vec::new();
    for engine in state.cloud().partitions() {
        let mut view = on_engine_as(state, engine, Effect::Reads, PartitionView::of).await?;
        let seen = Observed::of(&view.stores, view.keys.iter().map(|k| &k.sample));
        view.history = state.console_history.observe(
            &history::partition_key(&view.account, &view.region),
            history::wall_now(),
            &seen,
        );
        out.push(view);
    }
    Ok(out)
}

/// The view as JSON (with the server's wall clock, `now`, against which
/// the page places the timeline), and the same without any clock: what
/// tells a change. A running clock alone is no change, or every poll would
/// send an event and the page would redraw under the user's pointer.
async fn view_text(state: &Arc<ServerState>) -> Result<(String, String), WireError> {
    let mut view = world_view(state).await?;
    let text = |view: &[PartitionView], now: i64| {
        serde_json::to_string(&json!({ "partitions": view, "now": now }))
            .map_err(|e| WireError::client("InternalFailure", e.to_string()))
    };
    let full = text(&view, history::wall_now())?;
    for p in &mut view {
        p.now = 0;
    }
    Ok((full, text(&view, 0)?))
}

/// `GET /_hsmdrill/console/state`.
async fn state_json(State(state): State<Arc<ServerState>>) -> Response {
    match view_text(&state).await {
        Ok((text, _)) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => e.into_response_in(super::protocol::Protocol::Json),
    }
}

/// `GET /_hsmdrill/console/events`: the view at once, then each time it
/// changes, until the server shuts down. A view that cannot be read (a
/// failed `--state` write) is skipped: the next poll tries again.
async fn events(
    State(state): State<Arc<ServerState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let closing = state.closing.subscribe();
    let stream = futures::stream::unfold(
        (state, closing, String::new()),
        |(state, mut closing, last)| async move {
            loop {
                if !last.is_empty() {
                    tokio::select! {
                        _ = tokio::time::sleep(POLL) => {}
                        _ = closing.wait_for(|c| *c) => return None,
                    }
                }
                if *closing.borrow() {
                    return None;
                }
                match view_text(&state).await {
                    Ok((text, key)) if key != last => {
                        let event = Event::default().event("world").data(text);
                        return Some((Ok(event), (state, closing, key)));
                    }
                    // Unchanged, or unreadable (the next poll tries again).
                    Ok(_) | Err(_) if last.is_empty() => tokio::time::sleep(POLL).await,
                    Ok(_) | Err(_) => {}
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `POST /_hsmdrill/console/kms`: connect or disconnect a store.
async fn kms(
    State(state): State<Arc<ServerState>>,
    Query(part): Query<PartitionQuery>,
    body: Body,
) -> Response {
    let r = async {
        let body = read_body(body).await?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            WireError::client(
                "SerializationException",
                format!("Malformed JSON body: {e}"),
            )
        })?;
        let op = match v.get("Operation").and_then(Value::as_str) {
            Some(op @ ("ConnectCustomKeyStore" | "DisconnectCustomKeyStore")) => op.to_owned(),
            _ => {
                return Err(WireError::client(
                    "ValidationException",
                    "Operation must be ConnectCustomKeyStore or DisconnectCustomKeyStore.",
                ))
            }
        };
        let id = v
            .get("CustomKeyStoreId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                WireError::client("ValidationException", "CustomKeyStoreId is required.")
            })?
            .to_owned();
        let routed = part.route(&state)?;
        let (cloud, engine) = (routed.cloud, routed.engine);
        on_engine_as(&state, engine, Effect::Changes, move |e| {
            cloud.call_api(
                &Partition::of(e),
                Api::Kms,
                &op,
                json!({ "CustomKeyStoreId": id }),
            )
        })
        .await?
        .map_err(WireError::from)
    }
    .await;
    match r {
        Ok(v) => ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response(),
        Err(e) => e.into_response_in(super::protocol::Protocol::Json),
    }
}
