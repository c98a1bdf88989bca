//! The runbook DSL from the outside: every file of `tests/runbook-errors/`
//! renders its diagnostics as a snapshot, small runbooks lower to the IR we
//! expect, every example of `docs/runbook-language.md` parses, and no input
//! makes the parser panic.

// clippy.toml allows these in `#[test]` functions only; the helpers here are
// test code too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hsmdrill::dsl::{catalog, parse_file, parse_str};
use hsmdrill::scenario::diagnostic::render_all;
use hsmdrill::scenario::ir::{Action, Control, Expect, Segment, StepKind, Subject};
use hsmdrill::scenario::runner;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A path relative to the crate root, so spans (and snapshots) do not
/// depend on where the crate is checked out.
fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_path_buf()
}

/// The error files, sorted.
fn error_files() -> Vec<PathBuf> {
    crate::support::runbooks(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runbook-errors"))
}

/// Every file of `tests/runbook-errors/` is wrong, and how it is wrong is a
/// snapshot of the rendered diagnostics (`tests/snapshots/dsl__<file>.snap`).
#[test]
fn error_files_render_their_diagnostics() {
    for path in error_files() {
        let rel = relative(&path);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let errors = parse_str(&source, &rel).expect_err("an error file must not parse");
        // `tests/snapshots/dsl__<file>.snap`, as when this was `tests/dsl.rs`.
        insta::with_settings!({
            input_file => &path,
            omit_expression => true,
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("dsl__{name}"), render_all(&errors, &source));
        });
    }
}

#[test]
fn there_are_enough_error_files() {
    let n = error_files().len();
    assert!(n >= 8, "only {n} error files");
}

#[test]
fn a_syntax_error_does_not_hide_the_next_one() {
    let src = "runbook \"x\"\nencrypt \"a\" alias/app\nconnect\nsettle\nwait 3 fortnights\n";
    let errors = parse_str(src, Path::new("x.runbook")).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, [2, 3, 5]);
    assert_eq!(errors[0].message, "expected `with`, found `alias/app`");
    assert!(errors[1]
        .message
        .starts_with("expected a key store name or id"));
}

#[test]
fn syntax_errors_never_name_grammar_rules() {
    for path in error_files() {
        let source = std::fs::read_to_string(&path).unwrap();
        let Err(errors) = parse_str(&source, &relative(&path)) else {
            panic!("{} parses", path.display());
        };
        for d in errors {
            for rule in [
                "value_list",
                "kw_",
                "_head",
                "eol",
                "Rule::",
                "cmp_",
                "subject_",
            ] {
                assert!(
                    !d.message.contains(rule),
                    "{}: {}",
                    path.display(),
                    d.message
                );
            }
        }
    }
}

#[test]
fn an_unreadable_file_is_one_diagnostic_at_its_start() {
    let errors = parse_file(Path::new("tests/runbook-errors/no-such-file.runbook")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].span.line, 1);
    assert_eq!(errors[0].span.column, 1);
    assert_eq!(
        &*errors[0].span.file,
        "tests/runbook-errors/no-such-file.runbook"
    );
    assert!(errors[0].message.starts_with("cannot read the runbook"));
    assert!(errors[0]
        .render(None)
        .starts_with("error: cannot read the runbook"));
}

// ---------------------------------------------------------------------------
// Lowering

/// Parses a runbook as if it lived in `scenarios/`.
fn lower(src: &str) -> hsmdrill::scenario::ir::ScenarioFile {
    match parse_str(src, Path::new("scenarios/test.runbook")) {
        Ok(f) => f,
        Err(errors) => panic!("{}", render_all(&errors, src)),
    }
}

/// The steps of the first scenario as JSON, without spans.
fn kinds(src: &str) -> Vec<Value> {
    let file = lower(src);
    file.scenarios[0]
        .steps
        .iter()
        .map(|s| json!({ "text": s.text, "kind": serde_json::to_value(&s.kind).unwrap() }))
        .collect()
}

