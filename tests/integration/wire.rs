//! Properties of the server's request decoding, through the real router and
//! the real dispatch (no socket): whatever body, operation name or headers
//! arrive on the AWS JSON 1.1 route (`POST /`) or the Smithy RPC v2 CBOR
//! route (`POST /service/BaldrApiService/operation/<Op>`), the answer is a
//! well-formed AWS answer in that protocol, a success or an error with an
//! exception name, and the server never panics.
//!
//! These are the in-`cargo test` versions of the `json_request` and
//! `cbor_request` fuzz targets (`fuzz/README.md`). `PROPTEST_CASES=N`
//! runs N cases per property with fresh randomness.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use tower::ServiceExt;

use hsmdrill::engine::dispatch::Operation;
use hsmdrill::engine::world;
use hsmdrill::server::{router, ServerState};

use crate::support::exceptions::known_exception;
use crate::support::{check, EXAMPLE_WORLD};

fn state() -> Arc<ServerState> {
    let engine = world::load_file(Path::new(EXAMPLE_WORLD)).unwrap();
    ServerState::new(engine, Some(2))
}

/// One request through the router, on a runtime of the test's own.
fn send(
    state: &Arc<ServerState>,
    req: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = router(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, headers, body)
    })
}

fn content_type(headers: &[(String, String)]) -> &str {
    headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A JSON 1.1 answer: 200 with a JSON object, or 4xx/5xx with `__type` and
/// a message.
fn check_json_answer(
    what: &str,
    (status, headers, body): (StatusCode, Vec<(String, String)>, Vec<u8>),
) -> Result<(), TestCaseError> {
    prop_assert!(
        content_type(&headers).starts_with("application/x-amz-json-1.1"),
        "{what}: content type {:?}",
        content_type(&headers)
    );
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| TestCaseError::fail(format!("{what}: body is not JSON: {e}")))?;
    prop_assert!(v.is_object(), "{what}: {v}");
    if status.is_success() {
        prop_assert!(v.get("__type").is_none(), "{what}: {v}");
    } else {
        prop_assert!(
            status.is_client_error() || status.is_server_error(),
            "{what}: {status}"
        );
        let name = v["__type"].as_str().unwrap_or_default();
        let name = name.rsplit('#').next().unwrap_or(name);
        prop_assert!(known_exception(name), "{what}: unknown exception {v}");
        let message = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str);
        prop_assert!(
            message.is_some_and(|m| !m.is_empty()),
            "{what}: no message in {v}"
        );
        prop_assert!(
            !message.unwrap_or_default().contains("panicked"),
            "{what}: {v}"
        );
    }
    Ok(())
}

fn targets() -> impl Strategy<Value = String> {
    let ops: Vec<String> = Operation::ALL
        .iter()
        .map(|op| match op.api() {
            hsmdrill::engine::dispatch::Api::Kms => format!("TrentService.{}", op.name()),
            hsmdrill::engine::dispatch::Api::CloudHsmV2 => format!("BaldrApiService.{}", op.name()),
        })
        .chain([
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents".to_owned(),
            "TrentService.NoSuchThing".to_owned(),
            "Nonsense".to_owned(),
            String::new(),
        ])
        .collect();
    prop_oneof![
        4 => proptest::sample::select(ops),
        1 => "[A-Za-z.]{0,40}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        Just(json!("cks-1234567890abcdef0")),
        Just(json!("cluster-1a23b4cdefg")),
        Just(json!("alias/app")),
        Just(json!("aGVsbG8=")),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("KeyId".to_owned()),
                    Just("Plaintext".to_owned()),
                    Just("CiphertextBlob".to_owned()),
                    Just("CustomKeyStoreId".to_owned()),
                    Just("ClusterId".to_owned()),
                    Just("Filters".to_owned()),
                    Just("LookupAttributes".to_owned()),
                    "[A-Za-z]{1,12}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: JSON text, mangled JSON, or bytes.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => any_json().prop_flat_map(|v| {
            let text = v.to_string().into_bytes();
            let n = text.len();
            (Just(text), 0..=n).prop_map(|(t, cut)| t[..cut].to_vec())
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[test]
fn any_json_1_1_request_gets_a_well_formed_aws_answer() {
    let state = state();
    check(
        384,
        (targets(), json_body(), any::<bool>()),
        |(target, body, right_type)| {
            let req = Request::post("/")
                .header("x-amz-target", &target)
                .header(
                    "content-type",
                    if right_type {
                        "application/x-amz-json-1.1"
                    } else {
                        "text/plain"
                    },
                )
                .body(Body::from(body.clone()))
                .unwrap();
            let what = format!("{target} {:?}", String::from_utf8_lossy(&body));
            check_json_answer(&what, send(&state, req))
        },
    );
}

#[test]
fn a_json_request_without_a_target_is_unknown_operation() {
    let state = state();
    let req = Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from("{}"))
        .unwrap();
    let (status, headers, body) = send(&state, req);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["__type"]
            .as_str()
            .unwrap()
            .ends_with("UnknownOperationException"),
        "{v}"
    );
    assert!(content_type(&headers).starts_with("application/x-amz-json-1.1"));
}

