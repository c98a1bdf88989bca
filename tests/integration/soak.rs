//! Soak: `hsmdrill serve --state` (the built binary) under sustained
//! concurrent Encrypt/Decrypt load over keep-alive HTTP/1.1 while another
//! thread churns the control plane: DisconnectCustomKeyStore /
//! ConnectCustomKeyStore, CloudHSM v2 DeleteHsm / CreateHsm (with
//! `clock/settle` to let new HSMs come up), and faults through the control
//! API (network blocked or flaky, security group broken, PKCS #11 sessions
//! exhausted), each followed by a repair.
//!
//! What it proves:
//! - every answer is a 200 or an error documented for the state the world
//!   is in: `KMSInvalidStateException` (400) while the store is not
//!   connected or cannot reach an HSM, `KMSInternalException` (500) while
//!   PKCS #11 sessions are exhausted; on the control plane only documented
//!   400s (`CustomKeyStoreInvalidStateException`, …). No other 5xx, no
//!   connection reset or dropped keep-alive connection, no panic in the
//!   server's log, and the server is still up and serving at the end;
//! - every Decrypt of a ciphertext issued during the run gives its
//!   plaintext back;
//! - memory is bounded: the server's peak RSS (`VmRSS` from
//!   `/proc/<pid>/status`, sampled all along) stays within 2× the peak of
//!   the first part of the run (the first 20% of the requests, or the first
//!   minute if that comes first) plus 48 MiB. The trail is a bounded queue;
//!   nothing else should grow with the number of requests.
//!
//! `cargo test` runs a short soak (a few seconds). The long one is ignored;
//! run it in release mode (2,000,000 requests: five to ten minutes on two
//! cores):
//!
//! ```sh
//! cargo test --release --test integration -- --ignored soak:: --nocapture
//! HSMDRILL_SOAK_REQUESTS=500000 cargo test --release --test integration -- --ignored soak:: --nocapture
//! ```
//!
//! The churn's choices come from a seeded generator; the seed is printed and
//! `HSMDRILL_SOAK_SEED=<seed>` replays them. `HSMDRILL_BIN` overrides the
//! binary under test.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::Client;
use crate::support::rng::{number_from_env, seed_from_env, Rng};
use crate::support::serve::ServeProcess;

const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";
/// The cluster's Availability Zones.
const ZONES: [&str; 2] = ["us-west-2a", "us-west-2b"];
/// Socket timeout of one request. The clients never reconnect on their
/// own: a connection the server drops is an error the soak reports.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Client threads driving the data plane.
const CLIENTS: usize = 8;
/// Keys the load spreads over.
const KEYS: usize = 8;
/// Peak RSS may exceed the first part's peak by this factor, plus
/// [`RSS_SLACK_KB`].
const RSS_FACTOR: u64 = 2;
const RSS_SLACK_KB: u64 = 48 * 1024;

/// The example world's cluster and store, with a configurable trail
/// capacity.
fn world(trail_capacity: usize) -> String {
    format!(
        r#"
seed: 5
trail_capacity: {trail_capacity}
clusters:
  - id: {CLUSTER}
    availability_zones: [us-west-2a, us-west-2b]
    hsms: [us-west-2a, us-west-2b]
custom_key_stores:
  - {{id: {STORE}, name: SoakStore, cluster: {CLUSTER}, connected: true}}
"#
    )
}

/// A child `hsmdrill serve` on a world of its own, killed when dropped.
struct Server {
    process: ServeProcess,
    addr: SocketAddr,
}

impl Server {
    fn start(dir: &Path, trail_capacity: usize) -> Server {
        let world_file = dir.join("world.yaml");
        fs::write(&world_file, world(trail_capacity)).unwrap();
        let process = ServeProcess::start([
            "--connect-seconds".as_ref(),
            "1".as_ref(),
            "--world".as_ref(),
            world_file.as_os_str(),
            "--state".as_ref(),
            dir.join("state.json").as_os_str(),
        ]);
        let addr = process.addr();
        Server { process, addr }
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }

    fn log_text(&self) -> String {
        self.process.stderr()
    }
}

