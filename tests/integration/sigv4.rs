//! The SigV4 verifier of `hsmdrill serve --auth` (`src/server/auth.rs`):
//!
//! - AWS's own SigV4 test suite, every case that applies to a service other
//!   than S3 (`tests/sigv4/README.md` lists them and the source), checked
//!   byte for byte: the canonical request, the string to sign, and that the
//!   signature verifies;
//! - requests no client should send (a `%` that starts no escape, bytes that
//!   are not UTF-8, obs-text) get an AWS error over a real socket, never a
//!   dropped connection (a panic in the verifier once dropped them);
//! - properties against the official signer (`aws-sigv4`, the one the Rust
//!   SDK uses): every request it signs (random UTF-8 paths, queries, header
//!   values, bodies) verifies, and every one-byte change is refused unless
//!   the official signer itself signs the changed request the same way.
//!
//! `PROPTEST_CASES=N` runs N cases per property with fresh randomness.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use tower::ServiceExt;

use hsmdrill::engine::world;
use hsmdrill::server::auth::{canonical_request, string_to_sign, verify, SignedRequest};
use hsmdrill::server::{router, Credentials, ServerState};

use crate::support::exceptions::AUTH_ERRORS;
use crate::support::signing::{amz_date, flip, must_refuse, AuthChange, Wire};
use crate::support::{check, EXAMPLE_WORLD};

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigv4");

// --- AWS's test suite --------------------------------------------------------

/// A request as the suite writes it, parsed into what the verifier reads.
struct SuiteRequest {
    method: String,
    path: Vec<u8>,
    query: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl SuiteRequest {
    /// `METHOD target HTTP/1.1`, `Name:value` lines (a line starting with
    /// white space continues the previous value, joined by a space as
    /// RFC 9112 reads obs-fold), a blank line, the body. The target may hold
    /// a raw space (`get-space-normalized`), so it runs to the last space.
    fn parse(text: &[u8]) -> SuiteRequest {
        let (head, body) = match text.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&text[..at], &text[at + 2..]),
            None => (text, &b""[..]),
        };
        let mut lines = head.split(|b| *b == b'\n');
        let line = lines.next().unwrap();
        let first_space = line.iter().position(|b| *b == b' ').unwrap();
        let last_space = line.iter().rposition(|b| *b == b' ').unwrap();
        let method = String::from_utf8(line[..first_space].to_vec()).unwrap();
        let target = &line[first_space + 1..last_space];
        let (path, query) = match target.iter().position(|b| *b == b'?') {
            Some(at) => (target[..at].to_vec(), target[at + 1..].to_vec()),
            None => (target.to_vec(), Vec::new()),
        };
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                let value = &mut headers.last_mut().unwrap().1;
                value.push(b' ');
                value.extend_from_slice(line);
                continue;
            }
            let colon = line.iter().position(|b| *b == b':').unwrap();
            let name = String::from_utf8(line[..colon].to_vec()).unwrap();
            // The HTTP layer drops white space around a value.
            let value = String::from_utf8(line[colon + 1..].to_vec()).unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().as_bytes().to_vec()));
        }
        SuiteRequest {
            method,
            path,
            query,
            headers,
            body: body.to_vec(),
        }
    }

    fn signed(&self, now: SystemTime) -> SignedRequest<'_> {
        verifier_view(
            &self.method,
            (&self.path, &self.query),
            &self.headers,
            &self.body,
            now,
        )
    }

    fn header(&self, name: &str) -> &str {
        let (_, v) = self.headers.iter().find(|(k, _)| k == name).unwrap();
        std::str::from_utf8(v).unwrap()
    }
}

/// What the verifier reads of a request given as bytes, at `now`.
fn verifier_view<'a>(
    method: &'a str,
    (path, query): (&'a [u8], &'a [u8]),
    headers: &'a [(String, Vec<u8>)],
    body: &'a [u8],
    now: SystemTime,
) -> SignedRequest<'a> {
    SignedRequest {
        method,
        path,
        query,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect(),
        body,
        now,
    }
}

