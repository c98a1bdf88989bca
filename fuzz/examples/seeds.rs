//! Writes the seed corpora of every target under `fuzz/seeds/<target>/`
//! (to be minimized into `fuzz/corpus/<target>/` with `cargo fuzz cmin`),
//! and, with `--fixture`, a new `fuzz/fixtures/example-state.json`: the
//! example world with fixed key material, which the targets restore, so
//! the ciphertexts among the seeds decrypt.
//!
//! Sources: the shipped runbooks (one seed per `runbook` block) and the
//! runbooks of diagnostics tests, the worlds (files and inline), the
//! CloudHSM CLI lines of runbooks and features (one seed per runbook or
//! scenario, with its sessions and connects), real ciphertexts, and the
//! requests of tests/integration/server.rs and tests/clients.
//!
//! `cargo run --release --example seeds [-- --fixture]` from `fuzz/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hsmdrill::engine::{world, Engine};
use hsmdrill_fuzz::{example_engine, write_cbor_records, CLUSTER, EXAMPLE_WORLD, KEY_ID, STORE};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Out {
    dir: PathBuf,
    seen: BTreeSet<Vec<u8>>,
}

impl Out {
    fn new(target: &str) -> Result<Out> {
        let dir = fuzz_dir().join("seeds").join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Out {
            dir,
            seen: BTreeSet::new(),
        })
    }

    fn put(&mut self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let bytes = bytes.as_ref();
        if bytes.is_empty() || !self.seen.insert(bytes.to_vec()) {
            return Ok(());
        }
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        fs::write(
            self.dir.join(format!("{:03}-{name}", self.seen.len())),
            bytes,
        )?;
        Ok(())
    }

    /// Puts each of `items`, named after the file `p` they come from and
    /// their place in it.
    fn put_each<T: AsRef<[u8]>>(
        &mut self,
        p: &Path,
        items: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        for (i, item) in items.into_iter().enumerate() {
            self.put(&format!("{}-{i}", stem(p)), item)?;
        }
        Ok(())
    }
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    Ok(out)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `runbook` blocks of a file, each with the file's leading lines
/// left out (comments only).
fn runbook_blocks(text: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("runbook ") {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

/// Inline worlds (`world """` … `"""`), common indentation removed.
fn inline_worlds(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        let t = line.trim();
        match &mut current {
            None if t == "world \"\"\"" => current = Some(Vec::new()),
            None => {}
            Some(lines) if t == "\"\"\"" => {
                let indent = lines
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.len() - l.trim_start().len())
                    .min()
                    .unwrap_or(0);
                let body: Vec<&str> = lines
                    .iter()
                    .map(|l| if l.len() >= indent { &l[indent..] } else { "" })
                    .collect();
                out.push(body.join("\n") + "\n");
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    out
}

/// The CLI script (cloudhsm_cli's input format) of a runbook block: its
/// `cloudhsm` lines with their sessions, and its connects and disconnects.
fn cli_script(block: &str, backing: &str) -> String {
    let mut out = String::new();
    for line in block.lines() {
        let t = line.trim();
        let t = t.split(" => ").next().unwrap_or(t).trim();
        if let Some(rest) = t.strip_prefix("cloudhsm ") {
            let Some((head, command)) = rest.split_once(": ") else {
                continue;
            };
            let session = head.split_once(" as ").map_or("default", |(_, s)| s.trim());
            let command = command.replace("${backingKeyId}", backing);
            out.push_str(&format!("{session}> {command}\n"));
        } else if t.starts_with("connect ") {
            out.push_str("!connect\n");
        } else if t.starts_with("disconnect ") {
            out.push_str("!disconnect\n");
        } else if t == "settle" || t.starts_with("wait ") {
            out.push_str("!settle\n");
        } else if t.starts_with("encrypt ") {
            out.push_str("!encrypt\n");
        }
    }
    out
}

/// The CLI script of each feature scenario: `I run "<line>" on cluster … as
/// "<session>"` steps, and one script per row of an outline's table.
fn feature_scripts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut header: Option<Vec<String>> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Scenario") {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            header = None;
        } else if let Some(rest) = t.split_once("I run \"").map(|(_, r)| r) {
            let Some((command, tail)) = rest.split_once('"') else {
                continue;
            };
            let session = tail
                .split_once(" as \"")
                .and_then(|(_, s)| s.split_once('"'))
                .map_or("default", |(s, _)| s);
            current.push_str(&format!("{session}> {command}\n"));
        } else if t.contains("I disconnect") || t.contains("disconnect the") {
            current.push_str("!disconnect\n");
        } else if t.contains("I connect") || t.contains("connect the") {
            current.push_str("!connect\n");
        } else if t.starts_with('|') {
            let cells: Vec<String> = t
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            match &header {
                None => header = Some(cells),
                Some(h) => {
                    let get = |name: &str| {
                        h.iter()
                            .position(|c| c == name)
                            .and_then(|i| cells.get(i).cloned())
                    };
                    if let (Some(session), Some(command)) = (get("session"), get("command line")) {
                        out.push(format!("{current}{session}> {command}\n"));
                    }
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn call(e: &Engine, op: &str, input: Value) -> Result<Value> {
    e.call(op, input).map_err(|e| format!("{op}: {e:?}").into())
}

fn main() -> Result<()> {
    let root = root();
    if std::env::args().any(|a| a == "--fixture") {
        let engine = world::load_str(EXAMPLE_WORLD, "example.yaml")?;
        fs::write(
            fuzz_dir().join("fixtures/example-state.json"),
            engine.snapshot_json()?,
        )?;
        println!("wrote fixtures/example-state.json: rebuild, then run again without --fixture");
        return Ok(());
    }
    let engine = example_engine();
    let keys = engine.cloudhsm_cli(
        CLUSTER,
        "seed",
        "login --username admin --role admin --password adminPassword1",
    );
    drop(keys);
    let listed = engine.cloudhsm_cli(CLUSTER, "seed", "key list --verbose");
    let backing = listed["data"]["matched_keys"][0]["attributes"]["id"]
        .as_str()
        .map(|s| s.trim_start_matches("0x").to_owned())
        .unwrap_or_else(|| "00000000000c0001".to_owned());
    let engine = example_engine();

    // runbook and world and cloudhsm_cli, from the shipped files.
    let mut runbook = Out::new("runbook")?;
    let mut worlds = Out::new("world")?;
    let mut cli = Out::new("cloudhsm_cli")?;
    worlds.put("example", EXAMPLE_WORLD)?;
    for p in files(&root.join("scenarios/worlds"), "yaml")? {
        worlds.put(&stem(&p), fs::read(&p)?)?;
    }
    for p in files(&root.join("scenarios"), "runbook")? {
        let text = fs::read_to_string(&p)?;
        let blocks = runbook_blocks(&text);
        runbook.put_each(&p, &blocks)?;
        cli.put_each(&p, blocks.iter().map(|b| cli_script(b, &backing)))?;
        worlds.put_each(&p, inline_worlds(&text))?;
    }
    for p in files(&root.join("tests/runbook-errors"), "runbook")? {
        runbook.put(&stem(&p), fs::read(&p)?)?;
    }
    for p in files(&root.join("features"), "feature")? {
        cli.put_each(&p, feature_scripts(&fs::read_to_string(&p)?))?;
    }
    for (name, text) in [
        ("empty", "{}\n"),
        ("unknown-key", "clusters: [{colour: red}]\n"),
        (
            "timing",
            "seed: 7\ntiming: {connect_seconds: 5, backup_interval_seconds: 3600}\npkcs11: {sessions_per_hsm: 8, session_wait_micros: 0}\nkey_store_request_quota: 10\nmax_custom_key_stores: 2\ntrail_capacity: 16\n",
        ),
        (
            "subnets",
            "subnets:\n  - id: subnet-0a1b2c3d4e5f60001\n    availability_zone: us-west-2a\n    free_addresses: 0\nclusters:\n  - subnets: {us-west-2a: subnet-0a1b2c3d4e5f60001}\n    hsms: []\n    state: UNINITIALIZED\n",
        ),
        (
            "locked",
            "clusters:\n  - users:\n      - {username: admin, role: admin, password: adminPassword1}\n      - {username: kmsuser, role: crypto-user, password: kmsPassword1, locked: true}\ncustom_key_stores:\n  - {name: S, password: wrongPassword1}\nkeys:\n  - {enabled: false, aliases: [alias/x]}\n",
        ),
    ] {
        worlds.put(name, text)?;
    }
    for (name, text) in [
        ("help", "help\nkey list\nuser list\n"),
        (
            "quoting",
            "a> login --username=admin --role 'admin' --password \"adminPassword1\"\na> user create --username alice --role crypto-user --password alicePass1\na> user list\na> key list --filter attr.label=\"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\" attr.encrypt=true --max-items 1 -v\na> key list --starting-token 1 --max-items 1\na> logout\n",
        ),
        (
            "lockout",
            "login --username kmsuser --role crypto-user --password wrongPass1\nlogin --username kmsuser --role crypto-user --password wrongPass1\nlogin --username kmsuser --role crypto-user --password wrongPass1\nlogin --username kmsuser --role crypto-user --password wrongPass1\nlogin --username kmsuser --role crypto-user --password wrongPass1\n!disconnect\n!connect\n!settle\n",
        ),
        (
            "activate",
            "cluster activate --password newAdmin1 --cluster-id cluster-1a23b4cdefg\nx> user delete --username kmsuser --role crypto-user\n",
        ),
    ] {
        cli.put(name, text)?;
    }

    // Real ciphertexts.
    let mut blobs: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for (name, plaintext, ctx) in [
        ("hi", "hi", false),
        ("hi-ctx", "hi", true),
        ("incident", "before the incident", false),
        ("long", &"x".repeat(200)[..], true),
    ] {
        let context = if ctx {
            json!({"purpose": "fuzz", "tenant": "a"})
        } else {
            json!({})
        };
        let out = call(
            &engine,
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode(plaintext), "EncryptionContext": context}),
        )?;
        let b = STANDARD.decode(out["CiphertextBlob"].as_str().ok_or("no blob")?)?;
        blobs.push((name.to_owned(), b, ctx));
    }

    // blob: raw real blobs (with matching flags) and encrypt-then-mutate.
    let mut blob = Out::new("blob")?;
    for (name, b, ctx) in &blobs {
        let flags: u8 = if *ctx { 0b0000_0100 } else { 0 };
        for (suffix, extra) in [
            ("", 0u8),
            ("-keyid", 0x20),
            ("-arn", 0x10),
            ("-dest-id", 0x08),
        ] {
            let mut seed = vec![flags | extra];
            seed.extend_from_slice(b);
            blob.put(&format!("raw-{name}{suffix}"), seed)?;
        }
        let mut truncated = vec![flags];
        truncated.extend_from_slice(&b[..b.len() / 2]);
        blob.put(&format!("raw-{name}-truncated"), truncated)?;
    }
    let mut magic = vec![0u8];
    magic.extend_from_slice(b"HSD\x01");
    magic.extend_from_slice(&[0x12, 0x34, 0xab, 0xcd, 0x12, 0xab, 0x34, 0xcd]);
    magic.extend_from_slice(&[0x56, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab]);
    magic.extend_from_slice(&[4, b'a', b'b', b'c', b'd']);
    magic.extend_from_slice(&[0u8; 40]);
    blob.put("crafted-header", magic)?;
    for (name, seed) in [
        ("fresh", vec![0b0000_0001, 2, b'h', b'i']),
        ("fresh-ctx", vec![0b0000_0111, 2, b'h', b'i']),
        ("fresh-ctx-mismatch", vec![0b0000_0011, 2, b'h', b'i']),
        ("fresh-wrong-keyid", vec![0b0110_0001, 2, b'h', b'i']),
        ("flip-header", vec![0b0000_0001, 2, b'h', b'i', 0, 0, 5]),
        ("flip-tag", vec![0b0000_0001, 2, b'h', b'i', 4, 0xff, 0xff]),
        ("truncate", vec![0b0000_0001, 2, b'h', b'i', 1, 0, 30]),
        ("insert", vec![0b0000_0001, 2, b'h', b'i', 2, 0, 21]),
        ("remove", vec![0b0000_1001, 2, b'h', b'i', 3, 0, 20]),
        ("backing-len", vec![0b0001_0001, 2, b'h', b'i', 0x40, 0, 20]),
    ] {
        blob.put(name, seed)?;
    }

    // json_request: the requests of tests/integration/server.rs and tests/clients.
    let ct = STANDARD.encode(&blobs[2].1);
    let ct_ctx = STANDARD.encode(&blobs[1].1);
    let kms = |op: &str, body: Value| format!("TrentService.{op}\n{body}");
    let hsm = |op: &str, body: Value| format!("BaldrApiService.{op}\n{body}");
    let lookup = |name: &str| {
        format!(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents\n{}",
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}], "MaxResults": 5})
        )
    };
    let singles: Vec<(&str, String)> = vec![
        ("describe-stores", kms("DescribeCustomKeyStores", json!({}))),
        (
            "describe-stores-by-name",
            kms(
                "DescribeCustomKeyStores",
                json!({"CustomKeyStoreName": "ExampleKeyStore", "Limit": 1}),
            ),
        ),
        (
            "encrypt",
            kms(
                "Encrypt",
                json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode("over the wire")}),
            ),
        ),
        ("decrypt", kms("Decrypt", json!({"CiphertextBlob": ct}))),
        (
            "decrypt-ctx",
            kms(
                "Decrypt",
                json!({"CiphertextBlob": ct_ctx, "EncryptionContext": {"purpose": "fuzz", "tenant": "a"}, "KeyId": KEY_ID}),
            ),
        ),
        (
            "reencrypt",
            kms(
                "ReEncrypt",
                json!({"CiphertextBlob": ct, "DestinationKeyId": "alias/app", "DestinationEncryptionContext": {"a": "b"}}),
            ),
        ),
        (
            "generate-data-key",
            kms(
                "GenerateDataKey",
                json!({"KeyId": "alias/app", "KeySpec": "AES_256", "EncryptionContext": {"a": "b"}}),
            ),
        ),
        (
            "generate-data-key-without-plaintext",
            kms(
                "GenerateDataKeyWithoutPlaintext",
                json!({"KeyId": KEY_ID, "NumberOfBytes": 64}),
            ),
        ),
        (
            "generate-random",
            kms(
                "GenerateRandom",
                json!({"NumberOfBytes": 32, "CustomKeyStoreId": STORE}),
            ),
        ),
        (
            "describe-key",
            kms("DescribeKey", json!({"KeyId": "alias/app"})),
        ),
        ("list-keys", kms("ListKeys", json!({"Limit": 1}))),
        ("list-aliases", kms("ListAliases", json!({"KeyId": KEY_ID}))),
        (
            "create-key",
            kms(
                "CreateKey",
                json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": STORE, "Description": "new", "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT"}),
            ),
        ),
        (
            "create-alias",
            kms(
                "CreateAlias",
                json!({"AliasName": "alias/other", "TargetKeyId": KEY_ID}),
            ),
        ),
        (
            "delete-alias",
            kms("DeleteAlias", json!({"AliasName": "alias/app"})),
        ),
        ("disable-key", kms("DisableKey", json!({"KeyId": KEY_ID}))),
        ("enable-key", kms("EnableKey", json!({"KeyId": KEY_ID}))),
        (
            "schedule-deletion",
            kms(
                "ScheduleKeyDeletion",
                json!({"KeyId": KEY_ID, "PendingWindowInDays": 7}),
            ),
        ),
        (
            "cancel-deletion",
            kms("CancelKeyDeletion", json!({"KeyId": KEY_ID})),
        ),
        (
            "disconnect",
            kms(
                "DisconnectCustomKeyStore",
                json!({"CustomKeyStoreId": STORE}),
            ),
        ),
        (
            "connect",
            kms("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE})),
        ),
        (
            "update-store",
            kms(
                "UpdateCustomKeyStore",
                json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "newPass123", "NewCustomKeyStoreName": "Renamed"}),
            ),
        ),
        (
            "delete-store",
            kms("DeleteCustomKeyStore", json!({"CustomKeyStoreId": STORE})),
        ),
        (
            "create-store",
            kms(
                "CreateCustomKeyStore",
                json!({"CustomKeyStoreName": "NewStore", "CloudHsmClusterId": CLUSTER, "TrustAnchorCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "KeyStorePassword": "kmsPassword1", "CustomKeyStoreType": "AWS_CLOUDHSM"}),
            ),
        ),
        ("validation", kms("Encrypt", json!({"Plaintext": "aGk="}))),
        ("unknown-op", kms("NoSuchOperation", json!({}))),
        ("bogus-target", "Bogus.Thing\n{}".to_owned()),
        ("kms-target-hsm-op", kms("DescribeClusters", json!({}))),
        ("malformed", "TrentService.ListKeys\n{not json".to_owned()),
        ("no-target", "\n{}".to_owned()),
        (
            "describe-clusters",
            hsm(
                "DescribeClusters",
                json!({"Filters": {"clusterIds": [CLUSTER]}, "MaxResults": 5}),
            ),
        ),
        (
            "delete-cluster",
            hsm(
                "DeleteCluster",
                json!({"ClusterId": "cluster-nosuchcluster"}),
            ),
        ),
        (
            "create-cluster",
            hsm(
                "CreateCluster",
                json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0a1b2c3d4e5f60001"]}),
            ),
        ),
        (
            "create-hsm",
            hsm(
                "CreateHsm",
                json!({"ClusterId": CLUSTER, "AvailabilityZone": "us-west-2a"}),
            ),
        ),
        (
            "delete-hsm",
            hsm(
                "DeleteHsm",
                json!({"ClusterId": CLUSTER, "EniIp": "10.0.0.1"}),
            ),
        ),
        (
            "describe-backups",
            hsm(
                "DescribeBackups",
                json!({"Filters": {"clusterIds": [CLUSTER]}}),
            ),
        ),
        (
            "restore-backup",
            hsm("RestoreBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ),
        (
            "delete-backup",
            hsm("DeleteBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ),
        (
            "initialize-cluster",
            hsm(
                "InitializeCluster",
                json!({"ClusterId": CLUSTER, "SignedCert": "x", "TrustAnchor": "y"}),
            ),
        ),
        ("lookup-encrypt", lookup("Encrypt")),
        (
            "lookup-short",
            format!(
                "CloudTrail_20131101.LookupEvents\n{}",
                json!({"NextToken": "1"})
            ),
        ),
    ];
    let mut jr = Out::new("json_request")?;
    for (name, s) in &singles {
        jr.put(name, s)?;
    }
    let get = |name: &str| {
        singles
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    for (name, seq) in [
        (
            "disconnect-decrypt",
            vec!["disconnect", "decrypt", "connect", "decrypt"],
        ),
        ("encrypt-lookup", vec!["encrypt", "lookup-encrypt"]),
        (
            "schedule-cancel-enable",
            vec![
                "schedule-deletion",
                "decrypt",
                "cancel-deletion",
                "enable-key",
                "encrypt",
            ],
        ),
        (
            "disconnect-update-connect",
            vec!["disconnect", "update-store", "connect", "describe-stores"],
        ),
        (
            "disconnect-delete-store",
            vec!["disconnect", "delete-store", "describe-stores"],
        ),
        (
            "create-cluster-hsm",
            vec![
                "create-cluster",
                "describe-clusters",
                "create-hsm",
                "delete-hsm",
            ],
        ),
        (
            "restore-describe",
            vec!["restore-backup", "describe-backups", "describe-clusters"],
        ),
        (
            "alias-churn",
            vec![
                "delete-alias",
                "create-alias",
                "list-aliases",
                "create-key",
                "list-keys",
            ],
        ),
        (
            "delete-cluster",
            vec!["disconnect", "delete-cluster", "connect", "describe-stores"],
        ),
    ] {
        let joined: Vec<String> = seq.iter().map(|n| get(n)).collect();
        jr.put(name, joined.join("\0"))?;
    }

    // cbor_request: the CloudHSM v2 requests, in CBOR.
    let cbor = |v: Value| -> Result<Vec<u8>> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(&v, &mut out)?;
        Ok(out)
    };
    let mut cr = Out::new("cbor_request")?;
    let hsm_requests: Vec<(&str, Value)> = vec![
        ("DescribeClusters", json!({})),
        (
            "DescribeClusters",
            json!({"Filters": {"clusterIds": [CLUSTER], "states": ["ACTIVE"]}, "MaxResults": 2}),
        ),
        (
            "DescribeBackups",
            json!({"Filters": {"clusterIds": [CLUSTER]}, "SortAscending": true}),
        ),
        (
            "CreateCluster",
            json!({"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0a1b2c3d4e5f60001"], "SourceBackupId": "backup-9g87f6edcba"}),
        ),
        (
            "CreateHsm",
            json!({"ClusterId": CLUSTER, "AvailabilityZone": "us-west-2c"}),
        ),
        (
            "DeleteHsm",
            json!({"ClusterId": CLUSTER, "HsmId": "hsm-abcdefghijk"}),
        ),
        (
            "DeleteCluster",
            json!({"ClusterId": "cluster-nosuchcluster"}),
        ),
        (
            "InitializeCluster",
            json!({"ClusterId": CLUSTER, "SignedCert": "x", "TrustAnchor": "y"}),
        ),
        ("DeleteBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ("RestoreBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ("NoSuchOperation", json!({})),
        (
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
        ),
    ];
    for (op, body) in &hsm_requests {
        cr.put(op, write_cbor_records(&[(op, &cbor(body.clone())?)]))?;
    }
    cr.put(
        "empty-body",
        write_cbor_records(&[("DescribeClusters", &[])]),
    )?;
    cr.put("garbage", write_cbor_records(&[("DeleteBackup", &[0xff])]))?;
    cr.put("bytes-and-tags", {
        // A byte string, a tag-1 timestamp, a float and a negative integer.
        let body = [
            0xa4, 0x69, b'C', b'l', b'u', b's', b't', b'e', b'r', b'I', b'd', 0x43, 1, 2, 3, 0x61,
            b't', 0xc1, 0xfb, 0x41, 0xd6, 0x5e, 0x8f, 0x7b, 0x80, 0, 0, 0x61, b'n', 0x38, 0x63,
            0x61, b'a', 0x9f, 0xf5, 0xf6, 0xff,
        ];
        write_cbor_records(&[("DescribeClusters", &body)])
    })?;
    let seq = [
        (
            "CreateCluster",
            json!({"HsmType": "hsm1.medium", "SubnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]}),
        ),
        ("DescribeClusters", json!({})),
        ("DeleteBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ("RestoreBackup", json!({"BackupId": "backup-9g87f6edcba"})),
        ("DescribeBackups", json!({})),
    ];
    let bodies: Vec<Vec<u8>> = seq
        .iter()
        .map(|(_, b)| cbor(b.clone()))
        .collect::<Result<_>>()?;
    let records: Vec<(&str, &[u8])> = seq
        .iter()
        .zip(&bodies)
        .map(|((op, _), b)| (*op, &b[..]))
        .collect();
    cr.put("lifecycle", write_cbor_records(&records))?;

    // sigv4: requests to the `--auth` server, signed, signed then changed,
    // unsigned, and with hand-made Authorization headers; the odd ones of
    // tests/sigv4.rs.
    let mut sv = Out::new("sigv4")?;
    let kms_head = |op: &str| {
        format!("content-type: application/x-amz-json-1.1\nx-amz-target: TrentService.{op}\n")
    };
    let cbor_head = "content-type: application/cbor\nsmithy-protocol: rpc-v2-cbor\n";
    let date = "20150830T123600Z";
    let handmade = |auth: &str| format!("x-amz-date: {date}\nauthorization: {auth}\n");
    // A ListKeys with this query, and a CloudHSM v2 operation at this path
    // (after `/service/BaldrApiService/operation/`) with an empty map.
    let list_keys = |name, query: &str| {
        let head = format!("/{query}\n{}", kms_head("ListKeys"));
        (name, head, b"{}".to_vec())
    };
    let cbor_op = |name, path: &str| -> Result<(&str, String, Vec<u8>)> {
        let head = format!("/service/BaldrApiService/operation/{path}\n{cbor_head}");
        Ok((name, head, cbor(json!({}))?))
    };
    let vanilla = "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20150830/us-west-2/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let requests: Vec<(&str, String, Vec<u8>)> = vec![
        list_keys("list-keys", ""),
        (
            "encrypt",
            format!("/\n{}", kms_head("Encrypt")),
            json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode("signed")})
                .to_string()
                .into_bytes(),
        ),
        (
            "decrypt",
            format!("/\n{}", kms_head("Decrypt")),
            json!({"CiphertextBlob": ct}).to_string().into_bytes(),
        ),
        cbor_op("describe-clusters-cbor", "DescribeClusters")?,
        list_keys(
            "query-order",
            "?Param-3=Value3&Param=Value2&%E1%88%B4=Value1&\u{1234}=bar",
        ),
        cbor_op("dot-segments", "..?x=/./")?,
        cbor_op("escapes-in-path", "Describe%43lusters")?,
        (
            "headers",
            format!("/?a=%2f&a=%2F&b\n{}x-hd: \"a   b\"\tc\nx-hd: second\nx-amz-content-sha256: 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\nx-amz-security-token: token\n", kms_head("ListKeys")),
            b"{}".to_vec(),
        ),
        list_keys("issue-12", "?%a\u{e9}"),
        ("bad-escape", format!("/?a=%zz&b=%\n{}", kms_head("ListKeys")), Vec::new()),
        cbor_op("bad-escape-cbor", "Create%zzHsm")?,
    ];
    for (name, head, body) in &requests {
        for (suffix, prefix) in [
            ("signed", [1u8, 0, 0, 0]),
            ("changed-target", [3, 0, 1, 0x20]),
            ("changed-late", [3, 0, 200, 0x01]),
            ("unsigned", [0, 0, 0, 0]),
        ] {
            let mut seed = prefix.to_vec();
            seed.extend_from_slice(head.as_bytes());
            seed.push(b'\n');
            seed.extend_from_slice(body);
            sv.put(&format!("{name}-{suffix}"), seed)?;
        }
    }
    for (name, auth) in [
        ("vanilla-auth", vanilla.to_owned()),
        ("bearer", "Bearer abc.def".to_owned()),
        ("basic", "Basic Og==".to_owned()),
        ("sha512", vanilla.replace("SHA256", "SHA512")),
        ("four-part-credential", vanilla.replace("/us-west-2", "")),
        ("terminator", vanilla.replace("aws4_request", "aws4_reques")),
        ("no-host", vanilla.replace("host;", "")),
        ("other-key", vanilla.replace("AKIDFUZZ", "AKIDOTHER")),
        ("obs-text", vanilla.replace("us-west-2", "us-\u{e9}west")),
    ] {
        let mut seed = vec![0u8, 0, 0, 0];
        seed.extend_from_slice(
            format!("/\n{}{}\n{{}}", kms_head("ListKeys"), handmade(&auth)).as_bytes(),
        );
        sv.put(name, seed)?;
    }

    for (dir, n) in [
        ("runbook", runbook.seen.len()),
        ("world", worlds.seen.len()),
        ("cloudhsm_cli", cli.seen.len()),
        ("blob", blob.seen.len()),
        ("json_request", jr.seen.len()),
        ("cbor_request", cr.seen.len()),
        ("sigv4", sv.seen.len()),
    ] {
        println!("seeds/{dir}: {n}");
    }
    Ok(())
}
