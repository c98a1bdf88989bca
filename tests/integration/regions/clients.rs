//! The unchanged AWS clients across Regions and accounts.

use crate::support::programs::{aws_cli, boto3, run_client};
use crate::support::serve::ServeProcess;

/// boto3 with two Regions and two access keys mapped to two accounts:
/// separate state, ARNs with each account and Region, no ciphertext across
/// either, an unknown Region refused, a backup copied to eu-west-1 and a
/// cluster restored from it there.
#[test]
fn boto3_sees_each_account_and_region_apart() {
    if !boto3() {
        return;
    }
    let s = ServeProcess::start(["--world", super::WORLD]);
    run_client("boto3_regions.py", &[s.url()], "boto3 regions drill held");
}

/// The aws CLI with `--region eu-west-1` sees none of us-west-2, cannot
/// decrypt its ciphertext, and copies a backup there with
/// `copy-backup-to-region` to restore a cluster from.
#[test]
fn the_aws_cli_switches_region_with_its_region_option() {
    if !aws_cli() {
        return;
    }
    let s = ServeProcess::start(["--world", super::WORLD]);
    run_client(
        "awscli_regions.sh",
        &[s.url()],
        "aws CLI regions drill held",
    );
}
