//! `cbor_request`: Smithy RPC v2 CBOR requests through the real router
//! (`POST /service/BaldrApiService/operation/<Op>`, `tower::ServiceExt::
//! oneshot` on a current-thread runtime), on a fresh example world per
//! input.
//!
//! Input: up to 8 requests, each `[op len: u8][op][body len: u16 BE][body]`
//! (`hsmdrill_fuzz::cbor_records`); the operation name is percent-encoded
//! into the path whatever its bytes. Every answer must be a well-formed
//! AWS success or error in CBOR (or, where no route matches, in JSON).
//!
//! Operation names that percent-decode to bytes that are not UTF-8 are
//! sent as they are: the first crash this target found (axum's plain-text
//! rejection of such a path, fixed in `src/server/mod.rs`).
#![no_main]

use axum::body::Body;
use axum::http::Request;
use hsmdrill::server::{router, ServerState, CBOR};
use hsmdrill_fuzz::{cbor_records, check_cbor_answer, example_engine, percent_encode, send};
use libfuzzer_sys::fuzz_target;

const MAX_REQUESTS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let app = router(ServerState::new(example_engine(), None));
    for (op, body) in cbor_records(data, MAX_REQUESTS) {
        let uri = format!("/service/BaldrApiService/operation/{}", percent_encode(op));
        let request = Request::post(uri)
            .header("content-type", CBOR)
            .header("smithy-protocol", "rpc-v2-cbor")
            .body(Body::from(body.to_vec()));
        let request = match request {
            Ok(r) => r,
            Err(e) => panic!("cannot build the request: {e}"),
        };
        let answer = send(&app, request);
        check_cbor_answer(&answer);
    }
});
