//! `no_secret_leaks_from_a_served_engine`: `hsmdrill serve --state` driven
//! over HTTP through a password reset, a connect that rotates it, key use,
//! failing calls that carry passwords, CloudHSM v2 and CloudTrail lookups;
//! every answer and the server's output scanned for the secrets the state
//! file holds and every password sent.

use std::collections::BTreeSet;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::http::{request, Response};
use crate::support::serve::ServeProcess;

use super::harvest::{is_engine_made, Secrets};
use super::scanner::{Scanner, Tally};

/// A `hsmdrill serve` child on the example world with `--state`.
fn served(state: &Path) -> ServeProcess {
    let world = crate::support::example_world();
    ServeProcess::start([
        "--connect-seconds".as_ref(),
        "1".as_ref(),
        "--world".as_ref(),
        world.as_os_str(),
        "--state".as_ref(),
        state.as_os_str(),
    ])
}

/// Drives a server and keeps every answer.
struct Client {
    addr: SocketAddr,
    /// (what, head + body).
    answers: Vec<(String, Vec<u8>)>,
}

impl Client {
    fn post(&mut self, what: &str, path: &str, target: Option<&str>, body: &Value) -> (u16, Value) {
        let mut headers = vec![("Content-Type", "application/x-amz-json-1.1")];
        if let Some(t) = target {
            headers.push(("X-Amz-Target", t));
        }
        let Response {
            status, head, body, ..
        } = request(
            self.addr,
            "POST",
            path,
            &headers,
            body.to_string().as_bytes(),
        )
        .unwrap();
        let mut text = head.into_bytes();
        text.extend_from_slice(b"\r\n\r\n");
        text.extend_from_slice(&body);
        self.answers.push((what.to_owned(), text));
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn kms(&mut self, op: &str, input: Value) -> (u16, Value) {
        self.post(op, "/", Some(&format!("TrentService.{op}")), &input)
    }

    fn ok(&mut self, op: &str, input: Value) -> Value {
        let (status, v) = self.kms(op, input);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    fn fails(&mut self, op: &str, input: Value, exception: &str) {
        let (status, v) = self.kms(op, input);
        assert_eq!(status, 400, "{op}: {v}");
        assert_eq!(v["__type"], json!(exception), "{op}: {v}");
    }

    fn cli(&mut self, session: &str, command: &str) -> Value {
        let (status, v) = self.post(
            &format!("CloudHSM CLI `{command}`"),
            "/_hsmdrill/cloudhsm-cli",
            None,
            &json!({"ClusterId": CLUSTER, "Session": session, "Command": command}),
        );
        assert_eq!(status, 200, "{command}: {v}");
        v
    }

    /// `login` as kmsuser with `password` in CLI session `session`: the
    /// CLI's envelope.
    fn kmsuser_login(&mut self, session: &str, password: &str) -> Value {
        self.cli(
            session,
            &format!("login --username kmsuser --role crypto-user --password {password}"),
        )
    }

    /// The admin logs in (which must succeed) in CLI session `session` and
    /// sets kmsuser's password to `password`: the envelope of the change.
    fn admin_changes_kmsuser_password(&mut self, session: &str, password: &str) -> Value {
        let login = self.cli(
            session,
            "login --username admin --role admin --password adminPassword1",
        );
        assert_eq!(login["error_code"], json!(0), "{login}");
        self.cli(
            session,
            &format!(
                "user change-password --username kmsuser --role crypto-user --password {password}"
            ),
        )
    }
}

const STORE: &str = "cks-1234567890abcdef0";
const CLUSTER: &str = "cluster-1a23b4cdefg";

#[test]
fn no_secret_leaks_from_a_served_engine() {
    let dir = crate::support::temp_dir("secrets");
    let state = dir.path().join("state.json");
    let server = served(&state);
    let mut c = Client {
        addr: server.addr(),
        answers: Vec::new(),
    };
    // Every password this test sends, and the world's: none may come back
    // in an answer.
    let mut sent: Vec<String> = ["adminPassword1", "kmsPassword1", "serverPass123"]
        .map(String::from)
        .to_vec();

    c.ok("DescribeCustomKeyStores", json!({}));
    c.ok(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    );
    let changed = c.admin_changes_kmsuser_password("admin", "serverPass123");
    assert_eq!(changed["error_code"], json!(0), "{changed}");
    c.cli("admin", "user list");
    c.cli("admin", "logout");
    let login = c.kmsuser_login("kms", "serverPass123");
    assert_eq!(login["error_code"], json!(0), "{login}");
    c.cli("kms", "logout");
    c.ok(
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "serverPass123"}),
    );
    // Connect rotates kmsuser's password to a secret only the engine knows.
    c.ok("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}));
    c.post("settle", "/_hsmdrill/clock/settle", None, &json!({}));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let d = c.ok(
            "DescribeCustomKeyStores",
            json!({"CustomKeyStoreId": STORE}),
        );
        if d["CustomKeyStores"][0]["ConnectionState"] == json!("CONNECTED") {
            break;
        }
        assert!(Instant::now() < deadline, "the store did not connect: {d}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let key = c.ok(
        "CreateKey",
        json!({"CustomKeyStoreId": STORE, "Origin": "AWS_CLOUDHSM", "Description": "leak test"}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = c.ok(
        "Encrypt",
        json!({"KeyId": key, "Plaintext": STANDARD.encode("hello")}),
    )["CiphertextBlob"]
        .clone();
    c.ok("Decrypt", json!({"CiphertextBlob": blob}));
    c.ok(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    );

    // Failing calls with passwords in them: the messages (and the trail)
    // must not repeat them.
    let failing: [(&str, Value, &str); 6] = [
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "connectedPass1"}),
            "CustomKeyStoreInvalidStateException",
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "short1"}),
            "ValidationException",
        ),
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "tooLongPassword0123456789abcdefgh"}),
            "ValidationException",
        ),
        (
            "CreateCustomKeyStore",
            json!({"CustomKeyStoreName": "Another", "CloudHsmClusterId": CLUSTER,
                   "TrustAnchorCertificate": "not a certificate", "KeyStorePassword": "createPass123"}),
            "CloudHsmClusterInUseException",
        ),
        (
            "CreateCustomKeyStore",
            json!({"CustomKeyStoreName": "Another", "CloudHsmClusterId": CLUSTER,
                   "TrustAnchorCertificate": "not a certificate", "KeyStorePassword": "short2"}),
            "ValidationException",
        ),
        // An all-digit password written without quotes: a JSON number.
        (
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": STORE, "KeyStorePassword": 73519264081u64}),
            "SerializationException",
        ),
    ];
    for (op, input, exception) in failing {
        sent.push(match &input["KeyStorePassword"] {
            Value::String(p) => p.clone(),
            other => other.to_string(),
        });
        c.fails(op, input, exception);
    }
    // The operator's password stopped working at the connect; changing it
    // while KMS is logged in is refused.
    let old = c.kmsuser_login("kms2", "serverPass123");
    assert_ne!(old["error_code"], json!(0), "{old}");
    let refused = c.admin_changes_kmsuser_password("admin2", "changePass123");
    assert_ne!(refused["error_code"], json!(0), "{refused}");
    sent.push("changePass123".into());
    // A misspelt flag with its value inline.
    let typo = c.cli(
        "kms3",
        "login --username kmsuser --role crypto-user --pasword=typoPass123",
    );
    assert_ne!(typo["error_code"], json!(0), "{typo}");
    sent.push("typoPass123".into());

    // CloudHSM v2 (backups hold the material) and CloudTrail.
    c.post(
        "DescribeClusters",
        "/",
        Some("BaldrApiService.DescribeClusters"),
        &json!({}),
    );
    c.post(
        "DescribeBackups",
        "/",
        Some("BaldrApiService.DescribeBackups"),
        &json!({}),
    );
    let mut token = Value::Null;
    let mut events = 0;
    loop {
        let mut input = json!({"MaxResults": 50});
        if !token.is_null() {
            input["NextToken"] = token.clone();
        }
        let (status, page) = c.post(
            "LookupEvents",
            "/",
            Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
            &input,
        );
        assert_eq!(status, 200, "{page}");
        events += page["Events"].as_array().map_or(0, Vec::len);
        token = page["NextToken"].clone();
        if token.is_null() {
            break;
        }
    }
    assert!(events > 10, "the trail holds the calls: {events}");
    let Response { head, body, .. } =
        request(c.addr, "GET", "/_hsmdrill/health", &[], b"").unwrap();
    c.answers
        .push(("health".into(), [head.into_bytes(), body].concat()));
    // The live console's page and view (src/server/console/).
    for path in ["/", "/_hsmdrill/console/state"] {
        let Response { head, body, .. } = request(c.addr, "GET", path, &[], b"").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        c.answers.push((
            format!("console {path}"),
            [head.into_bytes(), body].concat(),
        ));
    }

    // The state file holds the secrets, and only its owner may read it.
    let (rows, bytes) = state_rows(&state);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file holds secrets: mode {mode:o}");
    }
    let mut secrets = Secrets::default();
    Secrets::of_state_file(&rows, "state", &mut secrets);
    let rotated = secrets
        .passwords
        .keys()
        .filter(|p| is_engine_made(p) && !sent.contains(p))
        .count();
    assert!(
        secrets.materials.len() >= 2,
        "the state file holds the world's key and the new one"
    );
    assert!(rotated >= 1, "the connect rotated kmsuser's password");
    for p in &sent {
        secrets
            .passwords
            .entry(p.clone())
            .or_insert_with(|| "sent in a request".into());
    }

    let (stdout, stderr) = server.stop();
    assert!(stdout.contains("shut down"), "{stdout}{stderr}");
    let scanner = Scanner::new(&secrets, &BTreeSet::new());
    let mut tally = Tally::default();
    for (what, text) in &c.answers {
        tally.check(&scanner, &format!("hsmdrill serve: {what}"), text);
    }
    tally.check(&scanner, "hsmdrill serve: stdout", stdout.as_bytes());
    tally.check(&scanner, "hsmdrill serve: stderr", stderr.as_bytes());
    // The positive control: the scanner sees the secrets in the state
    // file's rows.
    assert!(
        scanner.scan(&bytes).len() >= secrets.materials.len() + rotated,
        "the scanner must find the state file's secrets in it"
    );
    drop(dir);
    eprintln!(
        "secrets: hsmdrill serve: {} key materials and {} passwords ({rotated} rotated, {} sent) \
         looked for in {} answers, stdout and stderr ({} bytes, {events} trail events); {} leaks",
        secrets.materials.len(),
        secrets.passwords.len(),
        sent.len(),
        c.answers.len(),
        tally.bytes,
        tally.leaks.len()
    );
    tally.assert_no_leaks();
}

/// Every row of the state file (an SQLite database) as JSON, in one array,
/// and their text.
fn state_rows(state: &std::path::Path) -> (Value, Vec<u8>) {
    let conn = rusqlite::Connection::open(state).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    let mut text = Vec::new();
    let with_values =
        |t: &&String| !matches!(t.as_str(), "meta" | "partitions" | "trail_resources");
    for table in tables.iter().filter(with_values) {
        let mut stmt = conn.prepare(&format!("SELECT value FROM {table}")).unwrap();
        for json in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            let json = json.unwrap();
            text.extend_from_slice(json.as_bytes());
            text.push(b'\n');
            rows.push(serde_json::from_str::<Value>(&json).unwrap());
        }
    }
    (Value::Array(rows), text)
}