#[test]
fn statements_lower_to_the_ir() {
    let src = r#"
runbook "lowering" @R5 @demo
world "worlds/example.yaml"
disconnect ExampleKeyStore => ok
connect cks-1234567890abcdef0
encrypt "hello" with alias/app context { app: drill } -> ct
decrypt $ct -> pt
call UpdateCustomKeyStore { CustomKeyStoreId: $ExampleKeyStore, KeyStorePassword: "newPass123" }
call CreateKey => error CustomKeyStoreInvalidStateException "FAILED"
cloudhsm cluster-1a23b4cdefg as admin: login --username admin --role admin --password adminPassword1
cloudhsm cluster-1a23b4cdefg: logout => error
wait 90 minutes
settle
"#;
    assert_eq!(
        Value::Array(kinds(src)),
        json!([
            { "text": "world \"worlds/example.yaml\"",
              "kind": { "Setup": { "World": { "path": "scenarios/worlds/example.yaml" } } } },
            { "text": "disconnect ExampleKeyStore => ok",
              "kind": { "Action": { "Call": { "operation": "DisconnectCustomKeyStore",
                                              "input": { "CustomKeyStoreId": "$ExampleKeyStore" } } } } },
            { "text": "disconnect ExampleKeyStore => ok", "kind": { "Expect": "Success" } },
            { "text": "connect cks-1234567890abcdef0",
              "kind": { "Action": { "Call": { "operation": "ConnectCustomKeyStore",
                                              "input": { "CustomKeyStoreId": "cks-1234567890abcdef0" } } } } },
            { "text": "encrypt \"hello\" with alias/app context { app: drill } -> ct",
              "kind": { "Action": { "Call": { "operation": "Encrypt", "input": {
                  "KeyId": "alias/app", "Plaintext": "aGVsbG8=", "EncryptionContext": { "app": "drill" } } } } } },
            { "text": "encrypt \"hello\" with alias/app context { app: drill } -> ct",
              "kind": { "Capture": { "name": "ct", "subject": "Last", "path": [{ "Field": "CiphertextBlob" }] } } },
            { "text": "decrypt $ct -> pt",
              "kind": { "Action": { "Call": { "operation": "Decrypt", "input": { "CiphertextBlob": "$ct" } } } } },
            { "text": "decrypt $ct -> pt",
              "kind": { "Capture": { "name": "pt", "subject": "Last", "path": [{ "Field": "Plaintext" }] } } },
            { "text": "call UpdateCustomKeyStore { CustomKeyStoreId: $ExampleKeyStore, KeyStorePassword: \"newPass123\" }",
              "kind": { "Action": { "Call": { "operation": "UpdateCustomKeyStore", "input": {
                  "CustomKeyStoreId": "$ExampleKeyStore", "KeyStorePassword": "newPass123" } } } } },
            { "text": "call CreateKey => error CustomKeyStoreInvalidStateException \"FAILED\"",
              "kind": { "Action": { "Call": { "operation": "CreateKey", "input": {} } } } },
            { "text": "call CreateKey => error CustomKeyStoreInvalidStateException \"FAILED\"",
              "kind": { "Expect": { "Error": { "exception": "CustomKeyStoreInvalidStateException", "message": "FAILED" } } } },
            { "text": "cloudhsm cluster-1a23b4cdefg as admin: login --username admin --role admin --password adminPassword1",
              "kind": { "Action": { "Cli": { "cluster": "cluster-1a23b4cdefg", "session": "admin",
                  "line": "login --username admin --role admin --password adminPassword1" } } } },
            { "text": "cloudhsm cluster-1a23b4cdefg: logout => error",
              "kind": { "Action": { "Cli": { "cluster": "cluster-1a23b4cdefg", "session": "default", "line": "logout" } } } },
            { "text": "cloudhsm cluster-1a23b4cdefg: logout => error",
              "kind": { "Expect": { "CliError": { "message": null } } } },
            { "text": "wait 90 minutes", "kind": { "Action": { "Wait": 5_400_000 } } },
            { "text": "settle", "kind": { "Action": "Settle" } },
        ])
    );
}

