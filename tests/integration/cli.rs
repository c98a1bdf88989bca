//! The `hsmdrill` binary as a user meets it: `run`, `check` and `steps` on
//! runbooks written to a fresh temporary folder, checking exit statuses,
//! progress and summary lines, failure blocks, snapshots and the JSON and
//! JUnit reports, and that bad input gives one `error:` line, never a panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// A folder under the system's temporary folder, removed when dropped.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(name: &str) -> TempDir {
        TempDir(crate::support::temp_dir(&format!("cli-{name}")))
    }

    /// Writes a file (and its folders) and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn arg(&self) -> &str {
        self.0.path().to_str().unwrap()
    }
}

/// What a run of the binary printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn has_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }

    /// Exit status `code`; else the test fails showing all it printed.
    #[track_caller]
    fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.all());
    }

    /// Standard output holds `text`; else the test fails showing all it
    /// printed.
    #[track_caller]
    fn assert_stdout_contains(&self, text: &str) {
        assert!(self.stdout.contains(text), "{}", self.all());
    }

    /// Standard output has the line `line`; else the test fails showing all
    /// it printed.
    #[track_caller]
    fn assert_line(&self, line: &str) {
        assert!(self.has_line(line), "{}", self.all());
    }

    /// Some line of standard output is as `is` says; else the test fails
    /// showing all it printed.
    #[track_caller]
    fn assert_some_line(&self, is: impl Fn(&str) -> bool) {
        assert!(self.stdout.lines().any(is), "{}", self.all());
    }

    /// Exit status 2 with exactly one `error: …` line and no panic.
    fn assert_usage_error(&self, containing: &str) {
        self.assert_code(2);
        assert!(!self.all().contains("panicked"), "{}", self.all());
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line expected:\n{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
        assert!(lines[0].contains(containing), "{}", self.stderr);
    }
}

fn hsmdrill(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = crate::support::hsmdrill().args(args).output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn world() -> String {
    crate::support::EXAMPLE_WORLD.to_owned()
}

/// A runbook that passes on the example world.
fn passing(title: &str, tag: &str) -> String {
    format!(
        "runbook \"{title}\" @{tag}\nworld \"{}\"\nexpect ExampleKeyStore.ConnectionState == CONNECTED\n",
        world()
    )
}

/// A runbook whose last line (7) expects the wrong ConnectionErrorCode.
fn wrong_error_code() -> String {
    format!(
        "runbook \"wrong code\" @t\n\
         world \"{}\"\n\
         disconnect ExampleKeyStore\n\
         call UpdateCustomKeyStore {{CustomKeyStoreId: $ExampleKeyStore, KeyStorePassword: \"wrongPass99\"}}\n\
         connect ExampleKeyStore\n\
         settle\n\
         expect ExampleKeyStore.ConnectionErrorCode == USER_LOCKED_OUT\n",
        world()
    )
}

#[test]
fn an_unknown_path_is_one_error_line_and_status_2() {
    let dir = TempDir::new("missing");
    let missing = dir.path().join("no-such-folder");
    let missing = missing.to_str().unwrap();
    hsmdrill(&["run", missing]).assert_usage_error("no such file or directory");
    hsmdrill(&["check", missing]).assert_usage_error("no such file or directory");
}

#[test]
fn a_folder_without_runbooks_is_an_error() {
    let dir = TempDir::new("empty");
    hsmdrill(&["run", dir.arg()]).assert_usage_error("no .runbook file");
}

#[test]
fn check_prints_every_error_with_file_line_and_column() {
    let dir = TempDir::new("check");
    let good = dir.write("a-good.runbook", &passing("fine", "t"));
    let bad = dir.write(
        "b-bad.runbook",
        "runbook \"broken\"\nfrobnicate the key store\n",
    );
    let run = hsmdrill(&["check", dir.arg()]);
    run.assert_code(2);
    run.assert_stdout_contains(&format!("{}:2:", bad.display()));
    run.assert_stdout_contains("frobnicate");
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("2 files, 1 runbook, "),
        "{}",
        run.all()
    );

    let run = hsmdrill(&["check", good.to_str().unwrap()]);
    run.assert_code(0);
    run.assert_line("1 file, 1 runbook, 0 errors");
}

