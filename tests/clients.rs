//! The unchanged AWS clients people use, boto3 and the aws CLI, against a
//! real `hsmdrill serve` process (and one with `--auth`): the scripts in
//! `tests/clients/` must run to the end.
//!
//! `.ci/run` installs boto3 and the aws CLI. Where they are missing and
//! `CI` is not set, the test says so and returns; under CI it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Serve(Child, String);

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let world = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        let child = Command::new(env!("CARGO_BIN_EXE_hsmdrill"))
            .args(["serve", "--port", &port.to_string(), "--world", world])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "hsmdrill serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve(child, url)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn available(cmd: &str, args: &[&str]) -> bool {
    let ok = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{cmd} {}` is missing under CI: .ci/run must install it",
            args.join(" ")
        );
        eprintln!("skipping: `{cmd}` is not installed (pip install boto3 awscli)");
    }
    ok
}

#[test]
fn boto3_drives_r5_cloudhsmv2_cloudtrail_and_sigv4() {
    if !available("python3", &["-c", "import boto3"]) {
        return;
    }
    let open = Serve::start(&[]);
    let signed = Serve::start(&["--auth", "AKIDTEST:s3cretKey"]);
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/boto3_drill.py"
        ))
        .args([&open.1, &signed.1])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("boto3 drill held"), "{text}");
}

#[test]
fn the_aws_cli_works_as_the_readme_shows() {
    if !available("python3", &["-m", "awscli", "--version"]) {
        return;
    }
    let s = Serve::start(&[]);
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/awscli_drill.sh"
        ))
        .arg(&s.1)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
}

/// `hsmdrill run --endpoint` runs shipped runbooks against a server process
/// with the same results (and, checked byte for byte, the same snapshots).
#[test]
fn run_against_a_server_passes_the_shipped_runbooks() {
    let s = Serve::start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_hsmdrill"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--endpoint",
            &s.1,
            "scenarios/r5-invalid-kmsuser-credentials.runbook",
            "features/r7-recover-deleted-key-material.feature",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("7 passed, 0 failed"), "{text}");
}

/// `hsmdrill cloudhsm-cli`: single-command mode logs in from CLOUDHSM_ROLE
/// and CLOUDHSM_PIN and exits 0 only when `error_code` is 0; interactive
/// mode reads commands after the `aws-cloudhsm > ` prompt.
#[test]
fn the_cloudhsm_cli_shell_talks_to_a_server() {
    let s = Serve::start(&[]);
    let cli = |pin: &str| {
        Command::new(env!("CARGO_BIN_EXE_hsmdrill"))
            .args([
                "cloudhsm-cli",
                "--endpoint",
                &s.1,
                "--cluster-id",
                "cluster-1a23b4cdefg",
            ])
            .args(["user", "list"])
            .env("CLOUDHSM_ROLE", "admin")
            .env("CLOUDHSM_PIN", pin)
            .output()
            .unwrap()
    };
    let ok = cli("admin:adminPassword1");
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("\"username\": \"kmsuser\""));
    let bad = cli("admin:wrongPassword1");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("\"error_code\": 1"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_hsmdrill"))
        .args([
            "cloudhsm-cli",
            "--endpoint",
            &s.1,
            "--cluster-id",
            "cluster-1a23b4cdefg",
            "interactive",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"login --username admin --role admin --password adminPassword1\nuser list\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("aws-cloudhsm > ").count(), 3, "{text}");
    assert!(text.contains("\"role\": \"admin\""), "{text}");
}

/// SIGTERM shuts the server down cleanly (exit 0), as Ctrl-C does.
#[cfg(unix)]
#[test]
fn serve_shuts_down_cleanly_on_sigterm() {
    let mut s = Serve::start(&[]);
    let pid = s.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = s.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
}