fn cbor_value() -> impl Strategy<Value = ciborium::Value> {
    use ciborium::Value as C;
    let leaf = prop_oneof![
        Just(C::Null),
        any::<bool>().prop_map(C::Bool),
        any::<i64>().prop_map(|i| C::Integer(i.into())),
        any::<f64>().prop_map(C::Float),
        ".{0,12}".prop_map(C::Text),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(C::Bytes),
        Just(C::Text("cluster-1a23b4cdefg".into())),
        (0u64..5, any::<i64>()).prop_map(|(t, i)| C::Tag(t, Box::new(C::Integer(i.into())))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(C::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just(C::Text("ClusterId".into())),
                        Just(C::Text("Filters".into())),
                        Just(C::Text("HsmType".into())),
                        Just(C::Text("SubnetIds".into())),
                        Just(C::Text("BackupId".into())),
                        Just(C::Text("MaxResults".into())),
                        ".{1,8}".prop_map(C::Text),
                        any::<i64>().prop_map(|i| C::Integer(i.into())),
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(C::Map),
        ]
    })
}

fn cbor_body() -> impl Strategy<Value = Vec<u8>> {
    let encoded = || {
        cbor_value().prop_map(|v| {
            let mut out = Vec::new();
            ciborium::into_writer(&v, &mut out).unwrap();
            out
        })
    };
    prop_oneof![
        4 => encoded(),
        1 => encoded().prop_flat_map(|b| {
            let n = b.len();
            (Just(b), 0..=n).prop_map(|(b, cut)| b[..cut].to_vec())
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn cbor_operations() -> impl Strategy<Value = String> {
    let ops: Vec<String> = Operation::ALL
        .iter()
        .filter(|op| op.api() == hsmdrill::engine::dispatch::Api::CloudHsmV2)
        .map(|op| op.name().to_owned())
        .chain(["Encrypt".to_owned(), "NoSuchThing".to_owned()])
        .collect();
    prop_oneof![4 => proptest::sample::select(ops), 1 => "[A-Za-z]{1,20}"]
}

#[test]
fn any_cbor_request_gets_a_well_formed_cbor_answer() {
    let state = state();
    check(384, (cbor_operations(), cbor_body()), |(op, body)| {
        let req = Request::post(format!("/service/BaldrApiService/operation/{op}"))
            .header("smithy-protocol", "rpc-v2-cbor")
            .header("content-type", "application/cbor")
            .header("accept", "application/cbor")
            .body(Body::from(body.clone()))
            .unwrap();
        let (status, headers, answer) = send(&state, req);
        let what = format!("{op} {body:02x?}");
        prop_assert_eq!(content_type(&headers), "application/cbor", "{}", what);
        let v: ciborium::Value = ciborium::from_reader(answer.as_slice())
            .map_err(|e| TestCaseError::fail(format!("{what}: answer is not CBOR: {e}")))?;
        let map = v
            .as_map()
            .ok_or_else(|| TestCaseError::fail(format!("{what}: answer is not a map")))?;
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v)
        };
        if status.is_success() {
            prop_assert!(get("__type").is_none(), "{}", what);
        } else {
            let name = get("__type").and_then(|t| t.as_text()).unwrap_or_default();
            let name = name.rsplit('#').next().unwrap_or(name);
            prop_assert!(known_exception(name), "{}: unknown exception {:?}", what, v);
            prop_assert!(
                get("message").or_else(|| get("Message")).is_some(),
                "{}: no message",
                what
            );
        }
        Ok(())
    });
}