/// The server's resident set in kB, from `/proc/<pid>/status`.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Outcomes by name (`"Encrypt 200"`, `"Encrypt KMSInvalidStateException
/// (400)"`, …), and whatever was not allowed.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    unexpected: Vec<String>,
}

impl Tally {
    fn count(&mut self, what: String) {
        *self.outcomes.entry(what).or_default() += 1;
    }

    fn bad(&mut self, what: String) {
        if self.unexpected.len() < 20 {
            self.unexpected.push(what.clone());
        }
        self.count(format!(
            "UNEXPECTED {}",
            what.chars().take(120).collect::<String>()
        ));
    }

    fn merge(&mut self, other: Tally) {
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        for u in other.unexpected {
            if self.unexpected.len() < 20 {
                self.unexpected.push(u);
            }
        }
    }
}

/// The data plane's documented answers besides 200 while the control plane
/// churns.
fn data_plane_allows(status: u16, name: &str) -> bool {
    matches!(
        (status, name),
        (400, "KMSInvalidStateException") | (500, "KMSInternalException")
    )
}

/// Sends one call and tallies its outcome; `Some(answer)` on 200.
fn tallied(
    c: &mut Client,
    tally: &mut Tally,
    label: &str,
    outcome: io::Result<(u16, Value)>,
    allows: impl Fn(u16, &str) -> bool,
) -> Option<Value> {
    let _ = c;
    match outcome {
        Ok((200, out)) => {
            tally.count(format!("{label} 200"));
            Some(out)
        }
        Ok((status, out)) => {
            let name = out["__type"].as_str().unwrap_or("?").to_owned();
            if allows(status, &name) {
                tally.count(format!("{label} {name} ({status})"));
            } else {
                tally.bad(format!("{label} answered {status}: {out}"));
            }
            None
        }
        Err(e) => {
            tally.bad(format!("{label}: transport error {:?}: {e}", e.kind()));
            None
        }
    }
}

/// Encrypt (and every 16th request a Decrypt of the last ciphertext) until
/// `total` requests have been sent by all clients together.
fn load(addr: SocketAddr, keys: &[String], sent: &AtomicU64, total: u64, who: usize) -> Tally {
    let mut tally = Tally::default();
    let mut c = Client::keep_alive_only(addr, IO_TIMEOUT);
    let mut last: Option<(String, Vec<u8>)> = None;
    loop {
        let n = sent.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            break;
        }
        if n.is_multiple_of(16) {
            if let Some((blob, plain)) = last.take() {
                let r = c.kms("Decrypt", &json!({"CiphertextBlob": blob}));
                if let Some(out) = tallied(&mut c, &mut tally, "Decrypt", r, data_plane_allows) {
                    let got = STANDARD
                        .decode(out["Plaintext"].as_str().unwrap_or(""))
                        .ok();
                    if got.as_deref() != Some(plain.as_slice()) {
                        tally.bad(format!("Decrypt gave another plaintext: {out}"));
                    }
                }
                continue;
            }
        }
        let key = &keys[(n as usize + who) % keys.len()];
        let plain = format!("soak {who} {n}").into_bytes();
        let r = c.kms(
            "Encrypt",
            &json!({"KeyId": key, "Plaintext": STANDARD.encode(&plain)}),
        );
        if let Some(out) = tallied(&mut c, &mut tally, "Encrypt", r, data_plane_allows) {
            if let Some(blob) = out["CiphertextBlob"].as_str() {
                last = Some((blob.to_owned(), plain));
            } else {
                tally.bad(format!("Encrypt without a CiphertextBlob: {out}"));
            }
        }
    }
    tally
}

/// The control plane's documented rejections in the states the churn makes.
fn control_plane_allows(status: u16, name: &str) -> bool {
    status == 400
        && matches!(
            name,
            "CustomKeyStoreInvalidStateException"
                | "CloudHsmClusterInvalidConfigurationException"
                | "CloudHsmInvalidRequestException"
                | "CloudHsmResourceNotFoundException"
                | "CloudHsmResourceLimitExceededException"
        )
}