#[test]
fn scenarios_keep_title_tags_and_spans() {
    let src = "# header\nrunbook \"first\" @R1\nsettle\n\nrunbook \"second\"\n  wait 2 seconds   # indented\n";
    let file = lower(src);
    assert_eq!(file.path, Path::new("scenarios/test.runbook"));
    assert_eq!(file.scenarios.len(), 2);
    assert_eq!(file.scenarios[0].name, "first");
    assert_eq!(file.scenarios[0].tags, ["R1"]);
    assert_eq!(file.scenarios[0].span.line, 2);
    let wait = &file.scenarios[1].steps[0];
    assert_eq!(wait.text, "wait 2 seconds");
    assert_eq!((wait.span.line, wait.span.column), (6, 3));
    assert_eq!(
        &src[wait.span.offset..wait.span.offset + wait.span.len],
        "wait 2 seconds"
    );
    assert_eq!(&*wait.span.file, "scenarios/test.runbook");
    assert_eq!(
        wait.kind,
        StepKind::Action(Action::Wait(Duration::from_secs(2)))
    );
}

#[test]
fn multi_line_calls_keep_their_first_line_as_text() {
    let src = "runbook \"x\"\nworld \"worlds/example.yaml\"\ncall Encrypt {\n  KeyId: alias/app   # the key\n  Plaintext: \"aGk=\",\n  EncryptionContext: {a: [1, -2.5, true, null, \"s\"]},\n} -> ct\n";
    let file = lower(src);
    let step = &file.scenarios[0].steps[1];
    assert_eq!(step.text, "call Encrypt {");
    assert_eq!(step.span.line, 3);
    assert!(src[step.span.offset..].starts_with("call Encrypt {"));
    let StepKind::Action(Action::Call { input, .. }) = &step.kind else {
        panic!("{step:?}")
    };
    assert_eq!(
        input,
        &json!({ "KeyId": "alias/app", "Plaintext": "aGk=",
                 "EncryptionContext": { "a": [1, -2.5, true, null, "s"] } })
    );
    // The capture reuses the statement's span and text.
    assert_eq!(file.scenarios[0].steps[2].span, step.span);
    assert_eq!(file.scenarios[0].steps[2].text, step.text);
}

#[test]
fn expectations_and_captures_lower_to_the_ir() {
    let src = r#"runbook "x"
world "worlds/example.yaml"
expect ExampleKeyStore.ConnectionState == CONNECTED
expect $ExampleKeyStore.ConnectionErrorCode is absent
expect key alias/app.KeyState != Disabled
expect .Clusters[0].Hsms is present
expect trail DeleteKey.additionalEventData.clusterId contains "cluster-"
expect trail DeleteKey { additionalEventData.backingKeysDeletionStatus[0].deletionStatus: FAILURE, .eventName: DeleteKey }
expect ok
expect error KMSInvalidStateException
expect cli error "locked"
capture id = ExampleKeyStore.CustomKeyStoreId
capture state = key alias/app.KeyState
capture last = .Plaintext
capture event = trail DeleteKey.eventID
expect decrypt $last context { a: b } == "hello"
expect decrypt "AAAA" == "x"
"#;
    assert_eq!(
        kinds(src)[1..]
            .iter()
            .map(|s| s["kind"].clone())
            .collect::<Vec<_>>(),
        vec![
            json!({ "Expect": { "Field": { "subject": { "Store": "ExampleKeyStore" },
                "path": [{ "Field": "ConnectionState" }], "comparison": "Equals", "value": { "Value": "CONNECTED" } } } }),
            json!({ "Expect": { "Field": { "subject": { "Store": "$ExampleKeyStore" },
                "path": [{ "Field": "ConnectionErrorCode" }], "comparison": "Absent", "value": { "Value": null } } } }),
            json!({ "Expect": { "Field": { "subject": { "Key": "alias/app" },
                "path": [{ "Field": "KeyState" }], "comparison": "NotEquals", "value": { "Value": "Disabled" } } } }),
            json!({ "Expect": { "Field": { "subject": "Last",
                "path": [{ "Field": "Clusters" }, { "Index": 0 }, { "Field": "Hsms" }], "comparison": "Present", "value": { "Value": null } } } }),
            json!({ "Expect": { "Field": { "subject": { "Trail": "DeleteKey" },
                "path": [{ "Field": "additionalEventData" }, { "Field": "clusterId" }], "comparison": "Contains", "value": { "Value": "cluster-" } } } }),
            json!({ "Expect": { "Trail": { "event": "DeleteKey", "fields": [
                [[{ "Field": "additionalEventData" }, { "Field": "backingKeysDeletionStatus" }, { "Index": 0 }, { "Field": "deletionStatus" }], "FAILURE"],
                [[{ "Field": "eventName" }], "DeleteKey"],
            ] } } }),
            json!({ "Expect": "Success" }),
            json!({ "Expect": { "Error": { "exception": "KMSInvalidStateException", "message": null } } }),
            json!({ "Expect": { "CliError": { "message": "locked" } } }),
            json!({ "Capture": { "name": "id", "subject": { "Store": "ExampleKeyStore" }, "path": [{ "Field": "CustomKeyStoreId" }] } }),
            json!({ "Capture": { "name": "state", "subject": { "Key": "alias/app" }, "path": [{ "Field": "KeyState" }] } }),
            json!({ "Capture": { "name": "last", "subject": "Last", "path": [{ "Field": "Plaintext" }] } }),
            json!({ "Capture": { "name": "event", "subject": { "Trail": "DeleteKey" }, "path": [{ "Field": "eventID" }] } }),
            json!({ "Expect": { "Decrypt": { "ciphertext": "$last", "context": { "a": "b" }, "plaintext": "hello" } } }),
            json!({ "Expect": { "Decrypt": { "ciphertext": "AAAA", "context": null, "plaintext": "x" } } }),
        ]
    );
}

