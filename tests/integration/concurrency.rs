//! One engine under many threads: the data plane racing the key store's
//! connection state machine, PKCS #11 session pools under a burst, and a
//! client that backs off and retries. Every test runs inside a watchdog
//! thread and fails with a clear message instead of hanging on a deadlock.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier, Mutex};
use std::time::Duration;

use serde_json::json;

use hsmdrill::engine::cloudhsm::pkcs11::SessionPool;
use hsmdrill::engine::kms::api::{
    CustomKeyStoreIdRequest, DecryptRequest, EncryptRequest, EncryptionContext,
};
use hsmdrill::engine::{world, Engine, Error, ErrorKind};

use crate::support::EXAMPLE_WORLD;

const STORE: &str = "cks-1234567890abcdef0";
const ALIAS: &str = "alias/app";

/// The example world's cluster, store and key, with small, slow PKCS #11
/// session pools: 2 sessions on each of the 2 HSMs, 2 ms per operation, no
/// waiting for a free session.
const SCARCE_SESSIONS_WORLD: &str = r#"
seed: 7
pkcs11: {sessions_per_hsm: 2, hsm_latency_micros: 2000}
clusters:
  - id: cluster-1a23b4cdefg
custom_key_stores:
  - {id: cks-1234567890abcdef0, name: ExampleKeyStore, cluster: cluster-1a23b4cdefg, connected: true}
keys:
  - {id: 1234abcd-12ab-34cd-56ef-1234567890ab, store: ExampleKeyStore, aliases: [alias/app]}
"#;

/// How long a test may run before it is declared deadlocked.
const WATCHDOG: Duration = Duration::from_secs(60);

fn example() -> Engine {
    world::load_file(Path::new(EXAMPLE_WORLD))
        .unwrap_or_else(|e| panic!("the example world does not load: {e}"))
}

fn scarce() -> Engine {
    world::load_str(SCARCE_SESSIONS_WORLD, "scarce-sessions.yaml")
        .unwrap_or_else(|e| panic!("the scarce-sessions world does not load: {e}"))
}

/// Runs `f` on its own thread and waits at most [`WATCHDOG`] for it; a panic
/// inside is re-raised here, a hang fails the test.
fn with_watchdog<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let out = f();
            let _ = tx.send(());
            out
        })
        .unwrap();
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) => handle.join().unwrap(),
        // The sender is gone without a message: the closure panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(out) => out,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name} did not finish within {WATCHDOG:?}: the engine is probably deadlocked \
             (threads are still blocked; see a stack dump of the test process)"
        ),
    }
}

/// A small deterministic generator per thread (no shared RNG to contend on).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// 1..=4096 bytes of recognisable content.
    fn plaintext(&mut self, thread: usize, op: usize) -> Vec<u8> {
        let len = 1 + usize::try_from(self.next() % 4096).unwrap();
        let tag = format!("t{thread}-o{op}-");
        tag.bytes().cycle().take(len).collect()
    }
}

fn context(thread: usize, op: usize) -> EncryptionContext {
    EncryptionContext::from([
        ("thread".to_owned(), thread.to_string()),
        ("op".to_owned(), op.to_string()),
    ])
}

fn encrypt_req(plaintext: &[u8], ctx: &EncryptionContext) -> EncryptRequest {
    EncryptRequest {
        key_id: Some(ALIAS.to_owned()),
        plaintext: Some(plaintext.to_vec()),
        encryption_context: ctx.clone(),
        ..EncryptRequest::default()
    }
}

fn decrypt_req(blob: &[u8], ctx: &EncryptionContext) -> DecryptRequest {
    DecryptRequest {
        ciphertext_blob: Some(blob.to_vec()),
        encryption_context: ctx.clone(),
        ..DecryptRequest::default()
    }
}

fn store_req() -> CustomKeyStoreIdRequest {
    CustomKeyStoreIdRequest {
        custom_key_store_id: Some(STORE.to_owned()),
    }
}

fn is_pkcs11_exhaustion(e: &Error) -> bool {
    e.kind() == ErrorKind::KmsInternal && e.message().contains("PKCS #11")
}

/// The documented failures of a data-plane call while the key store's
/// connection changes under it (R1, R2).
fn is_documented_data_plane_failure(e: &Error) -> bool {
    e.kind() == ErrorKind::KmsInvalidState || is_pkcs11_exhaustion(e)
}