/// Issue 15: a misspelt member would make `!=` pass by accident, so `check`
/// rejects it at its place, with the member the store entry does have.
#[test]
fn check_rejects_a_misspelt_response_path_with_a_suggestion() {
    let dir = TempDir::new("misspelt-path");
    let path = dir.write(
        "misspelt.runbook",
        &format!(
            "runbook \"typo\"\nworld \"{}\"\nexpect ExampleKeyStore.ConectionState != FAILED\n",
            world()
        ),
    );
    let run = hsmdrill(&["check", path.to_str().unwrap()]);
    run.assert_code(2);
    run.assert_stdout_contains(&format!("{}:3:23", path.display()));
    run.assert_stdout_contains(
        "no member `ConectionState` in the DescribeCustomKeyStores entry (CustomKeyStoresListEntry)",
    );
    run.assert_stdout_contains("did you mean `ConnectionState`?");
    // The runbook does not count: it does not pass its checks.
    run.assert_line("1 file, 0 runbooks, 1 error");
}

#[test]
fn an_unreadable_runbook_is_one_error_line() {
    let dir = TempDir::new("unreadable");
    let path = dir.path().join("latin1.runbook");
    fs::write(&path, b"runbook \"caf\xe9\"\n").unwrap();
    hsmdrill(&["check", dir.arg()]).assert_usage_error("latin1.runbook");
    hsmdrill(&["run", dir.arg()]).assert_usage_error("latin1.runbook");
}

#[test]
fn a_tag_no_scenario_has_is_status_2() {
    let dir = TempDir::new("tags");
    dir.write("ok.runbook", &passing("ok", "t"));
    hsmdrill(&["run", dir.arg(), "--tag", "@nope"])
        .assert_usage_error("no scenario matches tag expression `@nope`");
    // Every tag it names exists, and still it selects nothing.
    hsmdrill(&["run", dir.arg(), "--tag", "@t and not @t"])
        .assert_usage_error("no scenario matches tag expression `@t and not @t`");
    hsmdrill(&["run", dir.arg(), "--tag", "@t and"]).assert_usage_error("bad tag expression");
}

#[test]
fn a_bad_partition_is_status_2() {
    let dir = TempDir::new("partition-bad");
    dir.write("ok.runbook", &passing("ok", "t"));
    hsmdrill(&["run", dir.arg(), "--partition", "3/2"]).assert_usage_error("bad --partition `3/2`");
    hsmdrill(&["run", dir.arg(), "--partition", "x"]).assert_usage_error("bad --partition");
}

#[test]
fn an_output_that_cannot_be_written_is_status_2() {
    let dir = TempDir::new("output-bad");
    dir.write("ok.runbook", &passing("ok", "t"));
    let out = dir.path().join("no-such-folder").join("report.json");
    hsmdrill(&["run", dir.arg(), "--output", out.to_str().unwrap()])
        .assert_usage_error("cannot write");
}