#[test]
fn faults_lower_to_the_ir() {
    let src = r#"runbook "x"
world "worlds/example.yaml"
block network to cluster-1a23b4cdefg
unblock network to cluster-1a23b4cdefg
flaky network to cluster-1a23b4cdefg for 3 calls
break security group of cluster-1a23b4cdefg
mend security group of cluster-1a23b4cdefg
delete hsm hsm-abc123 of cluster-1a23b4cdefg
delete all hsms of cluster-1a23b4cdefg
degrade hsm hsm-abc123 of cluster-1a23b4cdefg
degrade all hsms of cluster-1a23b4cdefg
repair hsm hsm-abc123 of cluster-1a23b4cdefg
repair all hsms of cluster-1a23b4cdefg
delete cluster cluster-1a23b4cdefg
delete subnet subnet-0a1b2c3d4e5f60001
set free addresses of subnet-0a1b2c3d4e5f60001 to 0
exhaust sessions of cluster-1a23b4cdefg
release sessions of cluster-1a23b4cdefg
fail next 2 connects to cluster-1a23b4cdefg
backup cluster-1a23b4cdefg -> b
"#;
    let c = "cluster-1a23b4cdefg";
    let s = "subnet-0a1b2c3d4e5f60001";
    let faults: Vec<Value> = kinds(src)[1..].iter().map(|s| s["kind"].clone()).collect();
    assert_eq!(
        faults,
        vec![
            json!({ "Action": { "Fault": { "Network": { "cluster": c, "condition": "blocked" } } } }),
            json!({ "Action": { "Fault": { "Network": { "cluster": c, "condition": "ok" } } } }),
            json!({ "Action": { "Fault": { "Network": { "cluster": c, "condition": { "Flaky": 3 } } } } }),
            json!({ "Action": { "Fault": { "SecurityGroup": { "cluster": c, "ok": false } } } }),
            json!({ "Action": { "Fault": { "SecurityGroup": { "cluster": c, "ok": true } } } }),
            json!({ "Action": { "Fault": { "DeleteHsm": { "cluster": c, "hsm": "hsm-abc123" } } } }),
            json!({ "Action": { "Fault": { "DeleteHsm": { "cluster": c, "hsm": null } } } }),
            json!({ "Action": { "Fault": { "DegradeHsm": { "cluster": c, "hsm": "hsm-abc123" } } } }),
            json!({ "Action": { "Fault": { "DegradeHsm": { "cluster": c, "hsm": null } } } }),
            json!({ "Action": { "Fault": { "RepairHsm": { "cluster": c, "hsm": "hsm-abc123" } } } }),
            json!({ "Action": { "Fault": { "RepairHsm": { "cluster": c, "hsm": null } } } }),
            json!({ "Action": { "Fault": { "DeleteCluster": { "cluster": c } } } }),
            json!({ "Action": { "Fault": { "DeleteSubnet": { "subnet": s } } } }),
            json!({ "Action": { "Fault": { "FreeAddresses": { "subnet": s, "count": 0 } } } }),
            json!({ "Action": { "Fault": { "ExhaustSessions": { "cluster": c } } } }),
            json!({ "Action": { "Fault": { "ReleaseSessions": { "cluster": c } } } }),
            json!({ "Action": { "Fault": { "InternalErrors": { "cluster": c, "count": 2 } } } }),
            json!({ "Action": { "Fault": { "Backup": { "cluster": c } } } }),
            json!({ "Capture": { "name": "b", "subject": "Last", "path": [{ "Field": "BackupId" }] } }),
        ]
    );
}