/// Encrypts then decrypts; `Ok(true)` for a verified round trip, `Ok(false)`
/// for a documented failure, `Err` for anything else.
fn round_trip(
    e: &Engine,
    via_json: bool,
    plaintext: &[u8],
    ctx: &EncryptionContext,
) -> Result<bool, String> {
    let blob = if via_json {
        let out = e.call(
            "Encrypt",
            serde_json::to_value(encrypt_req(plaintext, ctx)).unwrap(),
        );
        out.map(|v| {
            let encrypted: hsmdrill::engine::kms::api::EncryptResponse =
                serde_json::from_value(v).unwrap();
            encrypted.ciphertext_blob
        })
    } else {
        e.encrypt(&encrypt_req(plaintext, ctx))
            .map(|r| r.ciphertext_blob)
    };
    let blob = match blob {
        Ok(b) => b,
        Err(err) if is_documented_data_plane_failure(&err) => return Ok(false),
        Err(err) => return Err(format!("Encrypt: undocumented failure {err}")),
    };
    let plain = if via_json {
        e.call(
            "Decrypt",
            serde_json::to_value(decrypt_req(&blob, ctx)).unwrap(),
        )
        .map(|v| {
            let decrypted: hsmdrill::engine::kms::api::DecryptResponse =
                serde_json::from_value(v).unwrap();
            decrypted.plaintext
        })
    } else {
        e.decrypt(&decrypt_req(&blob, ctx)).map(|r| r.plaintext)
    };
    match plain {
        Ok(p) if p == plaintext => Ok(true),
        Ok(p) => Err(format!(
            "Decrypt returned {} bytes that are not the {} bytes encrypted",
            p.len(),
            plaintext.len()
        )),
        Err(err) if is_documented_data_plane_failure(&err) => Ok(false),
        Err(err) => Err(format!("Decrypt: undocumented failure {err}")),
    }
}

#[test]
fn crypto_racing_connect_and_disconnect_round_trips_or_fails_as_documented() {
    const THREADS: usize = 64;
    const MIN_OPS: usize = 24;
    const MAX_OPS: usize = 400;
    const MIN_TOGGLES: usize = 15;

    let (ok, failed, toggles) = with_watchdog("race", || {
        let engine = example();
        let successes = AtomicUsize::new(0);
        let failures = AtomicUsize::new(0);
        let toggles = AtomicUsize::new(0);
        let workers_done = AtomicUsize::new(0);
        let undocumented = Mutex::new(Vec::<String>::new());
        let start = Barrier::new(THREADS + 1);
        let stop = AtomicBool::new(false);

        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (engine, successes, failures, toggles, workers_done, undocumented, start) = (
                    &engine,
                    &successes,
                    &failures,
                    &toggles,
                    &workers_done,
                    &undocumented,
                    &start,
                );
                s.spawn(move || {
                    let mut rng = Lcg(t as u64 + 1);
                    start.wait();
                    let mut op = 0;
                    // Keep going until the toggler has done its share, so
                    // the run always overlaps some disconnects.
                    while op < MAX_OPS
                        && (op < MIN_OPS || toggles.load(Ordering::SeqCst) < MIN_TOGGLES)
                    {
                        let plaintext = rng.plaintext(t, op);
                        let ctx = context(t, op);
                        match round_trip(engine, t % 2 == 0, &plaintext, &ctx) {
                            Ok(true) => successes.fetch_add(1, Ordering::Relaxed),
                            Ok(false) => failures.fetch_add(1, Ordering::Relaxed),
                            Err(msg) => {
                                undocumented.lock().unwrap().push(msg);
                                0
                            }
                        };
                        op += 1;
                    }
                    workers_done.fetch_add(1, Ordering::SeqCst);
                });
            }

            // The toggler: disconnect, let the workers hit the
            // disconnected store, reconnect, let the connect complete.
            let toggler = s.spawn(|| {
                start.wait();
                let mut problems = Vec::new();
                while workers_done.load(Ordering::SeqCst) < THREADS && !stop.load(Ordering::SeqCst)
                {
                    for (what, r) in [
                        (
                            "Disconnect",
                            engine.disconnect_custom_key_store(&store_req()),
                        ),
                        ("pause", Ok(Default::default())),
                        ("Connect", engine.connect_custom_key_store(&store_req())),
                    ] {
                        if what == "pause" {
                            std::thread::sleep(Duration::from_micros(300));
                            continue;
                        }
                        if let Err(err) = r {
                            if err.kind() != ErrorKind::CustomKeyStoreInvalidState {
                                problems.push(format!("{what}CustomKeyStore: {err}"));
                            }
                        }
                    }
                    engine.settle();
                    toggles.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(300));
                }
                problems
            });
            let problems = toggler.join().unwrap();
            stop.store(true, Ordering::SeqCst);
            assert!(problems.is_empty(), "the toggler saw {problems:?}");
        });

        let undocumented = undocumented.into_inner().unwrap();
        assert!(
            undocumented.is_empty(),
            "{} calls failed in undocumented ways, e.g. {:?}",
            undocumented.len(),
            &undocumented[..undocumented.len().min(5)]
        );

        // Afterwards the store reconnects and the key works again.
        let _ = engine.connect_custom_key_store(&store_req());
        engine.settle();
        let state = engine
            .call(
                "DescribeCustomKeyStores",
                json!({"CustomKeyStoreId": STORE}),
            )
            .unwrap()["CustomKeyStores"][0]["ConnectionState"]
            .clone();
        assert_eq!(state, json!("CONNECTED"));
        let ctx = context(999, 0);
        assert_eq!(round_trip(&engine, false, b"after", &ctx), Ok(true));

        (
            successes.into_inner(),
            failures.into_inner(),
            toggles.into_inner(),
        )
    });
    eprintln!("race: {ok} round trips, {failed} documented failures, {toggles} toggles");
    assert!(toggles >= MIN_TOGGLES, "only {toggles} toggles");
    assert!(ok > 0, "no call succeeded ({failed} failed)");
    assert!(
        failed > 0,
        "no call failed ({ok} succeeded) although the store was disconnected {toggles} times"
    );
}