#[test]
fn exit_statuses_are_distinct_and_in_help() {
    let dir = TempDir::new("statuses");
    let ok = dir.write("ok/ok.runbook", &passing("ok", "t"));
    let failing = dir.write("failing/r5.runbook", &wrong_error_code());
    let bad = dir.write("bad/bad.runbook", "runbook \"bad\"\nfrobnicate\n");
    let (ok, failing, bad) = (
        ok.parent().unwrap().to_str().unwrap(),
        failing.to_str().unwrap(),
        bad.to_str().unwrap(),
    );
    hsmdrill(&["run", ok, "--accept"]).assert_code(0);

    let code = |args: &[&str]| {
        let run = hsmdrill(args);
        assert!(!run.all().contains("panicked"), "{}", run.all());
        run.code
    };
    // 0: everything passed.
    assert_eq!(code(&["run", ok]), 0);
    assert_eq!(code(&["check", ok, failing]), 0);
    assert_eq!(code(&["steps"]), 0);
    assert_eq!(code(&["--help"]), 0);
    // 1: a scenario failed.
    assert_eq!(code(&["run", ok, failing]), 1);
    // 2: invalid input, which wins over a failed scenario.
    assert_eq!(code(&["run", ok, bad]), 2);
    assert_eq!(code(&["run", failing, bad]), 2);
    assert_eq!(code(&["check", bad]), 2);
    // 2: options clap refuses, on every command.
    for args in [
        &["run", "--bogus"][..],
        &["check", "--bogus"],
        &["steps", "extra"],
        &["serve", "--port", "not-a-port"],
        &["run", "--format", "yaml"],
        &["frobnicate"],
    ] {
        let run = hsmdrill(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
    }
    // No command at all: the help, on standard error.
    let run = hsmdrill(&[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("Usage: hsmdrill <COMMAND>"),
        "{}",
        run.all()
    );

    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["serve", "--help"],
        &["cloudhsm-cli", "--help"],
    ] {
        let run = hsmdrill(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        for line in [
            "Exit status:",
            "  0  everything passed",
            "  1  a scenario failed",
            "  2  invalid input",
        ] {
            assert!(
                run.stdout.lines().any(|l| l.starts_with(line)),
                "{args:?} lacks {line:?}:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn cloudhsm_cli_exits_1_when_its_command_fails_and_2_without_a_world() {
    let example = world();
    let cli = |command: &str, world: &str| {
        hsmdrill(&[
            "cloudhsm-cli",
            "--world",
            world,
            "--cluster-id",
            "cluster-1a23b4cdefg",
            command,
        ])
    };
    let run = cli("user list", &example);
    run.assert_code(0);
    let run = cli("frobnicate", &example);
    run.assert_code(1);
    run.assert_stdout_contains("\"error_code\": 1");
    let dir = TempDir::new("cloudhsm-cli");
    let missing = dir.path().join("missing.yaml");
    cli("user list", missing.to_str().unwrap()).assert_usage_error("cannot read the world file");
}

/// `hsmdrill cloudhsm-cli` with `stdin` piped in.
fn cloudhsm_cli_with_input(command: &str, stdin: &str) -> Run {
    let example = world();
    let Output {
        status,
        stdout,
        stderr,
    } = crate::support::with_stdin(
        crate::support::hsmdrill()
            .args([
                "cloudhsm-cli",
                "--world",
                &example,
                "--cluster-id",
                "cluster-1a23b4cdefg",
            ])
            .arg(command),
        stdin.as_bytes(),
    );
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// R8's transcript: `login --username admin --role admin`, `Enter password:`,
/// the envelope. The typed password is the prompt's answer, never a command.
#[test]
fn interactive_login_prompts_for_the_password_and_reads_the_next_line() {
    let input = "login --username admin --role admin\nadminPassword1\n\
                 user change-password --username kmsuser --role crypto-user\nknownPass1\nknownPass1\n\
                 logout\n\
                 login --username kmsuser --role crypto-user\nknownPass1\n";
    let run = cloudhsm_cli_with_input("interactive", input);
    run.assert_code(1); // the store is connected: kmsuser is KMS's
    assert!(
        run.stdout.starts_with(
            "aws-cloudhsm > Enter password:\n{\n  \"error_code\": 0,\n  \"data\": {\n    \"username\": \"admin\",\n    \"role\": \"admin\"\n  }\n}\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("aws-cloudhsm > Enter password:\nConfirm password:\n{\n  \"error_code\": 1,"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("knownPass1"), "{}", run.stdout);
    assert!(!run.stdout.contains("adminPassword1"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("unrecognized command"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("aws-cloudhsm > ").count(),
        5,
        "{}",
        run.stdout
    );
}

/// Single-command mode prompts on standard error and reads the answers from
/// standard input, so standard output stays one envelope.
#[test]
fn single_command_mode_prompts_for_a_missing_password() {
    let run = cloudhsm_cli_with_input("login --username admin --role admin", "adminPassword1\n");
    run.assert_code(0);
    assert_eq!(run.stderr, "Enter password:\n");
    assert!(
        run.stdout.starts_with("{\n  \"error_code\": 0,"),
        "{}",
        run.stdout
    );
    let run = cloudhsm_cli_with_input("login --username admin --role admin", "");
    run.assert_code(1);
    run.assert_stdout_contains("password required");
}

#[test]
fn steps_lists_the_statements() {
    let run = hsmdrill(&["steps"]);
    run.assert_code(0);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("connect")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with("expect")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_passing_runbook_passes_once_its_snapshot_is_accepted() {
    let dir = TempDir::new("pass");
    dir.write("ok.runbook", &passing("ok", "t"));

    let run = hsmdrill(&["run", dir.arg()]);
    run.assert_code(1);
    run.assert_stdout_contains("no snapshot yet: run with --accept");
    run.assert_line("0 passed, 1 failed");

    let run = hsmdrill(&["run", dir.arg(), "--accept"]);
    run.assert_code(0);
    run.assert_stdout_contains("accepted");
    assert!(dir.path().join("snapshots/ok__ok.snap").is_file());

    let run = hsmdrill(&["run", dir.arg()]);
    run.assert_code(0);
    run.assert_line("ok   ok.runbook › ok (2 steps)");
    run.assert_line("1 passed, 0 failed");
}

#[test]
fn a_wrong_connection_error_code_fails_with_expected_and_actual() {
    let dir = TempDir::new("wrong-code");
    let file = dir.write("r5.runbook", &wrong_error_code());
    let run = hsmdrill(&["run", dir.arg()]);
    run.assert_code(1);
    run.assert_stdout_contains("FAIL r5.runbook › wrong code");
    run.assert_stdout_contains(&format!("{}:7:", file.display()));
    run.assert_some_line(|l| l.contains("expected") && l.contains("USER_LOCKED_OUT"));
    run.assert_some_line(|l| l.contains("actual") && l.contains("INVALID_CREDENTIALS"));
    // The store's DescribeCustomKeyStores entry, as it stood.
    run.assert_stdout_contains("\"ConnectionState\": \"FAILED\"");
    run.assert_line("0 passed, 1 failed");
}

#[test]
fn a_changed_snapshot_fails_with_the_diff() {
    let dir = TempDir::new("snapshot");
    dir.write("ok.runbook", &passing("ok", "t"));
    hsmdrill(&["run", dir.arg(), "--accept"]).assert_code(0);
    let snap = dir.path().join("snapshots/ok__ok.snap");
    let stored = fs::read_to_string(&snap).unwrap();
    assert!(stored.contains("\"CONNECTED\""), "{stored}");
    fs::write(&snap, stored.replace("\"CONNECTED\"", "\"DISCONNECTED\"")).unwrap();

    let run = hsmdrill(&["run", dir.arg()]);
    run.assert_code(1);
    run.assert_stdout_contains("snapshot differs (run with --accept to accept)");
    run.assert_some_line(|l| l.starts_with('-') && l.contains("\"DISCONNECTED\""));
    run.assert_some_line(|l| l.starts_with('+') && l.contains("\"CONNECTED\""));
    run.assert_line("0 passed, 1 failed");

    let run = hsmdrill(&["run", dir.arg(), "--accept"]);
    run.assert_code(0);
    hsmdrill(&["run", dir.arg()]).assert_code(0);
}

#[test]
fn a_runbook_that_does_not_parse_is_status_2_and_the_others_still_run() {
    let dir = TempDir::new("parse-error");
    dir.write("a.runbook", &passing("a", "t"));
    let bad = dir.write("b.runbook", "runbook \"b\"\nfrobnicate\n");
    hsmdrill(&["run", dir.arg(), "--accept"]).assert_code(2);
    let run = hsmdrill(&["run", dir.arg()]);
    // Invalid input: status 2, though the other runbook ran and passed.
    run.assert_code(2);
    run.assert_line("ok   a.runbook › a (2 steps)");
    run.assert_stdout_contains("FAIL b.runbook");
    run.assert_stdout_contains(&format!("{}:2:", bad.display()));
    run.assert_line("1 passed, 1 failed");
}

#[test]
fn tags_and_partitions_select_scenarios() {
    let dir = TempDir::new("select");
    dir.write("a.runbook", &passing("first", "R5"));
    dir.write("b.runbook", &passing("second", "R7"));
    dir.write("c.runbook", &passing("third", "slow"));
    hsmdrill(&["run", dir.arg(), "--accept"]).assert_code(0);

    let ran = |args: &[&str]| {
        let mut all = vec!["run", dir.arg()];
        all.extend_from_slice(args);
        let run = hsmdrill(&all);
        run.assert_code(0);
        run.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok   "))
            .map(|l| {
                l.split(" › ")
                    .nth(1)
                    .unwrap()
                    .split(" (")
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ran(&["--tag", "@R5"]), ["first"]);
    assert_eq!(ran(&["--tag", "@R5 or @R7"]), ["first", "second"]);
    assert_eq!(ran(&["--tag", "not @slow"]), ["first", "second"]);
    assert_eq!(
        ran(&["--tag", "(@R5 or @slow) and not @R7"]),
        ["first", "third"]
    );
    assert_eq!(ran(&["--partition", "1/2"]), ["first", "third"]);
    assert_eq!(ran(&["--partition", "2/2"]), ["second"]);
    assert_eq!(
        ran(&["--tag", "not @slow", "--partition", "2/2"]),
        ["second"]
    );
    // A file named beside its folder is not run twice.
    let b = dir.path().join("b.runbook");
    assert_eq!(ran(&[b.to_str().unwrap()]), ["first", "second", "third"]);
    let run = hsmdrill(&["run", b.to_str().unwrap()]);
    run.assert_code(0);
    run.assert_stdout_contains("› second (2 steps)");
    run.assert_line("1 passed, 0 failed");
}

#[test]
fn junit_and_json_reports_parse() {
    let dir = TempDir::new("formats");
    dir.write("ok.runbook", &passing("ok", "t"));
    dir.write("r5.runbook", &wrong_error_code());
    hsmdrill(&["run", dir.arg(), "--accept"]).assert_code(1);

    let run = hsmdrill(&["run", dir.arg(), "--format", "junit"]);
    run.assert_code(1);
    assert!(run.stdout.starts_with("<?xml"), "{}", run.stdout);
    assert!(run.stdout.contains("<testsuites"), "{}", run.stdout);
    assert!(
        run.stdout.contains("<testcase name=\"ok\" classname=\""),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("<failure message=").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with("</testsuites>"),
        "{}",
        run.stdout
    );
    // Progress and the summary go to standard error, out of the XML's way.
    assert!(
        run.stderr.lines().any(|l| l == "1 passed, 1 failed"),
        "{}",
        run.stderr
    );

    let out = dir.path().join("report.json");
    let run = hsmdrill(&[
        "run",
        dir.arg(),
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    run.assert_code(1);
    let report: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    let items = report.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["scenario"], "ok");
    assert_eq!(items[0]["status"], "passed");
    assert_eq!(items[0]["snapshot"]["result"], "matches");
    assert_eq!(items[1]["status"], "failed");
    assert_eq!(items[1]["failure"]["span"]["line"], 7);
    assert!(
        items[1]["failure"]["actual"]
            .as_str()
            .unwrap()
            .contains("INVALID_CREDENTIALS"),
        "{report}"
    );
}

#[test]
fn serve_refuses_a_non_loopback_address_without_allow_remote() {
    for bind in ["0.0.0.0", "::", "192.0.2.1"] {
        hsmdrill(&["serve", "--bind", bind, "--port", "0"]).assert_usage_error(&format!(
            "refusing to bind {bind}: it is not a loopback address"
        ));
    }
}

#[test]
fn serve_binds_any_address_with_allow_remote() {
    use std::io::{BufRead, BufReader};
    let mut child = crate::support::hsmdrill()
        .args([
            "serve",
            "--bind",
            "0.0.0.0",
            "--allow-remote",
            "--port",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with("hsmdrill serving the embedded engine on http://0.0.0.0:"),
        "{first}"
    );
}