#[test]
fn blocks_lower_to_control_steps() {
    let src = r#"runbook "x"
world "worlds/example.yaml"
repeat 5: cloudhsm cluster-1a23b4cdefg: login --username kmsuser --role crypto-user --password wrongPass1 => error
retry 4 {
  settle
  expect ExampleKeyStore.ConnectionState == CONNECTED
}
retry 3 every 2 seconds: encrypt "x" with alias/app => ok
burst 10 {
  repeat 2 {
    encrypt "x" with alias/app
  }
}
"#;
    let file = lower(src);
    let steps = &file.scenarios[0].steps;
    let StepKind::Control(Control::Repeat { times: 5, body }) = &steps[1].kind else {
        panic!("{:?}", steps[1])
    };
    assert_eq!(body.len(), 2);
    assert!(matches!(body[0].kind, StepKind::Action(Action::Cli { .. })));
    assert_eq!(
        body[1].kind,
        StepKind::Expect(Expect::CliError { message: None })
    );
    assert_eq!(
        body[0].span.column, 11,
        "the inner statement keeps its own column"
    );
    let StepKind::Control(Control::Retry {
        attempts: 4,
        base,
        body,
    }) = &steps[2].kind
    else {
        panic!("{:?}", steps[2])
    };
    assert_eq!(*base, Duration::from_millis(100));
    assert_eq!(body.len(), 2);
    assert_eq!(body[1].span.line, 6);
    assert_eq!(steps[2].text, "retry 4 {");
    let StepKind::Control(Control::Retry {
        attempts: 3, base, ..
    }) = &steps[3].kind
    else {
        panic!("{:?}", steps[3])
    };
    assert_eq!(*base, Duration::from_secs(2));
    let StepKind::Control(Control::Burst { count: 10, body }) = &steps[4].kind else {
        panic!("{:?}", steps[4])
    };
    assert!(matches!(
        body[0].kind,
        StepKind::Control(Control::Repeat { times: 2, .. })
    ));
}

