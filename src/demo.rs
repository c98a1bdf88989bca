//! The built-in R5 drill ("Invalid kmsuser credentials") that
//! `hsmdrill run` plays on the embedded engine until the runbook DSL lands.
//!
//! It walks the page's repair exactly as an operator would: a ciphertext is
//! made, `kmsuser` gets locked out by five wrong passwords, the reconnect
//! fails with `USER_LOCKED_OUT`, an admin resets the password, the key store
//! is told the new password, the reconnect succeeds, and the old ciphertext
//! decrypts again. Every step prints what it sent and what came back, and
//! every expectation is checked; the first one that does not hold ends the
//! drill with an error that says what was expected and what happened.

use std::fmt;
use std::io::{self, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::engine::Engine;

/// The world the drill runs on unless told otherwise.
pub const EXAMPLE_WORLD: &str = include_str!("../scenarios/worlds/example.yaml");

/// Why the drill stopped.
#[derive(Debug)]
pub enum DemoError {
    /// An expectation did not hold.
    Expectation {
        /// The step that failed.
        step: String,
        /// What the runbook expects.
        expected: String,
        /// What the engine did.
        actual: String,
    },
    /// Output could not be written.
    Io(io::Error),
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::Expectation {
                step,
                expected,
                actual,
            } => write!(
                f,
                "step `{step}` failed\n  expected: {expected}\n  actual:   {actual}"
            ),
            DemoError::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for DemoError {}

impl From<io::Error> for DemoError {
    fn from(e: io::Error) -> Self {
        DemoError::Io(e)
    }
}

struct Drill<'a, W: Write> {
    engine: &'a Engine,
    out: W,
    step: usize,
}

impl<W: Write> Drill<'_, W> {
    fn say(&mut self, text: &str) -> io::Result<()> {
        self.step += 1;
        writeln!(self.out, "{:>2}. {text}", self.step)
    }

    fn call(&mut self, op: &str, input: Value) -> io::Result<Result<Value, String>> {
        let r = self.engine.call(op, input);
        let shown = match &r {
            Ok(v) => format!("ok {}", compact(v)),
            Err(e) => format!("error {e}"),
        };
        writeln!(self.out, "      {op} -> {shown}")?;
        Ok(r.map_err(|e| e.aws_name().to_owned()))
    }

    fn cli(&mut self, cluster: &str, session: &str, line: &str) -> io::Result<Value> {
        let v = self.engine.cloudhsm_cli(cluster, session, line);
        writeln!(
            self.out,
            "      aws-cloudhsm > {line}\n      {}",
            compact(&v)
        )?;
        Ok(v)
    }

    fn store_state(&mut self, store: &str) -> Result<(String, Option<String>), DemoError> {
        let v = self
            .call(
                "DescribeCustomKeyStores",
                json!({"CustomKeyStoreId": store}),
            )?
            .map_err(|e| self.failure("DescribeCustomKeyStores succeeds", &e))?;
        let entry = &v["CustomKeyStores"][0];
        writeln!(
            self.out,
            "      ConnectionState: {}{}",
            entry["ConnectionState"].as_str().unwrap_or("?"),
            entry["ConnectionErrorCode"]
                .as_str()
                .map(|c| format!(", ConnectionErrorCode: {c}"))
                .unwrap_or_default()
        )?;
        Ok((
            entry["ConnectionState"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            entry["ConnectionErrorCode"].as_str().map(str::to_owned),
        ))
    }

    fn expect(&self, what: &str, ok: bool, actual: impl fmt::Display) -> Result<(), DemoError> {
        if ok {
            Ok(())
        } else {
            Err(self.failure(what, actual))
        }
    }

    fn failure(&self, expected: &str, actual: impl fmt::Display) -> DemoError {
        DemoError::Expectation {
            step: format!("step {}", self.step),
            expected: expected.to_owned(),
            actual: actual.to_string(),
        }
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// Plays R5 on `engine`, whose world must have the example's store, cluster,
/// key alias and admin (`scenarios/worlds/example.yaml`).
pub fn run_r5(engine: &Engine, out: impl Write) -> Result<(), DemoError> {
    const STORE: &str = "cks-1234567890abcdef0";
    const CLUSTER: &str = "cluster-1a23b4cdefg";
    const SECRET: &str = "hello from before the incident";
    let mut d = Drill {
        engine,
        out,
        step: 0,
    };
    writeln!(
        d.out,
        "R5. Invalid kmsuser credentials: locked out, repaired, reconnected\n"
    )?;

    d.say("Encrypt with alias/app while all is well")?;
    let ct = d
        .call(
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode(SECRET)}),
        )?
        .map_err(|e| d.failure("Encrypt succeeds", e))?;
    let blob = ct["CiphertextBlob"].clone();

    d.say("Disconnect the key store (R8: kmsuser cannot be touched while connected)")?;
    d.call(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    )?
    .map_err(|e| d.failure("DisconnectCustomKeyStore succeeds", e))?;

    d.say("Someone tries kmsuser with a wrong password five times")?;
    for _ in 0..5 {
        d.cli(
            CLUSTER,
            "intruder",
            "login --username kmsuser --role crypto-user --password wrongPass1",
        )?;
    }
    let users = d.cli(CLUSTER, "intruder", "user list")?;
    let locked = users["data"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|u| u["username"] == "kmsuser" && u["locked"] == "true");
    d.expect("kmsuser is locked", locked, &users)?;

    d.say("Reconnect and wait for the attempt to finish")?;
    d.call("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}))?
        .map_err(|e| d.failure("ConnectCustomKeyStore returns at once", e))?;
    engine.settle();
    let state = d.store_state(STORE)?;
    d.expect(
        "FAILED with USER_LOCKED_OUT",
        state == ("FAILED".into(), Some("USER_LOCKED_OUT".into())),
        format!("{state:?}"),
    )?;

    d.say("Encrypting now fails: the key is unavailable")?;
    let r = d.call(
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": STANDARD.encode("x")}),
    )?;
    d.expect(
        "KMSInvalidStateException",
        r.as_ref().err().map(String::as_str) == Some("KMSInvalidStateException"),
        format!("{r:?}"),
    )?;

    d.say("Repair: disconnect, reset kmsuser's password as admin, log out")?;
    d.call(
        "DisconnectCustomKeyStore",
        json!({"CustomKeyStoreId": STORE}),
    )?
    .map_err(|e| d.failure("DisconnectCustomKeyStore succeeds", e))?;
    d.cli(
        CLUSTER,
        "operator",
        "login --username admin --role admin --password adminPassword1",
    )?;
    let changed = d.cli(
        CLUSTER,
        "operator",
        "user change-password --username kmsuser --role crypto-user --password newPass123",
    )?;
    d.expect(
        "the password change succeeds",
        changed["error_code"] == 0,
        &changed,
    )?;
    d.cli(CLUSTER, "operator", "logout")?;

    d.say("Tell KMS the new password and reconnect")?;
    d.call(
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": STORE, "KeyStorePassword": "newPass123"}),
    )?
    .map_err(|e| d.failure("UpdateCustomKeyStore succeeds", e))?;
    d.call("ConnectCustomKeyStore", json!({"CustomKeyStoreId": STORE}))?
        .map_err(|e| d.failure("ConnectCustomKeyStore succeeds", e))?;
    let waited = engine.settle();
    writeln!(
        d.out,
        "      (connecting took {} s of virtual time)",
        waited.as_secs()
    )?;
    let state = d.store_state(STORE)?;
    d.expect(
        "CONNECTED",
        state == ("CONNECTED".into(), None),
        format!("{state:?}"),
    )?;

    d.say("The ciphertext made before the incident decrypts again")?;
    let pt = d
        .call("Decrypt", json!({"CiphertextBlob": blob}))?
        .map_err(|e| d.failure("Decrypt succeeds", e))?;
    let plain = pt["Plaintext"]
        .as_str()
        .and_then(|p| STANDARD.decode(p).ok())
        .unwrap_or_default();
    d.expect(
        &format!("plaintext {SECRET:?}"),
        plain == SECRET.as_bytes(),
        String::from_utf8_lossy(&plain),
    )?;
    writeln!(d.out, "\nR5 held: every expectation was met.")?;
    Ok(())
}
