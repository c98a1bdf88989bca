//! Encrypt of 4 KiB through `hsmdrill serve` under an outside load
//! generator (issue 16): `wrk`, 16 keep-alive connections, against the same
//! server's `GET /_hsmdrill/health` (the HTTP floor) and against
//! `moto_server` (moto's KMS, the usual stand-in for AWS in tests) serving
//! the same request, all in one run.
//!
//! The server is `hsmdrill serve` in process (`common::http`, the runtime
//! `serve` builds, the example world). moto runs as `python3 -m
//! moto.server` on a free port with a key made by its own CreateKey. Each
//! request carries a SigV4-shaped `Authorization` header whose credential
//! scope names KMS in us-west-2, which is how moto routes a request to its
//! KMS (neither server checks the signature by default). Rounds alternate
//! health and Encrypt on hsmdrill, so the load of the machine weighs on
//! both alike; the figures are the medians of the rounds' requests/s, and
//! `wrk`'s count of non-2xx answers must be 0.
//!
//! `cargo bench --bench load` prints the table and writes
//! `target/hsmdrill-bench/load.md`; `cargo bench --bench load -- --test`
//! runs one short round of each, as a test. Needs `wrk` (Debian package
//! `wrk`) and moto (`python3 -m pip install 'moto[server]'`): where either
//! is missing the bench says SKIPPED and why, unless
//! `HSMDRILL_REQUIRE_CLIENTS=1` (set by `.ci/run`), which makes it an error.

// A bench aborts on a broken setup; there is no caller to hand errors to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::http::{Client, Server};
use serde_json::{json, Value};

/// Concurrent keep-alive connections, as issue 16 measured.
const CONNS: usize = 16;

/// A credential scope for KMS in the example world's Region: moto routes
/// by it, hsmdrill picks the Region's partition by it.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261205/us-west-2/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

fn main() {
    let quick = common::quick_mode();
    let Some(missing) = missing_programs() else {
        run(quick);
        return;
    };
    let required = std::env::var("HSMDRILL_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "bench load: {missing} is missing but HSMDRILL_REQUIRE_CLIENTS=1 requires it"
    );
    eprintln!(
        "SKIPPED: bench load: {missing} is not available (HSMDRILL_REQUIRE_CLIENTS=1 makes this an error)"
    );
}

/// What of `wrk` and moto is missing, with how to install it.
fn missing_programs() -> Option<String> {
    let runs = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut missing = Vec::new();
    if !runs("sh", &["-c", "command -v wrk"]) {
        missing.push("wrk (apt-get install wrk)");
    }
    if !runs("python3", &["-c", "import moto.server"]) {
        missing.push("moto (python3 -m pip install 'moto[server]')");
    }
    (!missing.is_empty()).then(|| missing.join(" and "))
}

