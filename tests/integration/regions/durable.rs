//! `hsmdrill serve --state`: every partition, and every partition's trail,
//! survives a restart.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::support::http::request;
use crate::support::serve::ServeProcess;
use crate::support::temp_dir;

/// An AWS JSON 1.1 call for the partition of `access_key` in `region`: the
/// credential scope names them, as a client signing for that Region does
/// (the server has no `--auth`, so the signature itself is not checked).
fn call(
    addr: SocketAddr,
    access_key: &str,
    region: &str,
    target: &str,
    input: &Value,
) -> (u16, Value) {
    let service = if target.starts_with("BaldrApiService") {
        "cloudhsm"
    } else {
        "kms"
    };
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20170705/{region}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
    );
    let r = request(
        addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Date", "20170705T210455Z"),
            ("Authorization", &authorization),
        ],
        input.to_string().as_bytes(),
    )
    .unwrap();
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

#[test]
fn every_partition_and_its_trail_survive_a_restart() {
    let dir = temp_dir("regions-state");
    let state = dir.path().join("state.json");
    let start =
        || ServeProcess::start(["--world", super::WORLD, "--state", state.to_str().unwrap()]);
    let other = "AKIAI44QH8DHBEXAMPLE";
    let s = start();
    let addr = s.addr();
    let (status, out) = call(
        addr,
        "test",
        "us-west-2",
        "BaldrApiService.CopyBackupToRegion",
        &json!({"BackupId": "backup-9g87f6edcba", "DestinationRegion": "eu-west-1"}),
    );
    assert_eq!(status, 200, "{out}");
    // A read in a partition without a journal: its trail event must reach
    // the disk all the same.
    let (status, out) = call(
        addr,
        other,
        "us-west-2",
        "TrentService.Encrypt",
        &json!({"KeyId": "alias/other", "Plaintext": "aGk="}),
    );
    assert_eq!(status, 200, "{out}");
    let blob = out["CiphertextBlob"].clone();
    // A partition no world declared, created by its first request.
    let (status, _) = call(
        addr,
        "test",
        "ap-south-1",
        "TrentService.ListKeys",
        &json!({}),
    );
    assert_eq!(status, 200);
    s.kill();

    let s = start();
    let addr = s.addr();
    assert!(s.stdout().contains("restored"), "{}", s.stdout());
    let (_, backups) = call(
        addr,
        "test",
        "eu-west-1",
        "BaldrApiService.DescribeBackups",
        &json!({}),
    );
    assert_eq!(backups["Backups"][0]["SourceBackup"], "backup-9g87f6edcba");
    let (status, out) = call(
        addr,
        other,
        "us-west-2",
        "TrentService.Decrypt",
        &json!({"CiphertextBlob": blob}),
    );
    assert_eq!((status, &out["Plaintext"]), (200, &json!("aGk=")), "{out}");
    let (_, events) = call(
        addr,
        other,
        "us-west-2",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        &json!({}),
    );
    let names: Vec<&str> = events["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Decrypt", "Encrypt"], "{events}");
    // The world's own trail holds none of the other account's events.
    let (_, own) = call(
        addr,
        "test",
        "us-west-2",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        &json!({}),
    );
    assert!(own["Events"].as_array().unwrap().is_empty(), "{own}");
    // The state file has a row per partition; the world's own is the
    // default one.
    let conn = rusqlite::Connection::open(&state).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let mut stmt = conn
        .prepare("SELECT account, region, is_default FROM partitions ORDER BY is_default DESC, account, region")
        .unwrap();
    let partitions: Vec<(String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let regions: Vec<&str> = partitions.iter().skip(1).map(|p| p.1.as_str()).collect();
    assert!(partitions[0].2, "{partitions:?}");
    assert_eq!(
        regions,
        ["ap-south-1", "eu-west-1", "us-west-2"],
        "{partitions:?}"
    );
}
