//! The state file itself: a corrupt one is refused and left as it is; a
//! change that cannot be written is not acknowledged and a read writes
//! nothing; a read never answers from a change that is not on disk.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::bin;
use crate::support::http::{kms, request};
use crate::support::serve::InProcessServer;

use super::{scratch, world, STORE};

#[test]
fn a_corrupt_state_file_is_refused_and_left_as_it_is() {
    let dir = scratch("corrupt");
    let state = dir.join("state.json");
    let garbage = b"{\"format\": \"hsmdrill-state\", \"version\": 1, \"sta";
    fs::write(&state, garbage).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--port", "0", "--bind", "127.0.0.1"])
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("state.json"), "{stderr}");
    assert_eq!(fs::read(&state).unwrap(), garbage);
    let _ = fs::remove_dir_all(&dir);
}

/// CreateKey in the example's store: `(status, answer)`.
fn create_key(addr: SocketAddr) -> (u16, Value) {
    kms(
        addr,
        "CreateKey",
        &json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
    )
    .unwrap()
}

/// Encrypt of `plain` under `key`; the ciphertext joins `acked` when the
/// server acknowledged it (it must then survive a crash).
fn encrypt_if_acknowledged(
    addr: SocketAddr,
    key: &str,
    plain: Vec<u8>,
    acked: &mut Vec<(String, Vec<u8>)>,
) {
    let (status, out) = kms(
        addr,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": STANDARD.encode(&plain)}),
    )
    .unwrap();
    if status == 200 {
        acked.push((out["CiphertextBlob"].as_str().unwrap().to_owned(), plain));
    }
}

/// The state file as JSON.
fn state_json(state: &Path) -> Value {
    serde_json::from_slice(&fs::read(state).unwrap()).unwrap()
}

/// An in-process server with a state file, written once before it serves.
fn in_process(state_file: &Path) -> InProcessServer {
    use hsmdrill::server::{engine_for, ServeOptions, ServerState};
    let opts = ServeOptions {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        world: Some(world()),
        connect_seconds: 2,
        state_file: Some(state_file.to_owned()),
        auth: None,
    };
    let state = ServerState::new(engine_for(&opts).unwrap(), Some(2));
    state.persist_to(state_file.to_owned()).unwrap();
    assert_eq!(state.state_file(), Some(state_file));
    InProcessServer::start(state)
}

#[test]
fn a_change_that_cannot_be_written_is_not_acknowledged_and_reads_do_not_write() {
    let dir = scratch("unwritable");
    let sub = dir.join("sub");
    fs::create_dir_all(&sub).unwrap();
    let state = sub.join("state.json");
    let s = in_process(&state);
    assert!(state.exists(), "written at once");
    let create = || create_key(s.addr());
    // A read writes nothing: the file, once gone, stays gone.
    fs::remove_file(&state).unwrap();
    let (status, _) = kms(s.addr(), "DescribeCustomKeyStores", &json!({})).unwrap();
    assert_eq!(status, 200);
    assert!(!state.exists(), "a read wrote the state file");
    // A change is written before the answer.
    let (status, out) = create();
    assert_eq!(status, 200, "{out}");
    let key = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let on_disk = fs::read_to_string(&state).unwrap();
    assert!(on_disk.contains(&key));
    // With the folder gone the write fails: 500, not acknowledged.
    fs::remove_dir_all(&sub).unwrap();
    let (status, out) = create();
    assert_eq!(status, 500, "{out}");
    assert_eq!(out["__type"], json!("InternalFailure"));
    // Control API changes are written too, once the folder is back.
    fs::create_dir_all(&sub).unwrap();
    let status = request(
        s.addr(),
        "POST",
        "/_hsmdrill/clock/advance",
        &[("Content-Type", "application/json")],
        br#"{"seconds": 10}"#,
    )
    .unwrap()
    .status;
    assert_eq!(status, 200);
    let v = state_json(&state);
    assert_eq!(v["format"], json!("hsmdrill-state"));
    assert!(v["state"]["keys"][key.as_str()].is_object());
    // A world reset is on disk before it answers.
    let status = request(
        s.addr(),
        "POST",
        "/_hsmdrill/world",
        &[],
        b"seed: 9\nclusters: []\n",
    )
    .unwrap()
    .status;
    assert_eq!(status, 200);
    let v = state_json(&state);
    assert_eq!(v["config"]["seed"], json!(9));
    assert_eq!(v["state"]["keys"], json!({}));
    drop(s);
    let _ = fs::remove_dir_all(&dir);
}

