//! `hsmdrill cloudhsm-cli`: the CloudHSM CLI (Client SDK 5) as an operator
//! uses it, against an embedded world or a running `hsmdrill serve`.
//!
//! Interactive mode reads command lines from standard input after the
//! prompt `aws-cloudhsm > ` and prints each command's JSON envelope, as the
//! real CLI does; a login lasts until `logout` or the end of input (the
//! shell then logs out, so no login is left behind to make a reconnect fail
//! with `USER_LOGGED_IN`). Single-command mode runs one command, logging in
//! first as `CLOUDHSM_PIN=<user>:<password>` with `CLOUDHSM_ROLE` when they
//! are set, as the real CLI does, and exits 0 when `error_code` is 0.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

use crate::engine::Engine;
use crate::remote::Endpoint;

/// Where the CLI's commands go.
pub enum Backend {
    /// An embedded engine (from `--world`).
    Embedded(Box<Engine>),
    /// A running server (from `--endpoint`).
    Remote(Endpoint),
}

impl Backend {
    /// Runs one command line in `session` on `cluster`; the CLI envelope.
    pub fn run(&self, cluster: &str, session: &str, line: &str) -> Value {
        match self {
            Backend::Embedded(engine) => engine.cloudhsm_cli(cluster, session, line),
            Backend::Remote(endpoint) => {
                let body = json!({"ClusterId": cluster, "Session": session, "Command": line});
                let r = endpoint.send(
                    "POST",
                    "/_hsmdrill/cloudhsm-cli",
                    &[("Content-Type", "application/json")],
                    body.to_string().as_bytes(),
                );
                match r {
                    Ok(r) => serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                        json!({"error_code": 1, "data": format!("the server answered something that is not JSON: {e}")})
                    }),
                    Err(e) => json!({"error_code": 1, "data": format!("cannot reach the hsmdrill server: {e}")}),
                }
            }
        }
    }
}

/// The envelope as the CLI prints it (pretty JSON).
pub fn show(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn ok(v: &Value) -> bool {
    v["error_code"] == json!(0)
}

/// Interactive mode: commands from `input`, envelopes to `out`. Returns
/// whether the last command succeeded.
pub fn interactive(
    backend: &Backend,
    cluster: &str,
    input: impl BufRead,
    mut out: impl Write,
) -> std::io::Result<bool> {
    let session = format!("cloudhsm-cli-{}", std::process::id());
    let mut last_ok = true;
    let mut lines = input.lines();
    loop {
        write!(out, "aws-cloudhsm > ")?;
        out.flush()?;
        let Some(line) = lines.next() else {
            writeln!(out)?;
            break;
        };
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(line, "quit" | "exit") {
            break;
        }
        let v = backend.run(cluster, &session, line);
        last_ok = ok(&v);
        writeln!(out, "{}", show(&v))?;
    }
    // The end of input ends the login.
    let _ = backend.run(cluster, &session, "logout");
    Ok(last_ok)
}

/// Single-command mode: logs in from `CLOUDHSM_ROLE` / `CLOUDHSM_PIN` when
/// both are given, runs `command`, logs out. Returns the command's envelope.
pub fn single(
    backend: &Backend,
    cluster: &str,
    command: &str,
    role: Option<&str>,
    pin: Option<&str>,
) -> Value {
    let session = format!("cloudhsm-cli-{}", std::process::id());
    if let (Some(role), Some(pin)) = (role, pin) {
        let Some((user, password)) = pin.split_once(':') else {
            return json!({"error_code": 1, "data": "CLOUDHSM_PIN must be <username>:<password>"});
        };
        let login = backend.run(
            cluster,
            &session,
            &format!("login --username {user} --role {role} --password {password}"),
        );
        if !ok(&login) {
            return login;
        }
    }
    let v = backend.run(cluster, &session, command);
    let _ = backend.run(cluster, &session, "logout");
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> Backend {
        let yaml = include_str!("../scenarios/worlds/example.yaml");
        Backend::Embedded(Box::new(
            crate::engine::world::load_str(yaml, "example").unwrap(),
        ))
    }

    #[test]
    fn interactive_prints_prompts_and_envelopes_and_logs_out_at_the_end() {
        let b = backend();
        let input = "login --username admin --role admin --password adminPassword1\nuser list\n";
        let mut out = Vec::new();
        let ok = interactive(&b, "cluster-1a23b4cdefg", input.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(ok);
        assert_eq!(text.matches("aws-cloudhsm > ").count(), 3);
        assert!(text.contains("\"username\": \"admin\""));
        // Nobody is left logged in as admin.
        let users = b.run("cluster-1a23b4cdefg", "other", "user list");
        assert_eq!(users["error_code"], json!(0));
    }

    #[test]
    fn single_command_mode_logs_in_from_the_environment() {
        let b = backend();
        for (pin, error_code) in [
            ("admin:adminPassword1", 0),
            ("admin:wrongPass1", 1),
            ("nocolon", 1),
        ] {
            let cluster = "cluster-1a23b4cdefg";
            let v = single(&b, cluster, "user list", Some("admin"), Some(pin));
            assert_eq!(
                v["error_code"],
                json!(error_code),
                "CLOUDHSM_PIN={pin}: {v}"
            );
        }
    }
}
