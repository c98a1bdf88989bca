//! `json_request`: AWS JSON 1.1 requests through the real router
//! (`hsmdrill::server::router`, `tower::ServiceExt::oneshot` on a
//! current-thread runtime), on a fresh example world per input, twice: on
//! a server without `--auth`, and signed by the official signer
//! (`aws-sigv4`) on a server with `--auth` (its own fresh world).
//!
//! Input: up to 8 requests separated by NUL bytes, each `<X-Amz-Target>`,
//! a newline, then the body (any bytes). A target that is no valid header
//! value is left out; one that is not UTF-8 is sent unsigned beside the
//! signed headers. Every answer must be a well-formed AWS success or error:
//! right content type, a JSON object, and for an error a listed status,
//! `__type` equal to `x-amzn-ErrorType`, and a message. The signed request
//! must get the same status and exception as the unsigned one: a correct
//! signature changes nothing, whatever the body or target.
#![no_main]

use std::time::SystemTime;

use axum::http::HeaderValue;
use hsmdrill::server::{router, ServerState, JSON_1_1};
use hsmdrill_fuzz::sign::{credentials, post};
use hsmdrill_fuzz::{check_json_answer, example_engine, first_line, send, split_records};
use libfuzzer_sys::fuzz_target;

const MAX_REQUESTS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let open = router(ServerState::new(example_engine(), None));
    let signed = router(ServerState::with_auth(
        example_engine(),
        None,
        credentials(),
    ));
    for record in split_records(data, 0, MAX_REQUESTS) {
        let (target, body) = first_line(record);
        let mut headers = vec![("content-type".to_owned(), JSON_1_1.as_bytes().to_vec())];
        if HeaderValue::from_bytes(target).is_ok() {
            headers.push(("x-amz-target".to_owned(), target.to_vec()));
        }
        let plain = post(b"/".to_vec(), headers, body.to_vec());
        let Some(request) = plain.to_request() else {
            panic!("cannot build the request {plain:?}");
        };
        let answer = send(&open, request);
        check_json_answer(&answer);

        let Some(signed_plain) = plain.signed(&credentials(), SystemTime::now()) else {
            panic!("the official signer cannot sign {plain:?}");
        };
        let Some(request) = signed_plain.to_request() else {
            panic!("cannot build the signed request {signed_plain:?}");
        };
        let signed_answer = send(&signed, request);
        check_json_answer(&signed_answer);
        let error = |a: &hsmdrill_fuzz::Answer| {
            a.headers
                .get("x-amzn-errortype")
                .map(|v| v.as_bytes().to_vec())
        };
        assert_eq!(
            (signed_answer.status, error(&signed_answer)),
            (answer.status, error(&answer)),
            "signed, the request was answered otherwise: {:?} vs {:?}",
            String::from_utf8_lossy(&signed_answer.body),
            String::from_utf8_lossy(&answer.body)
        );
    }
});
