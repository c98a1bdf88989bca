//! The crash loop: a server with two key stores SIGKILLed at random moments
//! of the concurrent workload (`workload.rs`) and restarted on the same
//! file, many times; after every restart the trail, every store and every
//! key are checked against what was acknowledged (allowing for what was in
//! flight at the kill), and each store is brought back to CONNECTED.

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::Client;
use crate::support::rng::{seed_from_env, Rng};

use super::trail;
use super::workload::{churn, keys_worker, reader, ADMIN_LOGIN, LOOP_STORES, LOOP_WORLD};
use super::{assert_no_panic, scratch, Deletion, Model, Server, Step, StoreModel};

/// The loop world's trail capacity (the default).
const TRAIL_CAPACITY: usize = 100_000;

/// Counts for the report.
#[derive(Debug, Default)]
struct Figures {
    kills: usize,
    password_cycles: usize,
    in_flight_at_kill: usize,
    store_states_seen: std::collections::BTreeMap<String, usize>,
    check_time: Duration,
}

fn store_state(c: &mut Client, id: &str) -> Value {
    let (status, out) = c
        .kms("DescribeCustomKeyStores", &json!({"CustomKeyStoreId": id}))
        .unwrap();
    assert_eq!(status, 200, "{out}");
    out["CustomKeyStores"][0].clone()
}

fn settle(c: &mut Client) {
    let (status, out) = c.control("/_hsmdrill/clock/settle", &json!({})).unwrap();
    assert_eq!(status, 200, "settle: {out}");
}

fn cli_must(c: &mut Client, cluster: &str, session: &str, command: &str) {
    let out = c.cli(cluster, session, command).unwrap();
    assert_eq!(out["error_code"], 0, "`{command}` on {cluster}: {out}");
}

/// After a restart: every store is as its acknowledged steps say (allowing
/// for the step in flight at the kill), then it is brought back to
/// CONNECTED so the next round starts a fresh cycle.
fn check_stores(c: &mut Client, m: &mut Model, round: usize, figures: &mut Figures) {
    settle(c);
    for s in &mut m.stores {
        let (a, f) = (s.acked, s.in_flight);
        if f.is_some() {
            figures.in_flight_at_kill += 1;
        }
        let seen = store_state(c, s.id);
        let state = seen["ConnectionState"].as_str().unwrap().to_owned();
        *figures
            .store_states_seen
            .entry(format!("{state} after {a:?}, {f:?} in flight"))
            .or_default() += 1;
        let allowed: &[&str] = match (a, f) {
            (Step::Connected, Some(Step::Disconnect)) => &["CONNECTED", "DISCONNECTED"],
            (Step::Connected | Step::Connect, _) => &["CONNECTED"],
            (Step::Update, Some(Step::Connect)) => &["CONNECTED", "DISCONNECTED"],
            (_, _) => &["DISCONNECTED"],
        };
        let ctx = format!(
            "round {round}: store {} after acknowledged {a:?} with {f:?} in flight",
            s.id
        );
        assert!(allowed.contains(&state.as_str()), "{ctx}: {seen}");
        if state == "DISCONNECTED" {
            // The cluster holds the cycle's password once its change was
            // acknowledged (no later step of the cycle changes it).
            let cluster_has_new = a >= Step::ChangePassword;
            if cluster_has_new {
                let session = format!("verify-{round}");
                cli_must(
                    c,
                    s.cluster,
                    &session,
                    &format!(
                        "login --username kmsuser --role crypto-user --password {}",
                        s.password
                    ),
                );
                cli_must(c, s.cluster, &session, "logout");
            }
            // KMS was told the cycle's password once Update was
            // acknowledged: the store connects. Before that KMS holds the
            // previous (rotated) password, which the cluster no longer has.
            let kms_has_new = a >= Step::Update;
            let kms_has_old = cluster_has_new && a < Step::Update && f != Some(Step::Update);
            if kms_has_new || kms_has_old {
                let (status, out) = c
                    .kms("ConnectCustomKeyStore", &json!({"CustomKeyStoreId": s.id}))
                    .unwrap();
                assert_eq!(status, 200, "{ctx}: connect: {out}");
                settle(c);
                let seen = store_state(c, s.id);
                if kms_has_new {
                    assert_eq!(
                        seen["ConnectionState"], "CONNECTED",
                        "{ctx}: the acknowledged password does not connect: {seen}"
                    );
                } else {
                    assert_eq!(seen["ConnectionState"], "FAILED", "{ctx}: {seen}");
                    assert_eq!(seen["ConnectionErrorCode"], "INVALID_CREDENTIALS", "{ctx}");
                }
            }
        }
        // Back to CONNECTED with a password set here.
        let seen = store_state(c, s.id);
        if seen["ConnectionState"] != "CONNECTED" {
            if seen["ConnectionState"] == "FAILED" {
                let (status, out) = c
                    .kms(
                        "DisconnectCustomKeyStore",
                        &json!({"CustomKeyStoreId": s.id}),
                    )
                    .unwrap();
                assert_eq!(status, 200, "{ctx}: {out}");
            }
            let session = format!("repair-{round}");
            let password = format!("repair{round}x{}", s.id.len());
            cli_must(c, s.cluster, &session, ADMIN_LOGIN);
            cli_must(
                c,
                s.cluster,
                &session,
                &format!(
                    "user change-password --username kmsuser --role crypto-user --password {password}"
                ),
            );
            cli_must(c, s.cluster, &session, "logout");
            for (op, input) in [
                (
                    "UpdateCustomKeyStore",
                    json!({"CustomKeyStoreId": s.id, "KeyStorePassword": password}),
                ),
                ("ConnectCustomKeyStore", json!({"CustomKeyStoreId": s.id})),
            ] {
                let (status, out) = c.kms(op, &input).unwrap();
                assert_eq!(status, 200, "{ctx}: repair {op}: {out}");
            }
            settle(c);
            let seen = store_state(c, s.id);
            assert_eq!(
                seen["ConnectionState"], "CONNECTED",
                "{ctx}: repair: {seen}"
            );
        }
        s.acked = Step::Connected;
        s.in_flight = None;
    }
}

