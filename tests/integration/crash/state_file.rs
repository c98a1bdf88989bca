//! The state file itself: a corrupt one, or one of an earlier build, is
//! refused and left as it is; a change that cannot be written is not
//! acknowledged and a read writes only its trail events; a read never
//! answers from a change that is not on disk.

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

/// `hsmdrill serve --state FILE` on a file it must refuse: exits 2 with one
/// line naming the file and saying `says`, and leaves the file as it was.
fn refused(name: &str, bytes: &[u8], says: &str) {
    let dir = scratch(name);
    let state = dir.join("state.json");
    fs::write(&state, bytes).unwrap();
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
    assert!(stderr.contains(says), "{stderr}");
    assert_eq!(fs::read(&state).unwrap(), bytes);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_state_file_is_refused_and_left_as_it_is() {
    refused(
        "corrupt",
        b"{\"format\": \"hsmdrill-state\", \"vers",
        "not a usable hsmdrill state file",
    );
    // An SQLite header over garbage.
    let mut torn = b"SQLite format 3\0".to_vec();
    torn.extend(std::iter::repeat_n(0xa5, 8192));
    refused("torn", &torn, "not a usable hsmdrill state file");
    // Another application's database.
    let dir = scratch("foreign");
    let other = dir.join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    refused(
        "foreign-db",
        &fs::read(&other).unwrap(),
        "an SQLite database of another application",
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_json_state_file_of_an_earlier_build_is_refused_by_its_version() {
    refused(
        "json-v3",
        b"{\"format\": \"hsmdrill-state\", \"version\": 3, \"config\": {}}",
        "hsmdrill state file version 3 is a JSON file of an earlier build",
    );
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

/// Whether the state file holds the key `key`.
fn on_disk(state: &Path, key: &str) -> bool {
    let conn = rusqlite::Connection::open(state).unwrap();
    conn.query_row("SELECT count(*) FROM keys WHERE id = ?1", [key], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap()
        == 1
}

/// How many rows the state file's `table` holds.
fn count(state: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(state).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// The world's seed in the state file.
fn seed(state: &Path) -> u64 {
    let conn = rusqlite::Connection::open(state).unwrap();
    let config: String = conn
        .query_row(
            "SELECT config FROM partitions WHERE is_default = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str::<Value>(&config).unwrap()["seed"]
        .as_u64()
        .unwrap()
}

/// An in-process server with a state file, restored from it if it exists
/// (as `hsmdrill serve --state` does), written before it serves.
fn in_process(state_file: &Path) -> InProcessServer {
    use hsmdrill::server::{start_engine, ServeOptions, ServerState};
    let opts = ServeOptions {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        world: Some(world()),
        connect_seconds: 2,
        state_file: Some(state_file.to_owned()),
        auth: None,
    };
    let (cloud, _) = start_engine(&opts).unwrap();
    let state = ServerState::new(cloud, Some(2));
    state.persist_to(state_file.to_owned()).unwrap();
    assert_eq!(state.state_file(), Some(state_file));
    InProcessServer::start(state)
}

/// Makes every write to the state file fail while the server runs: the
/// file is moved aside and a folder stands at its path, where no file can
/// be written (even by root). [`unblock`] puts it back.
fn block(state: &Path) {
    fs::rename(state, aside(state)).unwrap();
    fs::create_dir_all(state).unwrap();
}

fn unblock(state: &Path) {
    fs::remove_dir_all(state).unwrap();
    fs::rename(aside(state), state).unwrap();
}

fn aside(state: &Path) -> std::path::PathBuf {
    state.with_extension("aside")
}

#[test]
fn a_change_that_cannot_be_written_is_not_acknowledged_and_reads_write_only_events() {
    let dir = scratch("unwritable");
    let sub = dir.join("sub");
    fs::create_dir_all(&sub).unwrap();
    let state = sub.join("state.json");
    let s = in_process(&state);
    assert!(state.exists(), "written at once");
    let create = || create_key(s.addr());
    // A read writes its trail event and nothing else.
    let (keys, events) = (count(&state, "keys"), count(&state, "trail"));
    let (status, _) = kms(s.addr(), "DescribeCustomKeyStores", &json!({})).unwrap();
    assert_eq!(status, 200);
    assert_eq!(count(&state, "keys"), keys);
    assert_eq!(count(&state, "trail"), events + 1);
    // A change is written before the answer.
    let (status, out) = create();
    assert_eq!(status, 200, "{out}");
    let key = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    assert!(on_disk(&state, &key));
    // With the folder gone the write fails: 500, not acknowledged.
    fs::remove_dir_all(&sub).unwrap();
    let (status, out) = create();
    assert_eq!(status, 500, "{out}");
    assert_eq!(out["__type"], json!("InternalFailure"));
    // Once the folder is back, the next change writes the file anew, whole;
    // control API changes are written too.
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
    assert!(on_disk(&state, &key));
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
    assert_eq!(seed(&state), 9);
    assert_eq!(count(&state, "keys"), 0);
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
    // Every write fails from now on, and the file keeps what it held.
    block(&state);
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
    unblock(&state);
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
    block(&state);
    let (status, _) = create(s.addr());
    assert_eq!(status, 500);
    unblock(&state);
    let (status, out, ids) = list(s.addr());
    assert_eq!(status, 200, "{out}");
    for id in &ids {
        assert!(on_disk(&state, id), "listed key {id} is not on disk");
    }
    drop(s);
    let _ = fs::remove_dir_all(&dir);
}