/// The part of an `Authorization` header after `key=`.
fn auth_param<'a>(authorization: &'a str, key: &str) -> &'a str {
    authorization
        .split([',', ' '])
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
        .unwrap()
}

fn suite_cases(dir: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(Path::new(SUITE).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Every applicable case of the suite: the verifier accepts the signed
/// request at the case's time, builds the suite's canonical request and
/// string to sign byte for byte, and refuses the request once its
/// signature is changed.
#[test]
fn aws_sigv4_test_suite_every_non_s3_case_verifies_and_canonicalizes_byte_for_byte() {
    let cases = suite_cases("aws-c-auth/v4");
    assert_eq!(cases.len(), 31, "the cases listed in tests/sigv4/README.md");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let read = |f: &str| std::fs::read(case.join(f)).unwrap();
        let context: Value = serde_json::from_slice(&read("context.json")).unwrap();
        assert_eq!(context["normalize"], true, "{name}");
        let creds = Credentials {
            access_key: context["credentials"]["access_key_id"]
                .as_str()
                .unwrap()
                .into(),
            secret: context["credentials"]["secret_access_key"]
                .as_str()
                .unwrap()
                .into(),
        };
        let now = time_from_rfc3339(context["timestamp"].as_str().unwrap());
        let request = SuiteRequest::parse(&read("header-signed-request.txt"));
        let authorization = request.header("authorization").to_owned();
        let signature = String::from_utf8(read("header-signature.txt")).unwrap();
        assert_eq!(
            auth_param(&authorization, "Signature"),
            signature.trim(),
            "{name}"
        );

        let signed = request.signed(now);
        let creq = canonical_request(&signed, auth_param(&authorization, "SignedHeaders"))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            String::from_utf8_lossy(&creq),
            String::from_utf8_lossy(&read("header-canonical-request.txt")),
            "{name}: canonical request"
        );
        let credential = auth_param(&authorization, "Credential");
        let scope = credential.split_once('/').unwrap().1;
        assert_eq!(
            string_to_sign(request.header("x-amz-date"), scope, &creq),
            String::from_utf8(read("header-string-to-sign.txt")).unwrap(),
            "{name}: string to sign"
        );
        verify(&creds, &signed).unwrap_or_else(|e| panic!("{name}: {e:?}"));

        // A changed signature is refused: this test can fail.
        let last = signature.trim().chars().last().unwrap();
        let other = if last == '0' { '1' } else { '0' };
        let forged = authorization.replace(
            signature.trim(),
            &format!("{}{other}", &signature.trim()[..63]),
        );
        let mut signed = request.signed(now);
        for (k, v) in &mut signed.headers {
            if *k == "authorization" {
                *v = forged.as_bytes();
            }
        }
        let e = verify(&creds, &signed).unwrap_err();
        assert_eq!(e.name, "InvalidSignatureException", "{name}");
    }
}

/// smithy-rs's two cases of a percent-escape in the path: the canonical URI
/// encodes it a second time (`%3D` is `%253D`).
#[test]
fn a_percent_escape_in_the_path_is_encoded_a_second_time_as_for_every_service_but_s3() {
    let cases = suite_cases("smithy-rs/v4");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let request = SuiteRequest::parse(&std::fs::read(case.join("request.txt")).unwrap());
        let expected = std::fs::read_to_string(case.join("header-canonical-request.txt")).unwrap();
        let creq = canonical_request(&request.signed(SystemTime::now()), "host").unwrap();
        let creq = String::from_utf8(creq).unwrap();
        assert_eq!(
            creq.lines().nth(1),
            expected.lines().nth(1),
            "{}",
            case.display()
        );
        assert!(creq.contains("%25"), "{creq}");
    }
}

fn time_from_rfc3339(s: &str) -> SystemTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s} is not an RFC 3339 time: {e}"))
        .into()
}

// --- The official signer -----------------------------------------------------