/// After a restart (stores CONNECTED): every acknowledged key exists in its
/// acknowledged state, every alias names its key, every ciphertext
/// decrypts. A deletion in flight at the kill is settled by what the file
/// holds.
fn check_keys(c: &mut Client, m: &mut Model, round: usize) {
    for k in &mut m.keys {
        let (status, out) = c.kms("DescribeKey", &json!({"KeyId": k.id})).unwrap();
        assert_eq!(
            status, 200,
            "round {round}: acknowledged key {} is gone: {out}",
            k.id
        );
        let state = out["KeyMetadata"]["KeyState"].as_str().unwrap();
        let allowed: &[&str] = match k.deletion {
            Deletion::None => &["Enabled"],
            Deletion::Acked => &["PendingDeletion"],
            Deletion::InFlight => &["Enabled", "PendingDeletion"],
        };
        assert!(
            allowed.contains(&state),
            "round {round}: key {} ({:?}) is {state}",
            k.id,
            k.deletion
        );
        if k.deletion == Deletion::InFlight {
            k.deletion = if state == "PendingDeletion" {
                Deletion::Acked
            } else {
                Deletion::None
            };
        }
    }
    for (alias, key) in &m.aliases {
        let (status, out) = c.kms("DescribeKey", &json!({"KeyId": alias})).unwrap();
        assert_eq!(status, 200, "round {round}: alias {alias} is gone: {out}");
        assert_eq!(
            out["KeyMetadata"]["KeyId"],
            json!(key),
            "round {round}: {alias}"
        );
    }
    for (blob, plain, key) in &m.ciphertexts {
        let (status, out) = c.kms("Decrypt", &json!({"CiphertextBlob": blob})).unwrap();
        assert_eq!(
            status, 200,
            "round {round}: an acknowledged ciphertext under {key} no longer decrypts: {out}"
        );
        assert!(out["KeyId"].as_str().unwrap().ends_with(key.as_str()));
        let got = STANDARD.decode(out["Plaintext"].as_str().unwrap()).unwrap();
        assert_eq!(&got, plain, "round {round}");
    }
}