#[test]
fn store_names_become_variables_and_captures_take_natural_outputs() {
    let src = r#"runbook "x"
world "worlds/example.yaml"
call CreateCustomKeyStore { CustomKeyStoreName: New, CloudHsmClusterId: cluster-1a23b4cdefg, TrustAnchorCertificate: "pem", KeyStorePassword: "kmsPassword1" } -> store_id
connect $store_id
expect New.ConnectionState == CONNECTING
call CreateKey { CustomKeyStoreId: $store_id, Origin: AWS_CLOUDHSM } -> key
call DescribeKey { KeyId: $key } -> whole
call CreateCluster { HsmType: hsm2m.medium, SubnetIds: [subnet-1] } -> cluster
call CreateHsm { ClusterId: $cluster, AvailabilityZone: us-west-2a } -> hsm
call GenerateRandom { NumberOfBytes: 16 } -> random
cloudhsm $cluster as s1: user list -> users
"#;
    let file = lower(src);
    let captures: Vec<(String, Vec<Segment>)> = file.scenarios[0]
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Capture(c) => {
                assert_eq!(c.subject, Subject::Last);
                Some((c.name.clone(), c.path.0.clone()))
            }
            _ => None,
        })
        .collect();
    let f = |s: &str| Segment::Field(s.to_owned());
    assert_eq!(
        captures,
        vec![
            ("store_id".to_owned(), vec![f("CustomKeyStoreId")]),
            ("key".to_owned(), vec![f("KeyMetadata"), f("KeyId")]),
            ("whole".to_owned(), vec![]),
            ("cluster".to_owned(), vec![f("Cluster"), f("ClusterId")]),
            ("hsm".to_owned(), vec![f("Hsm"), f("HsmId")]),
            ("random".to_owned(), vec![f("Plaintext")]),
            ("users".to_owned(), vec![f("data")]),
        ]
    );
}

#[test]
fn inline_worlds_are_dedented() {
    let src = "runbook \"x\"\nworld \"\"\"\n    seed: 3\n    clusters:\n      - id: cluster-0123456789ab\n  \"\"\"\nsettle\n";
    let file = lower(src);
    assert_eq!(
        serde_json::to_value(&file.scenarios[0].steps[0].kind).unwrap(),
        json!({ "Setup": { "WorldYaml": { "yaml": "seed: 3\nclusters:\n  - id: cluster-0123456789ab\n" } } })
    );
}

#[test]
fn strings_take_escapes_and_variables_stay_templates() {
    let src = r#"runbook "esc"
world "worlds/example.yaml"
call DescribeKey { KeyId: "a\"b\\c\n\t\u{e9}", GrantTokens: ["$ExampleKeyStore", "${ExampleKeyStore}-x", "$$5"] }
"#;
    let file = lower(src);
    let StepKind::Action(Action::Call { input, .. }) = &file.scenarios[0].steps[1].kind else {
        panic!()
    };
    assert_eq!(
        input,
        &json!({ "KeyId": "a\"b\\c\n\té", "GrantTokens": ["$ExampleKeyStore", "${ExampleKeyStore}-x", "$$5"] })
    );
}

/// A bare `=> error` after any action but `cloudhsm`: any AWS error.
#[test]
fn a_bare_error_outcome_expects_any_aws_error() {
    let src = r#"runbook "bare"
world "worlds/example.yaml"
disconnect ExampleKeyStore
settle
call Encrypt { KeyId: "alias/app", Plaintext: "aGk=" } => error
call Encrypt { KeyId: "alias/app", Plaintext: "aGk=" } => error "is unavailable"
encrypt "hi" with alias/app => error
call Encrypt { KeyId: "alias/app", Plaintext: "aGk=" } => error KMSInvalidStateException
cloudhsm cluster-1a23b4cdefg: frobnicate => error
"#;
    let kinds: Vec<Value> = kinds(src).into_iter().map(|s| s["kind"].clone()).collect();
    let expects: Vec<&Value> = kinds.iter().filter(|k| k.get("Expect").is_some()).collect();
    assert_eq!(
        expects,
        [
            &json!({ "Expect": { "AnyError": { "message": null } } }),
            &json!({ "Expect": { "AnyError": { "message": "is unavailable" } } }),
            &json!({ "Expect": { "AnyError": { "message": null } } }),
            &json!({ "Expect": { "Error": { "exception": "KMSInvalidStateException", "message": null } } }),
            &json!({ "Expect": { "CliError": { "message": null } } }),
        ]
    );
    let file = lower(src);
    let outcome = runner::run(&file.scenarios[0], Path::new("scenarios/test.runbook"));
    assert!(outcome.passed(), "{:?}", outcome.failure);

    // `-> name` still cannot go with it; `expect error` still names one.
    let errors = parse_str(
        "runbook \"x\"\nworld \"worlds/example.yaml\"\ncall ListKeys => error -> keys\nexpect error\n",
        Path::new("scenarios/test.runbook"),
    )
    .unwrap_err();
    let text: Vec<String> = errors
        .iter()
        .map(|d| format!("{}: {}", d.span.line, d.message))
        .collect();
    assert!(
        text.iter()
            .any(|t| t == "3: `-> name` cannot go with `=> error`"),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("4: ")), "{text:?}");
}