/// The cluster's HSMs: (HsmId, AvailabilityZone, State).
fn hsms(c: &mut Client, tally: &mut Tally) -> Vec<(String, String, String)> {
    let r = c.call(
        "BaldrApiService.DescribeClusters",
        &json!({"Filters": {"clusterIds": [CLUSTER]}}),
    );
    let Some(out) = tallied(c, tally, "DescribeClusters", r, |_, _| false) else {
        return Vec::new();
    };
    out["Clusters"][0]["Hsms"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    let s = |k: &str| h[k].as_str().unwrap_or("").to_owned();
                    (s("HsmId"), s("AvailabilityZone"), s("State"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn store_state(c: &mut Client, tally: &mut Tally) -> String {
    let r = c.kms(
        "DescribeCustomKeyStores",
        &json!({"CustomKeyStoreId": STORE}),
    );
    tallied(c, tally, "DescribeCustomKeyStores", r, |_, _| false)
        .and_then(|out| {
            out["CustomKeyStores"][0]["ConnectionState"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

fn control(c: &mut Client, tally: &mut Tally, label: &str, path: &str, input: Value) {
    let r = c.control(path, &input);
    tallied(c, tally, label, r, |_, _| false);
}

fn kms_churn(c: &mut Client, tally: &mut Tally, op: &str) {
    let r = c.kms(op, &json!({"CustomKeyStoreId": STORE}));
    tallied(c, tally, op, r, control_plane_allows);
}

/// Clears every fault, brings the cluster back to two active HSMs, one in
/// each zone, and the store to CONNECTED.
fn repair(c: &mut Client, tally: &mut Tally) {
    control(
        c,
        tally,
        "faults (clear)",
        "/_hsmdrill/faults",
        json!({"ClusterId": CLUSTER, "Network": "ok", "SecurityGroup": "ok", "ExhaustSessions": false}),
    );
    let present = hsms(c, tally);
    for zone in ZONES {
        if !present.iter().any(|(_, z, _)| z == zone) {
            let r = c.call(
                "BaldrApiService.CreateHsm",
                &json!({"ClusterId": CLUSTER, "AvailabilityZone": zone}),
            );
            tallied(c, tally, "CreateHsm", r, control_plane_allows);
        }
    }
    match store_state(c, tally).as_str() {
        "FAILED" => {
            kms_churn(c, tally, "DisconnectCustomKeyStore");
            kms_churn(c, tally, "ConnectCustomKeyStore");
        }
        "DISCONNECTED" => kms_churn(c, tally, "ConnectCustomKeyStore"),
        _ => {}
    }
    control(c, tally, "settle", "/_hsmdrill/clock/settle", json!({}));
    // A connect judged before the HSMs came up failed: once more.
    if store_state(c, tally) == "FAILED" {
        kms_churn(c, tally, "DisconnectCustomKeyStore");
        kms_churn(c, tally, "ConnectCustomKeyStore");
        control(c, tally, "settle", "/_hsmdrill/clock/settle", json!({}));
    }
    let state = store_state(c, tally);
    if state != "CONNECTED" {
        tally.bad(format!("the store is {state} after a repair"));
    }
}

/// Breaks something, lets the load run into it, repairs, lets the load run
/// healthy, until `done`.
fn churn(addr: SocketAddr, mut rng: Rng, done: &AtomicBool) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut c = Client::keep_alive_only(addr, IO_TIMEOUT);
    let mut cycles = 0;
    while !done.load(Ordering::SeqCst) {
        match rng.range(0, 7) {
            0 => kms_churn(&mut c, &mut tally, "DisconnectCustomKeyStore"),
            1 => {
                // Disconnect and connect again: CONNECTING for a second.
                kms_churn(&mut c, &mut tally, "DisconnectCustomKeyStore");
                kms_churn(&mut c, &mut tally, "ConnectCustomKeyStore");
            }
            2 | 3 => {
                // Delete one HSM, or both (no HSM: nothing reachable).
                let all = hsms(&mut c, &mut tally);
                let n = if rng.range(0, 1) == 0 { 1 } else { all.len() };
                for (id, _, _) in all.iter().take(n) {
                    let r = c.call(
                        "BaldrApiService.DeleteHsm",
                        &json!({"ClusterId": CLUSTER, "HsmId": id}),
                    );
                    tallied(&mut c, &mut tally, "DeleteHsm", r, control_plane_allows);
                }
                if rng.range(0, 1) == 0 {
                    // A new HSM, CREATE_IN_PROGRESS until the next settle.
                    let zone = ZONES[rng.range(0, 1) as usize];
                    let r = c.call(
                        "BaldrApiService.CreateHsm",
                        &json!({"ClusterId": CLUSTER, "AvailabilityZone": zone}),
                    );
                    tallied(&mut c, &mut tally, "CreateHsm", r, control_plane_allows);
                }
            }
            4 => {
                let network = match rng.range(0, 1) {
                    0 => json!("blocked"),
                    _ => json!({"Flaky": rng.range(1, 50)}),
                };
                control(
                    &mut c,
                    &mut tally,
                    "faults (network)",
                    "/_hsmdrill/faults",
                    json!({"ClusterId": CLUSTER, "Network": network}),
                );
            }
            5 => control(
                &mut c,
                &mut tally,
                "faults (sessions)",
                "/_hsmdrill/faults",
                json!({"ClusterId": CLUSTER, "ExhaustSessions": true}),
            ),
            6 => control(
                &mut c,
                &mut tally,
                "faults (security group)",
                "/_hsmdrill/faults",
                json!({"ClusterId": CLUSTER, "SecurityGroup": "broken"}),
            ),
            _ => {
                // A connect with the security group broken fails at once;
                // one with the link blocked fails when judged.
                control(
                    &mut c,
                    &mut tally,
                    "faults (network)",
                    "/_hsmdrill/faults",
                    json!({"ClusterId": CLUSTER, "Network": "blocked"}),
                );
                kms_churn(&mut c, &mut tally, "DisconnectCustomKeyStore");
                kms_churn(&mut c, &mut tally, "ConnectCustomKeyStore");
                control(
                    &mut c,
                    &mut tally,
                    "settle",
                    "/_hsmdrill/clock/settle",
                    json!({}),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(rng.range(5, 60)));
        repair(&mut c, &mut tally);
        cycles += 1;
        std::thread::sleep(Duration::from_millis(rng.range(20, 150)));
    }
    repair(&mut c, &mut tally);
    (tally, cycles)
}

/// One RSS sample: (requests sent so far, elapsed, kB).
type Sample = (u64, Duration, u64);

fn soak(name: &str, total: u64, trail_capacity: usize) {
    let seed = seed_from_env("HSMDRILL_SOAK_SEED");
    println!(
        "soak {name}: {total} requests from {CLIENTS} keep-alive clients, trail capacity {trail_capacity}, seed {seed} (replay with HSMDRILL_SOAK_SEED={seed})"
    );
    let dir = crate::support::temp_dir(name);
    let server = Server::start(dir.path(), trail_capacity);
    let addr = server.addr;
    let pid = server.pid();
    // The keys the load uses.
    let mut c = Client::keep_alive_only(addr, IO_TIMEOUT);
    let keys: Vec<String> = (0..KEYS)
        .map(|i| {
            let (status, out) = c
                .kms(
                    "CreateKey",
                    &json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "Description": format!("soak {i}")}),
                )
                .unwrap();
            assert_eq!(status, 200, "{out}");
            out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
        })
        .collect();
    let keys = Arc::new(keys);
    let sent = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (sent, done, samples) = (sent.clone(), done.clone(), samples.clone());
        std::thread::spawn(move || {
            let mut last_print = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if let Some(kb) = rss_kb(pid) {
                    let n = sent.load(Ordering::Relaxed).min(total);
                    samples.lock().unwrap().push((n, started.elapsed(), kb));
                    if last_print.elapsed() >= Duration::from_secs(30) {
                        last_print = Instant::now();
                        println!(
                            "  {:>6.0?}: {n} requests, RSS {} MiB",
                            started.elapsed(),
                            kb / 1024
                        );
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let churner = {
        let (done, rng) = (done.clone(), Rng(seed));
        std::thread::spawn(move || churn(addr, rng, &done))
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|who| {
            let (keys, sent) = (keys.clone(), sent.clone());
            std::thread::spawn(move || load(addr, &keys, &sent, total, who))
        })
        .collect();
    let mut tally = Tally::default();
    for cl in clients {
        tally.merge(cl.join().unwrap());
    }
    let load_time = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let (churn_tally, cycles) = churner.join().unwrap();
    sampler.join().unwrap();
    // Still up and serving, healthy again after the last repair.
    let mut c = Client::keep_alive_only(addr, IO_TIMEOUT);
    let status = c.send("GET", "/_hsmdrill/health", &[], b"").unwrap().status;
    assert_eq!(status, 200);
    let (status, out) = c
        .kms(
            "Encrypt",
            &json!({"KeyId": keys[0], "Plaintext": STANDARD.encode(b"after the soak")}),
        )
        .unwrap();
    assert_eq!(status, 200, "after the soak: {out}");
    let (status, out) = c
        .kms("Decrypt", &json!({"CiphertextBlob": out["CiphertextBlob"]}))
        .unwrap();
    assert_eq!(status, 200, "after the soak: {out}");
    let samples = samples.lock().unwrap().clone();
    let final_rss = rss_kb(pid).unwrap_or(0);
    let mut server = server;
    assert!(
        server.process.try_wait().is_none(),
        "the server exited during the soak: {}",
        server.log_text()
    );
    let log = server.log_text();
    drop(server);

    // Figures.
    let first_part_end = (total / 5).max(1);
    let first: Vec<&Sample> = samples
        .iter()
        .filter(|(n, t, _)| *n <= first_part_end && *t <= Duration::from_secs(60))
        .collect();
    let first_peak = first.iter().map(|s| s.2).max().unwrap_or(0);
    let (peak_at, peak) = samples
        .iter()
        .map(|s| (s.0, s.2))
        .max_by_key(|s| s.1)
        .unwrap_or((0, 0));
    let requests: u64 = tally
        .outcomes
        .iter()
        .filter(|(k, _)| k.starts_with("Encrypt") || k.starts_with("Decrypt"))
        .map(|(_, v)| v)
        .sum();
    println!(
        "soak {name}: {requests} data-plane requests in {load_time:.1?} ({:.0}/s), {cycles} churn cycles",
        requests as f64 / load_time.as_secs_f64()
    );
    println!("  data plane:");
    for (k, v) in &tally.outcomes {
        println!("    {k}: {v}");
    }
    println!("  control plane:");
    for (k, v) in &churn_tally.outcomes {
        println!("    {k}: {v}");
    }
    println!(
        "  RSS: peak {} MiB (at {peak_at} requests), first part peak {} MiB ({} samples over the first {} requests / 60 s), final {} MiB; bound {}x + {} MiB",
        peak / 1024,
        first_peak / 1024,
        first.len(),
        first_part_end,
        final_rss / 1024,
        RSS_FACTOR,
        RSS_SLACK_KB / 1024
    );
    assert!(
        !log.contains("panicked"),
        "the server panicked during the soak: {log}"
    );
    assert!(
        tally.unexpected.is_empty() && churn_tally.unexpected.is_empty(),
        "undocumented answers during the soak (seed {seed}):\n  data plane: {:#?}\n  control plane: {:#?}",
        tally.unexpected,
        churn_tally.unexpected
    );
    assert!(
        tally.outcomes.get("Encrypt 200").copied().unwrap_or(0) > requests / 10,
        "the load hardly ever got through: {:?}",
        tally.outcomes
    );
    assert!(cycles > 0, "the control plane never churned");
    assert!(!first.is_empty(), "no RSS sample in the first part");
    assert!(
        peak <= RSS_FACTOR * first_peak + RSS_SLACK_KB,
        "the server's memory grew: peak {peak} kB against {first_peak} kB in the first part"
    );
    drop(dir);
}

#[test]
fn soak_short_under_control_plane_churn() {
    soak("soak-short", 10_000, 2_000);
}

/// The long soak: `HSMDRILL_SOAK_REQUESTS` requests (default 2,000,000).
#[test]
#[ignore = "long: cargo test --release --test integration -- --ignored soak:: --nocapture"]
fn soak_long_under_control_plane_churn() {
    let total = number_from_env("HSMDRILL_SOAK_REQUESTS", 2_000_000);
    soak("soak-long", total, 100_000);
}
