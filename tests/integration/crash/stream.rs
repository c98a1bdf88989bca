//! A child server SIGKILLed in the middle of a stream of CreateKey and
//! Encrypt calls from several clients, and restarted on the same state
//! file, a few rounds with different kill points: every key it acknowledged
//! still exists and every ciphertext it acknowledged still decrypts.

use std::fs;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use crate::support::http::kms;

use super::{scratch, Server, STORE};

/// What the server acknowledged: key ids, and (ciphertext, plaintext).
#[derive(Default)]
struct Acked {
    keys: Vec<String>,
    ciphertexts: Vec<(String, Vec<u8>)>,
}

impl Acked {
    fn calls(&self) -> usize {
        self.keys.len() + self.ciphertexts.len()
    }
}

/// CreateKey, then Encrypt under it and under the previous keys, until a
/// call fails at the transport (the server was killed) or `stop` is set.
/// Only complete 200 answers count as acknowledged.
fn stream(addr: SocketAddr, name: &str, acked: &Mutex<Acked>, stop: &AtomicBool) {
    let mut n = 0usize;
    let mut mine: Vec<String> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let created = kms(
            addr,
            "CreateKey",
            &json!({
                "Origin": "AWS_CLOUDHSM",
                "CustomKeyStoreId": STORE,
                "Description": format!("crash {name} key {n}"),
            }),
        );
        let key = match created {
            Ok((200, out)) => {
                let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
                acked.lock().unwrap().keys.push(id.clone());
                id
            }
            Ok((status, out)) => panic!("CreateKey answered {status}: {out}"),
            Err(_) => return,
        };
        mine.push(key);
        for key in mine.iter().rev().take(2) {
            let plain = format!("{name} message {n} under {key}").into_bytes();
            let out = kms(
                addr,
                "Encrypt",
                &json!({"KeyId": key, "Plaintext": STANDARD.encode(&plain)}),
            );
            match out {
                Ok((200, out)) => {
                    let blob = out["CiphertextBlob"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().ciphertexts.push((blob, plain));
                }
                Ok((status, out)) => panic!("Encrypt answered {status}: {out}"),
                Err(_) => return,
            }
            n += 1;
        }
    }
}

/// Every acknowledged key exists and every acknowledged ciphertext
/// decrypts to its plaintext.
fn check(server: &Server, acked: &Acked) {
    for key in &acked.keys {
        let (status, out) = server.kms("DescribeKey", &json!({"KeyId": key})).unwrap();
        assert_eq!(status, 200, "acknowledged key {key} is gone: {out}");
        assert_eq!(out["KeyMetadata"]["KeyId"], json!(key));
        assert_eq!(out["KeyMetadata"]["KeyState"], json!("Enabled"));
    }
    for (blob, plain) in &acked.ciphertexts {
        let (status, out) = server
            .kms("Decrypt", &json!({"CiphertextBlob": blob}))
            .unwrap();
        assert_eq!(
            status, 200,
            "acknowledged ciphertext no longer decrypts: {out}"
        );
        let got = STANDARD.decode(out["Plaintext"].as_str().unwrap()).unwrap();
        assert_eq!(&got, plain);
    }
}

#[test]
fn sigkill_in_a_stream_of_create_key_and_encrypt_loses_nothing_acknowledged() {
    let started = Instant::now();
    let dir = scratch("crash");
    let state = dir.join("state.json");
    let all = Mutex::new(Acked::default());
    // Kill points, in acknowledged calls of the round, made a little
    // different each run by the clock.
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 5) as usize;
    for (round, kill_at) in [3 + jitter, 10 + jitter, 25 + jitter, 1]
        .into_iter()
        .enumerate()
    {
        let server = Server::start(&state, &dir.join(format!("round-{round}.log")));
        // What the previous rounds had acknowledged survived the kill.
        check(&server, &all.lock().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&state).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the state file holds key material");
        }
        let acked = Arc::new(Mutex::new(Acked::default()));
        let stop = Arc::new(AtomicBool::new(false));
        // A few clients at once, so writes of the state file overlap.
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (acked, stop, addr) = (acked.clone(), stop.clone(), server.addr);
                let name = format!("round {round} client {w}");
                std::thread::spawn(move || stream(addr, &name, &acked, &stop))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().calls() < kill_at {
            assert!(
                !workers.iter().any(|w| w.is_finished()),
                "the stream stopped before the kill: {}",
                fs::read_to_string(&server.log).unwrap_or_default()
            );
            assert!(Instant::now() < deadline, "the stream is too slow");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Killed while the stream goes on: some call is in flight.
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(acked.calls() >= kill_at);
        let mut all = all.lock().unwrap();
        all.keys.extend(acked.keys);
        all.ciphertexts.extend(acked.ciphertexts);
    }
    let server = Server::start(&state, &dir.join("last.log"));
    let all = all.lock().unwrap();
    assert!(all.keys.len() >= 4);
    check(&server, &all);
    // The world's own key and the key ids made up after restarts never
    // collided: every acknowledged id is distinct.
    let mut ids = all.keys.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.keys.len(), "a key id was handed out twice");
    drop(server);
    let _ = fs::remove_dir_all(&dir);
    assert!(started.elapsed() < Duration::from_secs(300));
}
