//! The key-management scripts of `tests/clients/` against a real
//! `hsmdrill serve` on the example world.

use std::process::Command;

use crate::support::example_world;
use crate::support::programs::available;
use crate::support::serve::ServeProcess;

const PIP_INSTALL: &str = "python3 -m pip install boto3 awscli";

fn serve() -> ServeProcess {
    ServeProcess::start(["--world", example_world().to_str().unwrap()])
}

#[test]
fn boto3_manages_aws_kms_keys_while_the_store_is_disconnected() {
    if !available(
        "python3 with boto3",
        "python3",
        &["-c", "import boto3"],
        PIP_INSTALL,
    ) {
        return;
    }
    let s = serve();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/boto3_key_management.py"
        ))
        .arg(s.url())
        .output()
        .unwrap();
    let text = crate::support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("boto3 key management held"), "{text}");
}

#[test]
fn the_aws_cli_manages_aws_kms_keys() {
    if !available(
        "the aws CLI",
        "python3",
        &["-m", "awscli", "--version"],
        PIP_INSTALL,
    ) {
        return;
    }
    let s = serve();
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/awscli_key_management.sh"
        ))
        .arg(s.url())
        .output()
        .unwrap();
    let text = crate::support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("aws CLI key management held"), "{text}");
}
