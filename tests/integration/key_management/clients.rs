//! The key-management scripts of `tests/clients/` against a real
//! `hsmdrill serve` on the example world.

use crate::support::example_world;
use crate::support::programs::{aws_cli, boto3, run_client};
use crate::support::serve::ServeProcess;

fn serve() -> ServeProcess {
    ServeProcess::start(["--world", example_world().to_str().unwrap()])
}

#[test]
fn boto3_manages_aws_kms_keys_while_the_store_is_disconnected() {
    if !boto3() {
        return;
    }
    let s = serve();
    run_client(
        "boto3_key_management.py",
        &[s.url()],
        "boto3 key management held",
    );
}

#[test]
fn the_aws_cli_manages_aws_kms_keys() {
    if !aws_cli() {
        return;
    }
    let s = serve();
    run_client(
        "awscli_key_management.sh",
        &[s.url()],
        "aws CLI key management held",
    );
}
