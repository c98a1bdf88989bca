//! `json_request`: AWS JSON 1.1 requests through the real router
//! (`hsmdrill::server::router`, `tower::ServiceExt::oneshot` on a
//! current-thread runtime), on a fresh example world per input.
//!
//! Input: up to 8 requests separated by NUL bytes, each `<X-Amz-Target>`,
//! a newline, then the body (any bytes). A target that is no valid header
//! value is left out. Every answer must be a well-formed AWS success or
//! error: right content type, a JSON object, and for an error a listed
//! status, `__type` equal to `x-amzn-ErrorType`, and a message.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use hsmdrill::server::{router, ServerState, JSON_1_1};
use hsmdrill_fuzz::{check_json_answer, example_engine, first_line, send, split_records};
use libfuzzer_sys::fuzz_target;

const MAX_REQUESTS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let app = router(ServerState::new(example_engine(), None));
    for record in split_records(data, 0, MAX_REQUESTS) {
        let (target, body) = first_line(record);
        let mut request = Request::post("/").header("content-type", JSON_1_1);
        if let Ok(v) = HeaderValue::from_bytes(target) {
            request = request.header("x-amz-target", v);
        }
        let request = match request.body(Body::from(body.to_vec())) {
            Ok(r) => r,
            Err(e) => panic!("cannot build the request: {e}"),
        };
        let answer = send(&app, request);
        check_json_answer(&answer);
    }
});
