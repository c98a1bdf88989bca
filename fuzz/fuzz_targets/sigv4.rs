//! `sigv4`: arbitrary requests through the real router of a server started
//! with `--auth` (`hsmdrill::server::router`, `ServerState::with_auth`), on
//! a fresh example world per input: the SigV4 verifier
//! (`src/server/auth.rs`) sees every byte first.
//!
//! Input: a flags byte, two bytes of change position (u16 BE) and a byte
//! to XOR in, then the request: the target (path and query) up to the first
//! newline, `name: value` header lines up to an empty line, then the body.
//! A request the HTTP layer would not carry (a target that is no
//! origin-form URI, a header it refuses) is left out.
//!
//! Flags: bit 0 signs the request with the official signer (`aws-sigv4`)
//! now, with the server's key; bit 1 then changes one byte of the target, a
//! header value or the body.
//!
//! What must hold:
//! - every answer is a well-formed AWS answer (JSON 1.1, or CBOR on the
//!   CBOR route), an error with a known exception;
//! - a signed, unchanged request on which the specification and the
//!   official signer agree (`hsmdrill_fuzz::sign::signer_agrees`) gets no
//!   authentication error;
//! - a changed request gets an authentication error (or, if the change
//!   moved it off every route, a 404), unless the official signer signs it
//!   exactly as the original; then it gets none. (Changes are checked only
//!   for requests that reach a route: the router answers 404 before the
//!   verifier runs.)
#![no_main]

use std::time::SystemTime;

use hsmdrill::server::{router, ServerState};
use hsmdrill_fuzz::sign::{credentials, must_refuse, post, signer_agrees, Wire, AUTH_ERRORS};
use hsmdrill_fuzz::{check_cbor_answer, check_json_answer, example_engine, send, Answer};
use libfuzzer_sys::fuzz_target;

fn parse(data: &[u8]) -> Wire {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let target = lines.next().unwrap_or_default().to_vec();
    let headers = lines
        .filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = std::str::from_utf8(&line[..colon])
                .ok()?
                .trim()
                .to_ascii_lowercase();
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            Some((name, value.to_vec()))
        })
        .collect();
    post(target, headers, body.to_vec())
}

fn check(plain: &Wire, answer: &Answer) {
    if plain.target.starts_with(b"/service/") {
        check_cbor_answer(answer);
    } else {
        check_json_answer(answer);
    }
}

fn error_type(answer: &Answer) -> Option<&str> {
    answer
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
}

fn path(target: &[u8]) -> &[u8] {
    target.split(|b| *b == b'?').next().unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let [flags, hi, lo, xor, rest @ ..] = data else {
        return;
    };
    let app = router(ServerState::with_auth(
        example_engine(),
        None,
        credentials(),
    ));
    let plain = parse(rest);
    let now = SystemTime::now();
    let signed = if flags & 1 == 1 {
        plain.signed(&credentials(), now)
    } else {
        None
    };
    let sent = signed.as_ref().unwrap_or(&plain);
    let Some(request) = sent.to_request() else {
        return;
    };
    let answer = send(&app, request);
    check(sent, &answer);
    let Some(signed) = signed else {
        return;
    };
    if signer_agrees(&signed) {
        if let Some(e) = error_type(&answer) {
            assert!(
                !AUTH_ERRORS.contains(&e),
                "a request the official signer signed was refused: {e} {:?} for {signed:?}",
                String::from_utf8_lossy(&answer.body)
            );
        }
    }
    // A target no route matches never reaches the verifier.
    if flags & 2 == 0 || answer.status.as_u16() == 404 {
        return;
    }
    let at = usize::from(u16::from_be_bytes([*hi, *lo]));
    let Some((changed, auth_change)) = signed.change(at, *xor) else {
        return;
    };
    let Some(request) = changed.to_request() else {
        return;
    };
    let answer = send(&app, request);
    check(&changed, &answer);
    if path(&changed.target) != path(&signed.target) && answer.status.as_u16() == 404 {
        return;
    }
    match must_refuse(&signed, &changed, auth_change, &credentials(), now) {
        Some(true) => assert!(
            error_type(&answer).is_some_and(|e| AUTH_ERRORS.contains(&e)),
            "a changed request was not refused ({}, {:?}): {changed:?}, signed {signed:?}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ),
        Some(false) if signer_agrees(&changed) => assert!(
            !error_type(&answer).is_some_and(|e| AUTH_ERRORS.contains(&e)),
            "a change the official signer signs the same was refused ({:?}): {changed:?}",
            String::from_utf8_lossy(&answer.body)
        ),
        Some(false) | None => {}
    }
});