const KEY: &str = "AKIDPROPERTY";
const SECRET: &str = "propertySecret/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// What the verifier reads of `wire` at `now`.
fn view(wire: &Wire, now: SystemTime) -> SignedRequest<'_> {
    verifier_view(
        &wire.method,
        wire.split_target(),
        &wire.headers,
        &wire.body,
        now,
    )
}

/// `wire` signed with the property key at `time`, as the official signer
/// signs every request the properties generate.
fn signed(wire: Wire, time: SystemTime) -> Wire {
    wire.signed(&property_creds(), time)
        .expect("the official signer signs every generated request")
}

/// Where a one-byte change lands.
#[derive(Clone, Copy, Debug)]
enum Part {
    Method,
    Target,
    /// The n-th header (modulo the count): a value byte.
    Header(usize),
    Body,
}

/// A one-byte change: which part, where in it (modulo its length), and the
/// new byte (XORed in, so never the same).
#[derive(Clone, Copy, Debug)]
struct Change {
    part: Part,
    at: usize,
    flip: u8,
}

/// Applies `change`, or None if the part is empty; says what the change did
/// to an `authorization` header, if it hit one.
fn apply(wire: &Wire, change: Change) -> Option<(Wire, Option<AuthChange>)> {
    let mut out = wire.clone();
    let (bytes, is_auth): (&mut Vec<u8>, bool) = match change.part {
        Part::Method => {
            // A method stays an ASCII word (the HTTP layer allows no other).
            let mut m = out.method.clone().into_bytes();
            let i = change.at % m.len();
            m[i] = b'A' + (m[i] - b'A' + 1 + change.flip % 25) % 26;
            out.method = String::from_utf8(m).unwrap();
            return Some((out, None));
        }
        Part::Target => (&mut out.target, false),
        Part::Header(n) => {
            let count = out.headers.len();
            let (name, value) = &mut out.headers[n % count];
            (value, name == "authorization")
        }
        Part::Body => (&mut out.body, false),
    };
    if bytes.is_empty() {
        return None;
    }
    let at = change.at % bytes.len();
    let what = flip(bytes, at, change.flip);
    Some((out, is_auth.then_some(what)))
}

fn token_strategy(raw_ascii: &'static str) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => "[A-Za-z0-9._~-]{1,4}",
        2 => proptest::sample::select(raw_ascii.chars().collect::<Vec<_>>()).prop_map(String::from),
        // A percent-escaped character, in either hex case.
        2 => (any::<char>(), any::<bool>()).prop_map(|(c, lower)| {
            let mut s = String::new();
            for b in c.to_string().bytes() {
                s.push_str(&if lower { format!("%{b:02x}") } else { format!("%{b:02X}") });
            }
            s
        }),
        // A raw UTF-8 character (http lets them through).
        1 => any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()).prop_map(String::from),
    ]
}

/// A path on the wire: segments of tokens, dot segments and empty ones.
fn path_strategy() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        6 => proptest::collection::vec(token_strategy("!$&'()*+,;=:@\"{}|"), 1..4).prop_map(|t| t.concat()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
    ];
    proptest::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/")))
}

/// A query: `name=value` pairs (some without `=`, some empty), no raw `+`
/// and no `%` outside an escape (where signers differ, and the server
/// refuses the latter).
fn query_strategy() -> impl Strategy<Value = String> {
    let part = proptest::collection::vec(token_strategy("!$'()*,/:;?@[\\]^`{|}"), 0..3)
        .prop_map(|t| t.concat());
    let param = prop_oneof![
        6 => (part.clone(), part.clone()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => part,
    ];
    proptest::collection::vec(param, 0..4).prop_map(|p| p.join("&"))
}

/// A header value: printable ASCII, spaces (runs of them), tabs, and
/// UTF-8 beyond ASCII.
fn value_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[ -~]{0,6}",
        1 => Just("   ".to_owned()),
        1 => Just("\t".to_owned()),
        1 => any::<char>().prop_filter("printable", |c| !c.is_control()).prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|p| p.concat())
}

fn headers_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = proptest::sample::select(vec!["x-hd-a", "x-hd-b", "content-type", "x-amz-target"]);
    proptest::collection::vec((name.prop_map(str::to_owned), value_strategy()), 0..4)
}