/// `count` summed over the PKCS #11 session pools of every HSM of every
/// cluster.
fn over_pools(engine: &Engine, count: impl Fn(&SessionPool) -> usize) -> usize {
    engine.with_state(|st| {
        st.clusters
            .values()
            .flat_map(|c| c.hsms.iter())
            .map(|h| count(&h.pool))
            .sum()
    })
}

/// How many sessions are taken, over every pool.
fn pools_in_use(engine: &Engine) -> usize {
    over_pools(engine, SessionPool::in_use)
}

/// Runs `threads` threads that start together, each making `ops` calls of
/// `call(thread, op, plaintext, context)`, its plaintexts from a generator
/// of its own (seeded `seed + thread`).
fn in_step(
    threads: usize,
    ops: usize,
    seed: u64,
    call: impl Fn(usize, usize, Vec<u8>, EncryptionContext) + Sync,
) {
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (call, start) = (&call, &start);
            s.spawn(move || {
                let mut rng = Lcg(t as u64 + seed);
                start.wait();
                for op in 0..ops {
                    call(t, op, rng.plaintext(t, op), context(t, op));
                }
            });
        }
    });
}

#[test]
fn a_burst_over_scarce_sessions_fails_some_calls_with_pkcs11_and_frees_every_pool() {
    const THREADS: usize = 32;
    const OPS: usize = 6;

    let (ok, exhausted) = with_watchdog("burst", || {
        let engine = scarce();
        let capacity = over_pools(&engine, SessionPool::capacity);
        assert_eq!(capacity, 4, "2 HSMs × 2 sessions");
        let successes = AtomicUsize::new(0);
        let exhausted = AtomicUsize::new(0);
        let wrong = Mutex::new(Vec::<String>::new());
        let made = Mutex::new(Vec::new());
        in_step(THREADS, OPS, 100, |_, _, plaintext, ctx| {
            match engine.encrypt(&encrypt_req(&plaintext, &ctx)) {
                Ok(r) => {
                    // Checked after the burst, away from the contention.
                    successes.fetch_add(1, Ordering::Relaxed);
                    made.lock()
                        .unwrap()
                        .push((r.ciphertext_blob, plaintext, ctx));
                }
                Err(err) if is_pkcs11_exhaustion(&err) => {
                    exhausted.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => wrong.lock().unwrap().push(err.to_string()),
            }
        });
        let wrong = wrong.into_inner().unwrap();
        assert!(wrong.is_empty(), "undocumented failures: {wrong:?}");

        // After the burst every session is back in its pool …
        assert_eq!(pools_in_use(&engine), 0, "sessions leaked by the burst");
        // … what succeeded during it round-trips …
        for (blob, plaintext, ctx) in made.into_inner().unwrap() {
            let plain = engine
                .decrypt(&decrypt_req(&blob, &ctx))
                .unwrap_or_else(|e| panic!("Decrypt of a blob made in the burst: {e}"))
                .plaintext;
            assert_eq!(plain, plaintext);
        }
        // … and calls one at a time all succeed and round-trip.
        for op in 0..20 {
            let ctx = context(1000, op);
            let plaintext = vec![u8::try_from(op).unwrap(); 100 + op];
            let blob = engine
                .encrypt(&encrypt_req(&plaintext, &ctx))
                .unwrap_or_else(|e| panic!("Encrypt after the burst: {e}"))
                .ciphertext_blob;
            let plain = engine
                .decrypt(&decrypt_req(&blob, &ctx))
                .unwrap_or_else(|e| panic!("Decrypt after the burst: {e}"))
                .plaintext;
            assert_eq!(plain, plaintext);
        }
        assert_eq!(pools_in_use(&engine), 0);
        (successes.into_inner(), exhausted.into_inner())
    });
    eprintln!("burst: {ok} succeeded, {exhausted} out of PKCS #11 sessions");
    assert_eq!(ok + exhausted, THREADS * OPS);
    assert!(ok > 0, "no call of the burst succeeded");
    assert!(
        exhausted > 0,
        "no call of the burst ran out of PKCS #11 sessions ({ok} succeeded)"
    );
}

/// Retries `f` with exponential backoff while it fails for want of PKCS #11
/// sessions; returns the outcome and how many retries it took.
fn with_backoff<T>(mut f: impl FnMut() -> Result<T, Error>) -> (Result<T, Error>, usize) {
    let mut delay = Duration::from_micros(200);
    let mut retries = 0;
    loop {
        match f() {
            Err(err) if is_pkcs11_exhaustion(&err) && retries < 200 => {
                retries += 1;
                // A little jitter keeps the threads from retrying in step.
                let jitter = Duration::from_micros((retries as u64 * 7919) % 300);
                std::thread::sleep(delay + jitter);
                delay = (delay * 2).min(Duration::from_millis(8));
            }
            other => return (other, retries),
        }
    }
}

#[test]
fn a_client_that_backs_off_and_retries_delivers_every_operation_exactly_once() {
    const THREADS: usize = 32;
    const OPS: usize = 5;

    let (delivered, retries) = with_watchdog("retry", || {
        let engine = scarce();
        let delivered = AtomicUsize::new(0);
        let retries = AtomicUsize::new(0);
        let problems = Mutex::new(Vec::<String>::new());
        in_step(THREADS, OPS, 500, |_, _, plaintext, ctx| {
            let (enc, r1) = with_backoff(|| engine.encrypt(&encrypt_req(&plaintext, &ctx)));
            let blob = match enc {
                Ok(r) => r.ciphertext_blob,
                Err(err) => {
                    problems.lock().unwrap().push(format!("Encrypt: {err}"));
                    return;
                }
            };
            let (dec, r2) = with_backoff(|| engine.decrypt(&decrypt_req(&blob, &ctx)));
            retries.fetch_add(r1 + r2, Ordering::Relaxed);
            match dec {
                Ok(r) if r.plaintext == plaintext => {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => problems
                    .lock()
                    .unwrap()
                    .push("Decrypt returned other bytes".into()),
                Err(err) => problems.lock().unwrap().push(format!("Decrypt: {err}")),
            }
        });
        let problems = problems.into_inner().unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(pools_in_use(&engine), 0, "sessions leaked");

        // CloudTrail agrees: one successful Encrypt per operation, the
        // retried attempts recorded as failures with the PKCS #11 message.
        let events = engine.trail_events(Some("Encrypt"));
        let ok_events = events
            .iter()
            .filter(|e| e.get("errorCode").is_none())
            .count();
        assert_eq!(ok_events, THREADS * OPS, "successful Encrypt events");
        for e in events.iter().filter(|e| e.get("errorCode").is_some()) {
            assert_eq!(e["errorCode"], json!("KMSInternalException"), "{e}");
            assert!(
                e["errorMessage"]
                    .as_str()
                    .is_some_and(|m| m.contains("PKCS #11")),
                "{e}"
            );
        }
        (delivered.into_inner(), retries.into_inner())
    });
    eprintln!("retry: {delivered} delivered after {retries} retries");
    assert_eq!(delivered, THREADS * OPS, "operations delivered");
    assert!(
        retries > 0,
        "the burst never ran out of sessions, so nothing was retried"
    );
}