/// A bare `=> error` after an action that succeeds, or whose message lacks
/// the substring, fails the step at its line with what was expected.
#[test]
fn a_bare_error_outcome_fails_when_the_action_succeeds() {
    let run = |statement: &str| {
        let src = format!(
            "runbook \"bare\"\nworld \"worlds/example.yaml\"\ndisconnect ExampleKeyStore\nsettle\n{statement}\n"
        );
        let file = lower(&src);
        runner::run(&file.scenarios[0], Path::new("scenarios/test.runbook"))
            .failure
            .expect("the step fails")
    };
    let f = run("call ListKeys => error");
    assert_eq!(f.span.line, 5);
    assert_eq!(f.expected, "an AWS error");
    assert!(f.actual.starts_with("success: "), "{}", f.actual);

    let f =
        run(r#"call Encrypt { KeyId: "alias/app", Plaintext: "aGk=" } => error "no such words""#);
    assert_eq!(f.span.line, 5);
    assert_eq!(
        f.expected,
        r#"an AWS error with a message containing "no such words""#
    );
    let actual = f.actual;
    assert!(actual.starts_with("KMSInvalidStateException: "), "{actual}");
}

// ---------------------------------------------------------------------------
// The documentation

/// Every ```runbook block of docs/runbook-language.md parses and checks, as
/// if it lived in `scenarios/`.
#[test]
fn every_example_in_the_docs_parses() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runbook-language.md"),
    )
    .unwrap();
    let examples = runbook_blocks(&doc);
    assert!(examples.len() >= 10, "only {} examples", examples.len());
    for (line, example) in &examples {
        if let Err(errors) = parse_str(example, Path::new("scenarios/docs-example.runbook")) {
            panic!(
                "the example at docs/runbook-language.md:{line} does not parse:\n{}",
                render_all(&errors, example)
            );
        }
    }
    // The first example is the complete runbook at the top.
    let first = lower(&examples[0].1);
    assert!(first.scenarios[0].steps.len() > 15);
}

