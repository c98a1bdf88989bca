//! The crash loop's workload and what it was told: two key stores, each
//! with a worker cycling kmsuser's password (Disconnect, CloudHSM CLI
//! `user change-password`, UpdateCustomKeyStore, Connect), workers making
//! keys, aliases, ciphertexts and deletions, and a reader; every
//! acknowledged change, and every request in flight, is recorded in the
//! [`Model`] the checks after a restart hold the server to.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::Client;
use crate::support::rng::Rng;

use super::{trail, Deletion, KeyModel, Model, Step};

/// Two clusters, each with its own connected key store, so that one store's
/// password cycle and the other's run side by side.
pub(super) const LOOP_WORLD: &str = r#"
seed: 11
clusters:
  - id: cluster-1a23b4cdefg
    availability_zones: [us-west-2a, us-west-2b]
    hsms: [us-west-2a, us-west-2b]
  - id: cluster-2b34c5defgh
    availability_zones: [us-west-2c, us-west-2d]
    hsms: [us-west-2c, us-west-2d]
custom_key_stores:
  - {id: cks-1234567890abcdef0, name: StoreA, cluster: cluster-1a23b4cdefg, connected: true}
  - {id: cks-0fedcba9876543210, name: StoreB, cluster: cluster-2b34c5defgh, connected: true}
"#;

/// The loop world's stores and their clusters.
pub(super) const LOOP_STORES: [(&str, &str); 2] = [
    ("cks-1234567890abcdef0", "cluster-1a23b4cdefg"),
    ("cks-0fedcba9876543210", "cluster-2b34c5defgh"),
];

pub(super) const ADMIN_LOGIN: &str =
    "login --username admin --role admin --password adminPassword1";

impl Rng {
    /// A kmsuser password: 7–32 letters or digits.
    pub(super) fn password(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let len = self.range(8, 20) as usize;
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// A worker's view of an answer: acknowledged, rejected by name (allowed
/// ones only), or the server is gone (in flight at the kill).
pub(super) enum Answer {
    Ok(Value),
    Rejected(String),
    Gone,
}

/// Sends a KMS call; a rejection must be one of `allowed`.
pub(super) fn kms_call(
    c: &mut Client,
    op: &str,
    input: &Value,
    allowed: &[&str],
) -> Result<Answer, String> {
    match c.kms(op, input) {
        Ok((200, out)) => Ok(Answer::Ok(out)),
        Ok((status, out)) => {
            let name = out["__type"].as_str().unwrap_or("").to_owned();
            if status == 400 && allowed.contains(&name.as_str()) {
                Ok(Answer::Rejected(name))
            } else {
                Err(format!("{op} {input} answered {status}: {out}"))
            }
        }
        Err(_) => Ok(Answer::Gone),
    }
}

/// One store's password cycles until the server is gone or `stop` is set.
pub(super) fn churn(
    addr: SocketAddr,
    model: &Mutex<Model>,
    index: usize,
    tag: &str,
    mut rng: Rng,
    stop: &AtomicBool,
) -> Result<usize, String> {
    let mut c = Client::new(addr);
    let (id, cluster) = LOOP_STORES[index];
    let mut cycles = 0;
    let store_input = json!({"CustomKeyStoreId": id});
    // Marks `step` in flight, runs `f`, and marks it acknowledged if `f`
    // says so; `Ok(false)`: the server is gone.
    let step = |s: Step, f: &mut dyn FnMut() -> Result<bool, String>| -> Result<bool, String> {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        model.lock().unwrap().stores[index].in_flight = Some(s);
        let done = f()?;
        if done {
            let mut m = model.lock().unwrap();
            m.stores[index].acked = s;
            m.stores[index].in_flight = None;
        }
        Ok(done)
    };
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(rng.range(5, 120)));
        let session = format!("churn-{tag}-{cycles}");
        let password = rng.password();
        model.lock().unwrap().stores[index].password = password.clone();
        let cli_ok = |c: &mut Client, command: &str| -> Result<bool, String> {
            match c.cli(cluster, &session, command) {
                Ok(out) if out["error_code"] == 0 => Ok(true),
                Ok(out) => Err(format!("`{command}` on {cluster} failed: {out}")),
                Err(_) => Ok(false),
            }
        };
        let acked_all = step(Step::Disconnect, &mut || {
            Ok(matches!(
                trail::traced(model, "DisconnectCustomKeyStore", id, || kms_call(
                    &mut c,
                    "DisconnectCustomKeyStore",
                    &store_input,
                    &[]
                ))?,
                Answer::Ok(_)
            ))
        })? && step(Step::Login, &mut || cli_ok(&mut c, ADMIN_LOGIN))?
            && step(Step::ChangePassword, &mut || {
                cli_ok(
                    &mut c,
                    &format!(
                        "user change-password --username kmsuser --role crypto-user --password {password}"
                    ),
                )
            })?
            && step(Step::Logout, &mut || cli_ok(&mut c, "logout"))?
            && step(Step::Update, &mut || {
                Ok(matches!(
                    trail::traced(model, "UpdateCustomKeyStore", id, || kms_call(
                        &mut c,
                        "UpdateCustomKeyStore",
                        &json!({"CustomKeyStoreId": id, "KeyStorePassword": password}),
                        &[],
                    ))?,
                    Answer::Ok(_)
                ))
            })?
            && step(Step::Connect, &mut || {
                Ok(matches!(
                    trail::traced(model, "ConnectCustomKeyStore", id, || kms_call(
                        &mut c,
                        "ConnectCustomKeyStore",
                        &store_input,
                        &[]
                    ))?,
                    Answer::Ok(_)
                ))
            })?;
        if !acked_all {
            return Ok(cycles);
        }
        // Wait for the attempt to be judged: it must succeed.
        loop {
            let out = match kms_call(&mut c, "DescribeCustomKeyStores", &store_input, &[])? {
                Answer::Ok(out) => out,
                Answer::Rejected(_) | Answer::Gone => return Ok(cycles),
            };
            let s = &out["CustomKeyStores"][0];
            match s["ConnectionState"].as_str() {
                Some("CONNECTED") => break,
                Some("CONNECTING") => std::thread::sleep(Duration::from_millis(5)),
                _ => return Err(format!("store {id} did not connect after its cycle: {s}")),
            }
        }
        model.lock().unwrap().stores[index].acked = Step::Connected;
        cycles += 1;
    }
    Ok(cycles)
}

