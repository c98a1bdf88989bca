//! The unchanged AWS clients people use, boto3 and the aws CLI, against a
//! real `hsmdrill serve` process (and one with `--auth`): the scripts in
//! `tests/clients/` must run to the end.
//!
//! `.ci/run` installs boto3 and the aws CLI. Where they are missing, the
//! tests that need them print `SKIPPED: …` and return; with
//! `HSMDRILL_REQUIRE_CLIENTS=1` (as `.ci/run` sets) they fail instead.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::programs::{aws_cli, boto3, run_client};
use crate::support::serve::ServeProcess;
use crate::support::{example_world, hsmdrill};

fn serve(extra: &[&str]) -> ServeProcess {
    let world = example_world();
    let mut args = vec!["--world", world.to_str().unwrap()];
    args.extend_from_slice(extra);
    ServeProcess::start(args)
}

#[test]
fn boto3_drives_r5_cloudhsmv2_cloudtrail_and_sigv4() {
    if !boto3() {
        return;
    }
    let open = serve(&[]);
    let signed = serve(&["--auth", "AKIDTEST:s3cretKey"]);
    run_client(
        "boto3_drill.py",
        &[open.url(), signed.url()],
        "boto3 drill held",
    );
}

/// LookupEvents through boto3: every attribute key, the time range, the
/// paginator and the exceptions (`tests/clients/boto3_trail.py`).
#[test]
fn boto3_looks_up_the_trail_by_every_attribute() {
    if !boto3() {
        return;
    }
    let s = serve(&[]);
    run_client("boto3_trail.py", &[s.url()], "boto3 trail held");
}

#[test]
fn the_aws_cli_works_as_the_readme_shows() {
    if !aws_cli() {
        return;
    }
    let s = serve(&[]);
    run_client("awscli_drill.sh", &[s.url()], "aws CLI drill held");
}

/// `hsmdrill run --endpoint` runs shipped runbooks against a server process
/// with the same results (and, checked byte for byte, the same snapshots).
#[test]
fn run_against_a_server_passes_the_shipped_runbooks() {
    let s = serve(&[]);
    let out = hsmdrill()
        .args([
            "run",
            "--endpoint",
            &s.url(),
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
    assert!(text.contains("10 passed, 0 failed"), "{text}");
}

/// `hsmdrill cloudhsm-cli`: single-command mode logs in from CLOUDHSM_ROLE
/// and CLOUDHSM_PIN and exits 0 only when `error_code` is 0; interactive
/// mode reads commands after the `aws-cloudhsm > ` prompt, and a password
/// after `Enter password:`, which goes to the server as the prompt's answer.
#[test]
fn the_cloudhsm_cli_shell_talks_to_a_server() {
    let s = serve(&[]);
    // `hsmdrill cloudhsm-cli` on the example cluster of `s`.
    let cloudhsm_cli = || {
        let mut cmd = hsmdrill();
        cmd.args([
            "cloudhsm-cli",
            "--endpoint",
            &s.url(),
            "--cluster-id",
            "cluster-1a23b4cdefg",
        ]);
        cmd
    };
    let cli = |pin: &str| {
        cloudhsm_cli()
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

    let out = crate::support::with_stdin(
        cloudhsm_cli().arg("interactive"),
        b"login --username admin --role admin\nadminPassword1\nuser list\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("aws-cloudhsm > ").count(), 3, "{text}");
    assert!(text.contains("aws-cloudhsm > Enter password:\n{"), "{text}");
    assert!(text.contains("\"role\": \"admin\""), "{text}");
    assert!(!text.contains("adminPassword1"), "{text}");
}

/// SIGTERM shuts the server down cleanly (exit 0), as Ctrl-C does.
#[cfg(unix)]
#[test]
fn serve_shuts_down_cleanly_on_sigterm() {
    let mut s = serve(&[]);
    let pid = s.pid().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = s
        .wait_timeout(Duration::from_secs(20))
        .expect("serve did not stop on SIGTERM");
    assert!(exit.success(), "{exit}");
    assert!(s.stdout().contains("hsmdrill: shut down"), "{}", s.stdout());
}

/// A missing client is a skip that says so, or a failure when required.
#[test]
fn a_missing_client_is_skipped_aloud_or_fails_when_required() {
    use crate::support::programs::decide;
    let missing = |required| {
        decide(
            "a program",
            "hsmdrill-no-such-program",
            &[],
            "install it",
            required,
        )
    };
    assert_eq!(missing(false), Ok(false));
    let err = missing(true).unwrap_err();
    assert!(
        err.contains("HSMDRILL_REQUIRE_CLIENTS=1 requires it: install it"),
        "{err}"
    );
    assert_eq!(decide("sh", "sh", &["-c", "exit 0"], "", true), Ok(true));

    // End to end: this test binary, with no python3 on its PATH, runs the
    // boto3 test; it says SKIPPED and passes, or fails when required.
    let me = std::env::current_exe().unwrap();
    let run = |require: Option<&str>| {
        let mut cmd = Command::new(&me);
        cmd.args([
            "--exact",
            "clients::boto3_drives_r5_cloudhsmv2_cloudtrail_and_sigv4",
            "--nocapture",
        ])
        .env("PATH", "/hsmdrill-nowhere")
        .env_remove(crate::support::programs::REQUIRE_CLIENTS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if let Some(v) = require {
            cmd.env(crate::support::programs::REQUIRE_CLIENTS, v);
        }
        let out = cmd.output().unwrap();
        let text = crate::support::output_text(&out);
        (out.status.success(), text)
    };
    let (ok, text) = run(None);
    assert!(ok, "{text}");
    assert!(
        text.contains("SKIPPED: clients::boto3_drives_r5_cloudhsmv2_cloudtrail_and_sigv4: python3 with boto3 is not available"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
    let (ok, text) = run(Some("1"));
    assert!(!ok, "{text}");
    assert!(text.contains("python3 with boto3 is missing"), "{text}");
}
