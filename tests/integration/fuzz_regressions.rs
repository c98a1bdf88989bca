//! Inputs the cargo-fuzz targets (`fuzz/`, see `fuzz/README.md`) found,
//! each replayed through the same entry point the target drives, so a fix
//! stays fixed in plain `cargo test`.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hsmdrill::engine::world;
use hsmdrill::server::{router, ServerState};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::EXAMPLE_WORLD;

/// One request through the router of a fresh example world, as the
/// `json_request` and `cbor_request` targets send it.
fn send(req: Request<Body>) -> (StatusCode, Option<String>, Option<String>, Vec<u8>) {
    let engine = world::load_file(Path::new(EXAMPLE_WORLD)).unwrap();
    let app = router(ServerState::new(engine, None));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = app.oneshot(req).await.unwrap();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, content_type, error_type) = (
            resp.status(),
            header("content-type"),
            header("x-amzn-errortype"),
        );
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, content_type, error_type, body)
    })
}

/// `cbor_request`: an operation name that percent-decodes to bytes that are
/// not UTF-8 (here a lone continuation byte, `%A0`) was refused by axum's
/// `Path` extractor before the handler ran: a 400 in `text/plain` ("Invalid
/// URL: Invalid UTF-8 in `operation`"), no AWS error. The fix belongs in
/// `src/server/mod.rs`: the handler takes the path as `Result<Path<…>,
/// PathRejection>` and answers `UnknownOperationException` in CBOR.
#[test]
fn cbor_operation_name_that_is_not_utf8_gets_a_cbor_aws_error() {
    let req = Request::post("/service/BaldrApiService/operation/Create%A0Hsm")
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .body(Body::from(vec![0xa0]))
        .unwrap();
    let (status, content_type, error_type, body) = send(req);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some("application/cbor"));
    let v: ciborium::value::Value = ciborium::de::from_reader(&body[..]).unwrap();
    let v: Value = v.deserialized().unwrap();
    assert_eq!(v["__type"].as_str(), error_type.as_deref());
    assert_eq!(v["__type"], "UnknownOperationException");
}

/// `world`: a world whose key id is a UUID in uppercase hex loaded, and
/// Encrypt with the key worked, but Decrypt of that very ciphertext failed
/// with InvalidCiphertextException ("refers to a KMS key that does not
/// exist"): the blob stores the id as 16 bytes and reads it back in
/// lowercase. The fuzzer's input was the example world with the key id
/// `1234aBcd-33ab-34cd-56ef-1234567890ab`. Key ids are lowercase, as KMS
/// makes them; the loader now says so.
#[test]
fn world_key_id_in_uppercase_hex_is_refused_as_its_ciphertexts_would_not_decrypt() {
    let yaml = std::fs::read_to_string(EXAMPLE_WORLD).unwrap().replace(
        "id: 1234abcd-12ab-34cd-56ef-1234567890ab",
        "id: 1234aBcd-33ab-34cd-56ef-1234567890ab",
    );
    let err = world::load_str(&yaml, "fuzz.yaml").err().unwrap();
    assert_eq!(err.path(), "keys[0].id");
    assert!(err.message().contains("lowercase"), "{err}");

    // The lowercase id loads, and its ciphertexts decrypt.
    let yaml = yaml.replace("1234aBcd-33ab", "1234abcd-33ab");
    let engine = world::load_str(&yaml, "fuzz.yaml").unwrap();
    let ct = engine
        .call(
            "Encrypt",
            serde_json::json!({"KeyId": "1234abcd-33ab-34cd-56ef-1234567890ab", "Plaintext": "aGk="}),
        )
        .unwrap();
    let pt = engine
        .call(
            "Decrypt",
            serde_json::json!({"CiphertextBlob": ct["CiphertextBlob"]}),
        )
        .unwrap();
    assert_eq!(pt["Plaintext"], "aGk=");
}
