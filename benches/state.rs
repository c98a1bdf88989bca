//! What `hsmdrill serve --state` costs as the world grows (issue 16): the
//! per-call time of CreateKey and Encrypt through the wire with 10³, 10⁴
//! and 10⁵ keys in the world, with a state file and without (the in-memory
//! server, the baseline of the same run); a page of LookupEvents with 10³
//! and 10⁶ events in the trail; memory and bytes on disk per key.
//!
//! A load generator rather than criterion: each world is built once in
//! process (its keys made by `CreateKey` through the engine, its events by
//! `Encrypt`), served by an in-process `hsmdrill serve` (`common::http`),
//! then one keep-alive connection times `calls` calls one after another
//! (the figure is the median call), and 16 connections make as many each
//! at once (the figure is the wall time per call: the group commit lets
//! concurrent calls share an `fsync`). With a state file the world is written
//! whole first (`ServerState::persist_to`), as a server restored from it
//! would find it. `cargo bench --bench state` prints the table and writes
//! it to `target/hsmdrill-bench/state.md`, with a plot of the per-call
//! times against the world's size (`state.svg`, copied to
//! `docs/benchmarks-state.svg`); `cargo bench --bench state -- --test` runs
//! the same code on tiny worlds, as a test.

// A bench aborts on a broken setup; there is no caller to hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::http::{Client, Server};
use hsmdrill::engine::cloud::Cloud;
use hsmdrill::engine::dispatch::Api;
use hsmdrill::engine::{world, Clock, EPOCH};
use hsmdrill::server::ServerState;
use serde_json::{json, Value};

const STORE: &str = "cks-1234567890abcdef0";

/// One size of world: its figures, in nanoseconds per call and bytes.
#[derive(Debug, Default)]
struct KeysRow {
    keys: usize,
    /// The median call on one connection.
    create_memory: f64,
    create_state: f64,
    encrypt_memory: f64,
    encrypt_state: f64,
    /// Wall time per call with [`CONNS`] connections calling at once.
    create_memory_conns: f64,
    create_state_conns: f64,
    encrypt_memory_conns: f64,
    encrypt_state_conns: f64,
    memory_per_key: f64,
    disk_per_key: f64,
}

/// The connections of the throughput figures: as many clients as a team's
/// services might keep open to KMS at once, which the group commit lets
/// share each `fsync`.
const CONNS: usize = 16;

/// One size of trail: the median page of each lookup, in nanoseconds.
#[derive(Debug, Default)]
struct EventsRow {
    events: usize,
    newest: f64,
    by_name: f64,
    rare_name: f64,
    by_resource: f64,
    rare_resource: f64,
    paging: f64,
}

fn main() {
    let quick = common::quick_mode();
    let (sizes, trails, calls): (&[usize], &[usize], usize) = if quick {
        (&[10, 100], &[100, 1_000], 5)
    } else {
        (&[1_000, 10_000, 100_000], &[1_000, 1_000_000], 400)
    };
    let dir = common::out_dir().join("state");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder for the state files");
    let keys: Vec<KeysRow> = sizes.iter().map(|&n| keys_row(&dir, n, calls)).collect();
    let events: Vec<EventsRow> = trails.iter().map(|&n| events_row(&dir, n, calls)).collect();
    let _ = std::fs::remove_dir_all(&dir);
    let report = report(&keys, &events);
    println!("{report}");
    if !quick {
        common::write_report("state.md", &report);
        common::write_report("state.svg", &plot(&keys));
    }
}

/// The example world (real-time clock, as `serve` runs it) with `n` more
/// keys in its store, and a trail of `capacity` events.
fn world_with_keys(n: usize, capacity: usize) -> Cloud {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
    let yaml = std::fs::read_to_string(path).expect("the example world")
        + &format!("\ntrail_capacity: {capacity}\n");
    let engine = world::load_str_with_clock(&yaml, path, Clock::running_from(EPOCH))
        .expect("the example world loads");
    for _ in 0..n {
        engine
            .call_api(
                Api::Kms,
                "CreateKey",
                json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
            )
            .expect("CreateKey");
    }
    Cloud::new(engine).with_connect_seconds(Some(2))
}

