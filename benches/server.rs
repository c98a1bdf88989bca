//! Requests per second of Encrypt through `hsmdrill serve` (in process, on
//! 127.0.0.1, the runtime `serve` uses) with keep-alive HTTP/1.1 clients,
//! against the lightest route of the same server, `GET /_hsmdrill/health`
//! (the HTTP floor), measured in the same group.
//!
//! Each client is a thread with one persistent connection writing a whole
//! request and reading the whole response (Content-Length) before the next.
//! Groups `server/state/conns=N` do the same on a second server with a
//! state file (`hsmdrill serve --state`, under `target/hsmdrill-bench/`), where
//! every answer waits until what the call changed or recorded is on disk.
//! Group `server/in_process` splits the cost without HTTP: the typed
//! `Engine::encrypt` against the JSON dispatch every front end goes through
//! (`Engine::call_api`, JSON in and out, base64 blobs).
//! `cargo bench --bench server`; the ratios are printed at the end and
//! written to `target/hsmdrill-bench/server.md`.

// A bench aborts on a broken setup; there is no caller to hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::http::{Client, Server};
use common::Ratio;
use criterion::{Criterion, Throughput};
use hsmdrill::engine::dispatch::Api;
use hsmdrill::engine::kms::api::EncryptRequest;

/// Concurrent keep-alive connections.
const CONNS: [usize; 2] = [1, 16];

fn main() {
    let server = Server::example(None);
    let state_dir = common::out_dir().join("server-state");
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::create_dir_all(&state_dir).expect("a folder for the state file");
    let durable = Server::example(Some(state_dir.join("state.db")));
    let mut c = common::criterion();
    for conns in CONNS {
        bench_routes(&mut c, &server, &format!("server/conns={conns}"), conns);
    }
    for conns in CONNS {
        bench_routes(
            &mut c,
            &durable,
            &format!("server/state/conns={conns}"),
            conns,
        );
    }
    in_process(&mut c);
    c.final_summary();
    let mut rows: Vec<Ratio<'_>> = Vec::new();
    for (prefix, labels) in [
        (
            "server",
            [
                "Encrypt / health, 1 connection",
                "Encrypt / health, 16 connections",
            ],
        ),
        (
            "server/state",
            [
                "Encrypt / health with --state, 1 connection",
                "Encrypt / health with --state, 16 connections",
            ],
        ),
    ] {
        for (conns, label) in CONNS.iter().zip(labels) {
            rows.push(Ratio {
                label,
                id: format!("{prefix}/conns={conns}/encrypt"),
                baseline: format!("{prefix}/conns={conns}/health"),
                // Time per request: Encrypt reaching ≥ 0.5× the no-op's
                // requests/s is a time ratio ≤ 2. With a state file every
                // answer waits for its trail event's fsync: no target.
                target: (prefix == "server").then_some(2.0),
            });
        }
    }
    rows.push(Ratio {
        label: "JSON dispatch / typed Encrypt, in process",
        id: "server/in_process/call_api".into(),
        baseline: "server/in_process/typed".into(),
        target: None,
    });
    common::ratio_report(
        "server.md",
        "Encrypt through `hsmdrill serve` against the HTTP floor (time per request)",
        &rows,
    );
    server.stop();
    durable.stop();
    let _ = std::fs::remove_dir_all(&state_dir);
}

/// Health and Encrypt on `server` from `conns` keep-alive connections, in
/// the criterion group `group_name`; each Encrypt sample is paired with as
/// many health requests just before it.
fn bench_routes(c: &mut Criterion, server: &Server, group_name: &str, conns: usize) {
    let routes = [("health", health_request()), ("encrypt", encrypt_request())];
    let mut g = c.benchmark_group(group_name);
    g.throughput(Throughput::Elements(1));
    for (route, request) in &routes {
        let id = format!("{group_name}/{route}");
        let mut clients: Vec<Client> = (0..conns).map(|_| Client::connect(server.addr)).collect();
        // Each route answers 200 before it is measured.
        let (status, body) = clients[0].call(request);
        assert_eq!(status, 200, "{route}: {}", String::from_utf8_lossy(&body));
        let health = routes[0].1.clone();
        let health_id = format!("{group_name}/health");
        let pair = *route != "health";
        g.bench_function(*route, |b| {
            b.iter_custom(|iters| {
                let per_conn = iters.div_ceil(conns as u64);
                let done = per_conn * conns as u64;
                let before = pair.then(|| drive(&mut clients, &health, per_conn));
                let elapsed = drive(&mut clients, request, per_conn);
                common::record(&id, done, elapsed);
                if let Some(before) = before {
                    common::record_pair(&id, &health_id, elapsed, before);
                }
                Duration::from_secs_f64(elapsed.as_secs_f64() * iters as f64 / done as f64)
            })
        });
    }
    g.finish();
}

/// Every client sends `per_conn` copies of `request`, one after another,
/// all clients at once; the time until the last answer.
fn drive(clients: &mut [Client], request: &[u8], per_conn: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for client in clients.iter_mut() {
            s.spawn(move || {
                for _ in 0..per_conn {
                    let (status, _) = client.call(request);
                    assert_eq!(status, 200);
                }
            });
        }
    });
    start.elapsed()
}

/// Encrypt of 64 bytes without HTTP: typed, and through the JSON dispatch.
fn in_process(c: &mut Criterion) {
    let engine = common::engine(2, 1024, 0, 0);
    let req = EncryptRequest {
        key_id: Some(common::KEY_ID.into()),
        plaintext: Some(vec![0x5a; 64]),
        ..Default::default()
    };
    let input = serde_json::to_value(&req).expect("JSON");
    let mut g = c.benchmark_group("server/in_process");
    g.throughput(Throughput::Elements(1));
    g.bench_function("typed", |b| {
        b.iter_custom(|n| {
            common::timed("server/in_process/typed", n, || {
                engine.encrypt(black_box(&req)).expect("Encrypt")
            })
        })
    });
    g.bench_function("call_api", |b| {
        b.iter_custom(|n| {
            common::paired(
                "server/in_process/call_api",
                n,
                || {
                    let out = engine
                        .call_api(Api::Kms, "Encrypt", black_box(&input).clone())
                        .expect("Encrypt");
                    serde_json::to_vec(&out).expect("JSON")
                },
                "server/in_process/typed",
                || engine.encrypt(black_box(&req)).expect("Encrypt"),
            )
        })
    });
    g.finish();
}

fn health_request() -> Vec<u8> {
    b"GET /_hsmdrill/health HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()
}

fn encrypt_request() -> Vec<u8> {
    let body = format!(
        r#"{{"KeyId":"{}","Plaintext":"{}"}}"#,
        common::KEY_ID,
        STANDARD.encode([0x5a; 64])
    );
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.Encrypt\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body.as_bytes());
    r
}
