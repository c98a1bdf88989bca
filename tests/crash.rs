//! `hsmdrill serve --state FILE` survives `kill -9`: a child server is
//! killed with SIGKILL in the middle of a stream of CreateKey/Encrypt calls
//! and restarted on the same file; every key it acknowledged still exists
//! and every ciphertext it acknowledged still decrypts. Several rounds with
//! different kill points, loopback only, bounded in time.
//!
//! The binary under test is `hsmdrill` (`HSMDRILL_BIN` overrides it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

const STORE: &str = "cks-1234567890abcdef0";
/// How long a server may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Socket timeout of one request.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn bin() -> PathBuf {
    std::env::var_os("HSMDRILL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hsmdrill")))
}

fn world() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/worlds/example.yaml")
}

/// A folder of its own under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hsmdrill-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port free right now on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child `hsmdrill serve`, SIGKILLed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `hsmdrill serve --state <state>` and waits until it answers.
    fn start(state: &Path, log: &Path) -> Server {
        let port = free_port();
        let stderr = fs::File::create(log).unwrap();
        let child = Command::new(bin())
            .args(["serve", "--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--world")
            .arg(world())
            .arg("--state")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin().display()));
        let mut s = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log: log.to_owned(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok((200, _)) = request(s.addr, "GET", "/_hsmdrill/health", &[], b"") {
                return s;
            }
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!(
                    "the server exited ({status}) before answering: {}",
                    fs::read_to_string(&s.log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(mut self) -> ExitStatus {
        self.child.kill().unwrap();
        self.child.wait().unwrap()
    }

    fn kms(&self, op: &str, input: &Value) -> io::Result<(u16, Value)> {
        kms(self.addr, op, input)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: `(status, body)`. Any I/O
/// failure (the server was killed) is an error, never a panic.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                content_length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let rest = &raw[split + 4..];
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("truncated chunked body"))?
    } else {
        match content_length {
            Some(n) if rest.len() >= n => rest[..n].to_vec(),
            Some(_) => return Err(bad("truncated body")),
            None => rest.to_vec(),
        }
    };
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).ok()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(eol + 2..eol + 2 + size)?);
        b = b.get(eol + 2 + size + 2..)?;
    }
}

fn kms(addr: SocketAddr, op: &str, input: &Value) -> io::Result<(u16, Value)> {
    let target = format!("TrentService.{op}");
    let (status, body) = request(
        addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        input.to_string().as_bytes(),
    )?;
    let v =
        serde_json::from_slice(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((status, v))
}

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
        let status = server.kill();
        assert!(!status.success(), "killed, not exited: {status}");
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

#[test]
fn a_corrupt_state_file_is_refused_and_left_as_it_is() {
    let dir = scratch("corrupt");
    let state = dir.join("state.json");
    let garbage = b"{\"format\": \"hsmdrill-state\", \"version\": 1, \"sta";
    fs::write(&state, garbage).unwrap();
    let out = Command::new(bin())
        .args([
            "serve",
            "--port",
            &free_port().to_string(),
            "--bind",
            "127.0.0.1",
        ])
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

/// An in-process server with a state file, on its own runtime thread.
struct InProcess {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn start(state_file: &Path) -> InProcess {
        use hsmdrill::server::{engine_for, run, ServeOptions, ServerState};
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
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                run(listener, state, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        InProcess {
            addr: addr_rx.recv().unwrap(),
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_change_that_cannot_be_written_is_not_acknowledged_and_reads_do_not_write() {
    let dir = scratch("unwritable");
    let sub = dir.join("sub");
    fs::create_dir_all(&sub).unwrap();
    let state = sub.join("state.json");
    let s = InProcess::start(&state);
    assert!(state.exists(), "written at once");
    let create = || {
        kms(
            s.addr,
            "CreateKey",
            &json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE}),
        )
        .unwrap()
    };
    // A read writes nothing: the file, once gone, stays gone.
    fs::remove_file(&state).unwrap();
    let (status, _) = kms(s.addr, "DescribeCustomKeyStores", &json!({})).unwrap();
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
    let (status, _) = request(
        s.addr,
        "POST",
        "/_hsmdrill/clock/advance",
        &[("Content-Type", "application/json")],
        br#"{"seconds": 10}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    assert_eq!(v["format"], json!("hsmdrill-state"));
    assert!(v["state"]["keys"][key.as_str()].is_object());
    // A world reset is on disk before it answers.
    let (status, _) = request(
        s.addr,
        "POST",
        "/_hsmdrill/world",
        &[],
        b"seed: 9\nclusters: []\n",
    )
    .unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&fs::read(&state).unwrap()).unwrap();
    assert_eq!(v["config"]["seed"], json!(9));
    assert_eq!(v["state"]["keys"], json!({}));
    drop(s);
    let _ = fs::remove_dir_all(&dir);
}