fn change_strategy() -> impl Strategy<Value = Change> {
    let part = prop_oneof![
        1 => Just(Part::Method),
        4 => Just(Part::Target),
        5 => any::<usize>().prop_map(Part::Header),
        2 => Just(Part::Body),
    ];
    (part, any::<usize>(), 1..=255u8).prop_map(|(part, at, flip)| Change { part, at, flip })
}

/// The fixed instant the direct properties sign and verify at.
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

fn property_creds() -> Credentials {
    Credentials {
        access_key: KEY.into(),
        secret: SECRET.into(),
    }
}

/// Any request the official signer signs verifies, whatever its path
/// (normalized and encoded twice), query, header values and body; and any
/// one-byte change to it (method, path, query, a header value, the
/// signature, the body) is refused unless the official signer signs the
/// changed request the same way.
#[test]
fn every_request_the_official_signer_signs_verifies_and_every_one_byte_change_is_refused() {
    let strategy = (
        proptest::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        path_strategy(),
        proptest::option::of(query_strategy()),
        headers_strategy(),
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::sample::select(vec!["us-east-1", "eu-west-3"]),
        proptest::sample::select(vec!["kms", "cloudhsm", "service"]),
        proptest::collection::vec(change_strategy(), 8),
    );
    check(
        256,
        strategy,
        |(method, path, query, headers, body, region, service, changes)| {
            let target = match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            let mut all = vec![("host".to_owned(), b"example.amazonaws.com".to_vec())];
            all.extend(headers.into_iter().map(|(k, v)| (k, v.into_bytes())));
            let wire = signed(
                Wire {
                    method: method.into(),
                    target: target.into_bytes(),
                    headers: all,
                    body,
                    region: region.into(),
                    service: service.into(),
                },
                t0(),
            );
            let creds = property_creds();
            if let Err(e) = verify(&creds, &view(&wire, t0())) {
                return Err(TestCaseError::fail(format!("{wire:?} refused: {e:?}")));
            }
            for change in changes {
                let Some((changed, auth_change)) = apply(&wire, change) else {
                    continue;
                };
                let refuse = must_refuse(&wire, &changed, auth_change, &creds, t0());
                let got = verify(&creds, &view(&changed, t0()));
                match (refuse, got) {
                (Some(true) | None, Err(e)) => {
                    prop_assert_eq!(e.status.as_u16(), 400);
                    prop_assert!(
                        matches!(
                            e.name.as_str(),
                            "InvalidSignatureException"
                                | "IncompleteSignatureException"
                                | "UnrecognizedClientException"
                        ),
                        "{:?}",
                        e
                    );
                }
                (Some(false) | None, Ok(())) => {}
                (Some(true), Ok(())) => {
                    return Err(TestCaseError::fail(format!(
                        "{change:?} accepted: {changed:?}"
                    )))
                }
                (Some(false), Err(e)) => {
                    return Err(TestCaseError::fail(format!(
                        "{change:?} is the same request to the official signer, refused with {e:?}: {changed:?}"
                    )))
                }
            }
            }
            Ok(())
        },
    );
}

// --- Through the server --------------------------------------------------------

fn signed_state() -> Arc<ServerState> {
    let engine = world::load_file(Path::new(EXAMPLE_WORLD)).unwrap();
    ServerState::with_auth(engine, Some(2), property_creds())
}