/// The crash loop: `kills` SIGKILLs, each at a random moment (`window_ms`
/// after the workload started) of a concurrent workload, each followed by a
/// restart and a full check of what was acknowledged.
fn crash_loop(name: &str, kills: usize, window_ms: (u64, u64)) {
    let seed = seed_from_env("HSMDRILL_CRASH_SEED");
    println!(
        "crash loop {name}: {kills} kills, seed {seed} (replay with HSMDRILL_CRASH_SEED={seed})"
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let dir = scratch(name);
    let world = dir.join("world.yaml");
    fs::write(&world, LOOP_WORLD).unwrap();
    let state = dir.join("state.json");
    let model = Arc::new(Mutex::new(Model {
        stores: LOOP_STORES
            .iter()
            .map(|&(id, cluster)| StoreModel {
                id,
                cluster,
                acked: Step::Connected,
                in_flight: None,
                password: String::new(),
            })
            .collect(),
        ..Model::default()
    }));
    let mut figures = Figures::default();
    for round in 0..=kills {
        // A pending connect sometimes outlives the kill.
        let connect_seconds = if rng.one_in(3) { 1 } else { 0 };
        let log = dir.join(format!("round-{round}.log"));
        let server = Server::start_with(&state, &log, &world, connect_seconds);
        {
            let checked = Instant::now();
            let mut c = Client::new(server.addr);
            let mut m = model.lock().unwrap();
            // First, before any call adds to it.
            // The whole trail every tenth round and after the last kill.
            let whole = round % 10 == 0 || round == kills;
            trail::check_trail(&mut c, &mut m, round, TRAIL_CAPACITY, whole);
            check_stores(&mut c, &mut m, round, &mut figures);
            check_keys(&mut c, &mut m, round);
            figures.check_time += checked.elapsed();
        }
        assert_no_panic(&log);
        if round % 10 == 0 && round > 0 {
            let m = model.lock().unwrap();
            println!(
                "  {:>6.1?}: {round} kills survived; {} keys, {} aliases, {} ciphertexts checked",
                started.elapsed(),
                m.keys.len(),
                m.aliases.len(),
                m.ciphertexts.len()
            );
        }
        if round == kills {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tag = format!("{seed:x}-{round}");
        let mut workers: Vec<std::thread::JoinHandle<Result<usize, String>>> = Vec::new();
        for index in 0..LOOP_STORES.len() {
            let (model, stop, addr, tag, rng) = (
                model.clone(),
                stop.clone(),
                server.addr,
                format!("{tag}-s{index}"),
                rng.fork(),
            );
            workers.push(std::thread::spawn(move || {
                churn(addr, &model, index, &tag, rng, &stop)
            }));
        }
        for w in 0..2 {
            let (model, stop, addr, tag, rng) = (
                model.clone(),
                stop.clone(),
                server.addr,
                format!("{tag}-k{w}"),
                rng.fork(),
            );
            workers.push(std::thread::spawn(move || {
                keys_worker(addr, &model, &tag, rng, &stop).map(|()| 0)
            }));
        }
        {
            let (model, stop, addr, rng) = (model.clone(), stop.clone(), server.addr, rng.fork());
            workers.push(std::thread::spawn(move || {
                reader(addr, &model, rng, &stop).map(|()| 0)
            }));
        }
        let kill_after = Duration::from_millis(rng.range(window_ms.0, window_ms.1));
        std::thread::sleep(kill_after);
        let early: Vec<String> = workers
            .iter()
            .filter(|w| w.is_finished())
            .map(|_| "a worker".to_owned())
            .collect();
        // Workers start no new request from here on; those under way are
        // cut by the kill.
        stop.store(true, Ordering::SeqCst);
        server.kill();
        figures.kills += 1;
        for w in workers {
            match w.join().unwrap() {
                Ok(cycles) => figures.password_cycles += cycles,
                Err(e) => panic!(
                    "round {round} (seed {seed}): {e}\nserver log: {}",
                    fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        }
        assert!(
            early.is_empty(),
            "round {round} (seed {seed}): {} stopped before the kill",
            early.join(", ")
        );
        assert_no_panic(&log);
    }
    let m = model.lock().unwrap();
    let deleted = m
        .keys
        .iter()
        .filter(|k| k.deletion == Deletion::Acked)
        .count();
    println!(
        "crash loop {name}: seed {seed}, {} kills survived in {:.1?} (checks {:.1?}); acknowledged and checked after every restart: {} keys ({deleted} pending deletion), {} aliases, {} ciphertexts, {} completed password cycles; {} requests in flight at a kill",
        figures.kills,
        started.elapsed(),
        figures.check_time,
        m.keys.len(),
        m.aliases.len(),
        m.ciphertexts.len(),
        figures.password_cycles,
        figures.in_flight_at_kill,
    );
    for (k, v) in &figures.store_states_seen {
        println!("  store {k}: {v}");
    }
    println!(
        "  documented rejections seen by the workers: {:?}",
        m.rejected
    );
    println!(
        "  trail: {} events checked after the restarts, {} returned by LookupEvents during the workloads",
        m.trail.checked, m.trail.returned_total
    );
    // Every acknowledged key id is distinct: ids made after restarts never
    // collided with acknowledged ones.
    let mut ids: Vec<&str> = m.keys.iter().map(|k| k.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), m.keys.len(), "a key id was handed out twice");
    drop(m);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn crash_loop_short_loses_nothing_acknowledged() {
    crash_loop("crash-loop-short", 6, (20, 300));
}

/// The long crash loop: `HSMDRILL_CRASH_KILLS` kills (default 100).
#[test]
#[ignore = "long: HSMDRILL_CRASH_KILLS=100 cargo test --release --test integration -- --ignored crash:: --nocapture"]
fn crash_loop_long_loses_nothing_acknowledged() {
    let kills = std::env::var("HSMDRILL_CRASH_KILLS")
        .ok()
        .map(|s| s.trim().parse().expect("HSMDRILL_CRASH_KILLS: a number"))
        .unwrap_or(100);
    crash_loop("crash-loop-long", kills, (5, 800));
}