/// CreateKey in either store, Encrypt under this worker's keys, now and
/// then CreateAlias or ScheduleKeyDeletion, until the server is gone or
/// `stop` is set.
pub(super) fn keys_worker(
    addr: SocketAddr,
    model: &Mutex<Model>,
    tag: &str,
    mut rng: Rng,
    stop: &AtomicBool,
) -> Result<(), String> {
    // Rejections that are documented for a store that is not connected.
    const STORE_DOWN: &[&str] = &["CustomKeyStoreInvalidStateException"];
    const KEY_DOWN: &[&str] = &["KMSInvalidStateException"];
    let mut c = Client::new(addr);
    let mut mine: Vec<String> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let (store, _) = LOOP_STORES[rng.range(0, 1) as usize];
        let doomed = rng.one_in(6);
        let created = trail::traced(model, "CreateKey", "", || {
            kms_call(
                &mut c,
                "CreateKey",
                &json!({
                    "Origin": "AWS_CLOUDHSM",
                    "CustomKeyStoreId": store,
                    "Description": format!("crash loop {tag} key {n}"),
                }),
                STORE_DOWN,
            )
        })?;
        match created {
            Answer::Ok(out) => {
                let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
                // The index is taken under the same lock as the push: other
                // workers push too, and a later `len() - 1` could name their
                // key (which then read as doomed while this one did not).
                let index = {
                    let mut m = model.lock().unwrap();
                    m.keys.push(KeyModel {
                        id: id.clone(),
                        deletion: Deletion::None,
                    });
                    m.keys.len() - 1
                };
                if doomed && !stop.load(Ordering::SeqCst) {
                    model.lock().unwrap().keys[index].deletion = Deletion::InFlight;
                    let out = trail::traced(model, "ScheduleKeyDeletion", &id, || {
                        kms_call(
                            &mut c,
                            "ScheduleKeyDeletion",
                            &json!({"KeyId": id, "PendingWindowInDays": 7}),
                            &[],
                        )
                    })?;
                    match out {
                        Answer::Ok(_) => {
                            model.lock().unwrap().keys[index].deletion = Deletion::Acked
                        }
                        Answer::Rejected(_) => unreachable!(),
                        Answer::Gone => return Ok(()),
                    }
                } else {
                    mine.push(id);
                }
            }
            Answer::Rejected(name) => *model.lock().unwrap().rejected.entry(name).or_default() += 1,
            Answer::Gone => return Ok(()),
        }
        if rng.one_in(5) && !mine.is_empty() {
            let key = mine[rng.range(0, mine.len() as u64 - 1) as usize].clone();
            let alias = format!("alias/crash-{tag}-{n}");
            match trail::traced(model, "CreateAlias", &alias, || {
                kms_call(
                    &mut c,
                    "CreateAlias",
                    &json!({"AliasName": alias, "TargetKeyId": key}),
                    &[],
                )
            })? {
                Answer::Ok(_) => model.lock().unwrap().aliases.push((alias, key)),
                Answer::Rejected(_) => unreachable!(),
                Answer::Gone => return Ok(()),
            }
        }
        for _ in 0..rng.range(0, 2) {
            if mine.is_empty() {
                break;
            }
            let key = mine[rng.range(0, mine.len() as u64 - 1) as usize].clone();
            let plain = format!("{tag} message {n} under {key} {}", rng.next()).into_bytes();
            match trail::traced(model, "Encrypt", &key, || {
                kms_call(
                    &mut c,
                    "Encrypt",
                    &json!({"KeyId": key, "Plaintext": STANDARD.encode(&plain)}),
                    KEY_DOWN,
                )
            })? {
                Answer::Ok(out) => {
                    let blob = out["CiphertextBlob"].as_str().unwrap().to_owned();
                    model.lock().unwrap().ciphertexts.push((blob, plain, key));
                }
                Answer::Rejected(name) => {
                    *model.lock().unwrap().rejected.entry(name).or_default() += 1
                }
                Answer::Gone => return Ok(()),
            }
        }
    }
    Ok(())
}

/// Reads, which may complete a connect attempt (and then write), and now
/// and then the trail's newest page.
pub(super) fn reader(
    addr: SocketAddr,
    model: &Mutex<Model>,
    mut rng: Rng,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut c = Client::new(addr);
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(rng.range(1, 10)));
        if rng.one_in(4) {
            if !trail::observe(&mut c, model)? {
                return Ok(());
            }
            continue;
        }
        let op = if rng.one_in(2) {
            "DescribeCustomKeyStores"
        } else {
            "ListAliases"
        };
        match trail::traced(model, op, "", || kms_call(&mut c, op, &json!({}), &[]))? {
            Answer::Ok(_) => {}
            Answer::Rejected(_) => unreachable!(),
            Answer::Gone => return Ok(()),
        }
    }
    Ok(())
}
