//! The unchanged AWS clients across Regions and accounts.

use std::process::Command;

use crate::support::output_text;
use crate::support::programs::available;
use crate::support::serve::ServeProcess;

const PIP_INSTALL: &str = "python3 -m pip install boto3 awscli";

fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// boto3 with two Regions and two access keys mapped to two accounts:
/// separate state, ARNs with each account and Region, no ciphertext across
/// either, an unknown Region refused, a backup copied to eu-west-1 and a
/// cluster restored from it there.
#[test]
fn boto3_sees_each_account_and_region_apart() {
    if !available(
        "python3 with boto3",
        "python3",
        &["-c", "import boto3"],
        PIP_INSTALL,
    ) {
        return;
    }
    let s = ServeProcess::start(["--world", super::WORLD]);
    let out = Command::new("python3")
        .arg(script("boto3_regions.py"))
        .arg(s.url())
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("boto3 regions drill held"), "{text}");
}

/// The aws CLI with `--region eu-west-1` sees none of us-west-2, cannot
/// decrypt its ciphertext, and copies a backup there with
/// `copy-backup-to-region` to restore a cluster from.
#[test]
fn the_aws_cli_switches_region_with_its_region_option() {
    if !available(
        "the aws CLI",
        "python3",
        &["-m", "awscli", "--version"],
        PIP_INSTALL,
    ) {
        return;
    }
    let s = ServeProcess::start(["--world", super::WORLD]);
    let out = Command::new("bash")
        .arg(script("awscli_regions.sh"))
        .arg(s.url())
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("aws CLI regions drill held"), "{text}");
}