/// The ```runbook blocks of a Markdown text, with the line they start at.
fn runbook_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```runbook" => current = Some((i + 2, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => out.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    out
}

#[test]
fn the_catalog_has_every_statement() {
    let syntax: String = catalog()
        .iter()
        .map(|s| s.syntax)
        .collect::<Vec<_>>()
        .join("\n");
    for word in [
        "runbook",
        "world",
        "call",
        "connect",
        "disconnect",
        "settle",
        "wait",
        "encrypt",
        "decrypt",
        "cloudhsm",
        "block network",
        "unblock network",
        "flaky network",
        "break security group",
        "mend security group",
        "delete hsm",
        "delete all hsms",
        "degrade hsm",
        "degrade all hsms",
        "repair hsm",
        "repair all hsms",
        "delete cluster",
        "delete subnet",
        "set free addresses",
        "exhaust sessions",
        "release sessions",
        "fail next",
        "backup",
        "=> ok",
        "=> error",
        "expect",
        "expect key",
        "expect trail",
        "expect ok",
        "expect error",
        "expect cli error",
        "expect decrypt",
        "capture",
        "repeat",
        "retry",
        "burst",
    ] {
        assert!(
            syntax.contains(word),
            "`{word}` is missing from the catalog"
        );
    }
    assert!(catalog().iter().all(|s| !s.help.is_empty()));
}

// ---------------------------------------------------------------------------
// Robustness

/// What parse_str must do with any input: return, with either IR or a
/// non-empty list of diagnostics that all render.
fn parses_or_explains(src: &str) {
    match parse_str(src, Path::new("scenarios/fuzz.runbook")) {
        Ok(_) => {}
        Err(errors) => {
            assert!(!errors.is_empty());
            let rendered = render_all(&errors, src);
            assert_eq!(
                rendered.matches("error: ").count(),
                errors.len(),
                "{rendered}"
            );
            for d in &errors {
                let _ = d.render(None);
            }
        }
    }
}

/// Pieces of the language, to build inputs that get far into the grammar.
const TOKENS: &[&str] = &[
    "runbook \"t\"\n",
    "world \"worlds/example.yaml\"\n",
    "world \"\"\"\n",
    "\"\"\"\n",
    "call ",
    "Encrypt ",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\n",
    " ",
    "\t",
    "\"",
    "\\",
    "$",
    "${",
    "$x",
    "->",
    "=>",
    " ok",
    " error ",
    "expect ",
    "capture ",
    "repeat 2 ",
    "retry 3 every 1s ",
    "burst 2 ",
    "cloudhsm c1: ",
    "as s ",
    "encrypt \"x\" with alias/app",
    "decrypt ",
    "context ",
    "connect ",
    "ExampleKeyStore",
    ".ConnectionState",
    "[0]",
    "==",
    "!=",
    "contains",
    "is absent",
    "#",
    "wait 1 day",
    "settle",
    "block network to c",
    "delete all hsms of c",
    "key ",
    "trail ",
    "KeyId: ",
    "1e99999",
    "-1.5",
    "true",
    "null",
    "é",
    "\r\n",
    "99999999999999999999",
];

fn arbitrary_runbook() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

/// A valid runbook, mutated: spans of it deleted, duplicated or replaced.
fn mutated_runbook() -> impl Strategy<Value = String> {
    let base = include_str!("../../docs/runbook-language.md");
    let example = runbook_blocks(base)
        .into_iter()
        .next()
        .map(|(_, t)| t)
        .unwrap_or_default();
    let edits = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            0usize..12,
            prop::sample::select(TOKENS),
            0u8..3,
        ),
        1..6,
    );
    edits.prop_map(move |edits| {
        let mut text = example.clone().into_bytes();
        for (at, len, token, op) in edits {
            let at = at.index(text.len() + 1);
            let end = (at + len).min(text.len());
            match op {
                0 => {
                    text.drain(at..end);
                }
                1 => {
                    let piece = text[at..end].to_vec();
                    text.splice(at..at, piece);
                }
                _ => {
                    text.splice(at..end, token.bytes());
                }
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        parses_or_explains(&src);
    }

    #[test]
    fn arbitrary_token_soup_never_panics(src in arbitrary_runbook()) {
        parses_or_explains(&src);
    }

    #[test]
    fn mutated_runbooks_never_panic(src in mutated_runbook()) {
        parses_or_explains(&src);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{a: ", "repeat 1 {\n"] {
        let src = format!("runbook \"deep\"\nexpect .A == {}\n", open.repeat(100_000));
        let errors = parse_str(&src, Path::new("deep.runbook")).unwrap_err();
        assert!(
            errors[0].message.contains("nest too deeply"),
            "{}",
            errors[0].message
        );
    }
    // Just under the limit still parses.
    let src = format!(
        "runbook \"ok\"\nexpect .A == {}1{}\n",
        "[".repeat(30),
        "]".repeat(30)
    );
    parses_or_explains(&src);
}

#[test]
fn long_and_odd_inputs_finish() {
    parses_or_explains(&"settle\n".repeat(20_000));
    parses_or_explains(&format!(
        "runbook \"x\"\n{}",
        "call Encrypt {\n".repeat(5_000)
    ));
    parses_or_explains(&format!("runbook \"x\"\n{}", "\"".repeat(10_000)));
    parses_or_explains("runbook \"x\"\r\nsettle\r\n\r\n");
    parses_or_explains("runbook \"x\"\rsettle\r");
    parses_or_explains("\u{feff}runbook \"bom\"\n");
    parses_or_explains("runbook \"x\"\nworld \"\"\"");
    parses_or_explains("runbook \"x\"\nworld \"/dev/zero\"\n");
}
