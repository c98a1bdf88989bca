//! What the fuzz targets share: the example world as a fresh engine per
//! input, the input formats of the request targets, the checks that every
//! answer is a well-formed AWS success or error, and (`sign`) signing with
//! the official SigV4 signer for the targets that run with `--auth`. The
//! exception names an answer may carry (`exceptions`) and the signing
//! oracle are the integration tests' own, included by `#[path]` from
//! `tests/integration/support/`.
//!
//! A target panics (and libFuzzer reports a crash) when the library panics
//! or when one of these checks fails.

pub mod sign;

/// The exception names the wire tests accept too
/// (`tests/integration/support/exceptions.rs`).
#[path = "../../tests/integration/support/exceptions.rs"]
pub mod exceptions;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use hsmdrill::engine::{world, Engine};
use serde_json::Value;
use tower::ServiceExt;

/// The example world (`scenarios/worlds/example.yaml`).
pub const EXAMPLE_WORLD: &str = include_str!("../../scenarios/worlds/example.yaml");

/// The example world's cluster.
pub const CLUSTER: &str = "cluster-1a23b4cdefg";
/// The example world's key store.
pub const STORE: &str = "cks-1234567890abcdef0";
/// The example world's key.
pub const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// A fresh engine holding the example world, loaded from its YAML. (The
/// state is an SQLite file now, no JSON snapshot to restore from, so the
/// seed corpora's ciphertexts, made under `fixtures/example-state.json`'s
/// key material, fail authentication: still a fine input.)
pub fn example_engine() -> Engine {
    match world::load_str(EXAMPLE_WORLD, "example.yaml") {
        Ok(e) => e,
        Err(e) => panic!("cannot load the example world: {e}"),
    }
}

/// Splits `data` on `sep` into at most `max` pieces (the last keeps the rest).
pub fn split_records(data: &[u8], sep: u8, max: usize) -> Vec<&[u8]> {
    data.splitn(max, |b| *b == sep).collect()
}

/// Splits a record at its first newline: (first line, rest).
pub fn first_line(record: &[u8]) -> (&[u8], &[u8]) {
    match record.iter().position(|b| *b == b'\n') {
        Some(i) => (&record[..i], &record[i + 1..]),
        None => (record, &[]),
    }
}

/// Reads the length-prefixed records of the CBOR target: `[op len: u8][op]
/// [body len: u16 BE][body]`, repeated; a short read takes what is left.
pub fn cbor_records(mut data: &[u8], max: usize) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < max {
        let n = usize::from(data[0]).min(data.len() - 1);
        let op = &data[1..1 + n];
        data = &data[1 + n..];
        let len = match data {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => 0,
        };
        data = &data[data.len().min(2)..];
        let len = len.min(data.len());
        out.push((op, &data[..len]));
        data = &data[len..];
    }
    out
}

/// Writes records in the format [`cbor_records`] reads.
pub fn write_cbor_records(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (op, body) in records {
        let op = &op.as_bytes()[..op.len().min(255)];
        out.push(op.len() as u8);
        out.extend_from_slice(op);
        let body = &body[..body.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// Percent-encodes every byte that is not an ASCII letter or digit, so any
/// bytes make a valid path segment.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for b in bytes {
        if b.is_ascii_alphanumeric() {
            s.push(char::from(*b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The current-thread runtime the request targets drive the router on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("cannot build a tokio runtime: {e}"),
        }
    })
}

/// One answer of the router, read whole.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends `request` through `router` with `oneshot` and reads the answer.
pub fn send(router: &Router, request: Request<Body>) -> Answer {
    runtime().block_on(async {
        let response = match router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        let (parts, body) = response.into_parts();
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b.to_vec(),
            Err(e) => panic!("cannot read the response body: {e}"),
        };
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Statuses an AWS error may carry here: client faults, no route, too
/// large, wrong media type, server faults.
const ERROR_STATUSES: &[u16] = &[400, 404, 413, 415, 500];

/// Whether an answer may carry this exception: the engine's, the ones the
/// server adds, and (for the `--auth` targets) the verifier's.
pub fn known_exception(name: &str) -> bool {
    exceptions::known_exception(name) || exceptions::AUTH_ERRORS.contains(&name)
}

/// Checks an error body (already decoded) against the answer's headers.
fn check_error(answer: &Answer, body: &Value) {
    assert!(
        ERROR_STATUSES.contains(&answer.status.as_u16()),
        "unexpected status {} with {body}",
        answer.status
    );
    let name = body
        .get("__type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("an error without __type: {body}"));
    assert!(known_exception(name), "an unknown exception: {body}");
    assert_eq!(
        header(&answer.headers, "x-amzn-errortype"),
        Some(name),
        "x-amzn-ErrorType differs from __type in {body}"
    );
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str);
    assert!(message.is_some(), "an error without a message: {body}");
}

/// Checks an AWS JSON 1.1 answer: 200 with a JSON object, or an AWS error
/// (status, `x-amzn-ErrorType`, `__type`, message).
pub fn check_json_answer(answer: &Answer) {
    assert_eq!(
        header(&answer.headers, "content-type"),
        Some(hsmdrill::server::JSON_1_1),
        "wrong content type (status {})",
        answer.status
    );
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "the body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&answer.body)
        )
    });
    assert!(body.is_object(), "the body is not a JSON object: {body}");
    if answer.status == StatusCode::OK {
        assert!(
            body.get("__type").is_none(),
            "a success with __type: {body}"
        );
    } else {
        check_error(answer, &body);
    }
}

/// Checks a Smithy RPC v2 CBOR answer: 200 with a CBOR map, or an AWS error
/// in CBOR (or, for a path no route matches, in JSON).
pub fn check_cbor_answer(answer: &Answer) {
    if answer.status == StatusCode::NOT_FOUND
        && header(&answer.headers, "content-type") == Some(hsmdrill::server::JSON_1_1)
    {
        return check_json_answer(answer);
    }
    assert_eq!(
        header(&answer.headers, "content-type"),
        Some(hsmdrill::server::CBOR),
        "wrong content type (status {}): {:?}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        header(&answer.headers, "smithy-protocol"),
        Some("rpc-v2-cbor"),
        "no smithy-protocol header (status {})",
        answer.status
    );
    let value: ciborium::value::Value = ciborium::de::from_reader(&answer.body[..])
        .unwrap_or_else(|e| panic!("the body is not CBOR ({e}): {:?}", answer.body));
    assert!(value.is_map(), "the body is not a CBOR map: {value:?}");
    if answer.status != StatusCode::OK {
        let json: Value = value
            .deserialized()
            .unwrap_or_else(|e| panic!("an error body that is not plain data ({e}): {value:?}"));
        check_error(answer, &json);
    }
}

/// Checks a CloudHSM CLI envelope: `{"error_code": 0, "data": …}` or
/// `{"error_code": 1, "data": "<message>"}`.
pub fn check_cli_envelope(out: &Value) {
    let code = out.get("error_code").and_then(Value::as_i64);
    match code {
        Some(0) => assert!(out.get("data").is_some(), "success without data: {out}"),
        Some(1) => assert!(
            out.get("data").is_some_and(Value::is_string),
            "failure without a message: {out}"
        ),
        _ => panic!("bad envelope: {out}"),
    }
}