/// One request through the router: (status, `x-amzn-ErrorType`, body).
fn send(
    rt: &tokio::runtime::Runtime,
    state: &Arc<ServerState>,
    wire: &Wire,
) -> Option<(u16, Option<String>, Vec<u8>)> {
    let req = wire.http_request()?;
    Some(rt.block_on(async {
        let resp = router(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let error = resp
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, error, body)
    }))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// End to end through the router with `--auth`: a KMS `ListKeys` (JSON 1.1
/// on `POST /`) or a CloudHSM v2 operation in CBOR with a random name,
/// random query and extra headers, signed by the official signer now, is
/// served (the operation's own answer, no authentication error); the same
/// request with one byte of its query, a header or its body changed gets
/// an authentication error unless the official signer signs it the same.
#[test]
fn signed_requests_through_the_server_are_served_and_changed_ones_refused() {
    let state = signed_state();
    let rt = runtime();
    let op =
        proptest::collection::vec(token_strategy("!$&'()*+,;=:@"), 1..4).prop_map(|t| t.concat());
    let change = (
        prop_oneof![
            2 => Just(Part::Target),
            5 => any::<usize>().prop_map(Part::Header),
            2 => Just(Part::Body),
        ],
        any::<usize>(),
        1..=255u8,
    )
        .prop_map(|(part, at, flip)| Change { part, at, flip });
    let strategy = (
        proptest::option::of(op),
        proptest::option::of(query_strategy()),
        proptest::collection::vec(("x-hd-[ab]", value_strategy()), 0..3),
        proptest::collection::vec(change, 4),
    );
    check(128, strategy, |(op, query, extra, changes)| {
        let (path, headers, body): (String, Vec<(String, String)>, Vec<u8>) = match &op {
            None => (
                "/".into(),
                vec![
                    ("content-type".into(), "application/x-amz-json-1.1".into()),
                    ("x-amz-target".into(), "TrentService.ListKeys".into()),
                ],
                b"{}".to_vec(),
            ),
            Some(op) => (
                format!("/service/BaldrApiService/operation/{op}"),
                vec![
                    ("content-type".into(), "application/cbor".into()),
                    ("smithy-protocol".into(), "rpc-v2-cbor".into()),
                ],
                vec![0xa0],
            ),
        };
        let target = match query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut all = vec![("host".to_owned(), b"localhost".to_vec())];
        all.extend(
            headers
                .into_iter()
                .chain(extra)
                .map(|(k, v)| (k, v.into_bytes())),
        );
        let now = SystemTime::now();
        let wire = signed(
            Wire {
                method: "POST".into(),
                target: target.into_bytes(),
                headers: all,
                body,
                region: "us-west-2".into(),
                service: if op.is_some() { "cloudhsm" } else { "kms" }.into(),
            },
            now,
        );
        let (status, error, body) = send(&rt, &state, &wire).expect("a valid HTTP request");
        if let Some(e) = &error {
            prop_assert!(
                !AUTH_ERRORS.contains(&e.as_str()),
                "{e}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if op.is_none() {
            prop_assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        }
        for change in changes {
            let Some((changed, auth_change)) = apply(&wire, change) else {
                continue;
            };
            // What the HTTP layer would not carry never reaches the server.
            let Some((status, error, body)) = send(&rt, &state, &changed) else {
                continue;
            };
            // A changed path may also match no route any more (404).
            if changed.split_target().0 != wire.split_target().0 && status == 404 {
                continue;
            }
            let refuse = must_refuse(&wire, &changed, auth_change, &property_creds(), now);
            if refuse == Some(true) {
                prop_assert_eq!(status, 400);
                prop_assert!(
                    error.as_deref().is_some_and(|e| AUTH_ERRORS.contains(&e)),
                    "{:?} not refused: {:?} {}",
                    change,
                    error,
                    String::from_utf8_lossy(&body)
                );
            } else if let (Some(false), Some(e)) = (refuse, &error) {
                prop_assert!(
                    !AUTH_ERRORS.contains(&e.as_str()),
                    "{:?} is the same request to the official signer, refused with {}: {:?}",
                    change,
                    e,
                    changed
                );
            }
        }
        Ok(())
    });
}

/// Sends raw bytes to a real `hsmdrill serve --auth` socket and reads the
/// whole answer (the request says `Connection: close`).
fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// A server with `--auth` on a port of its own, on a runtime of its own.
fn serve_signed() -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(hsmdrill::server::run(
        listener,
        signed_state(),
        std::future::pending(),
    ));
    (addr, rt)
}

/// A signed `POST /?%a\xc3\xa9` (a `%`, then a non-ASCII byte). The verifier
/// once sliced the query by byte offsets, panicked inside `é`, and the server
/// dropped the connection without an answer. Now: an AWS error over the
/// socket, and the server goes on serving.
#[test]
fn a_non_ascii_byte_after_a_percent_is_an_aws_error_not_a_dropped_connection() {
    let (addr, _rt) = serve_signed();
    let target = "/?%a\u{e9}";
    let body = b"{}".to_vec();
    let wire = signed(
        Wire {
            method: "POST".into(),
            target: target.as_bytes().to_vec(),
            headers: vec![
                ("host".into(), addr.to_string().into_bytes()),
                (
                    "content-type".into(),
                    b"application/x-amz-json-1.1".to_vec(),
                ),
                ("x-amz-target".into(), b"TrentService.ListKeys".to_vec()),
            ],
            body: body.clone(),
            region: "us-east-1".into(),
            service: "kms".into(),
        },
        SystemTime::now(),
    );
    let mut request = format!("POST {target} HTTP/1.1\r\n").into_bytes();
    for (k, v) in &wire.headers {
        request.extend_from_slice(k.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(v);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    request.extend_from_slice(&body);
    let answer = String::from_utf8_lossy(&raw_exchange(addr, &request)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.contains("x-amzn-errortype: IncompleteSignatureException"),
        "{answer}"
    );
    assert!(
        answer.ends_with(
            r#"{"__type":"IncompleteSignatureException","message":"Illegal hex character in escape % pattern: %aé"}"#
        ),
        "{answer}"
    );
    // Still serving.
    let answer = raw_exchange(
        addr,
        b"POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    );
    assert!(
        String::from_utf8_lossy(&answer).contains("MissingAuthenticationTokenException"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// Odd bytes in the request line and the headers of an otherwise signed
/// request, over a real socket: each gets an HTTP answer, an AWS error
/// whenever the HTTP layer lets the request through.
#[test]
fn odd_bytes_in_the_request_line_or_headers_get_an_answer() {
    let (addr, _rt) = serve_signed();
    let date = amz_date(SystemTime::now());
    // A well-formed header with a wrong signature: what follows depends on
    // the request line and the headers only.
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDPROPERTY/{}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-odd, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        &date[..8]
    );
    let cases: &[(&[u8], &[u8], &str)] = &[
        // (target, x-odd value, expected exception; "" = the HTTP layer's own 400)
        (b"/?%", b"v", "IncompleteSignatureException"),
        (b"/?a=%zz", b"v", "IncompleteSignatureException"),
        (b"/?a=%\xe1\x88\xb4", b"v", "IncompleteSignatureException"),
        (
            b"/?\xe1\x88\xb4=%e1%88%b4",
            b"v",
            "InvalidSignatureException",
        ),
        (b"/", b"obs-text \xff\xfe\x80", "InvalidSignatureException"),
        (b"/", b"tab\tand  spaces", "InvalidSignatureException"),
        (
            b"/service/BaldrApiService/operation/Create%zzHsm",
            b"v",
            "IncompleteSignatureException",
        ),
        (
            b"/service/BaldrApiService/operation/Create%A0Hsm",
            b"v",
            "InvalidSignatureException",
        ),
        (b"/?\xff", b"v", ""),
    ];
    for (target, odd, expected) in cases {
        let mut request = b"POST ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nhost: h\r\nx-odd: ");
        request.extend_from_slice(odd);
        request.extend_from_slice(
            format!(
                "\r\nx-amz-date: {date}\r\nauthorization: {auth}\r\ncontent-type: application/x-amz-json-1.1\r\nsmithy-protocol: rpc-v2-cbor\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        let answer = String::from_utf8_lossy(&raw_exchange(addr, &request)).into_owned();
        let shown = String::from_utf8_lossy(target);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{shown}: {answer}");
        if expected.is_empty() {
            assert!(!answer.contains("x-amzn-errortype"), "{shown}: {answer}");
        } else {
            assert!(
                answer.contains(&format!("x-amzn-errortype: {expected}")),
                "{shown}: {answer}"
            );
        }
    }
}
