//! Outside programs some tests drive (python3 with boto3, the aws CLI):
//! where one is missing the test prints `SKIPPED: <why>` and returns, unless
//! `HSMDRILL_REQUIRE_CLIENTS=1` (set by `.ci/run`), which makes a missing
//! program a failure. Never a silent pass.

use std::io::Write;
use std::process::{Command, Stdio};

/// The variable that turns a missing program into a failure.
pub const REQUIRE_CLIENTS: &str = "HSMDRILL_REQUIRE_CLIENTS";

/// True when `cmd args…` runs and exits 0. Otherwise the calling test is
/// skipped: `SKIPPED: …` goes straight to the terminal (libtest captures
/// only `print!`, so the line shows even for a passing test) and the
/// caller returns; under `HSMDRILL_REQUIRE_CLIENTS=1` this panics instead.
pub fn available(what: &str, cmd: &str, args: &[&str], install: &str) -> bool {
    let required = std::env::var(REQUIRE_CLIENTS).is_ok_and(|v| v == "1");
    match decide(what, cmd, args, install, required) {
        Ok(true) => true,
        Ok(false) => {
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: {what} is not available ({install}; {REQUIRE_CLIENTS}=1 makes this an error)"
            );
            false
        }
        Err(message) => panic!("{message}"),
    }
}

/// `Ok(true)`: the program runs; `Ok(false)`: skip; `Err`: it is missing
/// but required.
pub fn decide(
    what: &str,
    cmd: &str,
    args: &[&str],
    install: &str,
    required: bool,
) -> Result<bool, String> {
    let runs = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match (runs, required) {
        (true, _) => Ok(true),
        (false, false) => Ok(false),
        (false, true) => Err(format!(
            "{what} is missing (`{cmd} {}` failed) but {REQUIRE_CLIENTS}=1 requires it: {install}",
            args.join(" ")
        )),
    }
}

/// How `.ci/run` installs the AWS clients.
const PIP_INSTALL: &str = "python3 -m pip install boto3 awscli";

/// python3 with boto3, or the calling test is skipped (see [`available`]).
pub fn boto3() -> bool {
    available(
        "python3 with boto3",
        "python3",
        &["-c", "import boto3"],
        PIP_INSTALL,
    )
}

/// The aws CLI, or the calling test is skipped (see [`available`]).
pub fn aws_cli() -> bool {
    available(
        "the aws CLI",
        "python3",
        &["-m", "awscli", "--version"],
        PIP_INSTALL,
    )
}

/// Runs the client script `tests/clients/<script>` (a `.py` with python3,
/// anything else with bash) with `args`, asserts that it ran to the end
/// (exit status 0) and that its output says `held`, and returns the output.
pub fn run_client(script: &str, args: &[String], held: &str) -> String {
    let program = if script.ends_with(".py") {
        "python3"
    } else {
        "bash"
    };
    let out = Command::new(program)
        .arg(format!(
            "{}/tests/clients/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(args)
        .output()
        .unwrap();
    let text = super::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(held), "{text}");
    text
}