/// Regression: a read used to answer from a change that was in memory but
/// not on disk (its write had failed, or was still under way). A client
/// could list such a key and get a ciphertext under it acknowledged; after a
/// crash the key was gone and the ciphertext undecryptable. Now a read
/// answers only once every change it may see is on disk, or fails with 500
/// `InternalFailure` as the change did.
#[test]
fn a_read_never_answers_from_a_change_that_is_not_on_disk() {
    let dir = scratch("uncommitted");
    let state = dir.join("state.json");
    let s = in_process(&state);
    let create = create_key;
    let (status, out) = create(s.addr());
    assert_eq!(status, 200, "{out}");
    let durable_key = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let list = |addr: SocketAddr| {
        let (status, out) = kms(addr, "ListKeys", &json!({"Limit": 1000})).unwrap();
        let ids: Vec<String> = out["Keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| k["KeyId"].as_str().unwrap().to_owned())
            .collect();
        (status, out, ids)
    };
    let (_, _, before) = list(s.addr());
    // A folder where the temporary file goes: every write fails (even for
    // root), and the file keeps the last snapshot.
    let tmp = dir.join("state.json.tmp");
    fs::create_dir_all(&tmp).unwrap();
    let (status, out) = create(s.addr());
    assert_eq!(status, 500, "not written, not acknowledged: {out}");
    // What the client is told now must survive a crash.
    let mut acked: Vec<(String, Vec<u8>)> = Vec::new();
    let (status, out, ids) = list(s.addr());
    if status == 200 {
        for key in ids.iter().filter(|k| !before.contains(k)) {
            let plain = format!("under the unwritten key {key}").into_bytes();
            encrypt_if_acknowledged(s.addr(), key, plain, &mut acked);
        }
    } else {
        assert_eq!(status, 500, "{out}");
        assert_eq!(out["__type"], json!("InternalFailure"));
    }
    // A ciphertext under a key that is on disk is fine to hand out only once
    // nothing unwritten remains; until then reads fail too.
    let plain = b"under the durable key".to_vec();
    encrypt_if_acknowledged(s.addr(), &durable_key, plain, &mut acked);
    // Crash: the server stops without another successful write.
    drop(s);
    fs::remove_dir_all(&tmp).unwrap();
    let s = in_process(&state);
    for (blob, plain) in &acked {
        let (status, out) = kms(s.addr(), "Decrypt", &json!({"CiphertextBlob": blob})).unwrap();
        assert_eq!(
            status, 200,
            "an acknowledged ciphertext does not decrypt after a restart: {out}"
        );
        assert_eq!(
            &STANDARD.decode(out["Plaintext"].as_str().unwrap()).unwrap(),
            plain
        );
    }
    // Once the file can be written again, the unwritten change is written by
    // the next call, read or not, and reads answer again.
    let (status, _) = create(s.addr());
    assert_eq!(status, 200);
    fs::create_dir_all(&tmp).unwrap();
    let (status, _) = create(s.addr());
    assert_eq!(status, 500);
    fs::remove_dir_all(&tmp).unwrap();
    let (status, out, ids) = list(s.addr());
    assert_eq!(status, 200, "{out}");
    let on_disk = state_json(&state);
    for id in &ids {
        assert!(
            on_disk["state"]["keys"][id.as_str()].is_object(),
            "listed key {id} is not on disk"
        );
    }
    drop(s);
    let _ = fs::remove_dir_all(&dir);
}