fn run(quick: bool) {
    let (rounds, seconds) = if quick { (1, 1) } else { (5, 5) };
    let dir = common::out_dir().join("load");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder for the wrk scripts");
    let plaintext = STANDARD.encode([0x5a; 4096]);

    let server = Server::example(None);
    let hsmdrill = format!("http://{}", server.addr);
    let encrypt = script(
        &dir,
        "encrypt.lua",
        &json!({"KeyId": common::KEY_ID, "Plaintext": plaintext}),
    );
    // Each answers 200 before it is measured.
    let mut c = Client::connect(server.addr);
    let (status, body) = c.call(&http_request(&encrypt.1));
    assert_eq!(status, 200, "Encrypt: {}", String::from_utf8_lossy(&body));

    let moto = Moto::start(&dir);
    let moto_key = moto.create_key();
    let moto_encrypt = script(
        &dir,
        "moto-encrypt.lua",
        &json!({"KeyId": moto_key, "Plaintext": plaintext}),
    );

    let health_url = format!("{hsmdrill}/_hsmdrill/health");
    let (mut health, mut encrypted, mut moto_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        health.push(wrk(&health_url, None, seconds));
        encrypted.push(wrk(&hsmdrill, Some(&encrypt.0), seconds));
    }
    // moto is two orders of magnitude slower: one round between two of
    // the others' is as paired as it gets.
    moto_rates.push(wrk(&moto.url, Some(&moto_encrypt.0), seconds));
    health.push(wrk(&health_url, None, seconds));
    encrypted.push(wrk(&hsmdrill, Some(&encrypt.0), seconds));
    server.stop();
    drop(moto);

    let report = report(&mut health, &mut encrypted, &mut moto_rates, seconds);
    println!("{report}");
    if !quick {
        common::write_report("load.md", &report);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tables: each round's requests/s and the medians' ratios.
fn report(health: &mut [f64], encrypt: &mut [f64], moto: &mut [f64], seconds: u64) -> String {
    let mut out = format!(
        "## Encrypt of 4 KiB under wrk ({CONNS} connections, {seconds} s a round)\n\n\
         | round | health (req/s) | Encrypt (req/s) | Encrypt / health |\n|---:|---:|---:|---:|\n"
    );
    for (i, (h, e)) in health.iter().zip(encrypt.iter()).enumerate() {
        let _ = writeln!(out, "| {} | {h:.0} | {e:.0} | {:.2}× |", i + 1, e / h);
    }
    let moto_each: Vec<String> = moto.iter().map(|m| format!("{m:.0}")).collect();
    let h = common::median(health).expect("rounds");
    let e = common::median(encrypt).expect("rounds");
    let m = common::median(moto).expect("a moto round");
    let _ = write!(
        out,
        "\nmoto_server Encrypt: {} req/s.\n\n\
         | figure | medians | ratio | target |\n|---|---:|---:|---:|\n\
         | hsmdrill Encrypt / its health route | {e:.0} / {h:.0} req/s | {:.2}× | ≥ 0.8× |\n\
         | hsmdrill Encrypt / moto_server Encrypt | {e:.0} / {m:.0} req/s | {:.0}× | ≥ 100× |\n",
        moto_each.join(", "),
        e / h,
        e / m
    );
    out
}

/// Writes a wrk script that POSTs `body` as a KMS Encrypt; returns its path
/// and the body.
fn script(dir: &Path, name: &str, body: &Value) -> (PathBuf, String) {
    let body = body.to_string();
    let lua = format!(
        "wrk.method = \"POST\"\n\
         wrk.body = '{body}'\n\
         wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.1\"\n\
         wrk.headers[\"X-Amz-Target\"] = \"TrentService.Encrypt\"\n\
         wrk.headers[\"X-Amz-Date\"] = \"20261205T000000Z\"\n\
         wrk.headers[\"Authorization\"] = \"{AUTHORIZATION}\"\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, lua).expect("a wrk script");
    (path, body)
}

/// The KMS Encrypt request a script sends, for a first check by hand.
fn http_request(body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.Encrypt\r\n\
         Content-Type: application/x-amz-json-1.1\r\nX-Amz-Date: 20261205T000000Z\r\n\
         Authorization: {AUTHORIZATION}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Requests per second `wrk` reaches on `url` in `seconds` (one thread,
/// [`CONNS`] connections), with `script` if given; every answer must be a
/// success.
fn wrk(url: &str, script: Option<&Path>, seconds: u64) -> f64 {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", &format!("-c{CONNS}"), &format!("-d{seconds}s")]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk {url}: {text}");
    assert!(
        !text.contains("Non-2xx or 3xx responses"),
        "wrk {url}: some answers were not 200:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk {url}: no Requests/sec in\n{text}"))
}

/// `python3 -m moto.server` on a free port, stopped when dropped.
struct Moto {
    child: Child,
    addr: SocketAddr,
    url: String,
}

impl Moto {
    fn start(dir: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(dir.join("moto.log")).expect("moto's log");
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto's log"))
            .stderr(log)
            .spawn()
            .expect("python3 -m moto.server starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            addr,
            url: format!("http://{addr}"),
        }
    }

    /// A symmetric key made by moto's CreateKey; its KeyId.
    fn create_key(&self) -> String {
        let body = "{}";
        let request = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.CreateKey\r\n\
             Content-Type: application/x-amz-json-1.1\r\nX-Amz-Date: 20261205T000000Z\r\n\
             Authorization: {AUTHORIZATION}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect(self.addr).expect("moto answers");
        std::io::Write::write_all(&mut stream, request.as_bytes()).expect("CreateKey sent");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("CreateKey answered");
        let (head, json) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "moto CreateKey: {answer}");
        let out: Value = serde_json::from_str(json).expect("moto's JSON");
        out["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("a KeyId")
            .to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
