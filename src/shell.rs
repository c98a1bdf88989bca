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
//!
//! A `login`, `user create`, `user change-password` or `cluster activate`
//! without `--password` prompts as the real CLI does (`Enter password:`, and
//! `Confirm password:` for a new password): the engine says which prompts a
//! line makes ([`cli::prompts`]), this shell asks them and reads each answer
//! as the next line of input, without echo when that input is a terminal,
//! and hands the answers to the engine beside the line, never as a command.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

use crate::engine::cloudhsm::cli;
use crate::engine::Engine;
use crate::remote::Endpoint;

/// How the answers to password prompts are read.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Echo {
    /// Standard input is a terminal: read without echo (`rpassword`).
    Off,
    /// Input is piped or scripted: an answer is the next line, as typed.
    Lines,
}

/// Where the CLI's commands go.
pub enum Backend {
    /// An embedded engine (from `--world`).
    Embedded(Box<Engine>),
    /// A running server (from `--endpoint`).
    Remote(Endpoint),
}

impl Backend {
    /// Runs one command line in `session` on `cluster`, with the answers
    /// typed at its password prompts; the CLI envelope.
    pub fn run(&self, cluster: &str, session: &str, line: &str, answers: &[String]) -> Value {
        match self {
            Backend::Embedded(engine) => {
                engine.cloudhsm_cli_answered(cluster, session, line, answers)
            }
            Backend::Remote(endpoint) => {
                let mut body = json!({"ClusterId": cluster, "Session": session, "Command": line});
                if !answers.is_empty() {
                    body["Answers"] = json!(answers);
                }
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

/// Reads the answer to one password prompt, just written to `out`: the next
/// line of `lines`, or from the terminal without echo. `None` at the end of
/// input.
fn read_secret(
    echo: Echo,
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    out: &mut impl Write,
) -> std::io::Result<Option<String>> {
    let answer = match echo {
        // rpassword reads the terminal itself and ends the line there.
        Echo::Off => return rpassword::read_password().map(Some),
        Echo::Lines => lines.next().transpose()?,
    };
    // What was typed is not shown; the newline that ended it is.
    writeln!(out)?;
    Ok(answer.map(|a| a.trim_end_matches(['\r', '\n']).to_owned()))
}

/// Interactive mode: commands (and the answers to their password prompts)
/// from `input`, prompts and envelopes to `out`. Returns whether the last
/// command succeeded.
pub fn interactive(
    backend: &Backend,
    cluster: &str,
    input: impl BufRead,
    mut out: impl Write,
    echo: Echo,
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
        let asked = cli::prompts(line);
        let mut answers = Vec::new();
        for prompt in asked {
            write!(out, "{prompt}")?;
            out.flush()?;
            match read_secret(echo, &mut lines, &mut out)? {
                Some(a) => answers.push(a),
                None => break,
            }
        }
        if answers.len() < asked.len() {
            // Input ended at a prompt: nothing to run the line with.
            break;
        }
        let v = backend.run(cluster, &session, line, &answers);
        last_ok = ok(&v);
        writeln!(out, "{}", show(&v))?;
    }
    // The end of input ends the login.
    let _ = backend.run(cluster, &session, "logout", &[]);
    Ok(last_ok)
}

/// The answers to `command`'s password prompts in single-command mode:
/// each prompt goes to `prompt_out` (standard error, so standard output
/// stays one envelope) and its answer is read from `input`. Fewer answers
/// than prompts when input ends.
pub fn single_answers(
    command: &str,
    input: impl BufRead,
    mut prompt_out: impl Write,
    echo: Echo,
) -> std::io::Result<Vec<String>> {
    let mut lines = input.lines();
    let mut answers = Vec::new();
    for prompt in cli::prompts(command) {
        write!(prompt_out, "{prompt}")?;
        prompt_out.flush()?;
        match read_secret(echo, &mut lines, &mut prompt_out)? {
            Some(a) => answers.push(a),
            None => break,
        }
    }
    Ok(answers)
}

/// Single-command mode: logs in from `CLOUDHSM_ROLE` / `CLOUDHSM_PIN` when
/// both are given, runs `command` with `answers` to its prompts, logs out.
/// Returns the command's envelope.
pub fn single(
    backend: &Backend,
    cluster: &str,
    command: &str,
    answers: &[String],
    role: Option<&str>,
    pin: Option<&str>,
) -> Value {
    let session = format!("cloudhsm-cli-{}", std::process::id());
    if let (Some(role), Some(pin)) = (role, pin) {
        let Some((user, password)) = pin.split_once(':') else {
            return json!({"error_code": 1, "data": "CLOUDHSM_PIN must be <username>:<password>"});
        };
        // The password goes as the answer to the login's prompt, so no
        // quoting of it into a command line is needed.
        let login = backend.run(
            cluster,
            &session,
            &format!("login --username {user} --role {role}"),
            &[password.to_owned()],
        );
        if !ok(&login) {
            return login;
        }
    }
    let v = backend.run(cluster, &session, command, answers);
    let _ = backend.run(cluster, &session, "logout", &[]);
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

    /// `interactive` on the example cluster with `input`, echoing lines:
    /// whether the last command succeeded, and what it printed.
    fn run_lines(b: &Backend, input: &str) -> (bool, String) {
        let mut out = Vec::new();
        let ok = interactive(
            b,
            "cluster-1a23b4cdefg",
            input.as_bytes(),
            &mut out,
            Echo::Lines,
        )
        .unwrap();
        (ok, String::from_utf8(out).unwrap())
    }

    #[test]
    fn interactive_prints_prompts_and_envelopes_and_logs_out_at_the_end() {
        let b = backend();
        let input = "login --username admin --role admin --password adminPassword1\nuser list\n";
        let (ok, text) = run_lines(&b, input);
        assert!(ok);
        assert_eq!(text.matches("aws-cloudhsm > ").count(), 3);
        assert!(text.contains("\"username\": \"admin\""));
        // Nobody is left logged in as admin.
        let users = b.run("cluster-1a23b4cdefg", "other", "user list", &[]);
        assert_eq!(users["error_code"], json!(0));
    }

    #[test]
    fn interactive_prompts_read_the_password_from_the_next_line() {
        let b = backend();
        let input = "login --username admin --role admin\nadminPassword1\nuser change-password --username admin --role admin\nnewPassword1\nnewPassword2\n";
        let (last_ok, text) = run_lines(&b, input);
        assert!(!last_ok, "{text}");
        assert!(
            text.starts_with("aws-cloudhsm > Enter password:\n{\n  \"error_code\": 0,"),
            "{text}"
        );
        // The password is neither echoed nor run as a command.
        assert!(!text.contains("adminPassword1"), "{text}");
        assert!(!text.contains("unrecognized command"), "{text}");
        assert!(
            text.contains("aws-cloudhsm > Enter password:\nConfirm password:\n{"),
            "{text}"
        );
        assert!(text.contains("Passwords do not match"), "{text}");
        assert_eq!(text.matches("aws-cloudhsm > ").count(), 3);
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
            let v = single(&b, cluster, "user list", &[], Some("admin"), Some(pin));
            assert_eq!(
                v["error_code"],
                json!(error_code),
                "CLOUDHSM_PIN={pin}: {v}"
            );
        }
    }
}