/// The resident memory of this process, in bytes (0 where unknown).
fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

/// The bytes of a state file, its write-ahead log not counted: a write
/// of the whole world is folded into the file by SQLite's checkpoint at its
/// commit, and the log, which keeps its size for reuse, would count it
/// twice.
fn disk(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64)
}

/// A request of the AWS JSON 1.1 protocol.
fn request(target: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body.as_bytes());
    r
}

/// The median time of `calls` calls of `request`, one after another.
fn median_call(addr: std::net::SocketAddr, request: &[u8], calls: usize) -> f64 {
    let mut c = Client::connect(addr);
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        let (status, body) = c.call(request);
        times.push(start.elapsed().as_secs_f64() * 1e9);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    common::median(&mut times).expect("calls")
}

/// The wall time per call of [`CONNS`] keep-alive connections each making
/// `calls` calls of `request`, all at once: the cost per call at
/// throughput, where the group commit shares an `fsync` among the calls
/// that wait for it.
fn throughput_call(addr: std::net::SocketAddr, request: &[u8], calls: usize) -> f64 {
    let barrier = Arc::new(Barrier::new(CONNS + 1));
    let clients: Vec<_> = (0..CONNS)
        .map(|_| {
            let (barrier, request) = (barrier.clone(), request.to_vec());
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                barrier.wait();
                for _ in 0..calls {
                    let (status, body) = c.call(&request);
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for c in clients {
        c.join().expect("a client thread");
    }
    start.elapsed().as_secs_f64() * 1e9 / (calls * CONNS) as f64
}

/// CreateKey and Encrypt timed on `server`: the median call on one
/// connection, then the time per call on [`CONNS`].
fn create_and_encrypt(server: &Server, calls: usize) -> [f64; 4] {
    let create = request(
        "TrentService.CreateKey",
        &json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
    );
    let encrypt = request(
        "TrentService.Encrypt",
        &json!({"KeyId": common::KEY_ID, "Plaintext": STANDARD.encode([0x5a; 64])}),
    );
    [
        median_call(server.addr, &create, calls),
        median_call(server.addr, &encrypt, calls),
        throughput_call(server.addr, &create, calls),
        throughput_call(server.addr, &encrypt, calls),
    ]
}

fn keys_row(dir: &Path, n: usize, calls: usize) -> KeysRow {
    let before = rss();
    let cloud = world_with_keys(n, 100_000);
    let memory_per_key = (rss() - before).max(0.0) / n as f64;
    let server = Server::serve(ServerState::new(cloud, Some(2)));
    let [create_memory, encrypt_memory, create_memory_conns, encrypt_memory_conns] =
        create_and_encrypt(&server, calls);
    server.stop();

    let path = dir.join(format!("keys-{n}.db"));
    let state = ServerState::new(world_with_keys(n, 100_000), Some(2));
    state.persist_to(path.clone()).expect("the state file");
    let disk_per_key = disk(&path) / n as f64;
    let server = Server::serve(state);
    let [create_state, encrypt_state, create_state_conns, encrypt_state_conns] =
        create_and_encrypt(&server, calls);
    server.stop();
    KeysRow {
        keys: n,
        create_memory,
        create_state,
        encrypt_memory,
        encrypt_state,
        create_memory_conns,
        create_state_conns,
        encrypt_memory_conns,
        encrypt_state_conns,
        memory_per_key,
        disk_per_key,
    }
}

fn events_row(dir: &Path, n: usize, calls: usize) -> EventsRow {
    // One CreateKey first (the rare name and resource, at the oldest end
    // of the trail), then Encrypts.
    let cloud = world_with_keys(0, n);
    let engine = cloud.default_engine().clone();
    let created = engine
        .call_api(
            Api::Kms,
            "CreateKey",
            json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
        )
        .expect("CreateKey");
    let rare_arn = created["KeyMetadata"]["Arn"].clone();
    let arn = engine
        .call_api(Api::Kms, "DescribeKey", json!({"KeyId": common::KEY_ID}))
        .expect("DescribeKey")["KeyMetadata"]["Arn"]
        .clone();
    let input = json!({"KeyId": common::KEY_ID, "Plaintext": "aGk="});
    for _ in 2..n {
        engine
            .call_api(Api::Kms, "Encrypt", input.clone())
            .expect("Encrypt");
    }
    let path = dir.join(format!("events-{n}.db"));
    let state = ServerState::new(cloud, Some(2));
    state.persist_to(path).expect("the state file");
    let server = Server::serve(state);
    let lookup = |attrs: Value, token: Option<String>| {
        let mut body = json!({"MaxResults": 50, "LookupAttributes": attrs});
        if let Some(t) = token {
            body["NextToken"] = json!(t);
        }
        request(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
            &body,
        )
    };
    let name = |n: &str| json!([{"AttributeKey": "EventName", "AttributeValue": n}]);
    let newest = median_call(server.addr, &lookup(json!([]), None), calls);
    let by_name = median_call(server.addr, &lookup(name("Encrypt"), None), calls);
    let rare_name = median_call(server.addr, &lookup(name("CreateKey"), None), calls);
    let resource = |arn: &Value| json!([{"AttributeKey": "ResourceName", "AttributeValue": arn}]);
    let by_resource = median_call(server.addr, &lookup(resource(&arn), None), calls);
    let rare_resource = median_call(server.addr, &lookup(resource(&rare_arn), None), calls);
    // Paging through: ten pages, each from the previous one's NextToken.
    let mut c = Client::connect(server.addr);
    let mut times = Vec::new();
    for _ in 0..calls.div_ceil(10) {
        let mut token = None;
        for _ in 0..10 {
            let start = Instant::now();
            let (status, body) = c.call(&lookup(name("Encrypt"), token.clone()));
            times.push(start.elapsed().as_secs_f64() * 1e9);
            assert_eq!(status, 200);
            let v: Value = serde_json::from_slice(&body).expect("JSON");
            token = v["NextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    server.stop();
    EventsRow {
        events: n,
        newest,
        by_name,
        rare_name,
        by_resource,
        rare_resource,
        paging: common::median(&mut times).expect("pages"),
    }
}

/// The tables of the report: absolute medians, and the ratios issue 16
/// asks about, within this run.
fn report(keys: &[KeysRow], events: &[EventsRow]) -> String {
    let us = |ns: f64| format!("{:.0} µs", ns / 1000.0);
    let mut out = String::from(
        "## serve --state as the world grows\n\n\
         One connection, the median call:\n\n\
         | keys | CreateKey (memory) | CreateKey (--state) | ratio | Encrypt (memory) | Encrypt (--state) | ratio | memory / key | disk / key |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in keys {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2}× | {} | {} | {:.2}× | {:.0} B | {:.0} B |",
            r.keys,
            us(r.create_memory),
            us(r.create_state),
            r.create_state / r.create_memory,
            us(r.encrypt_memory),
            us(r.encrypt_state),
            r.encrypt_state / r.encrypt_memory,
            r.memory_per_key,
            r.disk_per_key,
        );
    }
    let _ = write!(
        out,
        "\n{CONNS} connections at once, wall time per call:\n\n\
         | keys | CreateKey (memory) | CreateKey (--state) | ratio | Encrypt (memory) | Encrypt (--state) | ratio |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in keys {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2}× | {} | {} | {:.2}× |",
            r.keys,
            us(r.create_memory_conns),
            us(r.create_state_conns),
            r.create_state_conns / r.create_memory_conns,
            us(r.encrypt_memory_conns),
            us(r.encrypt_state_conns),
            r.encrypt_state_conns / r.encrypt_memory_conns,
        );
    }
    if let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        let _ = writeln!(
            out,
            "\nWith --state, {} keys against {} keys, {CONNS} connections: CreateKey {:.2}×, Encrypt {:.2}×.",
            last.keys,
            first.keys,
            last.create_state_conns / first.create_state_conns,
            last.encrypt_state_conns / first.encrypt_state_conns,
        );
        let _ = writeln!(
            out,
            "\nWith --state, {} keys against {} keys: CreateKey {:.2}×, Encrypt {:.2}×.",
            last.keys,
            first.keys,
            last.create_state / first.create_state,
            last.encrypt_state / first.encrypt_state,
        );
    }
    out.push_str(
        "\n## LookupEvents with --state as the trail grows (a page of 50)\n\n\
         | events | newest | EventName=Encrypt | EventName=CreateKey (rare, oldest) | ResourceName (every event's key) | ResourceName (rare, oldest) | paging by NextToken |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in events {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.events,
            us(r.newest),
            us(r.by_name),
            us(r.rare_name),
            us(r.by_resource),
            us(r.rare_resource),
            us(r.paging),
        );
    }
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        let _ = writeln!(
            out,
            "\n{} events against {}: newest {:.2}×, by EventName {:.2}×, rare EventName {:.2}×, by ResourceName {:.2}×, rare ResourceName {:.2}×, paging {:.2}×.",
            last.events,
            first.events,
            last.newest / first.newest,
            last.by_name / first.by_name,
            last.rare_name / first.rare_name,
            last.by_resource / first.by_resource,
            last.rare_resource / first.rare_resource,
            last.paging / first.paging,
        );
    }
    out
}

/// A line of the plot: its label, its colour and its figure.
type Series = (&'static str, &'static str, fn(&KeysRow) -> f64);

/// The per-call times against the number of keys, one line per call and
/// server, log-scaled on both axes, as an SVG.
fn plot(keys: &[KeysRow]) -> String {
    let (w, h, left, bottom, top, right) = (760.0, 400.0, 70.0, 50.0, 30.0, 190.0);
    let series: [Series; 6] = [
        ("CreateKey, --state", "#c0392b", |r| r.create_state),
        ("Encrypt, --state", "#2471a3", |r| r.encrypt_state),
        ("CreateKey, --state, 16", "#7d3c98", |r| {
            r.create_state_conns
        }),
        ("Encrypt, --state, 16", "#148f77", |r| r.encrypt_state_conns),
        ("CreateKey, memory", "#e59866", |r| r.create_memory),
        ("Encrypt, memory", "#85c1e9", |r| r.encrypt_memory),
    ];
    let all: Vec<f64> = keys
        .iter()
        .flat_map(|r| series.iter().map(move |(_, _, f)| f(r) / 1000.0))
        .collect();
    let lo = all
        .iter()
        .copied()
        .fold(f64::MAX, f64::min)
        .max(1e-3)
        .log10()
        .floor();
    let hi = all
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-3)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let (kmin, kmax) = (
        keys.first().map_or(1.0, |r| r.keys as f64).log10(),
        keys.last()
            .map_or(10.0, |r| r.keys as f64)
            .log10()
            .max(keys.first().map_or(1.0, |r| r.keys as f64).log10() + 1.0),
    );
    let x = |k: f64| left + (k.log10() - kmin) / (kmax - kmin) * (w - left - right);
    let y = |us: f64| h - bottom - (us.log10() - lo) / (hi - lo) * (h - bottom - top);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"14\">Per-call time through hsmdrill serve (median of one connection; 16: wall time per call of 16 at once)</text>\n"
    );
    let mut decade = lo;
    while decade <= hi {
        let us = 10f64.powf(decade);
        let yy = y(us);
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{} µs</text>",
            w - right,
            left - 6.0,
            yy + 4.0,
            us
        );
        decade += 1.0;
    }
    for r in keys {
        let xx = x(r.keys as f64);
        let _ = writeln!(
            out,
            "<text x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{} keys</text>",
            h - bottom + 20.0,
            r.keys
        );
    }
    for (i, (label, color, f)) in series.iter().enumerate() {
        let points: Vec<String> = keys
            .iter()
            .map(|r| format!("{:.1},{:.1}", x(r.keys as f64), y(f(r) / 1000.0)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        let ly = top + 20.0 + 20.0 * i as f64;
        let _ = writeln!(
            out,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{label}</text>",
            w - right + 10.0,
            w - right + 30.0,
            w - right + 36.0,
            ly + 4.0
        );
    }
    out.push_str("</svg>\n");
    out
}
